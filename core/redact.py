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

Log lines get the same two rules, a little wider: token/api_key/auth parameters too, any
non-word character before the name, and secrets from 3 characters (evidence keeps 4:
replacing every "abc" in a stored page would damage it more than the value is worth
hiding; a log line can afford it).  `RedactingFilter` is the one log filter of trawl:
it redacts the message, the traceback (`exc_info`) and `stack_info`.

Secrets are registered process-wide when credentials are loaded (`crawler.engine.session`,
`crawler.engine.logsetup.install`), so the log filter and the evidence writer need no
reference to the spider.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "[REDACTED]"
# a value shorter than this is only redacted by field name in URLs, headers and evidence
MIN_SECRET_LENGTH = 4
# log lines redact shorter values too (see the module docstring)
MIN_LOG_SECRET_LENGTH = 3
DEFAULT_SECRET_FIELDS = ("password", "passwd", "pass", "pwd", "passphrase", "secret")
# only in log lines: a crawled URL may carry these legitimately (evidence keeps them)
LOG_SECRET_FIELDS = ("token", "api_key", "apikey", "auth")

_lock = threading.Lock()
_values: set[str] = set()
_fields: set[str] = set(DEFAULT_SECRET_FIELDS)


class _Patterns:
    """Compiled once per change of the registry; swapped whole, read without the lock."""

    def __init__(self, values: set[str], fields: set[str]) -> None:
        self.value = _values_re(v for v in values if len(v) >= MIN_SECRET_LENGTH)
        self.log_value = _values_re(values)
        # name=value in a query string or form body, up to the next separator
        self.field = re.compile(rf"(?i)((?:^|[?&;\s])(?:{_names(fields)})=)[^&;#\s'\"<>]*")
        self.log_field = re.compile(rf"(?i)((?<!\w)(?:{_names(fields | set(LOG_SECRET_FIELDS))})=)[^&\s'\"<>]*")


def _values_re(values: Iterable[str]) -> re.Pattern[str] | None:
    variants = {form for value in values for form in (value, quote_plus(value), quote(value, safe=""), quote(value))}
    # longest first: an encoded form may contain a shorter raw one
    ordered = sorted(variants, key=len, reverse=True)
    return re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None


def _names(fields: set[str]) -> str:
    return "|".join(re.escape(quote_plus(name)) for name in sorted(fields, key=len, reverse=True))


_patterns = _Patterns(_values, _fields)


def _rebuild() -> None:
    global _patterns
    _patterns = _Patterns(_values, _fields)


def register_secret(value: str) -> None:
    """Redact this value (raw and URL-encoded) from every URL, header and log line."""
    if len(value) < MIN_LOG_SECRET_LENGTH:
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


def _apply(text: str, value_re: re.Pattern[str] | None, field_re: re.Pattern[str]) -> str:
    if value_re is not None:
        text = value_re.sub(REDACTED, text)
    if "=" in text:
        text = field_re.sub(lambda m: m.group(1) + REDACTED, text)
    return text


def redact_text(text: str) -> str:
    """Text (a URL, a header value, a message stored as evidence) with login secrets replaced."""
    patterns = _patterns
    return _apply(text, patterns.value, patterns.field)


def redact_log_text(text: str) -> str:
    """A log line (or traceback) with login secrets and token-like parameters replaced."""
    patterns = _patterns
    return _apply(text, patterns.log_value, patterns.log_field)


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
    """Rewrites a log record whose message, traceback or stack holds a secret.

    A traceback with a secret is rendered here, redacted into `exc_text`, and `exc_info`
    dropped: a formatter renders `exc_info` again whenever `exc_text` is empty (the
    console's one-line formatter empties it), and the exception's own text holds the
    secret.  A traceback without one keeps its `exc_info` for the handlers that look at
    the exception (crawl failure detection)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        for secret in secrets:
            register_secret(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a broken format string: logging would print the args raw
            message = f"{record.msg} {record.args!r}"
            record.msg, record.args = message, None
        clean = redact_log_text(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            rendered = logging.Formatter().formatException(record.exc_info)
            clean = redact_log_text(rendered)
            if clean != rendered:
                record.exc_text, record.exc_info = clean, None
        if record.exc_text:
            record.exc_text = redact_log_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_log_text(record.stack_info)
        return True


# the one instance every handler carries (adding it twice is a no-op)
LOG_FILTER = RedactingFilter()


def install_log_filter(logger: logging.Logger | None = None) -> None:
    """Attach the redacting filter to every handler of the root logger (and `logger`'s).

    Handler filters see records propagated from every logger (Scrapy's "Crawled (200)
    <GET …>" debug lines included); a logger's own filters would not."""
    for owner in {logging.getLogger(), logger or logging.getLogger()}:
        for handler in owner.handlers:
            if LOG_FILTER not in handler.filters:
                handler.addFilter(LOG_FILTER)
