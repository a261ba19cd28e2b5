"""Exchange rates to USD: a dated table (user file or the built-in approximate one), rates stated
on the page itself (which win for that page), and the conversion that records its source.

Rate file format (CSV, `#` comment lines allowed; or JSON: a list of objects with the same keys,
or {"rates": [...]}):

    date,currency,usd_per_unit[,note]
    2019-03,BTC,4100
    2019-03-15,EUR,1.13

`date` is YYYY-MM or YYYY-MM-DD; `usd_per_unit` is how many US dollars one unit is worth.
A conversion uses the latest point on or before the requested date (the earliest point, with a
note, when the date precedes the table).
"""
from __future__ import annotations

import bisect
import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.errors import TrawlError
from parsers._base import Result

DEFAULT_RATES_FILE = Path(__file__).with_name("data") / "rates_default.csv"
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


@dataclass(frozen=True)
class Conversion(Result):
    amount: float | None
    currency: str | None
    ok: bool = False
    error: str | None = None
    usd: float | None = None
    rate: float | None = None  # USD per unit of `currency`
    rate_source: str | None = None  # "page:nightshade", "table:default:2019-03", "identity"
    notes: list[str] = field(default_factory=list)


def _parse_date(text: str) -> date | None:
    m = _DATE_RE.match(text.strip())
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1))
    except ValueError:
        return None


class RateTable:
    """Dated USD rates per currency plus optional page rates; immutable (with_* returns a copy)."""

    def __init__(self, points: dict[str, list[tuple[date, float, str]]], name: str = "custom",
                 page_rates: dict[str, float] | None = None, page_source: str | None = None) -> None:
        self.name = name
        self._points = {c: sorted(v) for c, v in points.items()}
        self._dates = {c: [p[0] for p in v] for c, v in self._points.items()}
        self.page_rates = dict(page_rates or {})
        self.page_source = page_source

    def __repr__(self) -> str:
        return f"RateTable({self.name!r}, currencies={sorted(self._points)}, page={self.page_source!r})"

    @property
    def currencies(self) -> list[str]:
        return sorted(set(self._points) | set(self.page_rates))

    @classmethod
    def from_file(cls, path: str | Path, *, name: str | None = None) -> RateTable:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise TrawlError(f"{p}: cannot read rate file ({exc.strerror or exc})") from exc
        label = name or p.stem
        if p.suffix.lower() == ".json" or text.lstrip().startswith(("[", "{")):
            return cls(_points_from_json(text, p), name=label)
        return cls(_points_from_csv(text, p), name=label)

    @classmethod
    def default(cls) -> RateTable:
        """Built-in APPROXIMATE monthly reference rates 2018-2026 (see the data file's header)."""
        return _default_table()

    def with_page_rates(self, rates: dict[str, float], source: str) -> RateTable:
        clean = {k.upper(): float(v) for k, v in rates.items() if isinstance(v, (int, float)) and v > 0}
        merged = {**self.page_rates, **clean}
        table = RateTable.__new__(RateTable)
        table.name, table._points, table._dates = self.name, self._points, self._dates
        table.page_rates, table.page_source = merged, source
        return table

    def rate(self, currency: str, when: date | None = None) -> tuple[float, str, list[str]] | None:
        """(usd_per_unit, source, notes) or None when the currency is unknown."""
        code = currency.upper()
        if code == "USD":
            return 1.0, "identity", []
        if code in self.page_rates:
            return self.page_rates[code], f"page:{self.page_source or 'page'}", []
        pts = self._points.get(code)
        if not pts:
            return None
        notes: list[str] = []
        if when is None:
            idx = len(pts) - 1
            notes.append("no date given: latest table rate used")
        else:
            idx = bisect.bisect_right(self._dates[code], when) - 1
            if idx < 0:
                idx = 0
                notes.append(f"{when.isoformat()} precedes the table: earliest rate used")
        _, value, label = pts[idx]
        return value, f"table:{self.name}:{label}", notes


def _point(date_text: str, currency: str, value_text: str, where: str) -> tuple[str, tuple[date, float, str]]:
    d = _parse_date(date_text or "")
    if d is None:
        raise TrawlError(f"{where}: field 'date': expected YYYY-MM or YYYY-MM-DD, got {date_text!r}")
    code = (currency or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3,5}", code):
        raise TrawlError(f"{where}: field 'currency': expected a currency code like EUR or BTC, got {currency!r}")
    try:
        value = float(str(value_text).strip())
    except ValueError:
        raise TrawlError(f"{where}: field 'usd_per_unit': not a number: {value_text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise TrawlError(f"{where}: field 'usd_per_unit': must be a positive number, got {value_text!r}")
    return code, (d, value, date_text.strip())


def _points_from_csv(text: str, path: Path) -> dict[str, list[tuple[date, float, str]]]:
    points: dict[str, list[tuple[date, float, str]]] = {}
    header: list[str] | None = None
    for lineno, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in row]
        if header is None:
            header = [c.lower() for c in cells]
            missing = {"date", "currency", "usd_per_unit"} - set(header)
            if missing:
                raise TrawlError(f"{path}:{lineno}: header must name date,currency,usd_per_unit (missing {', '.join(sorted(missing))})")
            continue
        rec = dict(zip(header, cells, strict=False))  # a short row is reported just below
        if len(cells) < 3:
            raise TrawlError(f"{path}:{lineno}: expected date,currency,usd_per_unit, got {','.join(cells)!r}")
        code, pt = _point(rec.get("date", ""), rec.get("currency", ""), rec.get("usd_per_unit", ""), f"{path}:{lineno}")
        points.setdefault(code, []).append(pt)
    if header is None:
        raise TrawlError(f"{path}: empty rate file (expected a header date,currency,usd_per_unit)")
    return points


def _points_from_json(text: str, path: Path) -> dict[str, list[tuple[date, float, str]]]:
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TrawlError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    rows = data.get("rates") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise TrawlError(f"{path}: expected a list of {{date, currency, usd_per_unit}} objects (or {{\"rates\": [...]}})")
    points: dict[str, list[tuple[date, float, str]]] = {}
    for i, rec in enumerate(rows):
        where = f"{path}: rates[{i}]"
        if not isinstance(rec, dict):
            raise TrawlError(f"{where}: expected an object with date, currency, usd_per_unit")
        code, pt = _point(str(rec.get("date", "")), str(rec.get("currency", "")), rec.get("usd_per_unit", ""), where)
        points.setdefault(code, []).append(pt)
    return points


@lru_cache(maxsize=1)
def _default_table() -> RateTable:
    return RateTable(_points_from_csv(DEFAULT_RATES_FILE.read_text(encoding="utf-8"), DEFAULT_RATES_FILE), name="default")


def _when(value: str | datetime | date | None) -> tuple[date | None, str | None]:
    if value is None:
        return None, None
    if isinstance(value, datetime):
        return (value.astimezone(timezone.utc) if value.tzinfo else value).date(), None
    if isinstance(value, date):
        return value, None
    text = str(value).strip()
    d = _parse_date(text[:10]) or _parse_date(text[:7])
    if d is None:
        return None, f"unreadable date {value!r}: latest rate used"
    return d, None


def to_usd(amount: float | None, currency: str | None, *, rates: RateTable, when: str | datetime | date | None = None) -> Conversion:
    """Convert an amount to USD with the table (page rates first); the source is recorded."""
    if amount is None or currency is None:
        return Conversion(amount=amount, currency=currency, error="no amount" if amount is None else "no currency")
    d, note = _when(when)
    found = rates.rate(currency, d)
    if found is None:
        return Conversion(amount=amount, currency=currency, error=f"no rate for {currency.upper()}")
    rate, source, notes = found
    if note:
        notes = [note, *notes]
    return Conversion(amount=amount, currency=currency.upper(), ok=True, usd=round(amount * rate, 6), rate=rate,
                      rate_source=source, notes=notes)
