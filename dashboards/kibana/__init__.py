"""Kibana saved objects for the Elasticsearch backend, and their installer.

`dashboards/kibana/*.ndjson` hold data views over the read aliases (`trawl-listings`,
`trawl-snapshots`), aggregation-based visualisations (monthly median USD per gram by
substance, weekly snapshots per market, listings by origin) and the "trawl: market
overview" dashboard.  They are written in the Kibana 7.17 saved-object format
(migrationVersion/coreMigrationVersion 7.17.0): Kibana imports objects of the same or
an older version and migrates them on import, so they load in 7.17 and 8.x; 9.x accepts
imports from 8.x, and whether it still migrates 7.17-format objects is not verified here
(re-export them from an 8.x Kibana if it refuses).

`install(url)` posts every file to `POST /api/saved_objects/_import?overwrite=true`
(`/s/SPACE/api/...` for a space): multipart/form-data with the file in the `file` part
and the `kbn-xsrf` header Kibana requires.  Credentials (an API key, or a user and
password) go only into the Authorization header; no message quotes them.
"""
from __future__ import annotations

import base64
import json
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import TrawlError

OBJECTS_DIR = Path(__file__).resolve().parent
DEFAULT_PREFIX = "trawl"
# data view id -> the index kind whose read alias it covers (index/es_mappings.py PROPERTIES)
DATA_VIEW_KINDS = {"trawl-listings": "listings", "trawl-snapshots": "snapshots"}
TIMEOUT_S = 60.0
_KUERY_FIELD = re.compile(r"([A-Za-z_][\w.]*)\s*:")


def object_files() -> list[Path]:
    return sorted(OBJECTS_DIR.glob("*.ndjson"))


def load_objects(path: Path) -> list[dict[str, Any]]:
    """The saved objects of one .ndjson file; TrawlError naming file:line for a line that is not one."""
    objects = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise TrawlError(f"{path}:{number}: not JSON: {exc}") from None
        if not isinstance(obj, dict) or not all(isinstance(obj.get(k), t) for k, t in
                                                (("type", str), ("id", str), ("attributes", dict))):
            raise TrawlError(f"{path}:{number}: a saved object needs type, id and attributes")
        objects.append(obj)
    return objects


def referenced_fields(obj: dict[str, Any]) -> set[str]:
    """Index fields an object names: a data view's time field, aggregation fields, fields in its KQL query."""
    attributes = obj["attributes"]
    fields: set[str] = set()
    if obj["type"] == "index-pattern" and attributes.get("timeFieldName"):
        fields.add(attributes["timeFieldName"])
    if "visState" in attributes:
        for agg in json.loads(attributes["visState"]).get("aggs", []):
            if agg.get("params", {}).get("field"):
                fields.add(agg["params"]["field"])
    source = attributes.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
    if source:
        query = json.loads(source).get("query", {}).get("query", "")
        fields |= set(_KUERY_FIELD.findall(query if isinstance(query, str) else ""))
    return fields


def with_prefix(text: str, prefix: str) -> str:
    """An .ndjson file with the data views' titles pointed at another index prefix (TRAWL_INDEX_PREFIX)."""
    if prefix == DEFAULT_PREFIX:
        return text
    lines = []
    for line in text.splitlines():
        obj = json.loads(line) if line.strip() else None
        if obj and obj["type"] == "index-pattern":
            obj["attributes"]["title"] = prefix + obj["attributes"]["title"].removeprefix(DEFAULT_PREFIX)
            line = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
        lines.append(line)
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class KibanaAuth:
    api_key: str = ""
    user: str = ""
    password: str = ""

    def __repr__(self) -> str:  # never let a credential reach a log line or traceback
        return f"KibanaAuth(api_key={'set' if self.api_key else 'unset'}, user={self.user!r})"

    def header(self) -> str | None:
        if self.api_key:
            return f"ApiKey {self.api_key}"
        if self.user:
            return "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return None


def import_url(kibana_url: str, space: str | None) -> str:
    parsed = urllib.parse.urlsplit(kibana_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise TrawlError(f"--kibana-url: {kibana_url!r} is not an http(s) URL")
    if space is not None and not re.fullmatch(r"[a-z0-9_-]{1,100}", space):
        raise TrawlError(f"--space: {space!r} is not a Kibana space id (lowercase letters, digits, _ and -)")
    base = kibana_url.rstrip("/") + (f"/s/{space}" if space else "")
    return base + "/api/saved_objects/_import?overwrite=true"


def multipart(filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = "trawl-" + secrets.token_hex(16)
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/ndjson\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def install(kibana_url: str, *, space: str | None = None, auth: KibanaAuth | None = None,
            prefix: str = DEFAULT_PREFIX, timeout: float = TIMEOUT_S) -> list[dict[str, Any]]:
    """Import every .ndjson file (overwriting objects with the same ids); one result per file."""
    url = import_url(kibana_url, space)
    results = []
    for path in object_files():
        load_objects(path)  # a broken file is refused here, not half-imported
        body, content_type = multipart(path.name, with_prefix(path.read_text(encoding="utf-8"), prefix).encode())
        headers = {"kbn-xsrf": "true", "Content-Type": content_type}
        authorization = (auth or KibanaAuth()).header()
        if authorization:
            headers["Authorization"] = authorization
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = exc.read(2000).decode("utf-8", "replace")
            raise TrawlError(f"--kibana-url: {path.name}: Kibana answered {exc.code}: {detail[:500]}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TrawlError(f"--kibana-url: cannot reach Kibana at {kibana_url}: {reason}") from None
        except ValueError:
            raise TrawlError(f"--kibana-url: {path.name}: Kibana's answer is not JSON") from None
        if not answer.get("success"):
            errors = [f"{e.get('type')}/{e.get('id')}: {e.get('error', {}).get('type')}" for e in answer.get("errors", [])]
            raise TrawlError(f"--kibana-url: {path.name}: import failed: {'; '.join(errors) or answer}")
        results.append({"file": path.name, "success_count": answer.get("successCount", 0)})
    return results
