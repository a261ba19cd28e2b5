"""One redaction filter (core.redact) on every log handler of a crawl process: secrets in
messages, exception text and tracebacks never reach the console or the log file."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import redact
from crawler.engine import logsetup

SECRET = "Tr4wl-exc-s3cret"


@pytest.fixture(autouse=True)
def _own_registry() -> Iterator[None]:
    """The secrets registered here stay out of other tests of this worker."""
    values, fields = set(redact._values), set(redact._fields)
    yield
    with redact._lock:
        redact._values.clear()
        redact._values.update(values)
        redact._fields.clear()
        redact._fields.update(fields)
        redact._rebuild()


def _fail_login(url: str) -> None:
    raise ConnectionError(f"login refused at {url}")


@pytest.fixture(params=[0, 1], ids=["one-line console", "full console"])
def logged(request: pytest.FixtureRequest, tmp_path: Path,
           capsys: pytest.CaptureFixture[str]) -> Iterator[tuple[str, str]]:
    """(console, log file) after logging a failure whose exception carries the secret."""
    log_file = tmp_path / "crawl.log"
    logsetup.install(logsetup.LogOptions(verbosity=request.param, log_file=log_file), secrets=[SECRET])
    try:
        log = logging.getLogger("crawler.engine.session")
        try:
            try:
                _fail_login(f"http://x.onion/do-login?user=me&pw={SECRET}")
            except ConnectionError as inner:
                raise RuntimeError(f"session lost (password {SECRET!r})") from inner
        except RuntimeError:
            log.exception("login of %s failed", "x.onion")
        log.error("token leak?", stack_info=True, extra={})
        log.warning("GET /api?api_key=K3y-123&q=ok and /feed?auth=abc&x=1")
    finally:
        logsetup.uninstall()
        logging.captureWarnings(False)
    yield capsys.readouterr().err, log_file.read_text(encoding="utf-8")


def test_exception_message_and_traceback_are_redacted(logged: tuple[str, str]) -> None:
    console, written = logged
    for text in (console, written):
        assert "login of x.onion failed" in text
        assert SECRET not in text and "s3cret" not in text
        assert "K3y-123" not in text and "auth=abc" not in text
        assert "api_key=[REDACTED]&q=ok" in text and "auth=[REDACTED]&x=1" in text
    # the file keeps the whole chained traceback, redacted
    assert "ConnectionError: login refused at http://x.onion/do-login?user=me&pw=[REDACTED]" in written
    assert "RuntimeError: session lost (password '[REDACTED]')" in written
    assert "in _fail_login" in written and "Stack (most recent call last)" in written


def test_one_line_console_shows_the_redacted_last_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logsetup.install(logsetup.LogOptions(verbosity=0), secrets=[SECRET])
    try:
        try:
            raise OSError(f"cannot open /tmp/{SECRET}/cookies")
        except OSError:
            logging.getLogger("scrapy.core.engine").exception("spider failed")
    finally:
        logsetup.uninstall()
        logging.captureWarnings(False)
    console = capsys.readouterr().err.strip().splitlines()
    assert console == ["ERROR [scrapy.core.engine] spider failed "
                       "(OSError: cannot open /tmp/[REDACTED]/cookies; details with -v or --log-file)"]


def test_a_traceback_without_secrets_keeps_its_exception() -> None:
    """Handlers after the filter (the crawl's failure watch) still see the exception."""
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "plain %s", ("failure",), None)
    try:
        raise ValueError("nothing secret")
    except ValueError as exc:
        record.exc_info = (type(exc), exc, exc.__traceback__)
        assert redact.LOG_FILTER.filter(record)
        assert record.exc_info is not None and record.exc_info[1] is exc
    assert record.getMessage() == "plain failure"


def test_log_lines_redact_more_than_evidence() -> None:
    """Three-character secrets and token-like parameters: logs only, evidence keeps them."""
    redact.register_secret("q7z")
    url = "http://shop.example/item?token=abc123&id=q7z"
    assert redact.redact_text(url) == url
    assert redact.redact_log_text(url) == "http://shop.example/item?token=[REDACTED]&id=[REDACTED]"
    redact.register_secret("ab")  # too short for anything: would redact half the log
    assert redact.redact_log_text("tab") == "tab"
