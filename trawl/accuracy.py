"""Compare what a crawl indexed with a site's ground truth, field by field.

Used by `trawl demo` (printed) and by the end-to-end tests (asserted). A truth
record is matched to a stored listing by listing id (`<site>:<native_id>`),
falling back to the listing URL's path.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from core.records import Listing

_SPACE = re.compile(r"\s+")


def _norm_text(value: Any) -> str:
    return _SPACE.sub(" ", str(value or "")).strip()


def _close(a: float | None, b: float | None, rel: float = 0.01) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=rel, abs_tol=0.011)


def _title(listing: Listing, truth: dict[str, Any]) -> bool:
    return _norm_text(listing.title) == _norm_text(truth.get("title"))


def _vendor(listing: Listing, truth: dict[str, Any]) -> bool:
    return _norm_text(listing.vendor).casefold() == _norm_text(truth.get("vendor")).casefold()


def _price(listing: Listing, truth: dict[str, Any]) -> bool:
    """Right if the displayed amount and currency match, or the USD value matches."""
    same_display = listing.price_currency == truth.get("price_currency") and _close(listing.price_amount, truth.get("price_amount"), 0.001)
    return same_display or (truth.get("price_usd") is not None and _close(listing.price_usd, truth.get("price_usd"), 0.01))


def _quantity(listing: Listing, truth: dict[str, Any]) -> bool:
    return listing.quantity_unit == truth.get("quantity_unit") and _close(listing.quantity_amount, truth.get("quantity_amount"), 0.01)


def _origin(listing: Listing, truth: dict[str, Any]) -> bool:
    return (listing.origin or None) == (truth.get("origin") or None)


def _destinations(listing: Listing, truth: dict[str, Any]) -> bool:
    if bool(truth.get("ships_worldwide")) != bool(listing.ships_worldwide):
        return False
    return (sorted(listing.destinations) == sorted(truth.get("destinations") or [])
            and sorted(listing.destinations_excluded) == sorted(truth.get("destinations_excluded") or []))


def _canonical_names(names: list[str]) -> set[str]:
    """The reference lists' canonical name for each of `names` (testbed and lists may name a substance differently)."""
    from enrich.lists import default_lists
    from enrich.normalize import name_key

    resolved = {_norm_text(n).casefold() for n in names}
    lists = default_lists()
    for name in names:
        entry = lists.names.get(name_key(name))
        if entry is not None:
            resolved.add(entry.canonical.casefold())
    return resolved


def _substance(listing: Listing, truth: dict[str, Any], candidate_tokens: frozenset[str] = frozenset()) -> bool:
    """Right if the listing names the truth's substance; for a substance on no reference list
    (truth `novel`), right only if nothing was matched and early warning recorded it."""
    expected = truth.get("substance")
    found = {s.name.casefold() for s in listing.substances}
    if not expected:
        return not found
    if truth.get("novel"):
        title = listing.title.casefold()
        return not found and any(token in title for token in candidate_tokens)
    return bool(_canonical_names([expected, *(truth.get("substance_aliases") or [])]) & found)


def _feedback(listing: Listing, truth: dict[str, Any]) -> bool:
    return truth.get("feedback_count") is None or listing.feedback_count == truth.get("feedback_count")


FIELD_CHECKS: dict[str, Callable[[Listing, dict[str, Any]], bool]] = {
    "title": _title,
    "price": _price,
    "vendor": _vendor,
    "quantity": _quantity,
    "origin": _origin,
    "destinations": _destinations,
    "substance": _substance,
    "feedback": _feedback,
}


@dataclass
class FieldScore:
    right: int = 0
    total: int = 0
    wrong_examples: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 1.0


@dataclass
class SiteAccuracy:
    site: str
    truth_listings: int
    found: int
    fields: dict[str, FieldScore]

    @property
    def recall(self) -> float:
        return self.found / self.truth_listings if self.truth_listings else 1.0


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def compare(
    site: str,
    truth: Iterable[dict[str, Any]],
    listings: Iterable[Listing],
    *,
    fields: Iterable[str] | None = None,
    candidate_tokens: Iterable[str] = (),
) -> SiteAccuracy:
    """`candidate_tokens`: early-warning candidates in the index (lower-case), for novel substances."""
    by_id = {}
    by_path = {}
    for listing in listings:
        by_id[listing.listing_id] = listing
        by_path[_path(listing.url)] = listing
    names = list(fields or FIELD_CHECKS)
    scores = {name: FieldScore() for name in names}
    truth = list(truth)
    tokens = frozenset(t.casefold() for t in candidate_tokens)
    checks: dict[str, Callable[[Listing, dict[str, Any]], bool]] = {
        **FIELD_CHECKS, "substance": partial(_substance, candidate_tokens=tokens)}
    found = 0
    for record in truth:
        matched = by_id.get(f"{site}:{record.get('native_id')}") or by_path.get(_path(str(record.get("url", ""))))
        if matched is None:
            continue
        found += 1
        for name in names:
            score = scores[name]
            score.total += 1
            if checks[name](matched, record):
                score.right += 1
            elif len(score.wrong_examples) < 3:
                score.wrong_examples.append(f"{record.get('native_id')}: expected {_expected(name, record)!r}, got {_got(name, matched)!r}")
    return SiteAccuracy(site=site, truth_listings=len(truth), found=found, fields=scores)


def _expected(name: str, truth: dict[str, Any]) -> Any:
    keys = {"price": ("price_amount", "price_currency", "price_usd"), "quantity": ("quantity_amount", "quantity_unit"),
            "destinations": ("ships_worldwide", "destinations", "destinations_excluded"), "feedback": ("feedback_count",)}
    return tuple(truth.get(k) for k in keys.get(name, (name,)))


def _got(name: str, listing: Listing) -> Any:
    if name == "price":
        return (listing.price_amount, listing.price_currency, listing.price_usd)
    if name == "quantity":
        return (listing.quantity_amount, listing.quantity_unit)
    if name == "destinations":
        return (listing.ships_worldwide, listing.destinations, listing.destinations_excluded)
    if name == "substance":
        return [s.name for s in listing.substances]
    if name == "feedback":
        return listing.feedback_count
    return getattr(listing, name, None)


def format_table(results: list[SiteAccuracy]) -> str:
    names = list(FIELD_CHECKS)
    header = f"{'site':<12}{'found':>10}  " + "".join(f"{n:>13}" for n in names)
    lines = [header, "-" * len(header)]
    for result in results:
        cells = "".join(f"{100 * result.fields[n].accuracy:>12.1f}%" if n in result.fields else f"{'-':>13}" for n in names)
        lines.append(f"{result.site:<12}{result.found:>5}/{result.truth_listings:<4}  {cells}")
    return "\n".join(lines)
