"""How many processing workers a crawl gets (crawler.engine.workers.resolve_workers)."""
from __future__ import annotations

import logging

import pytest

from crawler.engine.workers_config import auto_workers, evidence_on, resolve_workers


def test_flag_wins_over_the_key_and_auto_leaves_a_core_to_the_crawl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRAWL_WORKERS_FEED", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    assert resolve_workers(2, -1, evidence=True) == 2
    assert resolve_workers(None, 0, evidence=True) == 0
    assert resolve_workers(None, -1, evidence=True) == 3 == auto_workers(True)
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert resolve_workers(None, -1, evidence=True) == 1  # at least one


def test_evidence_off_forces_in_process_with_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="crawler.engine.workers"):
        assert resolve_workers(3, -1, evidence=False) == 0
    assert "evidence is off" in caplog.text
    assert resolve_workers(None, -1, evidence=False) == 0


def test_evidence_on_reads_the_scrapy_settings() -> None:
    from crawler.evidence.middleware import MIDDLEWARE_PATH

    assert evidence_on({"DOWNLOADER_MIDDLEWARES": {MIDDLEWARE_PATH: 950}})
    assert not evidence_on({"DOWNLOADER_MIDDLEWARES": {MIDDLEWARE_PATH: 950}, "TRAWL_EVIDENCE_ENABLED": False})
    assert not evidence_on({"DOWNLOADER_MIDDLEWARES": {}})


@pytest.mark.parametrize(("env", "expected"), [(None, True), ("false", False), ("0", False), ("true", True)])
def test_help_at_close_follows_its_key(monkeypatch: pytest.MonkeyPatch, env: str | None, expected: bool) -> None:
    """crawl.workers_help_at_close reaches the item pipeline's settings (and so the pool)."""
    from scrapy.settings import Settings

    from crawler.engine.itempipeline import StoreSettings

    if env is None:
        monkeypatch.delenv("TRAWL_WORKERS_HELP_AT_CLOSE", raising=False)
    else:
        monkeypatch.setenv("TRAWL_WORKERS_HELP_AT_CLOSE", env)
    settings = Settings({"TRAWL_STORE_BATCH": 50, "TRAWL_STORE_BATCH_SECONDS": 1.0})
    assert StoreSettings.from_settings(settings).help_at_close is expected
    settings.set("TRAWL_WORKERS_HELP_AT_CLOSE", not expected)  # what crawler.engine.run sets wins
    assert StoreSettings.from_settings(settings).help_at_close is (not expected)
