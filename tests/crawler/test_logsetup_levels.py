"""Scrapy's loggers follow the crawl's verbosity once its CrawlerProcess is made.

Scrapy's configure_logging (run by CrawlerProcess) sets the "scrapy" logger to DEBUG, which
made two records per page nobody shows at default verbosity; `after_scrapy_logging` puts it
back to the level our handlers start at."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from scrapy.utils.log import configure_logging

from crawler.engine import logsetup


@pytest.fixture(autouse=True)
def _restore_levels() -> Iterator[None]:
    scrapy_logger, root = logging.getLogger("scrapy"), logging.getLogger()
    levels = scrapy_logger.level, root.level
    yield
    logsetup.uninstall()
    logging.captureWarnings(False)
    scrapy_logger.setLevel(levels[0])
    root.setLevel(levels[1])


@pytest.mark.parametrize(("verbosity", "with_file", "lowest_shown"), [
    (0, False, logging.WARNING),
    (1, False, logging.INFO),
    (2, False, logging.DEBUG),
    (0, True, logging.INFO),  # the log file gets INFO whatever the console shows
    (-1, False, logging.ERROR),
], ids=["default", "-v", "-vv", "default + --log-file", "-q"])
def test_scrapy_logger_makes_records_only_at_a_shown_level(tmp_path: Path, verbosity: int, with_file: bool,
                                                           lowest_shown: int) -> None:
    options = logsetup.LogOptions(verbosity=verbosity, log_file=tmp_path / "crawl.log" if with_file else None)
    logsetup.install(options)
    configure_logging({"LOG_LEVEL": "WARNING"}, install_root_handler=False)  # what CrawlerProcess does
    assert logging.getLogger("scrapy").isEnabledFor(logging.DEBUG)  # Scrapy's own default
    logsetup.after_scrapy_logging()
    scrapy_logger = logging.getLogger("scrapy.core.engine")  # "Crawled (200) <GET ...>" comes from here
    assert scrapy_logger.isEnabledFor(lowest_shown)
    assert not scrapy_logger.isEnabledFor(lowest_shown - 1)
