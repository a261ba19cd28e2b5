"""The one exception both halves of the redirect guard raise: the HTTP downloader middleware
(crawler.engine.middlewares.SiteRedirectGuardMiddleware) and Chromium's CDP navigation guard
(crawler.net.browser). It lives with the networks so the browser need not import the engine."""
from __future__ import annotations

from scrapy.exceptions import IgnoreRequest


class OffsiteRedirect(IgnoreRequest):
    """A redirect to a host that is not one of the site's mirrors (nor `redirect_domains`)."""
