"""Deterministic synthetic listings and snapshots for tests, the query suite and the bench.

Same seed, same records, on every machine: the backend comparison tests and
the benchmark rely on that.  Prices follow a per-substance drift plus noise,
so trends have something to show.
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

from core.records import (
    CandidateSubstance,
    Evidence,
    Listing,
    Records,
    ShippingOption,
    Snapshot,
    SubstanceRef,
    Vendor,
    snapshot_of,
)

SITES = {
    "nightshade": "darknet-market",
    "vortex": "darknet-market",
    "rcshop": "vendor-shop",
    "chemtrade": "chemical-b2b",
    "pillhub": "pharmacy",
}
# name, class, controls, unit, base USD per unit, street words used in titles
SUBSTANCES = (
    ("mephedrone", "synthetic cathinone", ["1971:II", "eu-nps"], "g", 18.0, "4-MMC"),
    ("3-methylmethcathinone", "synthetic cathinone", ["eu-nps"], "g", 14.0, "3-MMC"),
    ("cocaine", "stimulant", ["1961:I"], "g", 85.0, "coke"),
    ("mdma", "entactogen", ["1971:I"], "g", 30.0, "molly"),
    ("ketamine", "dissociative", ["1971:IV"], "g", 28.0, "ket"),
    ("amphetamine", "stimulant", ["1971:II"], "g", 12.0, "speed"),
    ("methamphetamine", "stimulant", ["1971:II"], "g", 45.0, "crystal"),
    ("cannabis", "cannabinoid", ["1961:I"], "g", 9.0, "weed"),
    ("heroin", "opioid", ["1961:I", "1961:IV"], "g", 110.0, "H"),
    ("lsd", "psychedelic", ["1971:I"], "unit", 9.0, "blotter"),
    ("alprazolam", "benzodiazepine", ["1971:IV"], "unit", 2.5, "xanax bars"),
    ("oxycodone", "opioid", ["1961:I"], "unit", 22.0, "oxy"),
    ("alpha-pvp", "synthetic cathinone", ["1971:II"], "g", 20.0, "flakka"),
    ("2c-b", "phenethylamine", ["1971:II"], "unit", 8.0, "nexus"),
)
ORIGINS = ("NL", "DE", "GB", "US", "ES", "CN", "IN", "PL", "CA", "FR")
DEST_POOL = ("US", "GB", "DE", "FR", "NL", "AU", "CA", "SE", "IT", "ES")
ADJECTIVES = ("pure", "premium", "lab tested", "uncut", "top quality", "cheap", "bulk", "stealth")
START = datetime(2025, 1, 6, 10, 0, tzinfo=timezone.utc)  # a Monday


def _ts(day: int, site_index: int) -> str:
    return (START + timedelta(days=day, minutes=7 * site_index)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _listing(rng: random.Random, n: int, days: int) -> tuple[Listing, int, int]:
    site = rng.choice(sorted(SITES))
    name, klass, controls, unit, base, street = rng.choice(SUBSTANCES)
    amount = rng.choice((1, 2, 5, 10, 28, 100)) if unit == "g" else rng.choice((10, 20, 50, 100))
    first = rng.choice(("Dutch", "Royal", "Night", "Alpha", "Green", "Shadow"))
    vendor_name = f"{first}{rng.choice(('Labs', 'Chems', 'Store', 'Pharma', 'Direct'))}{rng.randrange(7)}"
    origin = rng.choice(ORIGINS)
    worldwide = rng.random() < 0.3
    destinations = [] if worldwide else sorted(rng.sample(DEST_POOL, rng.randrange(1, 5)))
    excluded = sorted(rng.sample(("US", "AU", "SE"), rng.randrange(0, 2))) if worldwide else []
    start = rng.randrange(days)
    end = min(days - 1, start + rng.randrange(5, days))
    ppu = round(base * rng.uniform(0.6, 1.5) * (0.8 if amount >= 28 else 1.0), 2)
    listing = Listing(
        listing_id=f"{site}:{n:06d}",
        site=site,
        market_kind=SITES[site],
        url=f"http://{site}.test/listing/{n}",
        title=f"{amount}{unit if unit == 'g' else 'x'} {street} {rng.choice(ADJECTIVES)}",
        description=f"{name.title()} {rng.choice(ADJECTIVES)}, ships from {origin}. Escrow accepted.",
        vendor=vendor_name,
        vendor_id=f"{site}:{vendor_name.lower()}",
        category=klass,
        substances=[SubstanceRef(name=name, substance_class=klass, controls=list(controls), match_type="exact", score=1.0, matched_text=name)],
        quantity_amount=float(amount),
        quantity_unit=unit,
        price_amount=round(ppu * amount, 2),
        price_currency="USD",
        price_usd=round(ppu * amount, 2),
        usd_per_unit=ppu,
        origin=origin,
        destinations=destinations,
        destinations_excluded=excluded,
        ships_worldwide=worldwide,
        shipping_options=[ShippingOption(method="tracked", cost=15.0, currency="USD", cost_usd=15.0, tracked=True)],
        escrow=True,
        stock=rng.randrange(0, 500),
        feedback_count=rng.randrange(0, 2000),
        first_seen=_ts(start, 0),
        last_seen=_ts(end, 0),
        crawled_at=_ts(end, 0),
        evidence=Evidence(run_id=f"{site}-d{end:04d}", warc_file=f"warc/{site}-{end}.warc.gz"),
    )
    return listing, start, end


def _snapshots(rng: random.Random, listing: Listing, start: int, end: int, step: int) -> Iterator[Snapshot]:
    site_index = sorted(SITES).index(listing.site)
    base = listing.usd_per_unit or 1.0
    drift = rng.uniform(-0.002, 0.003)
    for day in range(start - start % step, end + 1, step):
        if day < start:
            continue
        ppu = round(base * (1 + drift * day) * rng.uniform(0.95, 1.05), 2)
        snap = snapshot_of(listing, run_id=f"{listing.site}-d{day:04d}")
        snap.crawled_at = _ts(day, site_index)
        snap.usd_per_unit = ppu
        snap.price_usd = round(ppu * (listing.quantity_amount or 1), 2)
        snap.price_amount = snap.price_usd
        snap.stock = max(0, (listing.stock or 0) - day)
        yield snap


def generate(n_listings: int = 300, days: int = 120, step: int = 3, seed: int = 7) -> Records:
    """A small, complete dataset (listings, snapshots every `step` days, vendors, candidates)."""
    rng = random.Random(seed)
    data = Records()
    vendors: dict[str, Vendor] = {}
    for n in range(n_listings):
        listing, start, end = _listing(rng, n, days)
        # the stored listing reflects the last crawl that saw it
        data.listings.append(listing)
        data.snapshots.extend(_snapshots(rng, listing, start, end, step))
        vid = listing.vendor_id or ""
        seen = vendors.get(vid)
        vendors[vid] = Vendor(
            vendor_id=vid, site=listing.site, name=listing.vendor or "",
            pgp_fingerprints=[vid.upper()[:16]],
            first_seen=min(listing.first_seen, seen.first_seen) if seen else listing.first_seen,
            last_seen=max(listing.last_seen, seen.last_seen) if seen else listing.last_seen,
        )
    data.vendors = [vendors[k] for k in sorted(vendors)]
    for i, token in enumerate(("3-cmc", "n-ethylhexedrone", "2-fdck", "4f-mph", "bromazolam", "nitazene-x")):
        day = (i * days) // 6
        examples = [data.listings[(i * 37 + j) % n_listings].listing_id for j in range(3)] if n_listings else []
        data.candidates.append(
            CandidateSubstance(token=token, first_seen=_ts(day, 0), last_seen=_ts(min(days - 1, day + 20), 0),
                               site=sorted(SITES)[i % 5], example_listing_ids=examples, pattern="cathinone-like", occurrences=len(examples))
        )
    return data


def iter_snapshot_batches(n_snapshots: int, batch: int = 1000, seed: int = 11, days: int = 365,
                          step: int = 7) -> Iterator[Records]:
    """Stream batches (new listings, snapshots) totalling exactly n_snapshots, for the bench and kill test.

    Time-ordered like a real crawler: one crawl every `step` days, each listing
    arriving in the batch of its first snapshot.  Listings are created per
    crawl day (about n_snapshots / 25 in a year) until the count is reached."""
    rng = random.Random(seed)
    sites = sorted(SITES)
    new_per_crawl = max(1, round(n_snapshots / 25 / (days / step)))
    produced = 0
    number = 0
    active: list[tuple[Listing, int, float, float]] = []  # listing, last day, base price, drift
    pending_listings: list[Listing] = []
    pending: list[Snapshot] = []
    day = 0
    while True:
        for _ in range(new_per_crawl):
            listing, _start, _end = _listing(rng, number, days)
            number += 1
            life = rng.randrange(5, days)
            listing.first_seen = _ts(day, 0)
            listing.last_seen = listing.crawled_at = _ts(day + life, 0)
            active.append((listing, day + life, listing.usd_per_unit or 1.0, rng.uniform(-0.002, 0.003)))
            pending_listings.append(listing)
        active = [a for a in active if a[1] >= day]
        for listing, _last, base, drift in active:
            ppu = round(base * (1 + drift * (day % days)) * rng.uniform(0.95, 1.05), 2)
            snap = snapshot_of(listing, run_id=f"{listing.site}-d{day:04d}")
            snap.crawled_at = _ts(day, sites.index(listing.site))
            snap.usd_per_unit = ppu
            snap.price_usd = snap.price_amount = round(ppu * (listing.quantity_amount or 1), 2)
            snap.stock = max(0, (listing.stock or 0) - day)
            pending.append(snap)
            produced += 1
            if len(pending) >= batch or produced >= n_snapshots:
                yield Records(listings=pending_listings, snapshots=pending)
                pending_listings, pending = [], []
            if produced >= n_snapshots:
                return
        day += step
