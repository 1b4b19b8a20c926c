"""The Jinja2 environment of keyhive's pages: templates shipped in the package, escaped.

Templates live in ``keyhive/server/web/templates`` (package data), so an installed
wheel renders the same pages as a checkout. Helpers every page uses are globals here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.templating import Jinja2Templates

from keyhive.server.web import charts


def when(value: datetime | None) -> str:
    """A UTC time as people read it, or an en dash for none."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "\u2013"


def iso(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else ""


def link(base: str, path: str, **params: Any) -> str:
    """A URL under ``base`` with its query built safely (ids may hold ``/``, ``+``, ``=``)."""
    query = {k: v for k, v in params.items() if v not in (None, "")}
    return base + path + ("?" + urlencode(query) if query else "")


def pretty_json(value: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(value or {}), indent=2, sort_keys=True, ensure_ascii=False)


def make_templates(**globals_: Any) -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("keyhive.server.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        link=link,
        usage_chart=charts.usage_chart,
        sparkline=charts.sparkline,
        colours=charts.COLOURS,
        **globals_,
    )
    env.filters.update(when=when, iso=iso, pretty_json=pretty_json)
    return Jinja2Templates(env=env)
