"""The records trawl stores: listings, their snapshots over time, vendors, candidate substances.

These dataclasses are the contract between the crawler (which fills them), the
index backends (which store and query them) and the exports.  Everything is
JSON-friendly: plain str/float/int/bool, lists and dicts, ISO-8601 UTC strings
for times, ISO 3166-1 alpha-2 codes for countries.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

SCHEMA_VERSION = 1

MARKET_KINDS = ("darknet-market", "vendor-shop", "chemical-b2b", "pharmacy", "forum")


@dataclass
class SubstanceRef:
    """One substance a listing mentions, as enrich.match() resolved it."""

    name: str  # canonical name, e.g. "3-methylmethcathinone"
    substance_class: str = ""  # e.g. "synthetic cathinone"
    controls: list[str] = field(default_factory=list)  # e.g. ["1971:II", "1988:I"]
    match_type: str = ""  # exact | synonym | abbreviation | fuzzy
    score: float = 0.0
    matched_text: str = ""
    relation: str = "offered"  # offered | mentioned ("no fent", "like Xanax"; see Listing.mentioned_substances)


@dataclass
class ShippingOption:
    method: str = ""
    cost: float | None = None
    currency: str | None = None
    cost_usd: float | None = None
    days_min: int | None = None
    days_max: int | None = None
    tracked: bool | None = None
    stealth: bool | None = None
    raw: str = ""


@dataclass
class Evidence:
    """Where the bytes this record was parsed from are preserved."""

    run_id: str = ""
    warc_file: str = ""  # path relative to $TRAWL_HOME
    warc_offset: int = 0
    payload_sha256: str = ""
    mirror: str = ""  # base URL of the mirror that served the page
    proxy: str = ""  # e.g. "socks5h://127.0.0.1:9050" or "" for direct


@dataclass
class Listing:
    listing_id: str  # stable: "<site>:<native id>"
    site: str
    market_kind: str
    url: str
    title: str
    description: str = ""
    vendor: str | None = None
    vendor_id: str | None = None  # "<site>:<vendor name lowercased>"
    category: str | None = None
    substances: list[SubstanceRef] = field(default_factory=list)  # offered: what facets and trends count
    # named but not offered ("NO FENT", "similar to MDA", a guide's subject): kept and searchable,
    # never counted as an offer (issue 14 rule 4)
    mentioned_substances: list[SubstanceRef] = field(default_factory=list)
    # quantity of one offer, normalised to a base unit
    quantity_amount: float | None = None  # in quantity_unit
    quantity_unit: str | None = None  # "g" | "ml" | "unit"
    dose_mg: float | None = None  # per-unit strength where stated ("2mg bars")
    purity_pct: float | None = None
    # price of that offer
    price_amount: float | None = None
    price_currency: str | None = None  # ISO 4217 or crypto code (BTC, XMR, LTC)
    price_usd: float | None = None
    usd_per_unit: float | None = None  # USD per g / ml / unit (see quantity_unit)
    rate_source: str | None = None  # which exchange rate converted price to USD
    # [{quantity_amount, quantity_unit, price_amount, price_currency, price_usd, usd_per_unit}]
    price_tiers: list[dict[str, Any]] = field(default_factory=list)
    origin: str | None = None  # ISO alpha-2, "XX" for unknown/worldwide
    destinations: list[str] = field(default_factory=list)  # ISO alpha-2 after region expansion
    destinations_excluded: list[str] = field(default_factory=list)
    ships_worldwide: bool = False
    shipping_options: list[ShippingOption] = field(default_factory=list)
    escrow: bool | None = None
    finalize_early: bool | None = None
    stock: int | None = None
    feedback_count: int | None = None
    sold_count: int | None = None  # "123 sold", as a grid card or listing page states it
    views: int | None = None
    extra: dict[str, str] = field(default_factory=dict)  # site-specific values the YAML names (`extra:`)
    # where each raw field came from when a grid card and its listing page were merged:
    # {"price": "page", "sold_count": "card", ...}; empty for a page read alone
    field_sources: dict[str, str] = field(default_factory=dict)
    # a grid site's memory between crawls: the raw fields its listing page showed last time it
    # was read (kept when later crawls see only the card) and the hash of the last card
    # (follow_listings: changed fetches the page again only when the card changed)
    page_fields: dict[str, Any] = field(default_factory=dict)
    page_crawled_at: str = ""
    card_hash: str = ""
    identifiers: dict[str, list[str]] = field(default_factory=dict)  # {"btc": [...], "xmr": [...], "pgp": [fingerprints], "email": [...]}
    first_seen: str = ""  # ISO-8601 UTC
    last_seen: str = ""
    crawled_at: str = ""
    content_hash: str = ""  # sha256 of the normalised extracted fields
    evidence: Evidence = field(default_factory=Evidence)
    parse_errors: list[str] = field(default_factory=list)  # "field: reason" for values left unparsed
    # which site YAML, page objects, trawl code and lists produced these values (pipeline/version.py)
    extraction_version: str = ""


@dataclass
class Snapshot:
    """What a listing looked like at one crawl: the basis of every trend."""

    listing_id: str
    crawled_at: str
    site: str
    run_id: str = ""
    price_amount: float | None = None
    price_currency: str | None = None
    price_usd: float | None = None
    usd_per_unit: float | None = None
    quantity_unit: str | None = None
    stock: int | None = None
    feedback_count: int | None = None
    substance: str | None = None  # primary canonical substance, denormalised for trend queries
    vendor_id: str | None = None
    origin: str | None = None
    content_hash: str = ""
    extraction_version: str = ""  # see Listing.extraction_version
    # an earlier extraction of the same capture, replaced by a `trawl reprocess` that changed its
    # values: kept for history and exports, never counted by trends (docs/reprocess.md)
    superseded: bool = False

    @property
    def snapshot_id(self) -> str:
        """Idempotency key: re-indexing the same crawl writes the same id; a superseded
        extraction of that capture keeps its own id beside the current one.

        >>> s = Snapshot("vortex:1", "2026-01-01T00:00:00Z", "vortex", extraction_version="0.1.0-ab")
        >>> s.snapshot_id, Snapshot(**{**s.__dict__, "superseded": True}).snapshot_id
        ('vortex:1@2026-01-01T00:00:00Z', 'vortex:1@2026-01-01T00:00:00Z~0.1.0-ab')
        """
        if self.superseded:
            return f"{self.listing_id}@{self.crawled_at}~{self.extraction_version}"
        return f"{self.listing_id}@{self.crawled_at}"


@dataclass
class Vendor:
    vendor_id: str  # "<site>:<name lowercased>"
    site: str
    name: str
    url: str = ""
    joined: str | None = None  # ISO date
    sales: int | None = None
    rating: float | None = None
    feedback_count: int | None = None
    pgp_fingerprints: list[str] = field(default_factory=list)
    pgp_key: str = ""  # the armoured public key block as published
    aliases: list[str] = field(default_factory=list)  # names the vendor claims on other markets
    identifiers: dict[str, list[str]] = field(default_factory=dict)
    first_seen: str = ""
    last_seen: str = ""
    evidence: Evidence = field(default_factory=Evidence)
    extraction_version: str = ""  # see Listing.extraction_version


@dataclass
class CandidateSubstance:
    """A substance-like token that matched no reference list (early warning)."""

    token: str  # normalised token, e.g. "3-cmpvp"
    first_seen: str
    last_seen: str
    site: str
    example_listing_ids: list[str] = field(default_factory=list)
    pattern: str = ""  # which chemical-name pattern caught it
    occurrences: int = 1


@dataclass
class Records:
    """One batch of records: what the pipeline builds, `IndexBackend.write()` stores as one unit
    of work, the Elasticsearch spool keeps and the synthetic index generates. The only batch shape.

    >>> batch = Records(candidates=[CandidateSubstance("3-cmpvp", "2026-01-01", "2026-01-01", "vortex")])
    >>> len(batch), batch.counts()["candidates"], bool(Records())
    (1, 1, False)
    >>> Records.from_json(batch.to_json()) == batch
    True
    """

    listings: list[Listing] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)
    vendors: list[Vendor] = field(default_factory=list)
    candidates: list[CandidateSubstance] = field(default_factory=list)

    # kind (attribute name, also the index/table/alias name) -> record class, in write order
    KINDS: ClassVar[Mapping[str, type]] = {
        "listings": Listing, "snapshots": Snapshot, "vendors": Vendor, "candidates": CandidateSubstance,
    }

    def __len__(self) -> int:
        return len(self.listings) + len(self.snapshots) + len(self.vendors) + len(self.candidates)

    def counts(self) -> dict[str, int]:
        """Records per kind, every kind present."""
        return {kind: len(records) for kind, records in self.items()}

    def items(self) -> Iterator[tuple[str, list[Any]]]:
        """(kind, records) for every kind, in write order."""
        for kind in self.KINDS:
            yield kind, getattr(self, kind)

    def extend(self, other: Records) -> None:
        """Append another batch's records, kind by kind."""
        for kind, records in other.items():
            getattr(self, kind).extend(records)

    def to_json(self) -> dict[str, list[dict[str, Any]]]:
        return {kind: [to_dict(r) for r in records] for kind, records in self.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Records:
        """From `to_json` output; other keys (e.g. a spool line's "reason") are ignored."""
        return cls(**{kind: [from_dict(record_cls, d) for d in data.get(kind, ())]
                      for kind, record_cls in cls.KINDS.items()})


T = TypeVar("T")

_NESTED: dict[tuple[type, str], type] = {
    (Listing, "evidence"): Evidence,
    (Vendor, "evidence"): Evidence,
}
_NESTED_LISTS: dict[tuple[type, str], type] = {
    (Listing, "substances"): SubstanceRef,
    (Listing, "mentioned_substances"): SubstanceRef,
    (Listing, "shipping_options"): ShippingOption,
}


def to_dict(record: Any) -> dict[str, Any]:
    return dataclasses.asdict(record)


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild a record; unknown keys are ignored so older/newer documents still load."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            continue
        nested = _NESTED.get((cls, key))
        nested_list = _NESTED_LISTS.get((cls, key))
        if nested and isinstance(value, dict):
            value = from_dict(nested, value)
        elif nested_list and isinstance(value, list):
            value = [from_dict(nested_list, v) if isinstance(v, dict) else v for v in value]
        kwargs[key] = value
    return cls(**kwargs)


# json.dumps with these arguments builds an encoder each call; one kept gives the same text
_CONTENT_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str)


def content_hash(fields: dict[str, Any]) -> str:
    """Stable hash of extracted fields, to detect unchanged pages between crawls.

    >>> content_hash({"b": [1, "é"], "a": None})[:16]
    '47acac9da933d9fb'
    """
    return hashlib.sha256(_CONTENT_JSON.encode(fields).encode("utf-8")).hexdigest()


def snapshot_of(listing: Listing, run_id: str = "") -> Snapshot:
    primary = listing.substances[0].name if listing.substances else None
    return Snapshot(
        listing_id=listing.listing_id,
        crawled_at=listing.crawled_at,
        site=listing.site,
        run_id=run_id or listing.evidence.run_id,
        price_amount=listing.price_amount,
        price_currency=listing.price_currency,
        price_usd=listing.price_usd,
        usd_per_unit=listing.usd_per_unit,
        quantity_unit=listing.quantity_unit,
        stock=listing.stock,
        feedback_count=listing.feedback_count,
        substance=primary,
        vendor_id=listing.vendor_id,
        origin=listing.origin,
        content_hash=listing.content_hash,
        extraction_version=listing.extraction_version,
    )
