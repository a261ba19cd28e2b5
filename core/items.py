"""What a page object hands the pipeline: one typed raw item per listing or vendor page.

A page object (crawler/sitedef/pages) reads a fetched page into a `RawListing` or a
`RawVendor`, the way web-poet's `ItemPage[Item].to_item()` declares what a page yields; the
pipeline (pipeline/) validates, parses, enriches and stores it as records (core.records).
Nothing here is parsed: `fields` holds each configured field as the page showed it (str,
list[str] or None).  `Fetch` says how the page was obtained, which the page itself cannot
know: its frontier key, the mirror and proxy that served it, and where its bytes are kept.

The crawler, a reprocess of stored evidence and an ingest of saved pages all build these
same items, so the pipeline has one input whatever fetched the page.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from core.records import Evidence, content_hash

# The one shape of "where this page's bytes are preserved": the WARC middleware puts one in
# `response.meta["trawl_evidence"]`, the raw item carries it (`Fetch.evidence`) and
# `Listing.evidence` / `Vendor.evidence` store it.  Named as issue 13 names it; the class is
# core.records.Evidence, which the records and the index already use.
EvidenceRef = Evidence

# a raw field value as extracted: str, list[str] or None (a page object's `field_<name>()`
# may compute either shape)
RawFields = dict[str, Any]


@dataclass(frozen=True)
class Fetch:
    """How a page was obtained: what the crawler (or an ingest) knows beyond the page."""

    key: str = ""  # frontier key ("/path?query"): the page this item completes; "" outside a crawl
    mirror: str = ""  # base URL of the mirror that served the page
    proxy: str = ""  # e.g. "socks5h://127.0.0.1:9050", "" for direct
    evidence: EvidenceRef = field(default_factory=Evidence)
    page_sha256: str = ""  # of the response body as received
    replayed: bool = False  # the body came from the frontier's replay store, not the network


@dataclass
class RawPage:
    """Fields one page object extracted from one page of `site`."""

    kind: ClassVar[str] = ""
    # fields every page of this kind needs, besides what the site YAML marks `required`
    DEFAULT_REQUIRED: ClassVar[tuple[str, ...]] = ()

    site: str
    market_kind: str  # core.records.MARKET_KINDS
    url: str
    fields: RawFields
    required: tuple[str, ...] = ()  # from the YAML (`listing.required`)
    missing: tuple[str, ...] = ()  # configured fields that matched nothing
    fetch: Fetch = field(default_factory=Fetch)

    @property
    def required_fields(self) -> tuple[str, ...]:
        """Every field this item must have, defaults first, each once."""
        return tuple(dict.fromkeys([*self.DEFAULT_REQUIRED, *self.required]))

    def text(self, name: str) -> str:
        """A field as one string: a list is joined with spaces, a missing value is ""."""
        value = self.fields.get(name)
        if value is None:
            return ""
        return " ".join(str(v) for v in value) if isinstance(value, list) else str(value)

    @property
    def fields_hash(self) -> str:
        """sha256 of kind, site and fields: equal between crawls when the page did not change
        (the same formula as before the items were typed, so stored hashes still compare)."""
        return content_hash({"type": self.kind, "site": self.site, "fields": self.fields})


@dataclass
class RawListing(RawPage):
    kind: ClassVar[str] = "listing"
    DEFAULT_REQUIRED: ClassVar[tuple[str, ...]] = ("native_id", "title")

    # a listing read from a card of a grid page (a category or search page with many
    # listings) rather than its own page: "card"; "page" otherwise
    source: str = "page"
    # for a card merged with its listing page: field -> "card" | "page" (the page's win)
    field_sources: dict[str, str] = field(default_factory=dict)
    card_hash: str = ""  # fields hash of the card this listing was seen as ("" if none)
    # the listing page's own raw fields and when they were read ("" = this page, now)
    page_fields: RawFields = field(default_factory=dict)
    page_crawled_at: str = ""

    @property
    def native_id(self) -> str:
        return str(self.fields.get("native_id") or "").strip()

    @property
    def listing_id(self) -> str:
        """The stable record id, "<site>:<native id>" (what the index is keyed by)."""
        return f"{self.site}:{self.native_id}"

    @property
    def substance_hint(self) -> str:
        """The page's own word on what is sold (its category or active ingredient), "" if none."""
        return self.text("substance_hint")


@dataclass
class RawVendor(RawPage):
    kind: ClassVar[str] = "vendor"
    DEFAULT_REQUIRED: ClassVar[tuple[str, ...]] = ("name",)


RawItem = RawListing | RawVendor
