"""Logging of a crawl process: a quiet console, an optional full log file, no secrets.

The console (stderr) shows WARNING and above by default, INFO with -v, DEBUG with -vv;
`--log-file` gets at least INFO whatever the console shows.  Scrapy's start-up chatter
(versions, settings, enabled components) is INFO; deprecation warnings of the libraries
we use are not the user's problem and go to DEBUG.  At default verbosity each console
record is one line (tracebacks are in the log file, or on the console with -v).

Every handler carries core.redact's filter: the site's login secrets and password- or
token-like URL parameters are redacted from messages and tracebacks, so a credential
never reaches a log, whatever the level.
"""
from __future__ import annotations

import logging
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import redact
from core.errors import TrawlError

CONSOLE_FORMAT = "%(levelname)s [%(name)s] %(message)s"
FILE_FORMAT = "%(asctime)s [%(name)s] %(levelname)s: %(message)s"


@dataclass(frozen=True)
class LogOptions:
    """What the crawl process logs where.  verbosity: -1 quiet, 0 default, 1 -v, 2 -vv."""

    verbosity: int = 0
    log_file: Path | None = None
    level_override: str | None = None  # $TRAWL_LOG_LEVEL, when no -v/-q was given

    @property
    def console_level(self) -> int:
        if self.verbosity == 0 and self.level_override:
            level = logging.getLevelName(self.level_override.upper())
            if not isinstance(level, int):
                raise TrawlError(f"TRAWL_LOG_LEVEL={self.level_override!r}: expected DEBUG, INFO, WARNING or ERROR")
            return level
        return {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(self.verbosity, logging.DEBUG)

    @property
    def file_level(self) -> int:
        return min(logging.INFO, self.console_level)

    @property
    def root_level(self) -> int:
        return min(self.console_level, self.file_level if self.log_file else self.console_level)


class FollowUpFilter(logging.Filter):
    """Console only: once the crawl stopped on a local failure (disk full...), the same
    error raised again by every component that closes is noise; the log file keeps it."""

    def filter(self, record: logging.LogRecord) -> bool:
        from crawler.engine.runstatus import is_local_failure, local_failure_seen

        if not local_failure_seen() or record.name == "crawler.engine.runstatus":
            return True
        if record.name == "twisted":  # Twisted's own tracebacks carry no exc_info to inspect
            return False
        exc = record.exc_info[1] if record.exc_info else None
        return not is_local_failure(exc)


class OneLineFormatter(logging.Formatter):
    """Console at default verbosity: one line per record, the exception's last line only.

    The traceback's text comes from `exc_text`, which the redacting filter has cleaned;
    `exc_info` is hidden while the line is formatted, so the base class cannot render
    the (unredacted) exception again."""

    def format(self, record: logging.LogRecord) -> str:
        text, exc_info = record.exc_text, record.exc_info
        if not text and exc_info and exc_info[1] is not None:
            text = redact.redact_log_text(self.formatException(exc_info))
        record.exc_text, record.exc_info = None, None
        try:
            line = super().format(record)
        finally:
            record.exc_text, record.exc_info = text, exc_info
        lines = line.strip().splitlines()
        if len(lines) > 1:  # a traceback inside the message (Twisted logs them so)
            line, text = lines[0], text or "\n".join(lines[1:])
        if text:
            last = text.strip().splitlines()[-1]
            line += f" ({last}; details with -v or --log-file)"
        return line


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg,unused-ignore]
    """Writes to whatever sys.stderr is at the time, so a live progress display that wraps
    sys.stderr prints log lines above itself instead of through it."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:  # StreamHandler.__init__ assigns it
        pass


_installed: list[logging.Handler] = []
_root_level_before: list[int] = []


def _show_warning(message: Any, category: type[Warning], filename: str, lineno: int, file: Any = None,
                  line: str | None = None) -> None:
    level = logging.DEBUG if issubclass(category, DeprecationWarning | PendingDeprecationWarning) \
        or category.__name__.endswith("DeprecationWarning") else logging.WARNING
    logging.getLogger("py.warnings").log(level, "%s:%s: %s: %s", filename, lineno, category.__name__, message)


def install(options: LogOptions, secrets: list[str] | None = None) -> None:
    """Configure the root logger for one crawl process (replaces what a previous call set)."""
    uninstall()
    root = logging.getLogger()
    _root_level_before.append(root.level)
    for secret in secrets or []:
        redact.register_secret(secret)  # process-wide: the evidence writer redacts it too
    console = StderrHandler()
    console.setLevel(options.console_level)
    console.setFormatter(logging.Formatter(CONSOLE_FORMAT) if options.verbosity >= 1
                         else OneLineFormatter(CONSOLE_FORMAT))
    console.addFilter(FollowUpFilter())  # before redaction, which may fold exc_info into text
    console.addFilter(redact.LOG_FILTER)
    _installed.append(console)
    if options.log_file is not None:
        try:
            options.log_file.parent.mkdir(parents=True, exist_ok=True)
            file_handler = logging.FileHandler(options.log_file, mode="a", encoding="utf-8")
        except OSError as exc:
            raise TrawlError(f"--log-file {options.log_file}: cannot write it ({exc.strerror})") from None
        file_handler.setLevel(options.file_level)
        file_handler.setFormatter(logging.Formatter(FILE_FORMAT))
        file_handler.addFilter(redact.LOG_FILTER)
        _installed.append(file_handler)
    for handler in _installed:
        root.addHandler(handler)
    root.setLevel(options.root_level)
    capture_warnings()
    _stop_twisted_stderr()


def _stop_twisted_stderr() -> None:
    """Twisted prints critical events (an unhandled error in a Deferred) straight to stderr
    until someone 'begins logging'; Scrapy forwards them to Python logging already, so
    begin with no extra observer and they reach the console once, through our handlers."""
    from twisted.logger import globalLogBeginner

    if getattr(globalLogBeginner, "_temporaryObserver", None) is not None:
        globalLogBeginner.beginLoggingTo([], discardBuffer=True, redirectStandardIO=False)


def uninstall() -> None:
    """Remove what install() added and restore the root level (for in-process callers)."""
    root = logging.getLogger()
    for handler in _installed:
        root.removeHandler(handler)
        handler.close()
    _installed.clear()
    if _root_level_before:
        root.setLevel(_root_level_before.pop())


def capture_warnings() -> None:
    """Python warnings go through logging (deprecations at DEBUG); call again after
    Scrapy's configure_logging, which installs its own hook (see `after_scrapy_logging`)."""
    logging.captureWarnings(True)
    warnings.showwarning = _show_warning


def after_scrapy_logging() -> None:
    """Undo what Scrapy's configure_logging (run by CrawlerProcess) changed of ours: its
    warnings hook, and its "scrapy" logger at DEBUG, which logs every page twice ("Crawled",
    "Scraped from"): below the level our handlers show, those records are not even made
    (measured on the testbed: 7.3 -> 6.7 ms of the crawl process's CPU per page)."""
    capture_warnings()
    logging.getLogger("scrapy").setLevel(logging.getLogger().getEffectiveLevel())


def site_secrets(site: Any) -> list[str]:
    """The site's login password (from env or secrets files) if it has a login."""
    login = getattr(site, "login", None)
    if login is None:
        return []
    from crawler.engine.session import load_credentials

    try:
        creds = load_credentials(site.name, login)
    except TrawlError:
        return []
    return [creds.password] if creds is not None and creds.password else []
