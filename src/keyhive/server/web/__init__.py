"""keyhive's pages in the browser: sessions, CSRF, templates, charts; the dashboard and the
portal.

The pieces (:mod:`.sessions`, :mod:`.csrf`, :mod:`.templating`, :mod:`.charts`,
:mod:`.headers`, :mod:`.endpoints`, :mod:`.messages`, :mod:`.forms`) know nothing of
the dashboard, so the portal reuses them.
"""

from keyhive.server.web.dashboard import dashboard_app
from keyhive.server.web.portal import portal_app

__all__ = ["dashboard_app", "portal_app"]
