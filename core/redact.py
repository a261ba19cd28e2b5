"""Login secrets out of everything trawl writes: WARC records, the manifest, logs, pause
files and alerts.

Bodies of login requests are redacted field by field by the evidence writer.  This
module covers what a body-level redaction misses when a login form submits by GET (or a
site echoes credentials into a redirect): the password in a URL's query string, which
then also travels as the Referer of the next request and appears in Scrapy's debug log.

Two rules, applied to any text:
* the value of a query parameter named like a login field (the site's configured
  username/password fields, plus common password names) becomes `[REDACTED]`;
* every registered secret value (the password, as loaded) is replaced wherever it
  appears, raw or URL-encoded.

Secrets are registered process-wide when credentials are loaded (`crawler.engine.session`), so
the log filter and the evidence writer need no reference to the spider.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "[REDACTED]"
# a value shorter than this is only redacted by field name: replacing every "abc" in
# evidence would damage it more than the value is worth hiding
MIN_SECRET_LENGTH = 4
DEFAULT_SECRET_FIELDS = ("password", "passwd", "pass", "pwd", "passphrase", "secret")

_lock = threading.Lock()
_values: set[str] = set()
_fields: set[str] = set(DEFAULT_SECRET_FIELDS)
_value_re: re.Pattern[str] | None = None
_field_re: re.Pattern[str] | None = None


def _rebuild() -> None:
    global _value_re, _field_re
    variants = {form for value in _values for form in (value, quote_plus(value), quote(value, safe=""), quote(value))}
    # longest first: an encoded form may contain a shorter raw one
    ordered = sorted(variants, key=len, reverse=True)
    _value_re = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None
    names = "|".join(re.escape(quote_plus(name)) for name in sorted(_fields, key=len, reverse=True))
    # name=value in a query string or form body, up to the next separator
    _field_re = re.compile(rf"(?i)((?:^|[?&;\s])(?:{names})=)[^&;#\s'\"<>]*")


def register_secret(value: str) -> None:
    """Redact this value (raw and URL-encoded) from every URL, header and log line."""
    if len(value) < MIN_SECRET_LENGTH:
        return
    with _lock:
        if value not in _values:
            _values.add(value)
            _rebuild()


def register_secret_fields(*names: str) -> None:
    """Redact the values of query/form parameters with these names."""
    with _lock:
        new = {name for name in names if name} - _fields
        if new:
            _fields.update(new)
            _rebuild()


def redact_text(text: str) -> str:
    """Text (a URL, a header value, a log message) with login secrets replaced."""
    value_re, field_re = _value_re, _field_re
    if field_re is None:
        with _lock:
            _rebuild()
        value_re, field_re = _value_re, _field_re
    if value_re is not None:
        text = value_re.sub(REDACTED, text)
    if field_re is not None and "=" in text:
        text = field_re.sub(lambda m: m.group(1) + REDACTED, text)
    return text


# --- WARC records ----------------------------------------------------------------------

def redact_records(records: Iterable[Any]) -> None:
    """Redact warcio records in place before they are written: WARC-Target-URI, the HTTP
    request line and header values.  Digests of the block are computed at write time,
    so they cover what is stored; payloads (bodies) are left to the evidence writer."""
    for record in records:
        target = record.rec_headers.get_header("WARC-Target-URI")
        if target:
            record.rec_headers.replace_header("WARC-Target-URI", redact_text(target))
        http = record.http_headers
        if http is None:
            continue
        http.statusline = redact_text(http.statusline)
        http.headers = [(name, redact_text(value)) for name, value in http.headers]


# --- logs ------------------------------------------------------------------------------

class RedactingFilter(logging.Filter):
    """Rewrites a log record whose formatted message (or traceback) holds a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        clean = redact_text(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


_FILTER = RedactingFilter()


def install_log_filter(logger: logging.Logger | None = None) -> None:
    """Attach the redacting filter to every handler of the root logger (and `logger`'s).

    Handler filters see records propagated from every logger (Scrapy's "Crawled (200)
    <GET …>" debug lines included); a logger's own filters would not."""
    for owner in {logging.getLogger(), logger or logging.getLogger()}:
        for handler in owner.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
