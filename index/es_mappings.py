"""Elasticsearch index layout as code: settings, mappings, templates, names.

Layout for prefix P (default "trawl") and mapping version V:
  P-listings-vV, P-vendors-vV, P-candidates-vV      one index each, behind
      read alias P-<kind> and write alias P-<kind>-write (is_write_index)
  P-snapshots-vV-YYYY.MM                               one index per crawl month,
      created on first write from a composable template that also adds the
      read alias P-snapshots
The substance synonyms of the search analyzer come from the backend's vocabulary (generated
from enrich/'s reference lists, core.vocabulary); an index keeps the rules it was created with.
Version history: 1 = hand-written synonym groups; 2 = synonyms from the vocabulary
(`trawl index migrate` reindexes v1 into v2 and moves the aliases); 3 = `extraction_version`
(keyword) on listings, snapshots and vendors, and `superseded` (boolean) on snapshots: an
earlier extraction of a capture that `trawl reprocess` replaced, kept under its own id and
left out of trends (docs/reprocess.md); 4 = the grid fields `sold_count`, `views` (long) and
`extra` (kept in _source, not indexed: `flattened` is not in the OSS 7.17 distribution),
`mentioned_substances.name` (SearchQuery.include_mentioned), and `substances_text` stored
(search highlights substance names, as SQLite's snippet does).
Mappings are `dynamic: false`: unknown fields stay in _source but are not
indexed, so a new crawler field can never explode the mapping.
Numbers that are filtered or aggregated are `double` (not `float`) so range
filters and quantiles see exactly the values SQLite stores.
"""
from __future__ import annotations

from typing import Any

from core.vocabulary import Vocabulary
from index.querytext import tokens

MAPPING_VERSION = 4
# inline synonym rules live in the index settings (cluster state): keep them well below the
# sizes where ES starts to warn; the shipped vocabulary is about 25 kB in under 500 rules
MAX_SYNONYM_RULES = 5_000
MAX_SYNONYM_CHARS = 250_000
KINDS = ("listings", "vendors", "candidates")

KW_LC: dict[str, Any] = {"type": "keyword", "normalizer": "trawl_lower"}
KW: dict[str, Any] = {"type": "keyword"}
DATE: dict[str, Any] = {"type": "date"}
DOUBLE: dict[str, Any] = {"type": "double"}
TEXT: dict[str, Any] = {"type": "text", "analyzer": "trawl_text"}
OFF: dict[str, Any] = {"type": "object", "enabled": False}


def synonym_rules(vocabulary: Vocabulary) -> list[str]:
    """Solr-format equivalence rules, one per group of two or more spellings, written in the
    tokens our tokenizer produces ("4-mmc" -> "4 mmc") so they apply as typed.

    Truncated (whole groups, in canonical-name order) past MAX_SYNONYM_RULES / MAX_SYNONYM_CHARS."""
    rules: list[str] = []
    size = 0
    for canonical in sorted(vocabulary.groups):
        spellings = [s for s in dict.fromkeys(" ".join(tokens(name)) for name in vocabulary.groups[canonical]) if s]
        if len(spellings) < 2:
            continue
        rule = ", ".join(spellings)
        if len(rules) >= MAX_SYNONYM_RULES or size + len(rule) > MAX_SYNONYM_CHARS:
            break
        rules.append(rule)
        size += len(rule)
    return rules


def analysis(vocabulary: Vocabulary) -> dict[str, Any]:
    """Tokenise like SQLite FTS5 unicode61: runs of letters/digits, lower-cased, diacritics folded."""
    return {
        "tokenizer": {"trawl_words": {"type": "pattern", "pattern": "[^\\p{L}\\p{N}]+"}},
        "normalizer": {"trawl_lower": {"type": "custom", "filter": ["lowercase"]}},
        "filter": {"trawl_substance_synonyms": {"type": "synonym_graph", "synonyms": synonym_rules(vocabulary), "lenient": True}},
        "analyzer": {
            "trawl_text": {"type": "custom", "tokenizer": "trawl_words", "filter": ["lowercase", "asciifolding"]},
            # search-time only: "mcat" finds listings whose substance is mephedrone
            "trawl_substance": {
                "type": "custom", "tokenizer": "trawl_words",
                "filter": ["lowercase", "asciifolding", "trawl_substance_synonyms"],
            },
        },
    }


LISTING_PROPERTIES: dict[str, Any] = {
    "listing_id": KW, "site": KW_LC, "market_kind": KW_LC, "url": {"type": "keyword", "index": False},
    "title": TEXT, "description": TEXT,
    "vendor": {**TEXT, "fields": {"lc": KW_LC}}, "vendor_id": KW_LC, "category": KW_LC,
    "substances": {
        "properties": {
            "name": {**KW_LC, "copy_to": "substances_text"},
            "substance_class": {**KW_LC, "copy_to": "substances_text"},
            "controls": KW_LC, "match_type": KW, "score": DOUBLE, "matched_text": {"type": "keyword", "index": False},
        }
    },
    # stored: a copy_to field is not in _source, and search highlights it (as SQLite's snippet does)
    "substances_text": {"type": "text", "analyzer": "trawl_text", "search_analyzer": "trawl_substance", "store": True},
    "quantity_amount": DOUBLE, "quantity_unit": KW, "dose_mg": DOUBLE, "purity_pct": DOUBLE,
    "price_amount": DOUBLE, "price_currency": KW, "price_usd": DOUBLE, "usd_per_unit": DOUBLE,
    "origin": KW, "destinations": KW, "destinations_excluded": KW, "ships_worldwide": {"type": "boolean"},
    "escrow": {"type": "boolean"}, "stock": {"type": "long"}, "feedback_count": {"type": "long"},
    "first_seen": DATE, "last_seen": DATE, "crawled_at": DATE, "content_hash": KW, "extraction_version": KW,
    "identifiers": OFF, "price_tiers": OFF, "shipping_options": OFF, "evidence": OFF,
    "sold_count": {"type": "long"}, "views": {"type": "long"}, "extra": OFF,
    "mentioned_substances": {"properties": {"name": KW_LC}},  # "no fent": found only with include_mentioned
}

SNAPSHOT_PROPERTIES: dict[str, Any] = {
    "snapshot_id": KW, "listing_id": KW, "crawled_at": DATE, "site": KW_LC, "run_id": KW,
    "price_amount": DOUBLE, "price_currency": KW, "price_usd": DOUBLE, "usd_per_unit": DOUBLE, "quantity_unit": KW,
    "stock": {"type": "long"}, "feedback_count": {"type": "long"},
    "substance": {"type": "keyword", "fields": {"lc": KW_LC}}, "vendor_id": KW_LC, "origin": KW, "content_hash": KW,
    "extraction_version": KW, "superseded": {"type": "boolean"},
}

VENDOR_PROPERTIES: dict[str, Any] = {
    "vendor_id": KW_LC, "site": KW_LC, "name": {"type": "keyword", "fields": {"lc": KW_LC}}, "url": KW,
    "aliases": KW_LC, "pgp_fingerprints": KW, "first_seen": DATE, "last_seen": DATE,
    "sales": {"type": "long"}, "rating": DOUBLE, "feedback_count": {"type": "long"},
    "identifiers": OFF, "evidence": OFF, "extraction_version": KW,
    # pgp_key (armoured block, kilobytes) is deliberately unmapped: kept in _source only
}

CANDIDATE_PROPERTIES: dict[str, Any] = {
    "token": KW, "first_seen": DATE, "last_seen": DATE, "site": KW_LC, "example_listing_ids": KW,
    "pattern": KW, "occurrences": {"type": "long"},
    # seen_listing_ids (every listing id ever counted, so occurrences stay idempotent) is
    # deliberately unmapped: with dynamic false it lives in _source only
}

PROPERTIES = {
    "listings": LISTING_PROPERTIES, "snapshots": SNAPSHOT_PROPERTIES,
    "vendors": VENDOR_PROPERTIES, "candidates": CANDIDATE_PROPERTIES,
}


class Names:
    """Every index, alias and template name for one prefix and mapping version."""

    def __init__(self, prefix: str = "trawl", version: int = MAPPING_VERSION) -> None:
        self.prefix = prefix
        self.version = version

    def index(self, kind: str, version: int | None = None) -> str:
        return f"{self.prefix}-{kind}-v{version or self.version}"

    def read_alias(self, kind: str) -> str:
        return f"{self.prefix}-{kind}"

    def write_alias(self, kind: str) -> str:
        return f"{self.prefix}-{kind}-write"

    def snapshot_index(self, crawled_at: str, version: int | None = None) -> str:
        return f"{self.prefix}-snapshots-v{version or self.version}-{crawled_at[:4]}.{crawled_at[5:7]}"

    def snapshot_pattern(self, version: int | None = None) -> str:
        return f"{self.prefix}-snapshots-v{version or self.version}-*"

    def template(self, kind: str) -> str:
        return f"{self.prefix}-{kind}-v{self.version}"


def template_body(names: Names, kind: str, vocabulary: Vocabulary, shards: int = 1,
                  replicas: int | None = None) -> dict[str, Any]:
    """Body of a composable index template (`PUT _index_template/<name>`).

    replicas None: `auto_expand_replicas: 0-1` (green on one node, one replica once a second
    data node joins); a number (index.replicas set explicitly) is used as is."""
    pattern = names.snapshot_pattern() if kind == "snapshots" else names.index(kind)
    copies: dict[str, Any] = {"auto_expand_replicas": "0-1"} if replicas is None else {"number_of_replicas": replicas}
    template: dict[str, Any] = {
        "settings": {"number_of_shards": shards, **copies, "analysis": analysis(vocabulary)},
        "mappings": {"dynamic": False, "properties": PROPERTIES[kind]},
    }
    if kind == "snapshots":
        template["aliases"] = {names.read_alias("snapshots"): {}}
    return {
        "index_patterns": [pattern],
        "priority": 200,  # above the built-in templates (priority 100) that match "*" on some distributions
        "template": template,
        "meta": {"trawl_mapping_version": names.version, "trawl_vocabulary": vocabulary.digest,
                 "managed_by": "trawl index migrate"},
    }
