"""fastapi-keygate: ``KeyGate._lookup(key)`` among N keys in SQLite.

``_lookup`` is what the gate's FastAPI dependency ``require`` calls after reading the
header: parse the prefix, select the row, check revocation and expiry, compare the
SHA-256 in constant time. It is private, but the public path needs a Request. The
measured key comes from ``create_key``; the other N-1 keys are made by the library's
own ``generate_key`` and inserted in one statement to keep setup short.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from _common import emit, parse_args, time_sync
from keygate import KeyGate
from keygate.keys import generate_key
from keygate.models import ApiKeyRow, utcnow
from sqlalchemy import insert


def main() -> None:
    args = parse_args(__doc__ or "")
    with tempfile.TemporaryDirectory(prefix="bench-keygate-") as tmp:
        gate = KeyGate(db_url=f"sqlite:///{Path(tmp) / 'keygate.db'}", default_per_minute=None)
        started = time.perf_counter()
        created = gate.create_key("benchmark-owner", name="benchmark")
        key = created.key
        seen = {created.prefix}
        rows: list[dict[str, object]] = []
        now = utcnow()
        while len(rows) < args.n - 1:
            _, prefix, key_hash = generate_key()
            if prefix in seen:  # 4 random bytes: a few collide among 100,000
                continue
            seen.add(prefix)
            rows.append(
                {"prefix": prefix, "key_hash": key_hash, "owner_id": "filler", "created_at": now}
            )
        with gate._engine.begin() as conn:
            for start in range(0, len(rows), 5000):
                conn.execute(insert(ApiKeyRow), rows[start : start + 5000])
        setup = time.perf_counter() - started
        assert gate._lookup(key) is not None
        assert gate._lookup(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
        timing = time_sync(lambda: gate._lookup(key), args.seconds)
        emit(
            "fastapi-keygate",
            "fastapi-keygate",
            n=args.n,
            setup_seconds=setup,
            call="KeyGate._lookup(key)",
            store="SQLite file via SQLAlchemy ORM session",
            hasher="SHA-256 of the whole key (default, the only one)",
            **timing,
        )


if __name__ == "__main__":
    main()
