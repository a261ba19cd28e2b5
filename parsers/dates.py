"""Dates on listing and vendor pages, absolute or relative to the crawl time.

Fast regex paths cover what markets print ("2019-03-04", "04/03/2019", "Nov 6, 2019 21:16:37",
"Joined Mar 2019", "3 days ago", "yesterday"); `dateparser` is the slow fallback.
Values are aware UTC datetimes truncated to their precision (a day-precise date is 00:00 UTC).
"""
from __future__ import annotations

import re
import unicodedata
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from parsers._base import Result, require_str

MONTHS: dict[str, int] = {}
for _i, _names in enumerate((
    "january jan januar janvier januari enero gennaio", "february feb februar fevrier février februari febrero febbraio",
    "march mar märz marz maerz mars maart marzo", "april apr avril abril aprile", "may mai mei mayo maggio",
    "june jun juni juin junio giugno", "july jul juli juillet julio luglio", "august aug août aout augustus agosto",
    "september sep sept septembre septiembre settembre", "october oct oktober octobre octubre ottobre okt",
    "november nov novembre noviembre", "december dec dezember décembre decembre diciembre dicembre dez",
), start=1):
    for _n in _names.split():
        MONTHS[_n] = _i
_MON = "|".join(sorted(MONTHS, key=len, reverse=True))
_TIME = r"(?:[T\s,]+(?:at\s+)?(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?(?:\.\d+)?\s*(?P<ampm>am|pm)?\s*(?P<tz>z|utc|gmt|[+-]\d{2}:?\d{2})?)?"
_ISO = re.compile(rf"(?<!\d)(?P<y>\d{{4}})-(?P<m>\d{{1,2}})-(?P<d>\d{{1,2}}){_TIME}(?!\d)", re.I)
_NUMERIC = re.compile(rf"(?<![\d.])(?P<a>\d{{1,2}})(?P<sep>[./-])(?P<b>\d{{1,2}})(?P=sep)(?P<y>\d{{4}}|\d{{2}})(?![\d.]){_TIME}", re.I)
_MDY = re.compile(rf"(?P<mon>{_MON})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}}){_TIME}", re.I)
_DMY = re.compile(rf"(?<!\d)(?P<d>\d{{1,2}})(?:st|nd|rd|th|er|e)?\.?\s+(?:of\s+)?(?P<mon>{_MON})\.?,?\s+(?P<y>\d{{4}}){_TIME}", re.I)
_MY = re.compile(rf"(?<![a-z])(?P<mon>{_MON})\.?,?\s+(?P<y>\d{{4}})(?!\d)", re.I)
_YEAR = re.compile(r"^(?:(?:joined|since|member since|registered|year)\s*:?\s*)?(?P<y>(?:19|20)\d{2})$", re.I)
_AGO_UNITS = r"s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|wks?|weeks?|mo|mos|months?|y|yrs?|years?"
# a digit may touch its unit ("3d"), a word may not ("and" is not "an" + "d")
_AGO_COUNT = r"(?:\d+\s*|(?<![a-z])(?:an?|one|a few|few|several)\s+)"
_AGO_PART = re.compile(rf"(?P<n>{_AGO_COUNT})(?P<u>{_AGO_UNITS})\.?(?![a-z])", re.I)
_AGO_EN = re.compile(rf"(?P<parts>(?:{_AGO_COUNT}(?:{_AGO_UNITS})\.?(?![a-z])[\s,]*(?:and\s+)?)+)ago\b", re.I)
_AGO = re.compile(
    r"(?:vor|il y a|hace)\s+(?P<n2>\d+|einem|einer|un|une)\s+"
    r"(?P<u2>tag\w*|stunde\w*|woche\w*|monat\w*|jahr\w*|jours?|heures?|mois|ans?|semaines?|d[ií]as?|horas?|semanas?"
    r"|mes(?:es)?|años?)",
    re.I)
_WORDS = {"just now": (0, "second"), "now": (0, "second"), "today": (0, "day"), "yesterday": (1, "day"),
          "heute": (0, "day"), "gestern": (1, "day"), "aujourd'hui": (0, "day"), "hier": (1, "day"), "hoy": (0, "day"), "ayer": (1, "day")}
_WORD_RE = re.compile(r"\b(just now|today|yesterday|heute|gestern|aujourd'hui|hoy|ayer)\b|^\s*(now|hier)\s*$", re.I)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_FOREIGN_UNIT = {"tag": "d", "stunde": "h", "woche": "w", "monat": "mo", "jahr": "y", "jour": "d", "heure": "h", "mois": "mo",
                 "an": "y", "semaine": "w", "dia": "d", "día": "d", "hora": "h", "semana": "w", "mes": "mo", "año": "y"}
_US_LOCALES = ("en_us", "en-us", "us", "en_ph", "en-ph")


@dataclass(frozen=True)
class DateResult(Result):
    raw: str
    ok: bool = False
    error: str | None = None
    value: datetime | None = None  # aware UTC
    precision: str | None = None  # second | minute | hour | day | month | year
    relative: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def iso(self) -> str | None:
        return self.value.isoformat() if self.value else None


def _now(now: datetime | str) -> datetime | None:
    if isinstance(now, datetime):
        return now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)
    if isinstance(now, str):
        try:
            d = datetime.fromisoformat(now.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return d.replace(tzinfo=timezone.utc) if d.tzinfo is None else d.astimezone(timezone.utc)
    raise TypeError(f"now must be datetime or ISO str, not {type(now).__name__}")


def _truncate(d: datetime, precision: str) -> datetime:
    if precision == "year":
        return d.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if precision == "month":
        return d.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if precision == "day":
        return d.replace(hour=0, minute=0, second=0, microsecond=0)
    if precision == "hour":
        return d.replace(minute=0, second=0, microsecond=0)
    if precision == "minute":
        return d.replace(second=0, microsecond=0)
    return d.replace(microsecond=0)


def _build(y: int, mo: int, d: int, m: re.Match[str] | None) -> tuple[datetime, str] | None:
    if y < 100:
        y += 2000 if y < 70 else 1900
    if not (1 <= mo <= 12) or not (1 <= d <= monthrange(y, mo)[1]) or not 1970 <= y <= 2100:
        return None
    if m is not None and m.groupdict().get("H"):
        h, mi, sec = int(m.group("H")), int(m.group("M")), int(m.group("S") or 0)
        ampm = (m.group("ampm") or "").lower()
        if ampm == "pm" and h < 12:
            h += 12
        elif ampm == "am" and h == 12:
            h = 0
        if h > 23 or mi > 59 or sec > 59:
            return None
        value = datetime(y, mo, d, h, mi, sec, tzinfo=timezone.utc)
        tz = (m.group("tz") or "").lower()
        if tz and tz[0] in "+-":
            sign = 1 if tz[0] == "+" else -1
            digits = tz[1:].replace(":", "")
            value -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        return value, "second" if m.group("S") else "minute"
    return datetime(y, mo, d, tzinfo=timezone.utc), "day"


def parse_date(text: str, *, now: datetime | str, site_locale: str | None = None) -> DateResult:
    """A date in page text; relative expressions resolve against `now` (the crawl time)."""
    raw = require_str(text)
    base = _now(now)
    if base is None:
        return DateResult(raw=raw, error=f"unreadable 'now': {now!r}")
    try:
        return _parse(raw, base, site_locale)
    except Exception as exc:  # noqa: BLE001 - hostile input must never stop a crawl
        return DateResult(raw=raw, error=f"internal error: {type(exc).__name__}")


def _parse(raw: str, now: datetime, site_locale: str | None) -> DateResult:
    s = unicodedata.normalize("NFKC", raw) if not raw.isascii() else raw
    s = re.sub(r"\s+", " ", s).strip()
    if not s or len(s) > 200:
        return DateResult(raw=raw, error="empty text" if not s else "text too long for a date")
    if (m := _ISO.search(s)) and (b := _build(int(m.group("y")), int(m.group("m")), int(m.group("d")), m)):
        return DateResult(raw=raw, ok=True, value=b[0], precision=b[1])
    if (m := _MDY.search(s) or _DMY.search(s)) and (b := _build(int(m.group("y")), MONTHS[m.group("mon").lower()], int(m.group("d")), m)):
        return DateResult(raw=raw, ok=True, value=b[0], precision=b[1])
    if m := _NUMERIC.search(s):
        return _numeric(raw, m, site_locale)
    if m := _AGO_EN.search(s):
        parts = [(_count(p.group("n")), _unit_key(p.group("u"))) for p in _AGO_PART.finditer(m.group("parts"))]
        return _ago(raw, parts, now)
    if m := _AGO.search(s):
        foreign = m.group("u2").lower()
        key = next((v for k, v in _FOREIGN_UNIT.items() if foreign.startswith(k)), "d")
        return _ago(raw, [(_count(m.group("n2")), key)], now)
    if m := _WORD_RE.search(s):
        days, precision = _WORDS[(m.group(1) or m.group(2)).lower()]
        return DateResult(raw=raw, ok=True, value=_truncate(now - timedelta(days=days), precision), precision=precision, relative=True)
    if (m := _MY.search(s)) and (b := _build(int(m.group("y")), MONTHS[m.group("mon").lower()], 1, None)):
        return DateResult(raw=raw, ok=True, value=b[0], precision="month")
    if m := _YEAR.match(s):
        return DateResult(raw=raw, ok=True, value=datetime(int(m.group("y")), 1, 1, tzinfo=timezone.utc), precision="year")
    return _fallback(raw, s, now, site_locale)


def _numeric(raw: str, m: re.Match[str], site_locale: str | None) -> DateResult:
    a, b, y = int(m.group("a")), int(m.group("b")), int(m.group("y"))
    us = (site_locale or "").strip().lower() in _US_LOCALES
    if a > 12:
        day, month, note = a, b, None
    elif b > 12:
        day, month, note = b, a, None
    elif a == b:
        day, month, note = a, b, None
    elif us:
        day, month, note = b, a, f"ambiguous {m.group(0).strip()}: read month/day (site locale {site_locale})"
    else:
        why = f"site locale {site_locale}" if site_locale else "no locale hint"
        day, month, note = a, b, f"ambiguous {m.group(0).strip()}: read day/month ({why})"
    built = _build(y, month, day, m)
    if built is None:
        return DateResult(raw=raw, error=f"not a valid date: {m.group(0).strip()}")
    return DateResult(raw=raw, ok=True, value=built[0], precision=built[1], notes=[note] if note else [])


def _unit_key(unit: str) -> str:
    u = unit.lower()
    if u.startswith("mo"):
        return "mo"
    if u in ("m", "min", "mins", "minute", "minutes"):
        return "m"
    return u[0]  # s, h, d, w, y


def _ago(raw: str, parts: list[tuple[int, str]], now: datetime) -> DateResult:
    """now minus the sum of (count, unit key) parts: "3 days, 4 hours ago"."""
    months = sum(n * (12 if k == "y" else 1) for n, k in parts if k in ("y", "mo"))
    seconds = sum(n * _UNIT_SECONDS[k] for n, k in parts if k in _UNIT_SECONDS)
    if months > 12 * 200 or seconds > 200 * 365 * 86400:
        return DateResult(raw=raw, error="implausible relative date")
    value = now
    if months:
        y, mo = divmod(now.year * 12 + now.month - 1 - months, 12)
        value = now.replace(year=y, month=mo + 1, day=min(now.day, monthrange(y, mo + 1)[1]))
    value -= timedelta(seconds=seconds)
    finest = min(("s", "m", "h", "d", "w", "mo", "y").index(k) for _, k in parts)
    precision = ("second", "minute", "hour", "day", "day", "month", "month")[finest]
    if [k for _, k in parts] == ["y"] and parts[0][0] > 1:
        precision = "year"  # "3 years ago" says nothing about the month
    return DateResult(raw=raw, ok=True, value=_truncate(value, precision), precision=precision, relative=True)


def _count(text: str) -> int:
    t = text.strip().lower()
    return int(t) if t.isdigit() else 3 if "few" in t or t == "several" else 1


def _fallback(raw: str, s: str, now: datetime, site_locale: str | None) -> DateResult:
    if not any(c.isdigit() for c in s) and not re.search(rf"\b(?:{_MON})\b", s, re.I):
        return DateResult(raw=raw, error="no date found")
    try:
        from dateparser.date import DateDataParser

        settings = {"RELATIVE_BASE": now.replace(tzinfo=None), "PREFER_DATES_FROM": "past", "TIMEZONE": "UTC",
                    "TO_TIMEZONE": "UTC", "RETURN_AS_TIMEZONE_AWARE": True, "STRICT_PARSING": False}
        lang = (site_locale or "").split("_")[0].split("-")[0].lower() or None
        parser = DateDataParser(languages=[lang, "en"] if lang and lang != "en" else ["en"], settings=settings)
        data = parser.get_date_data(s)
    except Exception as exc:  # noqa: BLE001 - dateparser has its own ways of failing on garbage
        return DateResult(raw=raw, error=f"no date found ({type(exc).__name__})")
    if data is None or data.date_obj is None:
        return DateResult(raw=raw, error="no date found")
    value = data.date_obj.astimezone(timezone.utc)
    precision = {"time": "second", "day": "day", "week": "day", "month": "month", "year": "year"}.get(data.period or "day", "day")
    return DateResult(raw=raw, ok=True, value=_truncate(value, precision), precision=precision, notes=["parsed by dateparser"])
