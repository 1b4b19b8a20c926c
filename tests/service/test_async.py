"""The async twin answers cache hits on the loop and runs slow checks in workers."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from keyhive import AsyncKeyHive, Code, KeyHive, Settings
from tests.conftest import load_vectors


def test_async_twin_round_trip() -> None:
    async def main() -> None:
        ahive = AsyncKeyHive.open("memory://", settings=Settings(hashing_profile="cheapest"))
        client = await ahive.create_client("c")
        issued = await ahive.issue_secret(client.client_id, scopes=["a:b"])
        loop_thread = threading.get_ident()
        seen: list[int] = []
        original = ahive.hive.pipeline.finish

        def spy(*args: object, **kwargs: object) -> object:
            seen.append(threading.get_ident())
            return original(*args, **kwargs)  # type: ignore[arg-type]

        ahive.hive.pipeline.finish = spy  # type: ignore[assignment, method-assign]
        first = await ahive.verify(issued.token, ["a:b"])
        # The memory store's reads are local and the digest decides: no hop for that.
        assert first.valid and not seen, "a miss that needs no slow hash stays on the loop"
        second = await ahive.verify(issued.token, ["a:b"])
        assert second.valid and not seen, "a hit never leaves the loop"
        record = load_vectors("seed_scrypt.json")[0]
        await ahive.create_client("imported", client_id=record["client_id"])
        await ahive.import_secret(record["client_id"], record["stored"])
        slow = await ahive.verify_pair(record["client_id"], record["secret"])
        assert slow.valid and seen and seen[0] != loop_thread, "a slow hash runs in a worker"
        seen.clear()
        results = await asyncio.gather(*(ahive.verify("kh_bad") for _ in range(20)))
        assert {r.code for r in results} == {Code.NOT_FOUND}
        revoked = await ahive.revoke(issued.secret_id)
        assert revoked.revoked_at is not None
        assert (await ahive.verify(issued.token)).code is Code.REVOKED
        assert (await ahive.verify_pair(client.client_id, issued.token)).code is Code.REVOKED
        new = await ahive.rotate((await ahive.issue_secret(client.client_id)).secret_id)
        assert [s.secret_id for s in await ahive.list_secrets(client.client_id)][
            -1
        ] == new.secret_id
        assert len(await ahive.audit()) >= 4
        await ahive.aclose()

    asyncio.run(main())


def test_async_twin_wraps_an_existing_hive(hive: KeyHive) -> None:
    async def main() -> None:
        ahive = AsyncKeyHive(hive, max_workers=1)
        client = await ahive.create_client("c")
        assert (await ahive.get_client(client.client_id)).name == "c"
        await ahive.update_client(client.client_id, name="d")
        assert [c.name for c in await ahive.list_clients()] == ["d"]
        await ahive.disable_client(client.client_id)
        assert not (await ahive.get_client(client.client_id)).enabled
        await ahive.enable_client(client.client_id)
        issued = await ahive.issue_secret(client.client_id)
        updated = await ahive.update(issued.secret_id, name="n")
        assert (await ahive.get_secret(issued.secret_id)).name == updated.name == "n"

    asyncio.run(main())


def test_async_twin_has_every_method_of_the_facade() -> None:
    public = {
        name
        for name in dir(KeyHive)
        if not name.startswith("_") and callable(getattr(KeyHive, name))
    }
    public -= {"from_parts"}  # a constructor: AsyncKeyHive(KeyHive.from_parts(...)) wraps it
    missing = sorted(name for name in public if not hasattr(AsyncKeyHive, name))
    assert missing == []


def test_async_twin_takes_the_facades_constructor_and_refuses_anything_else() -> None:
    async def main() -> None:
        ahive = AsyncKeyHive("memory://", settings=Settings(hashing_profile="cheapest"))
        client = await ahive.create_client("c")
        issued = await ahive.issue_secret(client.client_id)
        assert (await ahive.verify(issued.token)).valid
        assert (await ahive.import_secrets([])) == []
        assert (await ahive.bootstrap_admin()) is not None
        await ahive.flush()
        await ahive.aclose()

    asyncio.run(main())
    with pytest.raises(TypeError, match="KeyHive or a database URL"):
        AsyncKeyHive(42)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="unexpected keyword"):
        AsyncKeyHive("memory://", cache_sise=10)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="database_url must be a string"):
        KeyHive(b"sqlite:///x.db")  # type: ignore[arg-type]


def test_a_miss_on_sqlite_reads_on_the_loop(tmp_path: Path) -> None:
    """SQLite in WAL mode counts as local: a first verification whose digest decides is
    answered on the loop, with no hop to a worker."""

    async def main() -> None:
        url = f"sqlite:///{tmp_path / 'k.db'}"
        ahive = AsyncKeyHive.open(url, settings=Settings(hashing_profile="cheapest"))
        client = await ahive.create_client("c")
        issued = await ahive.issue_secret(client.client_id)
        ahive.hive.cache.clear()  # type: ignore[union-attr]
        hops: list[object] = []
        original = ahive.hive.pipeline.finish

        def spy(*args: object, **kwargs: object) -> object:
            hops.append(args)
            return original(*args, **kwargs)  # type: ignore[arg-type]

        ahive.hive.pipeline.finish = spy  # type: ignore[assignment, method-assign]
        assert ahive.hive.store.local_reads
        assert (await ahive.verify(issued.token)).valid
        assert hops == []
        await ahive.aclose()

    asyncio.run(main())
