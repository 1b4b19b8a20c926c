"""``keyhive oauth``: the signing keys of OAuth access tokens.

``rotate-key`` makes a new current key at once (say, after a suspected leak, or before
the schedule); tokens signed by the old key keep validating until they expire.
"""

from __future__ import annotations

from typing import Any

import click

from keyhive.core.oauth import TokenServiceUnavailable

from . import output
from ._app import Runtime, json_option, pass_runtime


@click.group("oauth")
def oauth() -> None:
    """OAuth 2.0 access tokens: signing keys (see docs/oauth.md)."""


def _service(runtime: Runtime) -> Any:
    try:
        from keyhive.service.oauth import OAuthService
    except ImportError:
        raise click.ClickException(
            "OAuth needs the oauth extra: pip install 'keyhive[oauth]'"
        ) from None
    return OAuthService(runtime.hive(), watch=False)


@oauth.command("rotate-key")
@json_option
@pass_runtime
def rotate_key(runtime: Runtime, as_json: bool) -> None:
    """Replace the signing key now; the old one stays in the JWKS until its tokens expire."""
    service = _service(runtime)
    try:
        record = service.rotate(actor=runtime.actor)
        published = service.signing.published()
    except TokenServiceUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        service.close()
    facts = {
        "kid": record.kid,
        "alg": record.alg,
        "generation": record.generation,
        "created_at": output.when(record.created_at),
        "published": [r.kid for r in published],
    }
    if as_json:
        output.emit_json(facts)
        return
    output.record(
        "New signing key",
        {
            **{k: str(v) for k, v in facts.items() if k != "published"},
            "published": " ".join(facts["published"]),
        },
    )


@oauth.command("keys")
@json_option
@pass_runtime
def keys(runtime: Runtime, as_json: bool) -> None:
    """List the published signing keys, newest (current) first."""
    service = _service(runtime)
    try:
        published = service.signing.published()
    finally:
        service.close()
    rows = [
        {
            "kid": r.kid,
            "alg": r.alg,
            "generation": r.generation,
            "created_at": output.when(r.created_at),
            "current": index == 0,
        }
        for index, r in enumerate(published)
    ]
    if as_json:
        output.emit_json(rows)
        return
    output.table(
        None,
        ("kid", "alg", "generation", "created", "current"),
        (
            [r["kid"], r["alg"], str(r["generation"]), r["created_at"], "yes" * r["current"]]
            for r in rows
        ),
    )
