"""djangorestframework-api-key: ``APIKey.objects.is_valid(key)`` among N keys in SQLite.

Django is configured in-process against a SQLite file and migrated. The measured key
comes from ``create_key``; the other N-1 keys get real keys and hashes from the
library's own ``assign_key`` but are written with one ``bulk_create`` so that setup
stays short (``create_key`` costs one transaction per key).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import django
from _common import emit, parse_args, time_sync
from django.conf import settings


def main() -> None:
    args = parse_args(__doc__ or "")
    with tempfile.TemporaryDirectory(prefix="bench-drf-") as tmp:
        settings.configure(
            INSTALLED_APPS=[
                "django.contrib.contenttypes",
                "django.contrib.auth",
                "rest_framework",
                "rest_framework_api_key",
            ],
            DATABASES={
                "default": {
                    "ENGINE": "django.db.backends.sqlite3",
                    "NAME": str(Path(tmp) / "drf.sqlite3"),
                }
            },
            USE_TZ=True,
            SECRET_KEY="benchmark-only-not-a-secret",
            DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        )
        django.setup()
        from django.core.management import call_command
        from rest_framework_api_key.models import APIKey

        call_command("migrate", verbosity=0, interactive=False)
        started = time.perf_counter()
        _, key = APIKey.objects.create_key(name="benchmark")
        fillers = []
        for i in range(args.n - 1):
            obj = APIKey(name=f"filler-{i}")
            APIKey.objects.assign_key(obj)
            fillers.append(obj)
        APIKey.objects.bulk_create(fillers, batch_size=2000)
        setup = time.perf_counter() - started
        assert APIKey.objects.count() == args.n
        assert APIKey.objects.is_valid(key)
        assert not APIKey.objects.is_valid(key[:-1] + ("A" if key[-1] != "A" else "B"))
        timing = time_sync(lambda: APIKey.objects.is_valid(key), args.seconds)
        hasher = type(APIKey.objects.key_generator.preferred_hasher).__name__
        emit(
            "djangorestframework-api-key",
            "djangorestframework-api-key",
            n=args.n,
            setup_seconds=setup,
            call="APIKey.objects.is_valid(key)",
            store=f"SQLite file via Django {django.get_version()} ORM",
            hasher=f"{hasher} (default)",
            **timing,
        )


if __name__ == "__main__":
    main()
