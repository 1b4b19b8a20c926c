"""Reading credentials from Authorization and X-API-Key headers."""

from __future__ import annotations

import base64
from urllib.parse import quote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyhive.core.credentials import (
    BadCredential,
    PairCredential,
    TokenCredential,
    bearer_token,
    from_headers,
)
from keyhive.core.errors import InvalidInput
from keyhive.core.tokens import generate_key, make_token

TOKEN = make_token().text
# Base64 client id and article secret with every character that form-encoding changes.
CLIENT_ID = "kXKaXnTcRYm9zzWlzekW6yBrTgRvTV9Z6tH/CUc3wo+="
ARTICLE_SECRET = "Jj0fmQUis7xKJ6oge4r1fN4em7xJ+hILrgubKlG6PLA="


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_bearer() -> None:
    assert from_headers(f"Bearer {TOKEN}") == TokenCredential(TOKEN)
    assert from_headers(f"bearer   {TOKEN}  ") == TokenCredential(TOKEN)
    assert from_headers(f"BEARER {TOKEN}", "ignored") == TokenCredential(TOKEN)


def test_x_api_key() -> None:
    assert from_headers(None, TOKEN) == TokenCredential(TOKEN)
    assert from_headers("", f"  {TOKEN} ") == TokenCredential(TOKEN)


def test_no_credential_at_all() -> None:
    assert from_headers(None) is None
    assert from_headers("", "") is None
    assert from_headers(None, None) is None


def test_basic_raw_base64_client_id_keeps_plus_slash_equals() -> None:
    """What curl -u sends: nothing is form-encoded, so '+' must stay '+'."""
    assert from_headers(basic(CLIENT_ID, ARTICLE_SECRET)) == PairCredential(
        CLIENT_ID, ARTICLE_SECRET
    )
    assert from_headers(basic(CLIENT_ID, TOKEN)) == PairCredential(CLIENT_ID, TOKEN)


def test_basic_rfc6749_form_encoded() -> None:
    header = basic(quote_plus(CLIENT_ID), quote_plus(ARTICLE_SECRET))
    assert "%2B" in base64.b64decode(header[6:]).decode()
    assert from_headers(header) == PairCredential(CLIENT_ID, ARTICLE_SECRET)


def test_basic_each_part_is_decoded_on_its_own() -> None:
    """A raw client id beside an encoded secret keeps its '+' (and the other way round)."""
    assert from_headers(basic(CLIENT_ID, quote_plus(ARTICLE_SECRET))) == PairCredential(
        CLIENT_ID, ARTICLE_SECRET
    )
    assert from_headers(basic(quote_plus(CLIENT_ID), ARTICLE_SECRET)) == PairCredential(
        CLIENT_ID, ARTICLE_SECRET
    )


def test_basic_secret_may_contain_a_colon() -> None:
    assert from_headers(basic("id", "a:b")) == PairCredential("id", "a:b")


def test_basic_utf8() -> None:
    assert from_headers(basic("caf\u00e9", "p\u00e4ss")) == PairCredential("caf\u00e9", "p\u00e4ss")


@given(st.sampled_from(["base64", "base64url", "hex", "base62"]), st.booleans())
def test_basic_round_trips_generated_client_ids(fmt: str, encode: bool) -> None:
    client_id = generate_key(32, fmt)
    user, password = (
        (quote_plus(client_id), quote_plus(ARTICLE_SECRET))
        if encode
        else (
            client_id,
            ARTICLE_SECRET,
        )
    )
    assert from_headers(basic(user, password)) == PairCredential(client_id, ARTICLE_SECRET)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("latin-1")).decode()


@pytest.mark.parametrize(
    ("authorization", "api_key", "message"),
    [
        ("Bearer", None, "no credentials"),
        ("Bearer    ", None, "no credentials"),
        ("   ", None, "no credentials"),
        (f"Token {TOKEN}", None, "Bearer or Basic"),
        (f"Digest {TOKEN}", None, "Bearer or Basic"),
        ("Basic not*base64", None, "not valid base64"),
        ("Basic " + _b64("\xff\xfe:x"), None, "not valid base64 of UTF-8"),
        ("Basic " + _b64("no-colon"), None, "client_id:secret"),
        ("Basic " + _b64(":secret"), None, "client_id:secret"),
        ("Basic " + _b64("client:"), None, "client_id:secret"),
        ("Bearer " + "a" * 5000, None, "too long"),
        (None, "a" * 5000, "too long"),
        (None, "   ", "empty"),
        (b"Bearer abc", None, "must be text"),
        (None, b"abc", "must be text"),
    ],
)
def test_malformed_headers(authorization: object, api_key: object, message: str) -> None:
    with pytest.raises(BadCredential, match=message) as caught:
        from_headers(authorization, api_key)  # type: ignore[arg-type]
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.field == "authorization"


SECRETS = [TOKEN, ARTICLE_SECRET, "hunter2-hunter2-hunter2"]


@pytest.mark.parametrize("secret", SECRETS)
def test_error_messages_never_contain_the_secret(secret: str) -> None:
    encoded = base64.b64encode(secret.encode()).decode()
    attempts: list[tuple[str | None, str | None]] = [
        (f"Token {secret}", None),
        (f"Basic {secret}!", None),
        (f"Basic {encoded}", None),  # no colon
        ("Basic " + base64.b64encode(f":{secret}".encode()).decode(), None),
        (f"Bearer {secret}" + " " * 5000, None),
        (None, secret + " " * 5000),
    ]
    for authorization, api_key in attempts:
        with pytest.raises(BadCredential) as caught:
            from_headers(authorization, api_key)
        shown = f"{caught.value} {caught.value!r} {caught.value.args}"
        assert secret not in shown
        assert encoded not in shown


def test_credential_repr_hides_the_secret() -> None:
    assert TOKEN not in repr(TokenCredential(TOKEN))
    pair = PairCredential(CLIENT_ID, ARTICLE_SECRET)
    assert ARTICLE_SECRET not in repr(pair)
    assert CLIENT_ID in repr(pair)


_SCHEMES = st.sampled_from(
    ["Bearer", "bearer", "BEARER", "Api-Key", "api-key", "Basic", "", "Bear"]
)


@given(
    st.tuples(_SCHEMES, st.sampled_from([" ", "  ", "", "\t"]), st.text(max_size=40)).map("".join)
    | st.text(max_size=60)
)
def test_the_fast_bearer_read_agrees_with_from_headers(value: str) -> None:
    """bearer_token is a shortcut for the integrations: whatever it reads, from_headers
    reads as the same token; what it declines, from_headers still decides."""
    token = bearer_token(value)
    if token is None:
        return
    assert from_headers(value, None) == TokenCredential(token)


def test_the_fast_bearer_read_declines_what_it_does_not_know() -> None:
    assert bearer_token("Bearer abc ") == "abc"
    assert bearer_token("Api-Key k") == "k"
    for value in (" Bearer abc", "Bearer", "Bearer   ", "Basic YTpi", "bEaReR abc"):
        assert bearer_token(value) is None
    assert from_headers("bEaReR abc", None) == TokenCredential("abc")  # the full read decides
    assert bearer_token("Bearer " + "x" * 5000) is None
