"""JSON that is safe wherever it lands, and errors in one shape.

Every value from a crawled page may be hostile (a listing titled `<script>…`).  The API
answers `application/json` with `nosniff`, so a browser never renders it as HTML; on top
of that `<`, `>` and `&` are written as `\\u003c`, `\\u003e`, `\\u0026` (still the same
JSON string once parsed), so a body pasted into a page or sniffed by an old client
carries no markup either.

Errors: `{"detail": [{"loc": [...], "msg": ..., "type": ...}]}` for bad parameters (422,
the field named in `loc` and in `msg`), `{"detail": "reason"}` otherwise.
"""
from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import TrawlError

_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


class SafeJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.translate(_ESCAPES).encode("utf-8")


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        where = ".".join(loc[1:]) or (loc[0] if loc else "request")
        # the offending input is not echoed back: it may be long, or a token typed in the wrong place
        out.append({"loc": loc, "msg": f"{where}: {error.get('msg', 'invalid')}", "type": error.get("type", "")})
    return out


async def validation_error(request: Request, exc: Exception) -> SafeJSONResponse:
    if not isinstance(exc, RequestValidationError):  # registered for that class only
        raise exc
    return SafeJSONResponse({"detail": _field_errors(exc)}, status_code=422)


async def http_error(request: Request, exc: Exception) -> SafeJSONResponse:
    if not isinstance(exc, StarletteHTTPException):  # registered for that class only
        raise exc
    return SafeJSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def trawl_error(request: Request, exc: Exception) -> SafeJSONResponse:
    """A user error found deeper down (a bad date, an unknown facet): 422 with the message,
    which names the field ("since: ...")."""
    message = str(exc)
    field = message.split(":", 1)[0] if ":" in message[:40] else ""
    loc = ["query", field] if field and " " not in field else ["query"]
    return SafeJSONResponse({"detail": [{"loc": loc, "msg": message, "type": "value_error"}]}, status_code=422)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    RequestValidationError: validation_error,
    StarletteHTTPException: http_error,
    TrawlError: trawl_error,
}
