"""Browser sessions in a signed cookie: who signed in, until when, and the CSRF secret.

The cookie holds no token, only a public id (the dashboard's admin secret_id, the
portal's session id), an expiry and a random CSRF secret, signed (HMAC-SHA256 via
itsdangerous) with a subkey of the server keys, so a copy of the database cannot forge
one. Every server key can check a cookie, the newest signs it, so rotating the keys does
not sign everyone out at once. A session without ``subject`` is anonymous: it only
carries the CSRF secret of a sign-in form.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from itsdangerous import BadData, URLSafeSerializer
from starlette.requests import Request
from starlette.responses import Response

from keyhive.core.serverkeys import ServerKeys

_VERSION: Final = 1
#: Longest a cookie is believed; a real session is as long as the codec's ``lifetime``.
_MAX_COOKIE: Final = 4096


@dataclass(frozen=True, slots=True)
class Session:
    """One browser's session. ``subject`` is who signed in (None: nobody yet)."""

    csrf: str
    expires: datetime
    subject: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.subject is not None


class SessionCodec:
    """Reads and writes one kind of session cookie (the dashboard's, the portal's...).

    ``purpose`` names the subkey, so a cookie of one kind never passes as another.
    """

    def __init__(
        self,
        keys: ServerKeys,
        purpose: str,
        *,
        cookie: str,
        path: str,
        lifetime: timedelta,
        same_site: str = "strict",
    ) -> None:
        # Oldest to newest: itsdangerous signs with the last and tries every one.
        signing = [keys.derive(purpose, ident) for ident in keys.ids]
        self._serializer = URLSafeSerializer(
            signing, salt=purpose, signer_kwargs={"digest_method": hashlib.sha256}
        )
        self.cookie = cookie
        self.path = path
        self.lifetime = lifetime
        self.same_site = same_site

    def new(
        self, now: datetime, subject: str | None = None, lifetime: timedelta | None = None
    ) -> Session:
        """A fresh session with a new CSRF secret (a sign-in always gets a new one)."""
        return Session(secrets.token_urlsafe(32), now + (lifetime or self.lifetime), subject)

    def read(self, request: Request, now: datetime) -> Session | None:
        """The request's session if its cookie is genuine and unexpired, else None."""
        raw = request.cookies.get(self.cookie)
        if not raw or len(raw) > _MAX_COOKIE:
            return None
        try:
            data = self._serializer.loads(raw)
        except BadData:
            return None
        if not isinstance(data, dict) or data.get("v") != _VERSION:
            return None
        csrf, expires, subject = data.get("c"), data.get("e"), data.get("s")
        if not isinstance(csrf, str) or not isinstance(expires, int):
            return None
        if subject is not None and not isinstance(subject, str):
            return None
        try:
            ends = datetime.fromtimestamp(expires, tz=now.tzinfo)
        except (OverflowError, OSError, ValueError):
            return None
        if ends <= now:
            return None
        return Session(csrf, ends, subject)

    def write(
        self,
        response: Response,
        session: Session,
        *,
        secure: bool,
        max_age: timedelta | None = None,
    ) -> None:
        """Set the cookie: HttpOnly, SameSite, Secure when the request came over HTTPS.

        The browser keeps it for ``max_age`` (default: the codec's lifetime); a session
        that ends at a set time passes the time left, so its cookie ends with it.
        """
        keep = self.lifetime if max_age is None else max(max_age, timedelta(0))
        value = self._serializer.dumps(
            {
                "v": _VERSION,
                "c": session.csrf,
                "e": int(session.expires.timestamp()),
                "s": session.subject,
            }
        )
        response.set_cookie(
            self.cookie,
            value,
            max_age=int(keep.total_seconds()),
            path=self.path,
            secure=secure,
            httponly=True,
            samesite=self.same_site,  # type: ignore[arg-type]
        )

    def clear(self, response: Response, *, secure: bool) -> None:
        response.delete_cookie(
            self.cookie,
            path=self.path,
            secure=secure,
            httponly=True,
            samesite=self.same_site,  # type: ignore[arg-type]
        )


def is_https(request: Request) -> bool:
    """Whether the browser reached us over HTTPS (uvicorn reads X-Forwarded-Proto only
    from the proxies it trusts)."""
    return request.url.scheme == "https"
