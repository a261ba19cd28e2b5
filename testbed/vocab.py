"""Vocabulary the synthetic catalogue is drawn from: substances with their messy names,
quantity formats, countries, vendor identities, precursors and pharmacy products.

Canonical names are lowercase, as a reference list would name them.  `forms` are the
texts sellers write; the first form is the clean one.  Prices are rough public street
price levels in USD per base unit (g / ml / unit), only for realism of magnitudes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

CYRILLIC_E = "\u0435"  # looks like Latin "e"
CYRILLIC_O = "\u043e"
CYRILLIC_A = "\u0430"


@dataclass(frozen=True)
class QuantitySpec:
    text: str  # as written in a title, e.g. "1/4 oz", "10 tabs of 100ug"
    amount: float  # normalised amount in `unit`
    unit: str  # "g" | "ml" | "unit"
    dose_mg: float | None = None
    stated: bool = True  # False: the page states no quantity (truth gives None)


@dataclass(frozen=True)
class Substance:
    canonical: str | None  # None for non-drug listings
    category: str
    forms: tuple[str, ...]
    usd_per_unit: float
    quantities: tuple[QuantitySpec, ...]
    drift_per_day: float = 0.0  # relative price drift per crawl day
    novel: bool = False  # not on any reference list yet (early-warning bait)
    taglines: tuple[str, ...] = field(default=())


def _g(*amounts: float) -> tuple[QuantitySpec, ...]:
    return tuple(QuantitySpec(f"{a:g}g", float(a), "g") for a in amounts)


OZ = 28.3495
POWDER_BULK = (
    QuantitySpec("1g", 1.0, "g"),
    QuantitySpec("3.5g", 3.5, "g"),
    QuantitySpec("1/4 oz", round(OZ / 4, 4), "g"),
    QuantitySpec("1 oz", OZ, "g"),
    QuantitySpec("10 G", 10.0, "g"),
)
WEED = (
    QuantitySpec("3.5g", 3.5, "g"),
    QuantitySpec("1 oz", OZ, "g"),
    QuantitySpec("QP", round(OZ * 4, 4), "g"),
    QuantitySpec("1/4 oz", round(OZ / 4, 4), "g"),
)


def _pills(dose: float, *counts: int, word: str = "pills") -> tuple[QuantitySpec, ...]:
    # the strength is always written: truth's dose_mg must be readable from the page
    return tuple(QuantitySpec(f"{n} {word} {dose:g}mg", float(n), "unit", dose) for n in counts)


SUBSTANCES: tuple[Substance, ...] = (
    Substance("cocaine", "stimulants", ("Cocaine", "coke", "c0ca1ne", "Cocaina", "Peruvian Flake cocaine", "COKE", "cocain"), 85.0, POWDER_BULK, 0.004, taglines=("uncut", "fishscale", "90% pure", "Bolivian")),
    Substance("amphetamine", "stimulants", ("Amphetamine", "speed", "Amfetamine paste", "SPEED", "amph"), 9.0, _g(1, 5, 10, 50, 100), 0.002, taglines=("paste", "sulphate", "70%")),
    Substance("methamphetamine", "stimulants", ("Methamphetamine", "tina", "crystal meth", "ice", "m3th"), 40.0, _g(0.5, 1, 3.5, 7, 28), 0.006, taglines=("shards", "glass", "99%")),
    Substance("mephedrone", "stimulants", ("Mephedrone", "4-MMC", "mephedron", "meow meow", "m" + CYRILLIC_E + "phedrone", "4mmc"), 18.0, _g(1, 5, 10, 25, 100), -0.003, taglines=("crystals", "big rocks", "lab tested")),
    Substance("3-methylmethcathinone", "stimulants", ("3-MMC", "3mmc", "3-methylmethcathinone", "3-MMC crystal"), 14.0, _g(1, 5, 10, 50), 0.003, taglines=("crystal", "chunks", "Dutch")),
    Substance("3-chloromethcathinone", "stimulants", ("3-CMC", "3cmc", "3-chloromethcathinone", "Clophedrone"), 12.0, _g(1, 5, 25, 100), 0.005, taglines=("powder", "rocks")),
    Substance("4-chloromethcathinone", "stimulants", ("4-CMC", "4cmc", "Clephedrone"), 11.0, _g(1, 5, 25), 0.0, taglines=("crystal",)),
    Substance("alpha-pvp", "stimulants", ("alpha-PVP", "a-PVP", "α-PVP", "flakka"), 20.0, _g(0.5, 1, 5, 10), 0.002, taglines=("crystal", "shards")),
    Substance("4-fluoroamphetamine", "stimulants", ("4-FA", "4-FMP", "4-Fluoroamphetamine"), 15.0, (*_g(1, 5), *_pills(100.0, 10, 50)), 0.0),
    Substance("4-fluoromethamphetamine", "stimulants", ("4-FMA", "4-fluoromethamphetamine"), 16.0, _g(1, 5, 10), 0.0),
    Substance("mdma", "ecstasy", ("MDMA", "molly", "MDMA crystals", "Champagne MDMA", "mdma", "XTC"), 30.0, (*_g(1, 3.5, 10, 28), QuantitySpec("10 x 250mg", 10.0, "unit", 250.0), QuantitySpec("x10 pills 220mg", 10.0, "unit", 220.0), QuantitySpec("100 pills 200mg", 100.0, "unit", 200.0)), 0.001, taglines=("84%", "pink champagne", "Dutch")),
    Substance("mda", "ecstasy", ("MDA", "sass", "MDA crystal"), 35.0, _g(1, 3.5, 10), 0.0),
    Substance("mdea", "ecstasy", ("MDEA", "Eve", "MDE"), 30.0, _g(1, 5), 0.0),
    Substance("lsd", "psychedelics", ("LSD", "acid", "LSD-25", "lucy"), 8.0, (QuantitySpec("10 tabs of 100ug", 10.0, "unit", 0.1), QuantitySpec("x10 blotters 150ug", 10.0, "unit", 0.15), QuantitySpec("100 tabs of 100ug", 100.0, "unit", 0.1), QuantitySpec("5ml", 5.0, "ml")), 0.001, taglines=("blotters", "needlepoint", "Hofmann design")),
    Substance("2c-b", "psychedelics", ("2C-B", "2cb", "Nexus", "2-CB"), 12.0, (*_g(1, 5), QuantitySpec("2C-B 20mg x10", 10.0, "unit", 20.0)), 0.0),
    Substance("2c-e", "psychedelics", ("2C-E", "2ce"), 25.0, _g(0.5, 1), 0.0),
    Substance("2c-b-fly", "psychedelics", ("2C-B-FLY", "2cb-fly"), 40.0, _g(0.5, 1), 0.0),
    Substance("psilocybin", "psychedelics", ("Magic Mushrooms", "shrooms", "Golden Teacher mushrooms", "psilocybe cubensis"), 9.0, _g(7, 14, 28, 100), 0.001),
    Substance("ketamine", "dissociatives", ("Ketamine", "ket", "k3tamine", "Special K", "keta", "K"), 25.0, POWDER_BULK, -0.002, taglines=("needles", "shards", "S-isomer")),
    Substance("cannabis", "cannabis", ("Amnesia Haze", "weed", "Cannabis", "OG Kush", "White Widow", "hash", "Moroccan hash"), 8.0, WEED, -0.001, taglines=("indoor", "top shelf", "AAA+")),
    Substance("heroin", "opioids", ("Heroin", "H", "brown", "#4 heroin", "her0in"), 90.0, _g(0.5, 1, 5, 10), 0.003),
    Substance("oxycodone", "opioids", ("Oxycodone", "oxy", "OC 80", "Oxycontin", "0xy"), 25.0, (*_pills(80.0, 10, 30), *_pills(30.0, 10, 100, word="M30 pills")), 0.002),
    Substance("protonitazepyne", "opioids", ("N-pyrrolidino protonitazene", "protonitazepyne"), 120.0, _g(0.1, 0.5), 0.004),
    Substance("fentanyl", "opioids", ("Fentanyl", "fent", "fetty"), 60.0, _g(0.1, 0.5, 1), 0.0),
    Substance("alprazolam", "benzos", ("Xanax", "Alprazolam", "xanax bars", "xanny", "alprazolam"), 2.5, (*_pills(2.0, 10, 100, 500, word="bars"), QuantitySpec("100 PILLS X 2mg", 100.0, "unit", 2.0)), -0.001),
    Substance("diazepam", "benzos", ("Valium", "Diazepam", "vallies"), 1.0, _pills(10.0, 50, 100, 500), 0.0),
    Substance("clonazepam", "benzos", ("Clonazepam", "Klonopin", "Rivotril"), 1.4, _pills(2.0, 30, 100), 0.0),
    Substance("gamma-butyrolactone", "other", ("GBL", "G", "gbl"), 0.3, (QuantitySpec("100ml", 100.0, "ml"), QuantitySpec("250ml", 250.0, "ml"), QuantitySpec("1 litre", 1000.0, "ml")), 0.0),
    # early-warning bait: names that no reference list has yet
    Substance("3-cmpvp", "stimulants", ("3-CMPVP", "3-Chloro-PVP (3-CMPVP)"), 22.0, _g(1, 5), 0.0, novel=True),
    Substance("2f-nendck", "dissociatives", ("2F-NENDCK", "2-fluoro-N-ethyl-nordeschloroketamine"), 18.0, _g(1, 5), 0.0, novel=True),
    Substance("flubrotizolam", "benzos", ("Flubrotizolam", "flubrotizolam pellets"), 1.5, _pills(0.5, 20, 100, word="pellets"), 0.0, novel=True),
    Substance("bromonordiazolam", "benzos", ("Bromonordiazolam", "bromo-nordiazolam"), 1.2, _pills(1.0, 20, 100, word="pellets"), 0.0, novel=True),
)

NON_DRUGS: tuple[Substance, ...] = (
    Substance(None, "digital", ("Netflix premium accounts x5 lifetime",), 10.0, (QuantitySpec("5 accounts", 5.0, "unit"),)),
    Substance(None, "digital", ("Fake ID template pack (PSD, 40 countries)",), 30.0, (QuantitySpec("each", 1.0, "unit", stated=False),)),
    Substance(None, "other", ("Basket of goodies - mystery box for loyal customers",), 50.0, (QuantitySpec("each", 1.0, "unit", stated=False),)),
    Substance(None, "other", ("High speed shipping upgrade (add to any order)",), 15.0, (QuantitySpec("each", 1.0, "unit", stated=False),)),
    Substance(None, "other", ("Digital scale 0.01g precision",), 18.0, (QuantitySpec("each", 1.0, "unit", stated=False),)),
)

# display name -> ISO alpha-2
COUNTRIES: dict[str, str] = {
    "Netherlands": "NL", "Germany": "DE", "United Kingdom": "GB", "United States": "US",
    "China": "CN", "India": "IN", "Canada": "CA", "Spain": "ES", "Poland": "PL",
    "Australia": "AU", "France": "FR", "Belgium": "BE", "Czech Republic": "CZ", "Sweden": "SE",
    "Worldwide": "XX",  # the index model's code for a stated but unknown/worldwide origin
}
ORIGIN_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("Netherlands", 6), ("Germany", 4), ("United Kingdom", 4), ("United States", 5), ("China", 2),
    ("India", 2), ("Canada", 2), ("Spain", 2), ("Poland", 2), ("Australia", 1), ("France", 1), ("Belgium", 1),
)
EU27: tuple[str, ...] = (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
)
# how sellers write destinations; expansion into truth fields is in generator.destinations_of
SHIPS_TO_CHOICES: tuple[str, ...] = (
    "Worldwide", "Worldwide", "Worldwide except USA, Australia", "EU", "European Union",
    "United States", "United States, Canada", "United Kingdom", "Worldwide except Australia, New Zealand",
    "Germany, Austria, Switzerland", "Netherlands, Belgium",
)
SHIPS_TO_NAMES: dict[str, str] = {
    "USA": "US", "Australia": "AU", "New Zealand": "NZ", "United States": "US", "Canada": "CA",
    "United Kingdom": "GB", "Germany": "DE", "Austria": "AT", "Switzerland": "CH", "Netherlands": "NL",
    "Belgium": "BE",
}

SHIPPING_METHODS: tuple[tuple[str, int, int, float], ...] = (
    ("Standard", 5, 10, 5.0), ("Express tracked", 2, 4, 25.0), ("Free shipping", 7, 14, 0.0),
    ("Registered mail", 4, 8, 12.0), ("Next day", 1, 1, 35.0), ("Stealth Standard", 6, 12, 8.0),
)

# Each identity is one real-world seller; markets show it under slightly different names.
VENDOR_IDENTITIES: tuple[str, ...] = (
    "DutchGold", "NordicPowder", "CaliConnect", "PharmaKing", "BerlinBlues", "TheChemist",
    "UKDirect", "MollyMart", "GreenFairy", "IcemanAU", "KetaKing", "CandyFlip", "PolarBear",
    "LondonLabs", "TripTrader", "RedDragonCN", "MumbaiMeds", "WhiteRabbit", "NarcoNinja",
    "ButterflyNL", "AlpineSnow", "FrostByte", "GhostShip", "MoonRocks", "DeltaPharma",
    "BlueLotus", "StealthKing", "CocoLoco", "SpeedyEU", "RollingStone",
)

OTHER_MARKETS: tuple[str, ...] = ("Dream", "Empire", "AlphaBay", "Wall Street", "Hydra", "Abacus")

DESCRIPTION_LINES: tuple[str, ...] = (
    "Top quality product, lab tested. Reship policy 50% on first loss, 100% after that.",
    "Vacuum sealed x2, MBB + decoy. Stealth is our priority.",
    "PLEASE READ MY TERMS BEFORE ORDERING!!! No refunds on wrong address.",
    "Ships within 24h on working days. We do NOT ship on weekends.",
    "Leave honest feedback, it helps us a lot <3",
    "Bulk deals available, PM me for prices over 100g.",
    "Encrypt your address with my PGP key or the order gets cancelled.",
    "Batch tested with reagent kits (Marquis, Mecke, Simon's).",
    "FE only for vendors with 500+ sales, escrow for everybody else.",
    "Same day dispatch if you order before 2pm CET.",
)

# --- chemtrade: precursors (CAS numbers as published by suppliers and control lists) -----

@dataclass(frozen=True)
class Chemical:
    canonical: str
    display: str  # product name as the shop writes it
    cas: str
    usd_per_kg: float
    moq_kg: float
    purity: float
    category: str


CHEMICALS: tuple[Chemical, ...] = (
    Chemical("apaan", "APAAN (alpha-phenylacetoacetonitrile)", "4468-48-8", 420.0, 1, 99.0, "bmk-precursors"),
    Chemical("bmk methyl glycidate", "BMK Methyl Glycidate (new BMK oil)", "80532-66-7", 380.0, 1, 99.5, "bmk-precursors"),
    Chemical("bmk glycidic acid", "BMK glycidic acid (sodium salt) powder", "5449-12-7", 350.0, 5, 99.0, "bmk-precursors"),
    Chemical("phenylacetone", "P2P / BMK oil (phenylacetone)", "103-79-7", 900.0, 1, 98.0, "bmk-precursors"),
    Chemical("pmk methyl glycidate", "PMK Methyl Glycidate powder", "13605-48-6", 450.0, 1, 99.0, "pmk-precursors"),
    Chemical("3,4-methylenedioxyphenyl-2-propanone", "PMK oil (3,4-MDP-2-P)", "4676-39-5", 1200.0, 1, 98.0, "pmk-precursors"),
    Chemical("safrole", "Safrole oil", "94-59-7", 300.0, 5, 97.0, "pmk-precursors"),
    Chemical("isosafrole", "Isosafrole", "120-58-1", 320.0, 5, 98.0, "pmk-precursors"),
    Chemical("piperonal", "Piperonal (heliotropin)", "120-57-0", 90.0, 10, 99.0, "pmk-precursors"),
    Chemical("1-boc-4-piperidone", "1-Boc-4-Piperidone", "79099-07-3", 260.0, 1, 99.0, "fentanyl-precursors"),
    Chemical("4-anilinopiperidine", "4-Anilinopiperidine (4-AP)", "23056-29-3", 700.0, 1, 99.0, "fentanyl-precursors"),
    Chemical("1-boc-4-anilinopiperidine", "1-Boc-4-AP (tert-butyl 4-anilinopiperidine-1-carboxylate)", "125541-22-2", 650.0, 1, 99.0, "fentanyl-precursors"),
    Chemical("n-phenethyl-4-piperidone", "NPP (1-phenethyl-4-piperidone)", "39742-60-4", 800.0, 1, 99.0, "fentanyl-precursors"),
    Chemical("4-anilino-n-phenethylpiperidine", "ANPP (4-anilino-N-phenethylpiperidine)", "21409-26-7", 1500.0, 1, 99.0, "fentanyl-precursors"),
    Chemical("ephedrine", "Ephedrine HCl", "299-42-3", 600.0, 1, 99.5, "amphetamine-precursors"),
    Chemical("pseudoephedrine", "Pseudoephedrine HCl", "90-82-4", 550.0, 1, 99.0, "amphetamine-precursors"),
    Chemical("phenylacetic acid", "Phenylacetic acid", "103-82-2", 40.0, 25, 99.0, "amphetamine-precursors"),
    Chemical("red phosphorus", "Red phosphorus powder", "7723-14-0", 60.0, 5, 98.5, "reagents"),
    Chemical("acetic anhydride", "Acetic anhydride", "108-24-7", 25.0, 25, 99.5, "reagents"),
    Chemical("gamma-butyrolactone", "GBL (gamma-butyrolactone) wheel cleaner", "96-48-0", 30.0, 5, 99.9, "solvents"),
    Chemical("1,4-butanediol", "1,4-Butanediol (BDO)", "110-63-4", 28.0, 5, 99.5, "solvents"),
    Chemical("2-bromo-4'-methylpropiophenone", "2-Bromo-4'-methylpropiophenone (2B4M)", "1451-82-7", 280.0, 1, 99.0, "cathinone-precursors"),
    Chemical("4'-methylpropiophenone", "4'-Methylpropiophenone", "5337-93-9", 150.0, 5, 99.0, "cathinone-precursors"),
    Chemical("2-bromovalerophenone", "2-Bromovalerophenone", "49851-31-2", 300.0, 1, 99.0, "cathinone-precursors"),
    Chemical("norephedrine", "Norephedrine HCl (PPA)", "14838-15-4", 500.0, 1, 99.0, "amphetamine-precursors"),
    Chemical("potassium permanganate", "Potassium permanganate", "7722-64-7", 12.0, 25, 99.3, "reagents"),
)

# --- pillhub: pharmacy products --------------------------------------------------------

@dataclass(frozen=True)
class Medicine:
    canonical: str
    brand: str  # shown name, e.g. "Xanax (Alprazolam)"
    category: str  # slug
    doses_mg: tuple[float, ...]
    eur_per_pill: float


MEDICINES: tuple[Medicine, ...] = (
    Medicine("oxycodone", "OxyContin (Oxycodone)", "painkillers", (10, 20, 40, 80), 6.5),
    Medicine("oxycodone", "Percocet (Oxycodone/Paracetamol)", "painkillers", (5, 10), 4.0),
    Medicine("tramadol", "Tramadol HCl", "painkillers", (50, 100, 200, 225), 0.9),
    Medicine("tapentadol", "Tapentadol (Aspadol / Nucynta)", "painkillers", (50, 100), 1.6),
    Medicine("hydrocodone", "Hydrocodone bitartrate (Norco)", "painkillers", (10,), 3.5),
    Medicine("codeine", "Codeine phosphate", "painkillers", (30, 60), 1.1),
    Medicine("alprazolam", "Xanax (Alprazolam)", "anxiety", (0.5, 1, 2), 1.3),
    Medicine("diazepam", "Valium (Diazepam)", "anxiety", (5, 10), 0.7),
    Medicine("clonazepam", "Rivotril (Clonazepam)", "anxiety", (0.5, 2), 0.9),
    Medicine("lorazepam", "Ativan (Lorazepam)", "anxiety", (1, 2.5), 1.0),
    Medicine("zolpidem", "Ambien (Zolpidem)", "sleep", (10,), 0.8),
    Medicine("modafinil", "Modalert (Modafinil)", "adhd-focus", (100, 200), 0.9),
    Medicine("armodafinil", "Waklert (Armodafinil)", "adhd-focus", (150, 250), 1.0),
    Medicine("amphetamine", "Adderall XR (mixed amphetamine salts)", "adhd-focus", (10, 20, 30), 4.5),
    Medicine("methylphenidate", "Ritalin (Methylphenidate)", "adhd-focus", (10, 20), 2.2),
    Medicine("pregabalin", "Lyrica (Pregabalin)", "painkillers", (75, 150, 300), 0.6),
)
PACK_SIZES: tuple[int, ...] = (30, 60, 90, 180)

RC_PRODUCTS: tuple[str, ...] = (
    "3-methylmethcathinone", "3-chloromethcathinone", "4-chloromethcathinone", "4-fluoroamphetamine",
    "4-fluoromethamphetamine", "2c-b", "2c-e", "2c-b-fly", "alpha-pvp", "mephedrone", "3-cmpvp",
    "flubrotizolam", "bromonordiazolam", "2f-nendck", "protonitazepyne",
)

# Other names reference lists use for the same substance (lowercase); truth carries them in
# `substance_aliases` so that an accuracy check can accept "3-mmc" for "3-methylmethcathinone".
SUBSTANCE_ALIASES: dict[str, tuple[str, ...]] = {
    "3-methylmethcathinone": ("3-mmc", "metaphedrone"), "3-chloromethcathinone": ("3-cmc", "clophedrone"),
    "4-chloromethcathinone": ("4-cmc", "clephedrone"), "mephedrone": ("4-mmc", "4-methylmethcathinone"),
    "4-fluoroamphetamine": ("4-fa", "4-fmp"), "4-fluoromethamphetamine": ("4-fma",),
    "alpha-pvp": ("a-pvp", "α-pvp", "alpha-pyrrolidinovalerophenone"), "mdma": ("ecstasy",), "lsd": ("lysergide",),
    "mda": ("tenamfetamine",), "mdea": ("mde",), "amphetamine": ("amfetamine",), "methamphetamine": ("metamfetamine",),
    "gamma-butyrolactone": ("gbl",), "cannabis": ("marijuana",), "psilocybin": ("magic mushrooms",),
    "protonitazepyne": ("n-pyrrolidino protonitazene",), "apaan": ("alpha-phenylacetoacetonitrile",),
    "phenylacetone": ("p2p", "bmk", "1-phenyl-2-propanone"),
    "3,4-methylenedioxyphenyl-2-propanone": ("pmk", "3,4-mdp-2-p", "mdp2p"),
    "pmk methyl glycidate": ("3,4-mdp-2-p methyl glycidate", "pmk glycidate"),
    "bmk methyl glycidate": ("bmk glycidate",), "4-anilinopiperidine": ("4-ap",),
    "1-boc-4-anilinopiperidine": ("1-boc-4-ap",), "n-phenethyl-4-piperidone": ("npp",),
    "4-anilino-n-phenethylpiperidine": ("anpp", "4-anpp"), "2-bromo-4'-methylpropiophenone": ("2b4m",),
    "1,4-butanediol": ("bdo", "1,4-bd"), "norephedrine": ("phenylpropanolamine", "ppa"),
    "2c-b": ("nexus",),
}
