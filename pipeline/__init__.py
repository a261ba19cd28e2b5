"""The processing pipeline: typed raw items in, index records out, with no Scrapy in it.

    page ─ page object (crawler.sitedef.pages) ─▶ RawListing / RawVendor (core.items)
         ─ validate ─ unchanged? ─ parse ─ enrich ─ store ─▶ Listing, Snapshot, Vendor,
           CandidateSubstance (core.records), written in batches through an IndexBackend

One concern per module: validate (named drops), unchanged (content hash against the
index), parse (parsers' adapters), enrich (substances, identifiers, PGP), alerts (new
substances), store (records and the batched write), processor (the composition:
`Processor`, `Pipeline`).  A saved page becomes a raw item through
`crawler.sitedef.pages.read_item(site, PageInput(url, html), kind, Fetch(...))`.
The crawler drives it from crawler/engine/itempipeline.py; the frontier, the evidence
barrier and the index's lifetime stay there.
"""
from __future__ import annotations

from pipeline.processor import Pipeline, Processed, Processor, warm_up
from pipeline.stats import StatsCounter, Tally
from pipeline.store import BatchHooks, PageRecords
from pipeline.validate import Drop

__all__ = ["BatchHooks", "Drop", "PageRecords", "Pipeline", "Processed", "Processor", "StatsCounter", "Tally",
           "warm_up"]
