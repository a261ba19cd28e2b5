"""Deterministic catalogue of the synthetic range: vendors and listings per site, per day.

`catalogue(seed, day)` is the one entry point; it is cached, so every page render and
every truth query for one (seed, day) share the same objects.  A listing is a plain dict
holding both the values the pages display and the ground-truth fields; the site modules
render from it and `truth_record` projects it to the documented truth schema.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from testbed import vocab
from testbed.onion import btc_bech32, btc_p2pkh, seeded_bytes, xmr_standard

DARKNET_SITES = ("nightshade", "vortex")
CLEARNET_SITES = ("rcshop", "chemtrade", "pillhub")
ALL_SITES = DARKNET_SITES + CLEARNET_SITES
# the day-0 calendar date pages and relative dates are anchored to
EPOCH = date(2026, 3, 2)

PGP_KEYS: dict[str, dict[str, str]] = json.loads(
    (Path(__file__).parent / "data" / "pgp_keys.json").read_text(encoding="utf-8")
)
MALFORMED_PGP = (
    "-----BEGIN PGP PUBLIC KEY BLOCK-----\n"
    "Version: GnuPG v2\n\n"
    "mQINBFt/THIS+IS+NOT+A+KEY/only+pasted+half+of+it+sorry+will+fix+soon\n"
    "contact me on wickr if this does not import\n"
    "-----END PGP PUBLIC KEY BLOCK-----\n"
)


def rng(*parts: object) -> random.Random:
    """A private RNG for one labelled decision (independent of call order)."""
    return random.Random("|".join(str(p) for p in parts))


@dataclass(frozen=True)
class Rates:
    """Exchange rates a site states for one day (USD per coin / per currency unit)."""

    btc_usd: float
    xmr_usd: float
    eur_usd: float = 1.08
    gbp_usd: float = 1.27


def rates_for(seed: int, day: int) -> Rates:
    r = rng("rates", seed, day)
    btc = round(64000 * (1 + 0.012 * day) * (1 + r.uniform(-0.01, 0.01)), 2)
    xmr = round(160 * (1 - 0.006 * day) * (1 + r.uniform(-0.01, 0.01)), 2)
    return Rates(btc_usd=btc, xmr_usd=xmr)


# --- vendors -------------------------------------------------------------------------

VORTEX_NAME_STYLES = (
    lambda n: "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(n)),
    lambda n: n + "_official",
    lambda n: n.lower(),
    lambda n: n,
)


def vortex_name(seed: int, identity: str) -> str:
    """How an identity spells itself on vortex ("DutchGold" -> "dutch_gold")."""
    style = 0 if identity == "DutchGold" else rng("vxname", seed, identity).randrange(len(VORTEX_NAME_STYLES))
    return VORTEX_NAME_STYLES[style](identity)


@dataclass
class Vendor:
    site: str
    identity: str
    name: str
    joined: date
    sales_base: int
    rating: float
    pgp_fingerprint: str | None
    pgp_block: str
    aliases: list[str]
    btc: list[str]
    contact: dict[str, list[str]]
    fe_enabled: bool
    bio: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return vendor_path(self.site, self.name)


def vendor_path(site: str, name: str) -> str:
    return {"nightshade": f"/vendor/{name}", "vortex": f"/u/{name}"}[site]


def build_vendors(seed: int) -> dict[str, list[Vendor]]:
    r = rng("vendors", seed)
    identities = list(vocab.VENDOR_IDENTITIES)
    rest = [i for i in identities if i != "DutchGold"]
    r.shuffle(rest)
    shared = ["DutchGold", *rest[:4]]  # on both darknet markets, same key
    only_ns = rest[4:12]
    only_vx = rest[12:18]
    roster = {"nightshade": shared + only_ns, "vortex": shared + only_vx}
    malformed_identity = only_ns[0]
    vendors: dict[str, list[Vendor]] = {}
    for site, members in roster.items():
        out: list[Vendor] = []
        for identity in members:
            vr = rng("vendor", seed, site, identity)
            name = vortex_name(seed, identity) if site == "vortex" else identity
            key = PGP_KEYS[identity]
            malformed = identity == malformed_identity and site == "nightshade"
            other_site = "vortex" if site == "nightshade" else "nightshade"
            aliases: list[str] = []
            if identity in shared:
                other_name = vortex_name(seed, identity) if other_site == "vortex" else identity
                aliases.append(f"{other_name} ({other_site.capitalize()})")
            for market in vr.sample(vocab.OTHER_MARKETS, vr.randrange(0, 3)):
                aliases.append(f"{identity} ({market})")
            wallet_seed = seeded_bytes("btc", seed, identity)
            btc = [btc_bech32(wallet_seed)] if vr.random() < 0.5 else [btc_p2pkh(wallet_seed)]
            contact: dict[str, list[str]] = {}
            if vr.random() < 0.6:
                contact["wickr"] = [f"{identity.lower()}{vr.randrange(10, 99)}"]
            if vr.random() < 0.4:
                contact["email"] = [f"{identity.lower()}@protonmail.com"]
            if site == "vortex" or rng("xmr", seed, identity).random() < 0.4:
                contact["xmr"] = [xmr_standard(seeded_bytes("xmr", seed, identity, length=64))]
            out.append(Vendor(
                site=site, identity=identity, name=name,
                joined=EPOCH - timedelta(days=vr.randrange(60, 1400)),
                sales_base=vr.randrange(15, 4000), rating=round(vr.uniform(4.2, 5.0), 2),
                pgp_fingerprint=None if malformed else key["fingerprint"],
                pgp_block=MALFORMED_PGP if malformed else key["armored"],
                aliases=aliases, btc=btc, contact=contact, fe_enabled=vr.random() < 0.35,
                bio=" ".join(vr.sample(vocab.DESCRIPTION_LINES, 3)),
            ))
        vendors[site] = out
    return vendors


# --- darknet listings ------------------------------------------------------------------

@dataclass(frozen=True)
class BaseListing:
    """Day-independent facts of one listing."""

    site: str
    native_id: str
    vendor: Vendor
    substance: vocab.Substance
    substance_text: str
    title: str
    tiers: tuple[tuple[vocab.QuantitySpec, float], ...]  # (quantity, day-0 USD)
    origin_name: str
    ships_to_text: str
    shipping: tuple[tuple[str, int, int, float], ...]
    escrow: bool
    finalize_early: bool
    feedback_base: int
    feedback_growth: int
    description: str
    appear_day: int
    vanish_day: int | None
    posted_days_ago: int
    stock: int
    purity: float | None = None  # as the description states it
    # the vendor prices in USD; the page states "0.1234 XMR (USD 19.75)" (vortex only, see catalogue)
    usd_pegged: bool = False


def _weighted_origin(r: random.Random) -> str:
    names, weights = zip(*vocab.ORIGIN_WEIGHTS, strict=True)
    return r.choices(names, weights=weights)[0]


def _title(r: random.Random, text: str, qty: vocab.QuantitySpec, sub: vocab.Substance, origin: str) -> str:
    tag = r.choice(sub.taglines) if sub.taglines else r.choice(("premium", "best quality", "lab tested"))
    if sub.canonical is None:
        return text
    # a quantity like "10 x 250mg" or "2C-B 20mg x10" is already a title fragment
    templates = (
        "{q} {s} {t}",
        "{s} {q} - {t} - {o} stock",
        "\u2605 {s} {q} \u2605 {t}",
        "{s} ({t}) {q} FREE SHIPPING",
        "{q} of {s} | {t} | escrow",
        "[{o}] {s} {q} {t}",
    )
    if qty.text.lower().startswith(text.lower()):
        return f"{qty.text} {tag}"
    return r.choice(templates).format(q=qty.text, s=text, t=tag, o=origin.split()[0].upper()[:3] if r.random() < 0.5 else origin)


def _tiers(r: random.Random, sub: vocab.Substance, price_factor: float) -> tuple[tuple[vocab.QuantitySpec, float], ...]:
    start = r.randrange(len(sub.quantities))
    base = sub.quantities[start]
    same_unit = sorted((q for q in sub.quantities if q.unit == base.unit and q.amount > base.amount and q.dose_mg == base.dose_mg), key=lambda q: q.amount)
    chosen = [base, *same_unit[: r.randrange(0, 3)]]
    out = []
    for q in chosen:
        discount = 1.0 if q is base else max(0.55, 1 - 0.08 * (q.amount / base.amount) ** 0.5)
        dose_factor = (q.dose_mg or 1.0) / (base.dose_mg or 1.0) if q.dose_mg else 1.0
        out.append((q, round(sub.usd_per_unit * q.amount * price_factor * discount * dose_factor, 2)))
    return tuple(out)


# (canonical, messy text) pairs each market is guaranteed to show at least once
SHOWCASE: dict[str, tuple[tuple[str, str], ...]] = {
    "nightshade": (
        ("mephedrone", "m" + vocab.CYRILLIC_E + "phedrone"), ("cocaine", "c0ca1ne"), ("ketamine", "k3tamine"),
        ("methamphetamine", "tina"), ("mdma", "molly"), ("3-methylmethcathinone", "3-MMC"),
        ("4-chloromethcathinone", "4-CMC"), ("2c-b-fly", "2C-B-FLY"), ("mephedrone", "mephedron"),
    ),
    "vortex": (
        ("mephedrone", "mephedron"), ("cocaine", "coke"), ("ketamine", "ket"), ("3-chloromethcathinone", "3-CMC"),
        ("4-fluoroamphetamine", "4-FA"), ("4-fluoromethamphetamine", "4-FMA"), ("2c-e", "2C-E"), ("mdea", "MDEA"),
        ("alpha-pvp", "a-PVP"), ("mda", "MDA"), ("2c-b", "2C-B"), ("cocaine", "C" + vocab.CYRILLIC_O + "caine"),
    ),
}


def build_darknet_listings(seed: int, site: str, vendors: list[Vendor], count: int) -> list[BaseListing]:
    out: list[BaseListing] = []
    id_rng = rng("ids", seed, site)
    ids = sorted(id_rng.sample(range(10000, 99999), count)) if site == "nightshade" else id_rng.sample(range(100000, 999999), count)
    negatives = set(rng("neg", seed, site).sample(range(count), 4))
    novel = [s for s in vocab.SUBSTANCES if s.novel]
    novel_slots = sorted(rng("novel", seed, site).sample(sorted(set(range(count)) - negatives), len(novel)))
    regular = [s for s in vocab.SUBSTANCES if not s.novel]
    by_name = {s.canonical: s for s in regular}
    free = sorted(set(range(count)) - negatives - set(novel_slots))
    showcase = dict(zip(rng("showcase", seed, site).sample(free, len(SHOWCASE[site])), SHOWCASE[site], strict=True))
    # one listing ships from "Worldwide" (truth origin "XX"); on vortex one other listing is priced
    # in USD by its vendor.  Neither is the first listing (tests read truth[0] as the plain case),
    # and both are chosen with their own RNGs so every other listing stays byte-identical.
    worldwide_slot, usd_slot = rng("special-slots", seed, site).sample(free[1:], 2)
    for index in range(count):
        r = rng("listing", seed, site, index)
        if index in negatives:
            sub = vocab.NON_DRUGS[(index + seed) % len(vocab.NON_DRUGS)]
        elif index in novel_slots:
            sub = novel[novel_slots.index(index)]
        elif index in showcase:
            sub = by_name[showcase[index][0]]
        else:
            sub = regular[r.randrange(len(regular))]
        vendor = vendors[0] if index % 9 == 0 else r.choice(vendors)  # DutchGold sells a lot
        # messy forms (leetspeak, homoglyphs, street names) only in some listings
        text = sub.forms[0] if r.random() < 0.55 else r.choice(sub.forms)
        if index in showcase:
            text = showcase[index][1]
        origin = _weighted_origin(r)
        if index == worldwide_slot:
            origin = "Worldwide"
        tiers = _tiers(r, sub, r.uniform(0.8, 1.25))
        ships_to = r.choice(vocab.SHIPS_TO_CHOICES)
        shipping = tuple(sorted(r.sample(vocab.SHIPPING_METHODS, r.randrange(1, 4)), key=lambda m: m[3]))
        escrow = r.random() < 0.85
        lines = r.sample(vocab.DESCRIPTION_LINES, 3)
        purity = None
        if sub.canonical:
            purity = float(r.randrange(70, 100))
            lines.insert(0, f"{text} - {tiers[0][0].text}. Purity {purity:g}% as tested.")
        if vendor.contact.get("wickr") and r.random() < 0.3:
            lines.append(f"Wickr: {vendor.contact['wickr'][0]}")
        vanish_roll = r.random()
        out.append(BaseListing(
            site=site, native_id=str(ids[index]), vendor=vendor, substance=sub, substance_text=text,
            title=_title(r, text, tiers[0][0], sub, origin), tiers=tiers, origin_name=origin,
            ships_to_text=ships_to, shipping=shipping, escrow=escrow,
            finalize_early=(not escrow) or (vendor.fe_enabled and r.random() < 0.5),
            feedback_base=r.randrange(0, 400), feedback_growth=r.randrange(0, 6),
            description="\n".join(lines),
            appear_day=r.choice((1, 2)) if r.random() < 0.08 else 0,
            vanish_day=r.choice((2, 3)) if vanish_roll < 0.08 else None,
            posted_days_ago=r.randrange(0, 40), stock=r.randrange(5, 900), purity=purity,
            usd_pegged=site == "vortex" and index == usd_slot,
        ))
    return out


def destinations_of(text: str) -> tuple[list[str], bool, list[str]]:
    """(destinations, ships_worldwide, excluded) for a ships-to text the sites display."""
    if text.startswith("Worldwide"):
        excluded = []
        if " except " in text:
            excluded = [vocab.SHIPS_TO_NAMES[n.strip()] for n in text.split(" except ", 1)[1].split(",")]
        return [], True, excluded
    if text in ("EU", "European Union"):
        return list(vocab.EU27), False, []
    return [vocab.SHIPS_TO_NAMES[n.strip()] for n in text.split(",")], False, []


def day_factor(seed: int, listing_key: str, drift: float, day: int) -> float:
    """Multiplicative price change at `day`: per-substance drift plus per-listing noise."""
    noise = 0.0 if day == 0 else rng("noise", seed, listing_key, day).uniform(-0.025, 0.025)
    return (1 + drift) ** day * (1 + noise)
