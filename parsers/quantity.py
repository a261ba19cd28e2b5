"""Quantities in listing titles: mass, volume, counts, per-unit strength, purity, multi-offers.

Everything is normalised to a base unit: grams, millilitres or units (pills, tabs, ...).
Numbers glued to letters or hyphens ("2C-B", "3-MMC", "M30", "LSD-25", "#4") are never
quantities: a quantity needs a unit, a count word, or an "x10"-style multiplier.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from parsers._base import Result, read_number, require_str

OUNCE_G = 28.349523125
POUND_G = 453.59237
MASS_G = {
    "mg": 0.001, "milligram": 0.001, "milligrams": 0.001,
    "g": 1.0, "gr": 1.0, "grs": 1.0, "gs": 1.0, "gm": 1.0, "gms": 1.0, "grm": 1.0, "grms": 1.0,
    "gram": 1.0, "grams": 1.0, "gramm": 1.0, "gramos": 1.0, "grammes": 1.0, "gramme": 1.0,
    "kg": 1000.0, "kgs": 1000.0, "kilo": 1000.0, "kilos": 1000.0, "kilogram": 1000.0, "kilograms": 1000.0,
    "oz": OUNCE_G, "ozs": OUNCE_G, "ounce": OUNCE_G, "ounces": OUNCE_G, "zip": OUNCE_G, "zips": OUNCE_G,
    "lb": POUND_G, "lbs": POUND_G, "pound": POUND_G, "pounds": POUND_G,
}
VOLUME_ML = {
    "ml": 1.0, "millilitre": 1.0, "milliliter": 1.0, "millilitres": 1.0, "milliliters": 1.0,
    "cl": 10.0, "l": 1000.0, "ltr": 1000.0, "litre": 1000.0, "liter": 1000.0, "litres": 1000.0, "liters": 1000.0,
}
DOSE_MG = {"mg": 1.0, "mcg": 0.001, "ug": 0.001, "μg": 0.001, "µg": 0.001}
# words that name one countable unit of a product
COUNT_WORDS = (
    "pills?|tabs?|tablets?|tabl?ets|caps|capsules?|bars?|blotters?|pellets?|pcs|pieces?|units?|"
    "ampoules?|amps|vials?|hits?|squares?|strips?|softgels?|lozenges?|patch(?:es)?|doses?|"
    "accounts?|x?tc pills?|stk|st[uü]ck|box(?:es)?|sets?|kits?|packs?|cap|sachets?|satchets?|drops|joints?|"
    # (not carts/pods/gummies: "500MG THC PODS" is the pod's mass, not a strength per counted unit)
    "tb|tbs|syringes?|pre-?rolls?|films?|qty\\.?|pcs\\."
)
# atomic (no backtracking into a number) so that lists like "1,000/1,000/..." stay linear
_NUM = r"(?>\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,])|\d+(?:[.,]\d+)?(?!\d))"
_INT = r"(?>\d{1,3}(?:,\d{3})+(?![\d,])|\d+(?!\d))"
# a number not glued to a word, decimal, code or fraction; "/" or "-" right after a unit
# letter is fine ("1g/5g", "1g-5g") while "3-MMC", "1/4" and "LSD-25" stay out
_LB = r"(?:(?<![\w.,#/\-$€£])|(?<=[a-z][/\-])|(?<=\s-))"
_MASS_U = "|".join(sorted(MASS_G, key=len, reverse=True))
_VOL_U = "|".join(sorted(VOLUME_ML, key=len, reverse=True))
_DOSE_U = "mg|mcg|ug|μg|µg"
_END = r"(?![a-z0-9])"
_MULT = r"\s*(?:x|×|\*)\s*"

_PATTERN = re.compile(
    # cheap first-character gate: every alternative starts with one of these, and the
    # engine skips all other positions without trying twelve alternatives at each; a letter
    # passes only where a word alternative can start (x, a/an/one, per, eighth, half, hp/ho,
    # qp/qo/quarter/qty/quantity, pack/box/bottle/blister/strip, moq/min)
    # digit not preceded by a digit (every alternative's look-behind rules that out anyway)
    r"(?=(?<![0-9])[0-9]|×|(?<![a-z0-9])(?:[xaq]|one|pe|pa|ei|h[apo]|bo|bl|st|mo|mi))(?:" + "|".join((
        # "100 x 2mg", "10x250mg", "10 x 1g", "100 pills x 2mg", "10 tabs of 100ug", "90 x 50mg tablets"
        rf"(?P<NXD>{_LB}(?P<nxd_n>{_INT})(?:\s*(?:{COUNT_WORDS}))?(?:{_MULT}|\s*(?:{COUNT_WORDS})?\s*(?:of|@|at|a|à)\s+|\s*(?:{COUNT_WORDS})\s+)(?P<nxd_d>{_NUM})\s*(?P<nxd_u>{_DOSE_U}|{_MASS_U}|{_VOL_U}){_END})",
        # "20mg x10", "250mg x 10 pills"
        rf"(?P<DXN>{_LB}(?P<dxn_d>{_NUM})\s*(?P<dxn_u>{_DOSE_U}|{_MASS_U}|{_VOL_U})(?:\s*(?:{COUNT_WORDS}))?{_MULT}(?P<dxn_n>{_INT})(?![.,]\d){_END})",
        # "x10 pills 220mg", "x10 blotters 150ug"
        rf"(?P<XND>(?<![\w])x\s*(?P<xnd_n>{_INT})\s*(?:{COUNT_WORDS})\s*(?P<xnd_d>{_NUM})\s*(?P<xnd_u>{_DOSE_U}){_END})",
        # fractions of ounces/pounds: "1/4 oz", "1/2lb", "1/8th"
        rf"(?P<FRAC>{_LB}(?P<frac_a>[1-9])\s*/\s*(?P<frac_b>2|4|8|16|32)\s*(?:(?P<frac_u>oz|ozs|ounces?|lbs?|pounds?|p){_END}|th{_END}))",
        # "1g/5g/10g" pieces and "1/5/10g" lists, "1-5g" ranges: each number with a mass/volume unit
        rf"(?P<LIST>{_LB}(?P<list_v>(?:(?:{_NUM})\s*(?:/|\||-|,\s)\s*)+(?:{_NUM}))\s*(?P<list_u>{_MASS_U}|{_VOL_U}){_END})",
        rf"(?P<AMT>{_LB}(?P<amt_v>{_NUM})\s*(?P<amt_u>{_MASS_U}|{_VOL_U}|{_DOSE_U}){_END})",
        # slang sizes
        rf"(?P<WORD>(?<![\w])(?P<word_w>per\s+(?:gram|gr|g)|(?:an?\s+|one\s+)?(?:eighth|8th|1/8)(?:\s+(?:oz|ounce))?|(?:an?\s+)?(?:8|eight)[\s-]?ball|half\s+(?:a\s+)?(?:g|gr|gram|gramm?e?)|qp|quarter\s*(?:pound|lb|p)|hp|half\s*(?:pound|lb|p)|half\s*(?:an?\s+)?(?:oz|ounce|o)|quarter\s*(?:an?\s+)?(?:oz|ounce|o)|qo|ho|(?:an|one)\s+(?:ounce|oz)|(?:a|one)\s+(?:zip|kilo)){_END})",
        # counts: "10-20 pills", "25/50/100 tabs", "100 pills", "10 M30 pills", "pack of 90", "x10", "10x", "qty 250"
        rf"(?P<CLIST>(?<![\w.,#/\-])(?P<clist_v>(?:(?:{_INT})\s*(?:/|\||-|,\s)\s*)+(?:{_INT}))\s*(?:{COUNT_WORDS}){_END})",
        rf"(?P<CNT>(?<![\w.,#/\-$€£])(?P<cnt_n>{_INT})(?:\s*|\s+(?:(?!x\d)[a-z][a-z0-9\-]*\s+){{1,2}}?)(?:{COUNT_WORDS}){_END})",
        rf"(?P<PACK>(?:pack|box|bottle|blister|strip)\s+of\s+(?P<pack_n>{_INT})|(?<![\w])(?P<pack_m>{_INT})\s*-?\s*(?:pack|pk|count|ct){_END})",
        rf"(?P<XN>(?<![\w])x\s*(?P<xn_n>{_INT})(?![.,]\d){_END}(?!\s*(?:{_DOSE_U}|{_MASS_U}))|{_LB}(?P<xn_m>{_INT})\s*x(?![\w])(?!\s*\d))",
        rf"(?P<QTY>(?:qty|quantity|moq|min\.? order)\s*:?\s*(?P<qty_n>{_INT}){_END}(?!\s*(?:{_DOSE_U}|{_MASS_U}|{_VOL_U})))",
        # purity: "90%", "80+%", "99.7 %", ">99%"
        rf"(?P<PCT>{_LB}(?P<pct_v>{_NUM})\s*\+?\s*%\s*\+?(?!\s*(?:thc|cbd|off|discount|reship|refund|cash|bonus|extra|fe\b|escrow|free|more|less|of\s+(?:the|your|my)|positive|feedback|rating)))",
    )) + ")",
    re.I,
)
_QUICK = re.compile(r"\d|per\s+g|eight|quarter|half|qp|ounce|oz|zip|kilo|\bho\b|\bqo\b|\bhp\b", re.I)
_WORD_G = {
    "eighth": OUNCE_G / 8, "8th": OUNCE_G / 8, "1/8": OUNCE_G / 8, "qp": POUND_G / 4, "quarter pound": POUND_G / 4,
    "quarter lb": POUND_G / 4, "quarter p": POUND_G / 4, "hp": POUND_G / 2, "half pound": POUND_G / 2, "half lb": POUND_G / 2,
    "half p": POUND_G / 2, "half oz": OUNCE_G / 2, "half ounce": OUNCE_G / 2, "half o": OUNCE_G / 2, "ho": OUNCE_G / 2,
    "quarter oz": OUNCE_G / 4, "quarter ounce": OUNCE_G / 4, "quarter o": OUNCE_G / 4, "qo": OUNCE_G / 4,
    "ounce": OUNCE_G, "oz": OUNCE_G, "zip": OUNCE_G, "kilo": 1000.0, "half gram": 0.5, "gram": 1.0,
}
# brand and generic names sold as pills: "Modafinil 200mg" is a strength, "MDMA 500mg" a mass
PILL_NAMES = (
    "xanax|alprazolam|valium|diazepam|oxy\\w*|tramadol|tapentadol|aspadol|nucynta|soma|carisoprodol|adderall|vyvanse|"
    "dexedrine|ritalin|methylphenidate|percocet|vicodin|norco|hydrocodone|hydromorphone|dilaudid|codeine|morphine|"
    "methadone|suboxone|subutex|buprenorphine|roxy\\w*|xtc|ecstasy|m30|blues?|viagra|sildenafil|cialis|tadalafil|kamagra|"
    "modafinil|armodafinil|modalert|waklert|provigil|zolpidem|ambien|zopiclone|zaleplon|lyrica|pregabalin|lorazepam|"
    "ativan|clonazepam|klonopin|rivotril|bromazepam|lexotan\\w*|etizolam|temazepam|nitrazepam|phenobarbital|gabapentin"
)
_PILL_CONTEXT = re.compile(rf"(?<![a-z])(?:{COUNT_WORDS}|{PILL_NAMES})(?![a-z])", re.I)
_BARE = re.compile(rf"^\s*(?P<n>{_NUM})\s*$")
# a market's offer prefix: "10-500pls x Zopiclone 7.5mg", "3.5gr x ...", "x200pls Cialis 60mg"
_OFFER = re.compile(r"^\W*(?:x\s*)?(?P<lo>\d+(?:[.,]\d+)?)(?:\s*-\s*(?P<hi>\d+(?:[.,]\d+)?))?\s*"
                    r"(?P<u>pls|tbs?|pcs|pks|gr|ml)(?:\s*x\s+|\s+(?=[a-z]))", re.I)
_OFFER_UNIT = {"gr": "g", "ml": "ml"}
# "(1000) 30mg Adderall", "(14) grams", "x [10]": a bracketed count
_BRACKETED = re.compile(r"[(\[](\d{1,5})[)\]]\s*")
# "10 Percocet 7.5/325", "100 CIALIS 30MG": a leading count before a pill name
_LEAD_COUNT = re.compile(rf"^\W*(?P<n>\d{{1,4}})\s+(?:{PILL_NAMES})(?![a-z])", re.I)
_STOCK = re.compile(r"\s+(?:left|remaining)\b", re.I)
_APAP = re.compile(r"^\d+(?:\.\d+)?\s*/\s*(?:300|325|500|650|750)$")
_FIRST_DOSE = re.compile(r"(?<![\w.,])(\d+(?:[.,]\d+)?)\s*(mg|mcg|ug|μg|µg)(?![a-z])", re.I)
_CONCENTRATION = re.compile(r"\s*/\s*1?\s*(?:ml|l)\b", re.I)
_PER_VOLUME = re.compile(r"(?:mg|mcg|ug|µg|μg|g)\s*/\s*$", re.I)  # the "1mL" of "10 mg / 1mL"
# the first strength of a two-active solution: "50 mg + Estradiol 10 mg / 1mL" is per ml too
_PLUS_CONCENTRATION = re.compile(r"\s*\+[^+/\d]{0,40}\d+(?:[.,]\d+)?\s*(?:mg|mcg|ug|µg|μg)\s*/\s*1?\s*(?:ml|l)\b", re.I)


@dataclass(frozen=True)
class Quantity(Result):
    raw: str
    ok: bool = False
    error: str | None = None
    amount: float | None = None  # total, in `unit`
    unit: str | None = None  # "g" | "ml" | "unit"
    count: int | None = None  # number of units when the offer is counted
    dose_mg: float | None = None  # per-unit strength in mg (ug converted)
    dose_unit: str | None = None  # unit the per-unit strength was written in: mg, ug, g, ml
    dose_value: float | None = None  # per-unit strength in `dose_unit`
    purity_pct: float | None = None
    offers: list[Quantity] = field(default_factory=list)
    matched: str | None = None  # the text that gave `amount`
    span: tuple[int, int] | None = None  # position of `matched` in the normalised text
    notes: list[str] = field(default_factory=list)

    _derived = ("active_mg",)

    @property
    def active_mg(self) -> float | None:
        """Total active substance for counted offers with a stated strength (100 x 2mg -> 200)."""
        if self.count is not None and self.dose_mg is not None:
            return round(self.count * self.dose_mg, 6)
        return None


def _norm(text: str) -> str:
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text).translate({0x200B: None, 0x200C: None, 0x200D: None, 0x2060: None, 0xFEFF: None, 0xAD: None})


def _num(token: str) -> float | None:
    if token.isdigit():
        return float(token)
    # quantities are almost never written with three decimals, so "1,000 pills" is a thousand
    value, _ = read_number(token, decimal_comma=False if "," in token and "." not in token and len(token.rpartition(",")[2]) == 3 else None)
    return value


def _base(value: float, unit: str) -> tuple[float, str] | None:
    u = unit.lower()
    if u in MASS_G:
        return value * MASS_G[u], "g"
    if u in VOLUME_ML:
        return value * VOLUME_ML[u], "ml"
    if u in DOSE_MG:
        return value * DOSE_MG[u] / 1000.0, "g"
    return None


def _dose(value: float, unit: str) -> tuple[float | None, str, float]:
    """(dose_mg, dose_unit, dose_value) of one per-unit strength."""
    u = unit.lower()
    if u in DOSE_MG:
        label = "mg" if u == "mg" else "ug"
        return value * DOSE_MG[u], label, value
    if u in MASS_G:
        return value * MASS_G[u] * 1000.0, "g", value * MASS_G[u]
    return None, "ml", value * VOLUME_ML.get(u, 1.0)


def _r(x: float) -> float:
    return round(x, 6)


def parse_quantity(text: str, *, default_unit: str | None = None) -> Quantity:
    """Amount of one offer in a title or quantity cell ("100 x 2mg Xanax bars", "1/4 oz", "1g/5g/10g").

    `default_unit` ("g", "ml" or "unit") applies to a bare number such as a tier cell "5"."""
    raw = require_str(text)
    try:
        return _parse(raw, default_unit)
    except Exception as exc:  # noqa: BLE001 - never let a garbage title stop a crawl
        return Quantity(raw=raw, error=f"internal error: {type(exc).__name__}")


def _parse(raw: str, default_unit: str | None) -> Quantity:
    s = _norm(raw)
    if default_unit and (bare := _BARE.match(s)):
        value = _num(bare.group("n"))
        unit = {"g": "g", "gram": "g", "ml": "ml", "unit": "unit", "units": "unit"}.get(default_unit.lower())
        if value is not None and unit:
            return Quantity(raw=raw, ok=True, amount=_r(value), unit=unit, count=int(value) if unit == "unit" and value.is_integer() else None,
                            matched=bare.group("n"), span=bare.span("n"), notes=[f"bare number read in default unit {unit}"])
    if not _QUICK.search(s):
        return Quantity(raw=raw, error="no quantity found")
    offer = _OFFER.match(s)
    if offer is not None:
        return _offer_prefix(raw, s, offer)
    if ("(" in s or "[" in s) and _BRACKETED.search(s):
        s = _BRACKETED.sub(lambda m: f"{m.group(1)} x " if s[m.end():m.end() + 1].isdigit() else f"{m.group(1)} ", s)
    masses: list[tuple[float, str, str, tuple[int, int]]] = []  # (amount, unit, matched, span)
    doses: list[tuple[float, str, str, tuple[int, int]]] = []  # (value, unit, matched, span)
    counted: dict[str, object] | None = None
    count: tuple[int, str, tuple[int, int]] | None = None
    purity: float | None = None
    count_offers: list[int] = []
    for m in _PATTERN.finditer(s):
        kind = m.lastgroup
        span = m.span()
        if kind in ("NXD", "DXN", "XND") and counted is None:
            p = kind.lower()
            n = _num(m.group(f"{p}_n"))
            d = _num(m.group(f"{p}_d"))
            if n is None or d is None or n <= 0 or not n.is_integer():
                continue
            counted = _counted(int(n), d, m.group(f"{p}_u"), m.group(0), span)
        elif kind == "FRAC":
            a, b = int(m.group("frac_a")), int(m.group("frac_b"))
            u = (m.group("frac_u") or "oz").lower()
            if a >= b:
                continue
            per = POUND_G if u.startswith(("lb", "pound", "p")) and u not in ("oz",) and not u.startswith("o") else OUNCE_G
            masses.append((a / b * per, "g", m.group(0), span))
        elif kind == "LIST":
            unit = m.group("list_u")
            for part in re.split(r"\s*(?:/|\||-|,\s)\s*", m.group("list_v")):
                v = _num(part)
                if v is not None and (based := _base(v, unit)):
                    masses.append((based[0], based[1], m.group(0), span))
        elif kind == "AMT":
            v = _num(m.group("amt_v"))
            u = m.group("amt_u").lower()
            if v is None:
                continue
            if _STOCK.match(s, span[1]):
                continue  # "50 grams left": the stock, not the offer size
            if (u not in VOLUME_ML and (_CONCENTRATION.match(s, span[1]) or _PLUS_CONCENTRATION.match(s, span[1]))) \
                    or (u in VOLUME_ML and _PER_VOLUME.search(s, max(0, span[0] - 6), span[0])):
                continue  # "250mg/ml", "10 mg / 1mL", "50 mg + E 10 mg / 1mL": a concentration, not an amount
            if u in DOSE_MG:
                doses.append((v, u, m.group(0), span))
            elif (based := _base(v, u)):
                masses.append((based[0], based[1], m.group(0), span))
        elif kind == "WORD":
            w = re.sub(r"^(?:an?|one)\s+", "", m.group("word_w").lower())
            w = re.sub(r"\s+", " ", re.sub(r"\s+(?:an?)\s+", " ", w))
            w = re.sub(r"\s+(?:oz|ounce)$", "", w) if w.startswith(("eighth", "8th", "1/8")) else w
            w = "gram" if w.startswith("per") else w
            w = "eighth" if "ball" in w else "half gram" if w.startswith("half ") and w.split()[-1].startswith("g") else w
            if w in _WORD_G:
                masses.append((_WORD_G[w], "g", m.group(0), span))
        elif kind == "CLIST" and count is None:
            if _APAP.match(m.group("clist_v")):  # "10/325": opioid / paracetamol strengths, not two counts
                continue
            values = [_num(part) for part in re.split(r"\s*(?:/|\||-|,\s)\s*", m.group("clist_v"))]
            counts = [int(v) for v in values if v is not None and v.is_integer() and v > 0]
            if counts:
                count = (counts[0], m.group(0), span)
                count_offers = counts if len(counts) > 1 else []
        elif kind in ("CNT", "PACK", "XN", "QTY"):
            token = next(g for g in (m.groupdict().get(k) for k in ("cnt_n", "pack_n", "pack_m", "xn_n", "xn_m", "qty_n")) if g)
            n = _num(token)
            if n is None or not n.is_integer() or n <= 0:
                continue
            if count is None:
                count = (int(n), m.group(0), span)
            elif kind == "CNT" and int(n) != count[0]:  # "10 Pills - 100 Pills": a second offer
                count_offers = (count_offers or [count[0]]) + [int(n)]
        elif kind == "PCT" and purity is None:
            v = _num(m.group("pct_v"))
            if v is not None and 0 < v <= 100:
                purity = v
    if counted is None and count is None and (lead := _LEAD_COUNT.match(s)):
        count = (int(lead.group("n")), lead.group(0), lead.span())
    return _assemble(raw, counted, count, masses, doses, purity, s, count_offers)


def _offer_prefix(raw: str, s: str, offer: re.Match[str]) -> Quantity:
    """The market's own offer size wins; the rest of the title gives strength and purity."""
    unit = _OFFER_UNIT.get(offer.group("u").lower(), "unit")
    values = [v for v in (_num(offer.group("lo")), _num(offer.group("hi") or "")) if v]
    if not values or (unit == "unit" and not values[0].is_integer()):
        return Quantity(raw=raw, error="no quantity found")
    rest = _parse(s[offer.end():], None)
    if values == [1.0] and rest.ok and rest.unit in ("unit", "ml"):  # "1pks x ... 5 tabs": one pack of five
        return rest
    dose: dict[str, object] = {}
    if unit == "unit":
        dose = dict(dose_mg=rest.dose_mg, dose_unit=rest.dose_unit, dose_value=rest.dose_value)
        first_dose = _FIRST_DOSE.search(s, offer.end()) if rest.dose_mg is None else None
        if first_dose and (d := _num(first_dose.group(1))) is not None:  # counted pills: "50mg" is a strength
            dose_mg, dose_unit, dose_value = _dose(d, first_dose.group(2))
            dose = dict(dose_mg=_r(dose_mg) if dose_mg is not None else None, dose_unit=dose_unit, dose_value=dose_value)
    kw = dict(matched=offer.group(0).strip(), span=offer.span(), purity_pct=rest.purity_pct, **dose)
    def one(v: float) -> Quantity:
        return Quantity(raw=raw, ok=True, amount=_r(v), unit=unit, count=int(v) if unit == "unit" else None,
                        **kw)  # type: ignore[arg-type]
    offers = [one(v) for v in values] if len(values) > 1 else []
    first = one(values[0])
    return Quantity(raw=raw, ok=True, amount=first.amount, unit=unit, count=first.count, offers=offers,
                    notes=["offer size from the market's prefix"], **kw)  # type: ignore[arg-type]


def _counted(n: int, d: float, unit: str, matched: str, span: tuple[int, int]) -> dict[str, object]:
    dose_mg, dose_unit, dose_value = _dose(d, unit)
    if dose_unit in ("g", "ml"):  # "10 x 1g", "5 x 10ml": the total is what gets compared
        return dict(amount=_r(n * dose_value), unit=dose_unit, count=n, dose_unit=dose_unit, dose_value=_r(dose_value),
                    matched=matched, span=span)
    return dict(amount=float(n), unit="unit", count=n, dose_mg=_r(dose_mg) if dose_mg is not None else None,
                dose_unit=dose_unit, dose_value=_r(dose_value), matched=matched, span=span)


def _assemble(raw: str, counted: dict[str, object] | None, count: tuple[int, str, tuple[int, int]] | None,
              masses: list[tuple[float, str, str, tuple[int, int]]], doses: list[tuple[float, str, str, tuple[int, int]]],
              purity: float | None, s: str, count_offers: list[int] | None = None) -> Quantity:
    # each branch builds exactly one result: frozen dataclasses are not cheap at 20k titles/s
    if counted is not None:
        return Quantity(raw=raw, ok=True, purity_pct=purity, **counted)  # type: ignore[arg-type]
    if count is not None:
        n, matched, span = count
        dose_mg = dose_unit = dose_value = None
        if doses:
            dose_mg, dose_unit, dose_value = _dose(doses[0][0], doses[0][1])
        dose_kw = dict(dose_mg=_r(dose_mg) if dose_mg is not None else None, dose_unit=dose_unit, dose_value=dose_value, purity_pct=purity)
        offers = [Quantity(raw=raw, ok=True, amount=float(c), unit="unit", count=c, matched=matched, span=span, **dose_kw)  # type: ignore[arg-type]
                  for c in count_offers or []]
        return Quantity(raw=raw, ok=True, amount=float(n), unit="unit", count=n, offers=offers, matched=matched, span=span, **dose_kw)  # type: ignore[arg-type]
    pills = bool(doses) and _PILL_CONTEXT.search(s) is not None  # scanned once: it is the slowest regex here
    if doses and (not masses or pills):
        v, u, matched, span = doses[0]
        dose_mg, dose_unit, dose_value = _dose(v, u)
        if pills or u != "mg":
            return Quantity(raw=raw, error=f"per-unit strength {matched.strip()} without a count", dose_mg=_r(dose_mg) if dose_mg else None,
                            dose_unit=dose_unit, dose_value=dose_value, purity_pct=purity, matched=matched, span=span)
        masses = [(v / 1000.0, "g", matched, span)]  # "MDMA 500mg" of powder is a mass
    if masses:
        distinct: list[tuple[float, str, str, tuple[int, int]]] = []
        for item in masses:
            amount, unit = item[0], item[1]
            # "3.5g (an eighth)" is one offer written twice
            if not any(o[1] == unit and abs(o[0] - amount) <= 0.02 * amount for o in distinct):
                distinct.append(item)
        offers = [Quantity(raw=raw, ok=True, amount=_r(a), unit=u, purity_pct=purity, matched=m, span=sp)
                  for a, u, m, sp in distinct] if len(distinct) > 1 else []
        amount, unit, matched, span = distinct[0]
        return Quantity(raw=raw, ok=True, amount=_r(amount), unit=unit, purity_pct=purity, offers=offers, matched=matched, span=span)
    return Quantity(raw=raw, error="no quantity found", purity_pct=purity)
