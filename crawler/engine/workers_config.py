"""How many processing workers a crawl gets (`--workers`, the `crawl.workers` key, the feed),
decided before the crawl starts (crawler.engine.run); the pool itself is crawler.engine.workers."""
from __future__ import annotations

import logging
import os
from typing import Any

logger = logging.getLogger(__name__)


def auto_workers(evidence: bool) -> int:
    """The default: one worker per core beyond the crawl's own, at least one (evidence on)."""
    if not evidence:
        return 0
    return max(1, (os.cpu_count() or 1) - 1)


def resolve_workers(requested: int | None, configured: int, evidence: bool) -> int:
    """--workers, else the `crawl.workers` key (-1 = auto); evidence off forces 0 (logged)."""
    from core.config import load_config

    wanted = requested if requested is not None else configured
    if wanted < 0:
        wanted = auto_workers(evidence)
    if requested is None and load_config().crawl_workers_feed != "local":
        wanted = max(1, wanted)  # jobs go to `trawl process` consumers (crawler.engine.workers_redis)
    if wanted > 0 and not evidence:
        logger.warning("evidence is off: pages are processed in the crawl process (--workers %d ignored)", wanted)
        return 0
    return wanted


def evidence_on(settings: dict[str, Any]) -> bool:
    """Whether a crawl with these Scrapy settings writes evidence (workers read pages from it)."""
    from core.defaults import SCRAPY_DEFAULTS
    from crawler.evidence.middleware import MIDDLEWARE_PATH

    enabled = settings.get("TRAWL_EVIDENCE_ENABLED", SCRAPY_DEFAULTS["TRAWL_EVIDENCE_ENABLED"])
    return bool(enabled) and bool((settings.get("DOWNLOADER_MIDDLEWARES") or {}).get(MIDDLEWARE_PATH))
