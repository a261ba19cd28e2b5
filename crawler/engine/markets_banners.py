"""Seizure and exit-scam banners on fetched pages.

Built-in patterns catch the wording law-enforcement seizure pages and failing markets use
("this hidden site has been seized", "seized by the FBI / BKA / Europol ...", "withdrawals
are temporarily disabled"); a site YAML adds its own markers (`market.markers.seized` /
`exit_scam`, same syntax as gate markers).  The patterns need seizure wording *with* a
site or an agency: a vendor writing "my parcel was seized by customs" must not end a crawl.

A seizure banner stops the crawl (close reason `market_seized`); an exit-scam banner is
only recorded (the crawl goes on: the listings are the evidence).  Both land in the run's
stats, where the lifecycle registry (crawler/engine/markets.py) reads them at the end of
the run and raises the one alert per state change.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from parsel import Selector

from crawler.sitedef.marketnodes import MarketSpec
from crawler.sitedef.pagetree import page_selector
from crawler.sitedef.selectors import Marker

AGENCIES = (r"FBI|Federal Bureau of Investigation|BKA|Bundeskriminalamt|Europol|Eurojust|DEA|Drug Enforcement"
            r"|HSI|Homeland Security|IRS|Department of Justice|DOJ|NCA|National Crime Agency|Politie|Polisen"
            r"|Police|Polizei|Gendarmerie|Guardia Civil|ZIT|Generalstaatsanwaltschaft|law enforcement|JCODE")
SEIZED_PATTERNS = tuple(re.compile(p, re.I) for p in (
    r"this (?:hidden |onion )?(?:site|service|domain|market(?:place)?|website) has been seized",
    rf"(?:has|have) been seized (?:by|in|as part of)\b.{{0,120}}?\b(?:{AGENCIES})\b",
    rf"\bseized by (?:the )?(?:{AGENCIES})\b",
    rf"\b(?:{AGENCIES})\b.{{0,120}}?\b(?:seized|took down|taken down|shut down) (?:this|the) "
    r"(?:site|market(?:place)?|platform|hidden service|server)",
))
EXIT_SCAM_PATTERNS = tuple(re.compile(p, re.I) for p in (
    r"withdrawals? (?:are|is|have been|has been) (?:temporarily |currently )?(?:disabled|suspended|paused|frozen|unavailable)",
    r"withdrawals? (?:temporarily )?(?:disabled|suspended)",
))
PREFILTER = ("seiz", "withdraw", "taken down", "took down", "shut down")
SEIZED_STAT = "trawl/market/seized"
EXIT_SCAM_STAT = "trawl/market/exit_scam"
SEIZED_REASON = "market_seized"
_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]+>", re.S | re.I)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Banner:
    kind: str  # "seized" | "exit_scam"
    evidence: str  # the words that matched (or the YAML marker)


def visible_text(html: str) -> str:
    """The page's words with tags dropped: a banner's phrase may be split by <b>...</b>."""
    return _SPACE.sub(" ", _TAG.sub(" ", html))


def detect_banner(spec: MarketSpec, *, text: str, url: str = "", status: int = 200,
                  sel: Selector | None = None, builtin: bool = True) -> Banner | None:
    """A seizure banner first (it ends the crawl), else an exit-scam banner, else None.
    `builtin=False` applies only the site YAML's markers."""
    lowered = text.casefold() if builtin else ""
    words: str | None = None
    for kind, patterns, markers in (("seized", SEIZED_PATTERNS, spec.seized_markers),
                                    ("exit_scam", EXIT_SCAM_PATTERNS, spec.exit_scam_markers)):
        if builtin and any(p in lowered for p in PREFILTER):
            words = words if words is not None else visible_text(text)
            for pattern in patterns:
                match = pattern.search(words)
                if match:
                    return Banner(kind, match.group(0)[:200])
        for marker in markers:
            if _marker_matches(marker, text=text, url=url, status=status, sel=sel):
                return Banner(kind, f"marker {marker}")
    return None


def _marker_matches(marker: Marker, *, text: str, url: str, status: int, sel: Selector | None) -> bool:
    if sel is None and marker.kind in ("css", "xpath"):
        sel = page_selector(text)
    return marker.matches(text=text, sel=sel, url=url, status=status)


def on_page(spider: Any, *, text: str, url: str, status: int, sel: Selector | None, kind: str = "nav") -> bool:
    """The spider's hook for every fetched page: records a banner in the run's stats and
    stops the crawl on a seizure banner.  True when the page must not be read further.

    The built-in patterns are read on navigation pages of markets only: a seizure replaces
    every page, the start page included, while a listing or vendor page, or a forum
    thread, may well *tell* of a seizure ("our old shop was seized by the police")."""
    builtin = kind not in ("listing", "vendor") and spider.site.kind != "forum"
    banner = detect_banner(spider.site.market, text=text, url=url, status=status, sel=sel, builtin=builtin)
    if banner is None:
        return False
    stats = spider.crawler.stats
    if banner.kind == "exit_scam":
        if stats.get_value(EXIT_SCAM_STAT) is None:
            spider.logger.warning("exit-scam banner on %s: %r", url, banner.evidence)
        stats.set_value(EXIT_SCAM_STAT, f"{banner.evidence} ({url})")
        return False
    stats.set_value(SEIZED_STAT, f"{banner.evidence} ({url})")
    spider.stop(f"seizure banner on {url}: {banner.evidence!r}", SEIZED_REASON)
    return True
