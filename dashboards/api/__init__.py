"""The analysts' HTTP API (FastAPI): search with facets, listing history, trends,
vendors, sites and runs, alerts; for the admin role: starting a crawl, pausing/resuming a site,
reviewing new-substance candidates (audited, core/audit.py).

Modules: app (factory, server), security (Host allow-list, headers, roles, CSRF
argument), settings (tokens), params (query models), models (responses), responses
(safe JSON, error shape), routes_* (one router per area, routes_evidence: archived pages and sales
estimates, routes_admin: audited pause/resume and candidate review), page (plain HTML table at /). The pages at /ui/ live in dashboards/pages.py.
"""
from __future__ import annotations

from dashboards.api.app import create_app, serve
from dashboards.api.settings import ApiSettings

__all__ = ["ApiSettings", "create_app", "serve"]
