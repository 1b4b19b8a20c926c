"""keyhive's pages in the browser: sessions, CSRF, templates, charts, and the dashboard.

The pieces (:mod:`.sessions`, :mod:`.csrf`, :mod:`.templating`, :mod:`.charts`,
:mod:`.headers`) know nothing of the dashboard, so other pages can reuse them.
"""

from keyhive.server.web.dashboard import dashboard_app

__all__ = ["dashboard_app"]
