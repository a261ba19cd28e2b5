"""Sales ESTIMATES from feedback counts between snapshots.

Method (Soska & Christin, "Measuring the Longitudinal Evolution of the Online
Anonymous Marketplace Ecosystem", USENIX Security 2015): buyers are asked to leave
feedback after each purchase, so new feedback on a listing between two observations
is a proxy for the number of sales in that interval.  It is a LOWER bound (not every
buyer leaves feedback; markets may cap or prune displayed feedback) and it assumes
the price observed at the later snapshot.  A feedback count that goes DOWN (pruning,
relisting) yields no sales for that interval and is flagged.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from itertools import pairwise

from core.records import Snapshot

METHOD = "feedback-delta (Soska & Christin 2015): new feedback between snapshots as a proxy for sales"
LABEL = "estimate"


@dataclass
class SalesEstimate:
    listing_id: str
    period_start: str
    period_end: str
    feedback_delta: int
    estimated_sales: int
    estimated_revenue_usd: float | None
    vendor_id: str | None = None
    substance: str | None = None
    site: str = ""
    flag: str = ""  # e.g. "feedback decreased"
    label: str = LABEL
    method: str = METHOD

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def estimate_sales(snapshots: Iterable[Snapshot]) -> list[SalesEstimate]:
    """One estimate per listing per interval between consecutive snapshots with feedback counts."""
    by_listing: dict[str, list[Snapshot]] = defaultdict(list)
    for snap in snapshots:
        if snap.feedback_count is not None:
            by_listing[snap.listing_id].append(snap)
    estimates = []
    for listing_id, snaps in sorted(by_listing.items()):
        snaps.sort(key=lambda s: s.crawled_at)
        for prev, cur in pairwise(snaps):
            if cur.crawled_at == prev.crawled_at:
                continue
            delta = int(cur.feedback_count) - int(prev.feedback_count)  # type: ignore[arg-type]
            sales = max(delta, 0)
            price = cur.price_usd if cur.price_usd is not None else prev.price_usd
            estimates.append(SalesEstimate(
                listing_id=listing_id,
                period_start=prev.crawled_at,
                period_end=cur.crawled_at,
                feedback_delta=delta,
                estimated_sales=sales,
                estimated_revenue_usd=round(sales * price, 2) if price is not None else None,
                vendor_id=cur.vendor_id or prev.vendor_id,
                substance=cur.substance or prev.substance,
                site=cur.site,
                flag="feedback decreased: interval not counted" if delta < 0 else "",
            ))
    return estimates


def total_sales(estimates: Iterable[SalesEstimate], by: str = "vendor_id") -> dict[str, dict[str, float]]:
    """Sum estimates by vendor_id, substance, site or listing_id."""
    totals: dict[str, dict[str, float]] = defaultdict(lambda: {"estimated_sales": 0, "estimated_revenue_usd": 0.0})
    for est in estimates:
        key = str(getattr(est, by) or "unknown")
        totals[key]["estimated_sales"] += est.estimated_sales
        totals[key]["estimated_revenue_usd"] += est.estimated_revenue_usd or 0.0
    return dict(totals)
