"""Whatever the API accepts can be read back: a property test over every face that writes.

Hypothesis throws names, owners and metadata at the library and the HTTP API (lone
surrogates, NUL, deep nesting, big numbers, text in any script), on SQLite and on
PostgreSQL. Each value is either refused with InvalidInput / a 4xx, or stored; then
the client reads back as written, and listing every client and the whole audit log
works over HTTP and from the CLI (``client list --json``, ``audit --json``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keyhive import KeyHive, Settings
from keyhive.cli import main
from keyhive.core.errors import InvalidInput
from keyhive.server import create_app

_ODD = st.sampled_from(["\ud800", "\udfff", "\x00", "\u2028", "\ufeff", "é", "\U0001f600", "\\"])
TEXT = st.lists(st.characters(codec=None) | _ODD, max_size=40).map("".join)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def deep(draw: st.DrawFn) -> Any:
    """A value wrapped in 25 to 40 levels of objects and lists: around the limit of 32."""
    value = draw(JSON)
    for level in range(draw(st.integers(25, 40))):
        value = {"k": value} if level % 2 else [value]
    return value


METADATA = st.dictionaries(TEXT, JSON | deep(), max_size=4) | st.builds(
    lambda big: {"big": big}, st.text(min_size=8_000, max_size=9_000)
)
NAMES = TEXT | st.text(min_size=190, max_size=210)


class Faces:
    """The library and the HTTP API over one database, with the CLI reading it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.hive = KeyHive(url, settings=Settings(hashing_profile="cheapest"))
        issued = self.hive.bootstrap_admin()
        assert issued is not None
        self.admin = {"Authorization": f"Bearer {issued.token}"}
        self.loop = asyncio.new_event_loop()
        transport = httpx.ASGITransport(app=create_app(self.hive))
        self.http = httpx.AsyncClient(transport=transport, base_url="http://keyhive.test")

    def call(
        self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None
    ) -> httpx.Response:
        """One request as the admin; ``body`` is sent as JSON with \\u escapes."""
        headers = dict(self.admin)
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(body, ensure_ascii=True).encode()
        request = self.http.request(method, path, headers=headers, content=content, params=params)
        return self.loop.run_until_complete(request)

    def close(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.close()
        self.hive.close()


@pytest.fixture(params=["sqlite", "postgres"])
def faces(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Faces]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('values') / 'keyhive.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    made = Faces(url)
    yield made
    made.close()


def _written_through_http(faces: Faces, name: Any, owner: Any, metadata: Any) -> None:
    body = {"name": name, "owner": owner, "metadata": metadata}
    made = faces.call("POST", "/v1/clients", body)
    assert made.status_code in (201, 400, 422), made.text
    if made.status_code != 201:
        return
    created = made.json()
    shown = faces.call("GET", f"/v1/clients/{created['client_id']}")
    assert shown.status_code == 200, shown.text
    assert shown.json() == created
    patched = faces.call(
        "PATCH", f"/v1/clients/{created['client_id']}", {"metadata": metadata, "name": name}
    )
    assert patched.status_code == 200, patched.text


def _written_through_the_library(faces: Faces, name: Any, owner: Any, metadata: Any) -> None:
    try:
        created = faces.hive.create_client(name, owner=owner, metadata=metadata)
    except InvalidInput:
        return
    assert faces.hive.get_client(created.client_id) == created
    faces.hive.update_client(created.client_id, metadata=created.metadata)


def _everything_reads_back(faces: Faces) -> int:
    """Page through every client and audit event over HTTP and the CLI; the client count."""
    clients, after = 0, None
    while True:
        page = faces.call(
            "GET", "/v1/clients", params={"limit": 1000, **({"after": after} if after else {})}
        )
        assert page.status_code == 200, page.text
        clients += len(page.json()["items"])
        after = page.json()["next"]
        if after is None:
            break
    event = 0
    while True:
        page = faces.call("GET", "/v1/audit", params={"limit": 1000, "after": event})
        assert page.status_code == 200, page.text
        if page.json()["next"] is None:
            break
        event = page.json()["next"]
    runner = CliRunner(env={"KEYHIVE_HASHING_PROFILE": "cheapest"})
    listed = runner.invoke(main, ["--db", faces.url, "client", "list", "--limit", "1000", "--json"])
    assert listed.exit_code == 0, listed.output
    assert len(json.loads(listed.stdout)) == min(clients, 1000)
    logged = runner.invoke(main, ["--db", faces.url, "audit", "--limit", "1000", "--json"])
    assert logged.exit_code == 0, logged.output
    json.loads(logged.stdout)
    table = runner.invoke(main, ["--db", faces.url, "audit", "--limit", "1000"])
    assert table.exit_code == 0, table.output
    return clients


@pytest.mark.slow
def test_what_is_accepted_reads_back_everywhere(faces: Faces) -> None:
    examples = 60 if "postgresql" in faces.url else 120

    @given(name=NAMES, owner=st.none() | NAMES, metadata=st.none() | METADATA)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def write(name: Any, owner: Any, metadata: Any) -> None:
        _written_through_http(faces, name, owner, metadata)
        _written_through_the_library(faces, name, owner, metadata)

    write()
    assert _everything_reads_back(faces) > 1


def test_the_reported_values_are_refused_and_leave_nothing(faces: Faces) -> None:
    """The issue's cases: a lone surrogate and metadata 400 deep answer 422, write nothing."""
    before = faces.call("GET", "/v1/audit", params={"limit": 1000}).json()["items"]
    deep_value: Any = 1
    for _ in range(400):
        deep_value = {"k": deep_value}
    for metadata in ({"k": "\ud800"}, {"\ud800": "v"}, deep_value, {"k": "nul\x00"}):
        answer = faces.call("POST", "/v1/clients", {"name": "x", "metadata": metadata})
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        with pytest.raises(InvalidInput):
            faces.hive.create_client("x", metadata=metadata)
    for name in ("\ud800", "a\udfffb"):
        with pytest.raises(InvalidInput):
            faces.hive.create_client(name)
    assert faces.call("GET", "/v1/audit", params={"limit": 1000}).json()["items"] == before
    assert _everything_reads_back(faces) == 1  # the admin client only
