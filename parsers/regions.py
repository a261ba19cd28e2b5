"""Country names and the regions sellers ship to, as ISO 3166-1 alpha-2 sets.

Region definitions (as darknet sellers use the words, not as geographers would):
- EU: the 27 member states (since 2020-02-01, i.e. without GB).
- EEA: EU + IS, LI, NO.
- Schengen: 29 states as of 2025: EU minus CY and IE, plus IS, LI, NO, CH (BG and RO included).
- Europe: EU + IS, LI, NO, CH, GB + microstates AD, MC, SM, VA + Western Balkans AL, BA, ME,
  MK, RS + MD, UA.  Russia, Belarus and Turkey are NOT included: sellers who ship there say so.
- Scandinavia: DK, NO, SE.  Nordics: + FI, IS.  Benelux: BE, NL, LU.  DACH: DE, AT, CH.
- UK: GB.  North America: US, CA, MX.  Oceania: AU, NZ and Pacific states.
- Asia, Africa, South America, Central America, Middle East, Balkans: continental lists below.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

EU27 = frozenset("AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split())
EEA = EU27 | {"IS", "LI", "NO"}
SCHENGEN = (EU27 - {"CY", "IE"}) | {"IS", "LI", "NO", "CH"}
BALKANS_WEST = frozenset("AL BA ME MK RS".split())
EUROPE = EEA | {"CH", "GB", "AD", "MC", "SM", "VA", "MD", "UA"} | BALKANS_WEST
AFRICA = frozenset(
    "DZ AO BJ BW BF BI CV CM CF TD KM CG CD CI DJ EG GQ ER SZ ET GA GM GH GN GW KE LS LR LY MG MW ML MR MU "
    "YT MA MZ NA NE NG RE RW SH ST SN SC SL SO ZA SS SD TZ TG TN UG EH ZM ZW".split())
ASIA = frozenset(
    "AF AM AZ BH BD BT BN KH CN CY GE HK IN ID IR IQ IL JP JO KZ KW KG LA LB MO MY MV MN MM NP KP OM PK PS "
    "PH QA SA SG KR LK SY TW TJ TH TL TR TM AE UZ VN YE".split())
SOUTH_AMERICA = frozenset("AR BO BR CL CO EC FK GF GY PY PE SR UY VE".split())
CENTRAL_AMERICA = frozenset("BZ CR SV GT HN NI PA".split())
NORTH_AMERICA = frozenset({"US", "CA", "MX"})
OCEANIA = frozenset("AU NZ FJ PG SB VU NC PF WS TO KI TV NR PW MH FM CK NU".split())
MIDDLE_EAST = frozenset("AE BH CY EG IL IQ IR JO KW LB OM PS QA SA SY TR YE".split())

REGIONS: dict[str, frozenset[str]] = {
    "eu": EU27, "european union": EU27, "eu27": EU27, "eu countries": EU27, "eu only": EU27,
    "eea": EEA, "schengen": SCHENGEN, "schengen area": SCHENGEN, "schengen zone": SCHENGEN,
    "europe": EUROPE, "european countries": EUROPE, "all of europe": EUROPE, "europa": EUROPE, "whole europe": EUROPE,
    "scandinavia": frozenset({"DK", "NO", "SE"}), "nordics": frozenset({"DK", "NO", "SE", "FI", "IS"}),
    "nordic countries": frozenset({"DK", "NO", "SE", "FI", "IS"}), "benelux": frozenset({"BE", "NL", "LU"}),
    "dach": frozenset({"DE", "AT", "CH"}), "balkans": BALKANS_WEST | {"HR", "SI", "BG", "GR", "RO"},
    "north america": NORTH_AMERICA, "south america": SOUTH_AMERICA, "latin america": SOUTH_AMERICA | CENTRAL_AMERICA | {"MX"},
    "central america": CENTRAL_AMERICA, "asia": ASIA, "africa": AFRICA, "oceania": OCEANIA,
    "australia(c)": OCEANIA, "eur": EUROPE, "euro": EUROPE, "europ": EUROPE, "ue": EU27, "e u": EU27,
    "europe union": EU27, "scandinavian countries": frozenset({"DK", "NO", "SE"}), "antarctica(c)": frozenset({"AQ"}), "middle east": MIDDLE_EAST,
}
WORLDWIDE = frozenset({
    "worldwide", "world wide", "world-wide", "ww", "world", "everywhere", "international", "global", "globally",
    "all countries", "any country", "anywhere", "whole world", "all over the world", "rest of the world",
    "rest of world", "row", "earth", "planet earth", "every where", "int", "intl", "internationally", "wide",
    "any where", "anwhere", "wherever", "where ever",
})
UNKNOWN_ORIGIN = frozenset({"unknown", "undeclared", "not specified", "unspecified", "hidden", "n/a", "na", "none",
                            "secret", "internet", "digital", "online", "cyberspace", "-", "?", "tor"})

# names sellers and market dropdowns use that pycountry does not know (keys are normalised)
ALIASES: dict[str, str] = {
    "usa": "US", "us": "US", "u s": "US", "u s a": "US", "america": "US", "united states of america": "US", "states": "US",
    "uk": "GB", "u k": "GB", "great britain": "GB", "britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
    "northern ireland": "GB", "united kingdom": "GB", "gb": "GB",
    "holland": "NL", "nederland": "NL", "the netherlands": "NL", "dutch": "NL",
    "deutschland": "DE", "germany": "DE", "turkiye": "TR", "turkey": "TR", "russia": "RU", "korea": "KR", "south korea": "KR",
    "north korea": "KP", "czechia": "CZ", "czech republic": "CZ", "czech": "CZ", "espana": "ES", "italia": "IT",
    "osterreich": "AT", "schweiz": "CH", "suisse": "CH", "svizzera": "CH", "belgie": "BE", "belgique": "BE",
    "polska": "PL", "sverige": "SE", "norge": "NO", "danmark": "DK", "suomi": "FI", "eire": "IE",
    "macedonia": "MK", "north macedonia": "MK", "vietnam": "VN", "viet nam": "VN", "laos": "LA", "lao": "LA",
    "iran": "IR", "syria": "SY", "moldova": "MD", "bolivia": "BO", "venezuela": "VE", "tanzania": "TZ",
    "ivory coast": "CI", "cote d'ivoire": "CI", "cote divoire": "CI", "swaziland": "SZ", "eswatini": "SZ",
    "bosnia and herzegowina": "BA", "bosnia": "BA", "libyan arab jamahiriya": "LY", "libya": "LY",
    "east timor": "TL", "france metropolitan": "FR", "vatican city state": "VA", "vatican": "VA",
    "st helena": "SH", "heard and mc donald islands": "HM", "united states islands": "UM", "cocos islands": "CC",
    "south georgia": "GS", "svalbard and jan mayen islands": "SJ", "wallis and futuna islands": "WF",
    "st pierre and miquelon": "PM", "virgin islands (british)": "VG", "virgin islands (u s )": "VI",
    "virgin islands (us)": "VI", "brunei darussalam": "BN", "brunei": "BN", "micronesia": "FM", "macau": "MO", "macao": "MO",
    "taiwan": "TW", "hong kong": "HK", "cape verde": "CV", "congo": "CG", "reunion": "RE", "palestine": "PS",
    "kosovo": "XK", "uae": "AE", "emirates": "AE", "new zealand": "NZ", "aussie": "AU", "oz": "AU", "canada": "CA",
    "china": "CN", "prc": "CN", "india": "IN", "spain": "ES", "poland": "PL", "france": "FR", "belgium": "BE",
    "sweden": "SE", "australia": "AU", "netherlands": "NL", "pitcairn": "PN", "saint helena": "SH",
    "falkland islands": "FK", "falklands": "FK",
    # seller shorthand, slang and other languages' spellings seen in ships-to cells
    "ger": "DE", "aus": "AU", "can": "CA", "swe": "SE", "nor": "NO", "fin": "FI", "ire": "IE", "roi": "IE",
    "irl": "IE", "po": "PL", "sp": "ES", "murica": "US", "straya": "AU", "brasil": "BR", "chine": "CN",
    "japon": "JP", "singapour": "SG", "hongkong": "HK", "allemagne": "DE", "espagne": "ES", "suede": "SE",
    "korea north": "KP", "korea south": "KR", "vatican city": "VA", "saint vincent": "VC", "st vincent": "VC",
    "moldova republic": "MD", "republic of ireland": "IE", "swizz": "CH", "swiss": "CH",
    # demonyms: "German" in a ships-from cell is Germany
    "german": "DE", "french": "FR", "spanish": "ES", "british": "GB", "english": "GB", "american": "US",
    "canadian": "CA", "australian": "AU", "italian": "IT", "polish": "PL", "belgian": "BE", "swedish": "SE",
    "danish": "DK", "norwegian": "NO", "finnish": "FI", "irish": "IE", "austrian": "AT", "portuguese": "PT",
    "chinese": "CN", "indian": "IN", "colombian": "CO", "mexican": "MX", "russian": "RU", "ukrainian": "UA",
    "greek": "GR", "turkish": "TR", "thai": "TH", "japanese": "JP", "hungarian": "HU", "romanian": "RO",
    "bulgarian": "BG", "slovak": "SK", "slovenian": "SI", "croatian": "HR", "serbian": "RS", "peruvian": "PE",
    "brazilian": "BR", "argentinian": "AR", "south african": "ZA", "new zealander": "NZ", "kiwi": "NZ",
}


@lru_cache(maxsize=16384)
def normalise_name(text: str) -> str:
    t = unicodedata.normalize("NFKD", text)
    t = "".join(c for c in t if not unicodedata.combining(c)).lower()
    t = re.sub(r"[.\u2019`]", " ", t).replace("'", "'")
    t = re.sub(r"^(?:the|to|from|ships? (?:from|to)|origin(?: country)?|country)\s*:?\s+", "", t.strip())
    return re.sub(r"\s+", " ", t).strip(" -:*")


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    import pycountry

    names: dict[str, str] = {}
    for c in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            value = getattr(c, attr, None)
            if value:
                names[normalise_name(value)] = c.alpha_2
        names[c.alpha_3.lower()] = c.alpha_2
        names[c.alpha_2.lower()] = c.alpha_2
    names.update(ALIASES)
    return names


@lru_cache(maxsize=4096)
def country_code(text: str) -> str | None:
    """ISO alpha-2 for a country name, code, alias or flag emoji; None when not a country."""
    flag = text.strip()
    if len(flag) == 2 and all(0x1F1E6 <= ord(c) <= 0x1F1FF for c in flag):
        return "".join(chr(ord(c) - 0x1F1E6 + 65) for c in flag)
    key = normalise_name(text)
    if not key:
        return None
    code = _names().get(key)
    if code is None and key.endswith(" only"):
        code = _names().get(key[:-5].strip())
    return code
