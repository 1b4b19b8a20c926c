"""Fixtures of the browser tests (see :mod:`tests.web.browser`)."""

from tests.web.browser import chromium, page, served, watch

__all__ = ["chromium", "page", "served", "watch"]
