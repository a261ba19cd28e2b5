"""Validation of SearchQuery fields that both backends share (sort names, paging bounds).

Lives beside the query API so neither backend imports the other."""
from __future__ import annotations

from core.errors import TrawlError
from index.api import SearchQuery

SORT_FIELDS = ("price_usd", "usd_per_unit", "first_seen", "last_seen")
MAX_PAGE = 10_000  # deeper pages are an export, not a search


def parse_sort(sort: str) -> tuple[str, bool]:
    """("relevance" | field, descending)."""
    descending = sort.startswith("-")
    field = sort.lstrip("-+") or "relevance"
    if field != "relevance" and field not in SORT_FIELDS:
        raise TrawlError(f"sort: {sort!r} is not one of relevance, {', '.join(SORT_FIELDS)} "
                         "(prefix '-' for descending)")
    return field, descending


def check_paging(q: SearchQuery) -> None:
    if q.limit < 0 or q.offset < 0:
        raise TrawlError(f"limit/offset must not be negative (got limit={q.limit}, offset={q.offset})")
    if q.limit > MAX_PAGE:
        raise TrawlError(f"limit: {q.limit} is above {MAX_PAGE}; use `trawl export` for bulk results")
