"""Flask: the same view open, behind a one-line bearer check, and behind keyhive.

Served by one gunicorn sync worker (``gunicorn 'benchmarks.apps.flask_apps:open_app()'``).
The one-line check is a decorator comparing the Authorization header with a constant;
keyhive's row uses :meth:`keyhive.integrations.flask.KeyhiveFlask.require` over a local
KeyHive (a cache hit after the first request).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from flask import Flask, abort, request

ANSWER = {"ok": True}


def open_app() -> Flask:
    """No check at all."""
    app = Flask(__name__)

    @app.get("/hello")
    def hello() -> dict[str, bool]:
        return ANSWER

    return app


def bearer_app() -> Flask:
    """A one-line check: ``Authorization`` must equal ``Bearer $BENCH_TOKEN``."""
    expected = "Bearer " + os.environ["BENCH_TOKEN"]

    def bearer(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if request.headers.get("Authorization") != expected:
                abort(401)
            return view(*args, **kwargs)

        return guarded

    app = Flask(__name__)

    @app.get("/hello")
    @bearer
    def hello() -> dict[str, bool]:
        return ANSWER

    return app


def keyhive_app() -> Flask:
    """KeyhiveFlask over a local KeyHive on ``KEYHIVE_DATABASE_URL``."""
    from keyhive import KeyHive
    from keyhive.integrations.flask import KeyhiveFlask

    app = Flask(__name__)
    keyhive = KeyhiveFlask(app, KeyHive())

    @app.get("/hello")
    @keyhive.require("articles:read")
    def hello() -> dict[str, bool]:
        return ANSWER

    return app
