"""The portal's branding: product name, logo and accent colour, checked once at start.

The pages allow no asset from another host (``img-src 'self'``), so the logo must be a
path on keyhive's own origin, or an absolute URL of that same origin (the public URL):
anything else would be blocked by the browser, so it is refused here instead. The
accent colour is written into a stylesheet, so only a CSS hex colour passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from keyhive.core.errors import ConfigurationError, InvalidInput
from keyhive.core.portal import MAX_URL, absolute_url

DEFAULT_NAME: Final = "keyhive"
DEFAULT_ACCENT: Final = "#1b7f4b"
_HEX: Final = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
#: A URL without scheme or host: no ``:`` (no scheme), never ``//`` first (another host),
#: no backslash (browsers read ``/\host`` as ``//host``).
_PATH: Final = re.compile(r"(?!//)[A-Za-z0-9._~!$&'()*+,;=@%/?-]+")


@dataclass(frozen=True, slots=True)
class Branding:
    """What the portal's pages show of the API they belong to."""

    name: str = DEFAULT_NAME
    logo: str | None = None
    accent: str = DEFAULT_ACCENT

    @property
    def accent_ink(self) -> str:
        """Black or white, whichever reads better on the accent (WCAG contrast)."""
        return "#000000" if _luminance(self.accent) > 0.179 else "#ffffff"


def public_url(value: str | None) -> str | None:
    """``KEYHIVE_PUBLIC_URL``: where browsers reach this keyhive (no trailing slash)."""
    if not value:
        return None
    try:
        text = absolute_url(value, "KEYHIVE_PUBLIC_URL")
    except InvalidInput as exc:
        raise ConfigurationError(str(exc)) from None
    parts = urlsplit(text)
    if parts.query or parts.fragment:
        raise ConfigurationError("KEYHIVE_PUBLIC_URL must not have a query or a fragment")
    return text.rstrip("/")


def branding(
    name: str | None, logo: str | None, accent: str | None, public: str | None
) -> Branding:
    """The branding settings, checked: ConfigurationError names the bad variable."""
    shown = (name or "").strip() or DEFAULT_NAME
    if len(shown) > 80 or not shown.isprintable():
        raise ConfigurationError("KEYHIVE_PORTAL_NAME must be printable, at most 80 characters")
    colour = (accent or "").strip() or DEFAULT_ACCENT
    if not _HEX.fullmatch(colour):
        raise ConfigurationError(
            "KEYHIVE_PORTAL_ACCENT must be a CSS hex colour such as #1b7f4b or #f60"
        )
    return Branding(shown, _logo((logo or "").strip() or None, public), colour.lower())


def _logo(logo: str | None, public: str | None) -> str | None:
    if logo is None:
        return None
    if len(logo) > MAX_URL:
        raise ConfigurationError("KEYHIVE_PORTAL_LOGO is too long")
    if _PATH.fullmatch(logo):
        return logo
    parts = urlsplit(logo)
    if parts.scheme in ("http", "https") and public is not None:
        own = urlsplit(public)
        if (parts.scheme, parts.netloc) == (own.scheme, own.netloc):
            return logo
    raise ConfigurationError(
        "KEYHIVE_PORTAL_LOGO must be a path on this server (e.g. /assets/logo.svg) or a URL "
        "of the same origin as KEYHIVE_PUBLIC_URL: the portal loads nothing from other hosts"
    )


def _luminance(colour: str) -> float:
    digits = colour[1:]
    if len(digits) in (3, 4):
        digits = "".join(c * 2 for c in digits[:3])
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
