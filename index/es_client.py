"""Building the official Elasticsearch client: auth from options/env, server-version compatibility.

Supported matrix (client elasticsearch-py 9.x, as installed):
  ES 9.x  native.
  ES 8.x  works: the 9.x client always asks for `compatible-with=9`, which 8.x
          servers refuse ("Invalid media-type value"), so after probing the
          server version with a plain `application/json` request we rewrite
          the compatibility header to the server's major version.
  ES 7.17 best effort, same mechanism with `compatible-with=7` (7.x accepts
          REST compatibility headers for its own major).  Only core APIs are
          used: indices, aliases, `_index_template`, bulk, search, composite
          aggregations.
Secrets never reach logs or error messages: only `display_url` (no userinfo) does.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from core.config import load_config
from core.errors import TrawlError


@dataclass
class EsSettings:
    url: str
    display_url: str
    api_key: str | None = None
    user: str | None = None
    password: str | None = None
    ca_cert: str | None = None
    request_timeout: float = 30.0


def settings_from(url: str, **options: Any) -> EsSettings:
    parts = urlsplit(url)
    config = load_config()
    user = options.get("user") or config.index_user or (parts.username or None)
    password = options.get("password") or config.index_password or (parts.password or None)
    password_file = options.get("password_file") or config.index_password_file
    if not password and password_file:
        try:
            password = Path(password_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise TrawlError(f"TRAWL_INDEX_PASSWORD_FILE {password_file}: cannot read ({exc.strerror})") from exc
    ca_cert = options.get("ca_cert") or config.index_ca_cert or None
    if ca_cert and not Path(ca_cert).is_file():
        raise TrawlError(f"TRAWL_INDEX_CA_CERT {ca_cert}: no such file")
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    clean = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    if not host:
        raise TrawlError(f"index url {clean or url!r}: no host (expected http(s)://host:9200)")
    return EsSettings(
        url=clean, display_url=clean, api_key=options.get("api_key") or config.index_api_key or None,
        user=user, password=password, ca_cert=ca_cert,
        request_timeout=float(options.get("request_timeout", 30.0)),
    )


def make_client(settings: EsSettings) -> Any:
    from elasticsearch import Elasticsearch

    kwargs: dict[str, Any] = {
        "request_timeout": settings.request_timeout,
        "max_retries": 2,
        "retry_on_timeout": True,
        "retry_on_status": (429, 502, 503, 504),
    }
    if settings.api_key:
        kwargs["api_key"] = settings.api_key
    elif settings.user:
        kwargs["basic_auth"] = (settings.user, settings.password or "")
    if settings.ca_cert:
        kwargs["ca_certs"] = settings.ca_cert
    try:  # several times faster than the json module, most of the client's cost in a bulk
        from elasticsearch.serializer import OrjsonSerializer

        kwargs["serializer"] = OrjsonSerializer()
    except ImportError:  # orjson missing: the default serializer works, slower
        pass
    return Elasticsearch(settings.url, **kwargs)


def server_major(client: Any, display_url: str = "the index url") -> int:
    """Ask the server its version with plain JSON headers, which every major accepts.

    Anything but Elasticsearch's JSON banner (a web server, a proxy's login page, the wrong
    service on the port) is a one-line TrawlError naming the URL and what answered."""
    response = client.transport.perform_request("GET", "/", headers={"accept": "application/json"})
    status = response.meta.status
    if status in (401, 403):
        raise TrawlError("Elasticsearch refused the credentials (check TRAWL_INDEX_API_KEY / TRAWL_INDEX_USER / TRAWL_INDEX_PASSWORD)")
    body = response.body
    if status >= 400 and isinstance(body, dict) and "error" in body:  # Elasticsearch, but not ready (no master...)
        raise TrawlError(f"Elasticsearch at {display_url} answered {status} to GET /: {str(body['error'])[:200]}")
    version = body.get("version") if isinstance(body, dict) else None
    number = version.get("number") if isinstance(version, dict) else None
    if not isinstance(number, str) or not number[:1].isdigit():
        headers = response.meta.headers
        content_type = (headers.get("content-type") or "no content type").split(";")[0].strip()
        raise TrawlError(f"{display_url} answered {status} {content_type} to GET /, not Elasticsearch "
                         "(expected its JSON banner with version.number; check TRAWL_INDEX_URL)")
    if status >= 400:
        raise TrawlError(f"Elasticsearch at {display_url} answered {status} to GET /")
    return int(number.split(".")[0])


def pin_compatibility(client: Any, major: int) -> None:
    """Rewrite the client's `compatible-with=<client major>` headers to the server's major."""
    from elasticsearch import __versionstr__

    client_major = __versionstr__.split(".")[0]
    transport = client.transport
    if str(major) == client_major or getattr(transport, "_trawl_pinned", None) == major:
        return
    original = transport.perform_request
    wanted = f"compatible-with={major}"
    current = f"compatible-with={client_major}"

    def perform_request(method: str, target: str, **kwargs: Any) -> Any:
        headers = kwargs.get("headers")
        if headers is not None and hasattr(headers, "items"):
            kwargs["headers"] = {k: v.replace(current, wanted) if isinstance(v, str) else v for k, v in headers.items()}
        return original(method, target, **kwargs)

    transport.perform_request = perform_request
    transport._trawl_pinned = major  # a second ensure_ready() must not wrap twice
