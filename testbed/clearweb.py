"""Day-independent catalogues of the three clear-web sites: rcshop, chemtrade, pillhub."""
from __future__ import annotations

import re
from dataclasses import dataclass

from testbed import vocab
from testbed.generator import rng


@dataclass(frozen=True)
class ClearProduct:
    site: str
    native_id: str
    slug: str
    title: str
    substance: str | None
    substance_text: str
    category: str
    # (label shown, amount normalised, unit, day-0 price in the site currency)
    tiers: tuple[tuple[str, float, str, float], ...]
    dose_mg: float | None
    currency: str
    origin: str
    ships_to_text: str
    shipping: tuple[tuple[str, int, int, float], ...]  # method, days min, max, cost in site currency
    description: str
    vendor: str
    drift: float
    appear_day: int = 0
    vanish_day: int | None = None
    cas: str | None = None
    purity: float | None = None
    moq_kg: float | None = None
    novel: bool = False


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


RC_SHOP_NAME = "RC Lab Supplies"
RC_DISCLAIMER = "NOT FOR HUMAN CONSUMPTION. Sold as a research chemical for laboratory and forensic reference use only."
RC_GRAMS = (1, 5, 10, 25)


def build_rcshop(seed: int) -> list[ClearProduct]:
    by_name = {s.canonical: s for s in vocab.SUBSTANCES}
    out: list[ClearProduct] = []
    variants = ("crystal", "powder")
    index = 0
    for canonical in vocab.RC_PRODUCTS:
        sub = by_name[canonical]
        r = rng("rc", seed, canonical)
        pelleted = sub.category == "benzos"
        for variant in (("pellets",) if pelleted else variants[: 1 + (r.random() < 0.6)]):
            index += 1
            text = sub.forms[0] if r.random() < 0.6 else r.choice(sub.forms)
            title = f"{text} {variant}" if variant != "pellets" else f"{text} {sub.quantities[0].dose_mg:g}mg pellets"
            unit_price = round(sub.usd_per_unit / 1.08 * r.uniform(0.7, 1.1), 2)
            if pelleted:
                dose = sub.quantities[0].dose_mg
                tiers = tuple((f"{n} pellets", float(n), "unit", round(unit_price * n * (1 - 0.04 * k), 2)) for k, n in enumerate((10, 20, 50, 100)))
            else:
                dose = None
                tiers = tuple((f"{g}g", float(g), "g", round(unit_price * g * (1 - 0.07 * k), 2)) for k, g in enumerate(RC_GRAMS))
            out.append(ClearProduct(
                site="rcshop", native_id=f"rc{100 + index}", slug=slugify(title), title=title,
                substance=canonical, substance_text=text, category=sub.category, tiers=tiers, dose_mg=dose,
                currency="EUR", origin=r.choice(("NL", "NL", "PL", "ES", "CZ")),
                ships_to_text=r.choice(("EU", "Worldwide except USA, Australia", "European Union")),
                shipping=(("DHL Parcel (2-5 days)", 2, 5, 7.5), ("Registered letter (3-7 days)", 3, 7, 4.9)),
                description=f"{title}. Purity >99% (HPLC). {RC_DISCLAIMER}", vendor=RC_SHOP_NAME,
                drift=sub.drift_per_day, novel=sub.novel,
                appear_day=2 if index == 7 else 0, vanish_day=3 if index == 11 else None,
            ))
    for extra, price in (("Marquis reagent test kit", 12.0), ("Milligram scale 0.001g", 39.0)):
        index += 1
        out.append(ClearProduct(
            site="rcshop", native_id=f"rc{100 + index}", slug=slugify(extra), title=extra, substance=None,
            substance_text=extra, category="lab-equipment", tiers=((("1 piece", 1.0, "unit", price)),),
            dose_mg=None, currency="EUR", origin="NL", ships_to_text="EU",
            shipping=(("DHL Parcel (2-5 days)", 2, 5, 7.5),), description=f"{extra}. Laboratory equipment.",
            vendor=RC_SHOP_NAME, drift=0.0,
        ))
    return out


CHEM_SUPPLIERS = (
    ("Brightchem Trading Co., Ltd", "CN"), ("Suntrust Pharmtech (HK) Ltd", "HK"),
    ("Rivergate Fine Chemicals", "IN"), ("Starfield Bio-Tech Co.", "CN"), ("Oceanpeak Chem Ltd", "CN"),
)
CHEM_CONTACT = {
    "wickr": ["chemtrade_sales"], "telegram": ["@chemtrade_support"], "whatsapp": ["+852 5550 1234"],
    "email": ["sales@chemtrade-global.test"],
}
CHEM_PAYMENTS = ("BTC", "XMR", "USDT", "Western Union", "MoneyGram", "Bank transfer (T/T)")
CHEM_KG_TIERS = (1, 10, 100)


def build_chemtrade(seed: int) -> list[ClearProduct]:
    out: list[ClearProduct] = []
    for index, chem in enumerate(vocab.CHEMICALS):
        r = rng("chem", seed, chem.cas)
        supplier, origin = CHEM_SUPPLIERS[r.randrange(len(CHEM_SUPPLIERS))]
        per_kg = round(chem.usd_per_kg * r.uniform(0.85, 1.15), 0)
        tiers = tuple((f"{kg} kg", kg * 1000.0, "g", round(per_kg * kg * (1 - 0.1 * k), 2)) for k, kg in enumerate(CHEM_KG_TIERS))
        out.append(ClearProduct(
            site="chemtrade", native_id=str(2001 + index), slug=slugify(chem.display), title=chem.display,
            substance=chem.canonical, substance_text=chem.display, category=chem.category, tiers=tiers,
            dose_mg=None, currency="USD", origin=origin,
            ships_to_text=r.choice(("Worldwide", "Worldwide", "Worldwide except USA, Australia", "EU")),
            shipping=(("Door to door (DDP, 7-12 days)", 7, 12, 0.0), ("EMS / TNT express (4-7 days)", 4, 7, 150.0)),
            description=(f"{chem.display}, CAS {chem.cas}, purity {chem.purity}%. Custom synthesis available. "
                         "100% safe delivery to Europe, Canada, Australia, Russia. Stock in Netherlands warehouse."),
            vendor=supplier, drift=r.uniform(-0.004, 0.006), cas=chem.cas, purity=chem.purity, moq_kg=chem.moq_kg,
            appear_day=1 if index == 5 else 0, vanish_day=2 if index == 9 else None,
        ))
    for extra, price in (("Laboratory glassware set (24 pcs)", 180.0), ("Rotary evaporator 5L", 2400.0)):
        out.append(ClearProduct(
            site="chemtrade", native_id=str(2001 + len(out)), slug=slugify(extra), title=extra, substance=None,
            substance_text=extra, category="lab-equipment", tiers=(("1 set", 1.0, "unit", price),), dose_mg=None,
            currency="USD", origin="CN", ships_to_text="Worldwide",
            shipping=(("Sea freight (25-40 days)", 25, 40, 90.0),), description=f"{extra}. Custom synthesis available.",
            vendor=CHEM_SUPPLIERS[0][0], drift=0.0,
        ))
    return out


PILLHUB_NAME = "PillHub Online Pharmacy"


def build_pillhub(seed: int) -> list[ClearProduct]:
    out: list[ClearProduct] = []
    for med in vocab.MEDICINES:
        r = rng("pill", seed, med.brand)
        doses = med.doses_mg if len(med.doses_mg) <= 2 else r.sample(med.doses_mg, 2)
        for dose in sorted(doses):
            packs = sorted(r.sample(vocab.PACK_SIZES, 3))
            strength = 1 + 0.25 * (dose / med.doses_mg[0] - 1) ** 0.5 if dose > med.doses_mg[0] else 1.0
            per_pill = med.eur_per_pill * strength * r.uniform(0.85, 1.2)
            tiers = tuple((f"{n} x {dose:g}mg tablets", float(n), "unit", round(per_pill * n * (1 - 0.1 * k), 0) + 0.0) for k, n in enumerate(packs))
            title = f"{med.brand} {dose:g}mg"
            out.append(ClearProduct(
                site="pillhub", native_id=f"ph{len(out) + 1:03d}", slug=slugify(title), title=title,
                substance=med.canonical, substance_text=med.brand, category=med.category, tiers=tiers,
                dose_mg=float(dose), currency="EUR", origin=r.choice(("IN", "IN", "IN", "SG", "GB")),
                ships_to_text=r.choice(("Worldwide", "Worldwide except USA, Australia", "EU", "United States")),
                shipping=(("Standard airmail (10-21 days)", 10, 21, 15.0), ("EMS express tracked (5-9 days)", 5, 9, 30.0)),
                description=(f"Buy {med.brand} {dose:g}mg online without prescription. Discreet packaging, "
                             "no prescription needed, reship guarantee."),
                vendor=PILLHUB_NAME, drift=r.uniform(-0.002, 0.004),
                appear_day=1 if len(out) == 4 else 0, vanish_day=3 if len(out) == 12 else None,
            ))
    return out
