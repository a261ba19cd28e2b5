"""Operations: sites and their runs, early-warning candidates and alerts, starting a crawl."""
from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from dashboards.api.deps import client_address, index_of
from dashboards.api.models import (
    AlertOut,
    AlertsOut,
    CandidateReview,
    CandidatesOut,
    CrawlIn,
    CrawlStarted,
    RunOut,
    RunsOut,
    SiteDetailOut,
    SiteOut,
    SitesOut,
    WhoAmI,
)
from dashboards.api.params import Time
from dashboards.api.security import require_admin, require_read
from index.api import IndexBackend

reader = APIRouter(prefix="/api", tags=["operations"], dependencies=[Depends(require_read)])
admin = APIRouter(prefix="/api", tags=["admin"], dependencies=[Depends(require_admin)])
Index = Annotated[IndexBackend, Depends(index_of)]
SiteName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{0,40}$")]


@reader.get("/whoami", response_model=WhoAmI, summary="The role of the token sent (read or admin)")
def whoami(role: Annotated[str, Depends(require_read)]) -> WhoAmI:
    return WhoAmI(role=role)


def _run_site(run: dict[str, Any]) -> str:
    return str(run.get("site") or str(run.get("run_id", "")).rsplit("-", 2)[0])


def _runs(site: str | None = None) -> list[RunOut]:
    from crawler.engine.run import list_runs

    out = []
    for run in list_runs(site):
        if site is not None and _run_site(run) != site:  # list_runs matches by prefix: "pill" is not "pill-hub"
            continue
        headline = {k: v for k, v in run.items() if k != "run_dir"}  # server paths stay on the server
        out.append(RunOut(**{**headline, "run_id": str(run.get("run_id", "")), "site": _run_site(run)}))
    return out


def _site(name: str, path: FsPath, last_run: RunOut | None) -> SiteOut:
    from crawler.engine.session import paused_reason
    from crawler.sitedef.siteconfig import SHIPPED_SITES, load_site

    origin = "shipped" if path.resolve().parent == SHIPPED_SITES else "local"
    paused = paused_reason(name)
    try:
        config = load_site(name)
    except Exception as exc:  # noqa: BLE001 - a broken site file is shown, not a failed request
        return SiteOut(name=name, origin=origin, error=str(exc)[:500], last_run=last_run, paused=paused)
    return SiteOut(name=name, origin=origin, kind=config.kind, network=config.network, render=config.render,
                   description=config.description, error=None, last_run=last_run, paused=paused)


@reader.get("/sites", response_model=SitesOut, summary="Every site file (shipped and local) with its last run")
def sites() -> SitesOut:
    from crawler.sitedef.siteconfig import list_site_names

    last: dict[str, RunOut] = {}
    for run in _runs():  # newest first
        last.setdefault(run.site or "", run)
    return SitesOut(sites=[_site(name, path, last.get(name)) for name, path in sorted(list_site_names().items())])


@reader.get("/sites/{name}", response_model=SiteDetailOut, summary="One site with all its runs")
def site_detail(name: SiteName) -> SiteDetailOut:
    from crawler.sitedef.siteconfig import list_site_names

    path = list_site_names().get(name)
    if path is None:
        raise HTTPException(status_code=404, detail=f"name: no site named {name!r}")
    runs = _runs(name)
    return SiteDetailOut(site=_site(name, path, runs[0] if runs else None), runs=runs)


@reader.get("/runs", response_model=RunsOut, summary="Crawl runs, newest first")
def runs(site: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_-]{0,40}$")] = None,
         limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> RunsOut:
    return RunsOut(runs=_runs(site)[:limit])


@reader.get("/candidates", response_model=CandidatesOut,
            summary="New-substance candidates: substance-like tokens that match no reference list")
def candidates(index: Index, since: Time = None) -> CandidatesOut:
    from dashboards.reviews import load_reviews

    found = index.candidates(since)
    reviews = load_reviews()
    return CandidatesOut(candidates=found, reviews={c.token: CandidateReview(**reviews[c.token]) for c in found
                                                           if c.token in reviews})


@reader.get("/alerts", response_model=AlertsOut, summary="The local alert log ($TRAWL_HOME/alerts.jsonl), newest first")
def alerts(request: Request, kind: Annotated[str | None, Query(min_length=1, max_length=60)] = None,
           since: Time = None, limit: Annotated[int, Query(ge=1, le=5000)] = 200) -> AlertsOut:
    from core.alerts import read_alerts

    found = read_alerts(request.app.state.settings.alerts_path, kind=kind, since=since)
    newest = [AlertOut(kind=e.kind, time=e.time, summary=e.summary, data=e.data) for e in reversed(found)]
    return AlertsOut(total=len(newest), alerts=newest[:limit])


# --- admin -------------------------------------------------------------------------------

class CrawlLauncher:
    """At most one dashboard-started crawl per site at a time; processes are reaped on the next call."""

    def __init__(self, python: str) -> None:
        self.python = python
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.lock = threading.Lock()

    def start(self, site: str) -> int:
        from crawler.engine.spawn import crawl_command

        with self.lock:
            current = self.running.get(site)
            if current is not None and current.poll() is None:
                raise HTTPException(status_code=409, detail=f"site: a crawl of {site} is already running")
            # the name comes after "--" in crawl_command: never read as an option, even if it looked like one
            process = subprocess.Popen(crawl_command(site, python=self.python), stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.running[site] = process
            for other in list(self.running.values()):
                other.poll()  # reap finished crawls so they leave no zombies
            return process.pid


def _parse_crawl_body(raw: bytes, content_type: str) -> str:
    """The site named by a JSON body {"site": NAME}: 415/400/422/404 for anything else."""
    from crawler.sitedef.siteconfig import list_site_names

    if content_type.split(";")[0].strip().lower() not in ("application/json", ""):
        raise HTTPException(status_code=415, detail="send the body as application/json")
    try:
        body = json.loads(raw) if raw.strip() else {}
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: [[[[… deeper than the stack
        raise HTTPException(status_code=400, detail="body: not valid JSON") from None
    if not isinstance(body, dict):
        raise HTTPException(status_code=422, detail=[{"loc": ["body"], "msg": 'body: expected a JSON object like '
                                                      '{"site": "nightshade"}', "type": "model_type"}])
    site = body.get("site")
    if not isinstance(site, str) or not _is_name(site):
        shown = repr(site)[:60]
        raise HTTPException(status_code=422, detail=[{"loc": ["body", "site"], "msg": f"site: {shown} is not a "
                                                      "site name (lowercase letters, digits, - and _)",
                                                      "type": "value_error"}])
    if site not in list_site_names():
        raise HTTPException(status_code=404, detail=f"site: no site named {site!r} (see `trawl sites list`)")
    return site


def _is_name(value: str) -> bool:
    from crawler.sitedef.siteconfig import NAME_RE

    return bool(NAME_RE.fullmatch(value))


@admin.post("/crawl", status_code=202, response_model=CrawlStarted, summary="Start a crawl of a known site (admin, audited)",
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/json": {"schema": CrawlIn.model_json_schema()}}}})
async def start_crawl(request: Request, role: Annotated[str, Depends(require_admin)]) -> CrawlStarted:
    from core.audit import append_audit

    raw = await request.body()  # at most MAX_BODY bytes: the guard middleware answered 413 before
    site = await run_in_threadpool(_parse_crawl_body, raw, request.headers.get("content-type", ""))
    launcher: CrawlLauncher = request.app.state.crawls
    pid = await run_in_threadpool(launcher.start, site)
    # after the start: a refused start (409, 422) changed nothing and is not recorded
    await run_in_threadpool(append_audit, "site.crawl", who=role, via="api",
                            client=client_address(request), target=site, pid=pid)
    return CrawlStarted(site=site, pid=pid, status="started")
