"""Fetching a JWKS over HTTPS (httpx), for resource servers that are not keyhive nodes.

Bounded in time and size, no redirects: a JWKS URL is configuration, and whoever could
redirect it could hand out signing keys.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import httpx

from keyhive.service.oauth.keycache import KeysUnavailable

MAX_JWKS_BYTES: Final = 256 * 1024


class JwksUrl:
    """A callable that fetches the key set at ``url`` (for :class:`KeyCache`)."""

    def __init__(self, url: str, *, http: httpx.Client | None = None, timeout: float = 5.0) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError("the JWKS URL must be http(s)")
        self.url = url
        self._http = http or httpx.Client(timeout=timeout, follow_redirects=False)

    def __call__(self) -> Mapping[str, Any]:
        try:
            with self._http.stream(
                "GET", self.url, headers={"Accept": "application/json"}
            ) as response:
                if response.status_code != 200:
                    raise KeysUnavailable(f"JWKS URL answered {response.status_code}")
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_JWKS_BYTES:
                        raise KeysUnavailable("JWKS is larger than 256 KiB")
        except httpx.HTTPError as exc:
            raise KeysUnavailable(f"JWKS URL unreachable: {type(exc).__name__}") from None
        try:
            document = json.loads(body)
        except (ValueError, UnicodeError):
            raise KeysUnavailable("JWKS is not JSON") from None
        if not isinstance(document, dict):
            raise KeysUnavailable("JWKS is not a JSON object")
        return document

    def close(self) -> None:
        self._http.close()
