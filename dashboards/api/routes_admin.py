"""Admin actions that change state, each appended to the audit log (core/audit.py):
pause/resume a site, review or map a new-substance candidate.

Bodies are JSON only (415 otherwise: an HTML form cannot send JSON, see security.py on
CSRF); bad fields are 422 naming the field.  Pausing writes the same pause file a gate
writes (crawler.engine.session.pause_site), so `trawl crawl` refuses a paused site
exactly as after a captcha, and `trawl sites unpause` or /resume clears it.
"""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel, Field

from dashboards.api.deps import client_address, index_of
from dashboards.api.security import require_admin
from index.api import IndexBackend

router = APIRouter(prefix="/api", tags=["admin"], dependencies=[Depends(require_admin)])
SiteName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{0,40}$")]
Token = Annotated[str, Path(min_length=1, max_length=120)]
Reason = Annotated[str, Field(min_length=1, max_length=500, description="why (kept in the audit log)")]
Note = Annotated[str, Field("", max_length=500)]


def json_body_only(request: Request) -> None:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise HTTPException(status_code=415, detail="send the body as application/json")


class PauseIn(BaseModel):
    reason: Reason


class ResumeIn(BaseModel):
    reason: Annotated[str, Field("", max_length=500)] = ""


class SitePauseOut(BaseModel):
    site: str
    paused: str | None = Field(description="the pause reason now in force (None: not paused)")
    audit: dict[str, object]


class ReviewIn(BaseModel):
    status: Literal["reviewed", "dismissed"]
    note: Note = ""


class MapIn(BaseModel):
    substance: str = Field(min_length=1, max_length=200, description="a name the reference lists know")
    note: Note = ""


class ReviewOut(BaseModel):
    token: str
    status: str
    substance: str | None = None
    substance_class: str | None = None
    who: str
    at: str
    note: str = ""


def _known_site(name: str) -> None:
    from crawler.sitedef.siteconfig import list_site_names

    if name not in list_site_names():
        raise HTTPException(status_code=404, detail=f"name: no site named {name!r} (see `trawl sites list`)")


@router.post("/sites/{name}/pause", response_model=SitePauseOut, dependencies=[Depends(json_body_only)],
             summary="Pause a site (admin, audited): its crawls refuse to start until resumed")
def pause(name: SiteName, body: PauseIn, request: Request, role: Annotated[str, Depends(require_admin)]) -> SitePauseOut:
    from core.audit import append_audit
    from crawler.engine.session import pause_site, paused_reason

    _known_site(name)
    current = paused_reason(name)
    if current is not None:
        raise HTTPException(status_code=409, detail=f"name: {name} is already paused ({current})")
    pause_site(name, f"admin: {body.reason}")
    record = append_audit("site.pause", who=role, via="api", client=client_address(request), target=name,
                          reason=body.reason)
    return SitePauseOut(site=name, paused=paused_reason(name), audit=record)


@router.post("/sites/{name}/resume", response_model=SitePauseOut, dependencies=[Depends(json_body_only)],
             summary="Resume a paused site (admin, audited): clears an admin's or a gate's pause")
def resume(name: SiteName, body: ResumeIn, request: Request, role: Annotated[str, Depends(require_admin)],
           ) -> SitePauseOut:
    from core.audit import append_audit
    from crawler.engine.session import paused_reason, unpause_site

    _known_site(name)
    was = paused_reason(name)
    if was is None or not unpause_site(name):
        raise HTTPException(status_code=409, detail=f"name: {name} is not paused")
    record = append_audit("site.resume", who=role, via="api", client=client_address(request), target=name,
                          reason=body.reason, was=was)
    return SitePauseOut(site=name, paused=paused_reason(name), audit=record)


def _known_candidate(index: IndexBackend, token: str) -> None:
    if token not in {c.token for c in index.candidates()}:
        raise HTTPException(status_code=404, detail=f"token: no new-substance candidate {token[:80]!r}")


@router.post("/candidates/{token}/review", response_model=ReviewOut, dependencies=[Depends(json_body_only)],
             summary="Mark a new-substance candidate reviewed or dismissed (admin, audited)")
def review(token: Token, body: ReviewIn, request: Request, role: Annotated[str, Depends(require_admin)],
           index: Annotated[IndexBackend, Depends(index_of)]) -> ReviewOut:
    from core.audit import append_audit
    from dashboards.reviews import record_review

    _known_candidate(index, token)
    stored = record_review(token, body.status, who=role, note=body.note)
    append_audit(f"candidate.{body.status}", who=role, via="api", client=client_address(request), target=token,
                 reason=body.note)
    return ReviewOut(**stored)


@router.post("/candidates/{token}/map", response_model=ReviewOut, dependencies=[Depends(json_body_only)],
             summary="Map a new-substance candidate to a known substance (admin, audited; 422 if unknown)")
def map_candidate(token: Token, body: MapIn, request: Request, role: Annotated[str, Depends(require_admin)],
                  index: Annotated[IndexBackend, Depends(index_of)]) -> ReviewOut:
    from core.audit import append_audit
    from dashboards.reviews import known_substance, record_review

    _known_candidate(index, token)
    known = known_substance(body.substance)
    if known is None:
        shown = body.substance[:80]
        raise HTTPException(status_code=422, detail=[{
            "loc": ["body", "substance"], "type": "value_error",
            "msg": f"substance: {shown!r} is in no reference list (see `trawl lists show --substances`)"}])
    canonical, substance_class = known
    stored = record_review(token, "mapped", who=role, note=body.note, substance=canonical,
                           substance_class=substance_class)
    append_audit("candidate.map", who=role, via="api", client=client_address(request), target=token, reason=body.note,
                 substance=canonical)
    return ReviewOut(**stored)
