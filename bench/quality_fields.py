"""Field half of bench/quality.py: shipping, quantity, dose, price and per-unit price vs the gold sets.

Each parser is called the way pipeline/parse.py calls it: whitespace-cleaned text,
ships-from / ships-to cells to the `ships_from` / `ships_to` arguments, the title to
`parse_quantity`, the price cell to `parse_price` with the source's currency as
`currency_hint` (a site config's `currency` field), and a result with `ok=False` stores
nothing (the pipeline's `Parsed.call` drops it). Two choices that differ from the pipeline
today, stated so the figures are read right:
- origin is taken from `Shipping.to_listing_fields()` (the parser's documented mapping of a
  stated-but-unknown origin to "XX"); pipeline/parse.py stores `Shipping.origin`
  and so never writes "XX";
- a label whose price is only in the title (no price cell referenced) is priced from the title.
"""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.quality_report import REGION_KEYS, GoldRecord, load_gold, pct, table
from parsers import parse_price, parse_quantity, parse_shipping, parse_shipping_option
from parsers.regions import REGIONS

# What a site config's `currency` field would say for sources whose price cell is a bare
# number: the column header / dataset README states the currency.
CURRENCY_HINTS = {"torrez-2021": "USD", "alphabay-grams-2015": "BTC", "silkroad2-2014": "USD",
                  "tochka-vape-2019": "USD"}
MASS_G = {"g": 1.0, "mg": 0.001, "ug": 0.000001, "kg": 1000.0, "oz": 28.35, "lb": 453.59}
DOSE_MG = {"mg": 1.0, "ug": 0.001, "mcg": 0.001, "g": 1000.0}
FIELDS = ("origin", "destinations", "option", "quantity", "dose", "price", "per_unit")


_SPACE = re.compile(r"[ \t\r\f\v]+")


def clean(text: str | None) -> str:
    """pipeline.parse.clean, copied: importing it would load Scrapy for three lines."""
    if text is None:
        return ""
    return "\n".join(_SPACE.sub(" ", line).strip() for line in str(text).splitlines()).strip()


def expand(codes: list[str] | tuple[str, ...]) -> set[str]:
    """ISO alpha-2 set named by label codes, regions expanded as parsers.regions defines them."""
    out: set[str] = set()
    for code in codes:
        if code == "WW":
            continue
        out |= set(REGIONS[REGION_KEYS[code]]) if code in REGION_KEYS else {code}
    return out


def base_amount(value: float, unit: str, count: int | None = None) -> tuple[str, float]:
    """(parser unit, amount) of a label quantity: masses in g, volumes in ml, counted items."""
    if unit in MASS_G:
        return "g", value * MASS_G[unit]
    if unit == "l":
        return "ml", value * 1000
    if unit == "unit":
        return "unit", float(count if count is not None else value)
    return unit, value


def close(a: float, b: float, rel: float = 0.02) -> bool:
    return abs(a - b) <= max(rel * abs(b), 1e-8)


def _same_value(got: Any, expected: Any) -> bool:
    if got is None or expected is None or isinstance(got, (bool, str)) or isinstance(expected, (bool, str)):
        return bool(got == expected)
    return close(float(got), float(expected), 0.001)


def _ok(result: Any) -> Any:
    """The pipeline keeps a parser result only when it is ok."""
    return result if getattr(result, "ok", False) else None


# ---------------------------------------------------------------- shipping


def shipping_checks(rec: dict[str, Any], texts: dict[str, str]) -> list[tuple[str, bool, Any, Any]]:
    """(field, correct, expected, predicted) for one shipping label."""
    if "option" in texts:
        option = _ok(parse_shipping_option(clean(texts["option"])))
        want = rec["option"]
        keys = ("tracked", "days_min", "days_max", "cost", "currency")
        got = {k: getattr(option, k, None) for k in keys} if option else None
        expected = {k: want.get(k) for k in keys}
        right = got is not None and all(_same_value(got[k], expected[k]) for k in keys)
        return [("option", right, expected, got)]
    ships_from, ships_to = clean(texts.get("from")), clean(texts.get("to"))
    fields: dict[str, Any] = {"origin": None, "destinations": [], "destinations_excluded": [], "ships_worldwide": False}
    error = None
    partial_origin = None
    if ships_from or ships_to:
        result = parse_shipping(ships_from, ships_to)
        partial_origin = result.to_listing_fields()["origin"]
        if result.ok or result.origin_stated:  # as pipeline.parse keeps a stated, unreadable origin as "XX"
            fields = result.to_listing_fields()
        if not result.ok:
            error = result.error
    checks = []
    if "from" in texts or rec.get("origin") is not None:
        predicted = fields["origin"] if error is None else f"{fields['origin']} (error noted: {error})"
        checks.append(("origin", fields["origin"] == rec.get("origin"), rec.get("origin"), predicted))
        # the parser's own reading, had the pipeline kept a result with ok=False (not in FIELDS: a note)
        checks.append(("origin_if_kept", partial_origin == rec.get("origin"), rec.get("origin"), partial_origin))
    if "to" in texts or rec.get("destinations") is not None:
        labelled = rec.get("destinations") or []
        excluded = expand(rec.get("excluded") or [])
        got_world, got_dest = bool(fields["ships_worldwide"]), set(fields["destinations"])
        if "WW" in labelled:
            right = got_world and set(fields["destinations_excluded"]) == excluded
        else:
            right = not got_world and got_dest == expand(labelled) - excluded
        expected = {"codes": labelled, "excluded": rec.get("excluded") or []}
        shown = sorted(got_dest)[:12] + (["..."] if len(got_dest) > 12 else [])
        predicted = {"worldwide": got_world, "destinations": shown, "excluded": fields["destinations_excluded"],
                     **({"dropped": error} if error else {})}
        checks.append(("destinations", right, expected, predicted))
    return checks


# ---------------------------------------------------------------- quantity and price


def quantity_price_checks(rec: dict[str, Any], texts: dict[str, str]) -> list[tuple[str, bool, Any, Any]]:
    title = clean(texts.get("title"))
    qty = _ok(parse_quantity(title)) if title else None
    checks: list[tuple[str, bool, Any, Any]] = []
    want_q = rec.get("quantity")
    got_q = (qty.unit, qty.amount) if qty else None
    if want_q is None:
        checks.append(("quantity", got_q is None, None, got_q))
    else:
        unit, amount = base_amount(float(want_q["value"]), want_q["unit"], want_q.get("count"))
        right = got_q is not None and got_q[0] == unit and got_q[1] is not None and close(float(got_q[1]), amount)
        checks.append(("quantity", right, (unit, amount), got_q))
    want_d = rec.get("dose")
    if want_d is not None:
        if want_d["unit"] in DOSE_MG:
            expected_d: Any = ("mg", float(want_d["value"]) * DOSE_MG[want_d["unit"]])
            got_d: Any = ("mg", qty.dose_mg) if qty and qty.dose_mg is not None else None
        else:
            expected_d = (want_d["unit"], float(want_d["value"]))
            got_d = (qty.dose_unit, qty.dose_value) if qty and qty.dose_value is not None else None
        right = got_d is not None and got_d[0] == expected_d[0] and close(float(got_d[1]), expected_d[1])
        checks.append(("dose", right, expected_d, got_d))
    if "price" in texts:
        hint = clean(texts.get("currency")) or CURRENCY_HINTS.get(rec["dataset"])
        price = _ok(parse_price(clean(texts["price"]), currency_hint=hint))
    else:
        price = _ok(parse_price(title))
    want_p = rec.get("price")
    got_p = (price.currency, price.amount) if price else None
    if want_p is None:
        checks.append(("price", got_p is None, None, got_p))
    else:
        expected_p = (want_p["currency"], float(want_p["amount"]))
        right = got_p is not None and got_p[0] == expected_p[0] and close(float(got_p[1]), expected_p[1], 0.005)
        checks.append(("price", right, expected_p, got_p))
    # per-unit: what the pipeline derives (price / quantity) against either reading a label
    # allows: the stated unit price, or the labelled price over the labelled quantity
    candidates = []
    per_unit = rec.get("per_unit")
    if per_unit:
        unit, amount = base_amount(float(per_unit.get("value") or 1.0), per_unit["unit"])
        if amount:
            candidates.append((per_unit["currency"], unit, float(per_unit["amount"]) / amount))
    if want_p and want_q:
        unit, amount = base_amount(float(want_q["value"]), want_q["unit"], want_q.get("count"))
        if amount:
            candidates.append((want_p["currency"], unit, float(want_p["amount"]) / amount))
    if candidates:
        got_u = (price.currency, qty.unit, price.amount / qty.amount) if price and qty and qty.amount else None
        right = got_u is not None and any(c[:2] == got_u[:2] and close(got_u[2], c[2]) for c in candidates)
        checks.append(("per_unit", right, candidates, got_u))
    return checks


# ---------------------------------------------------------------- report


def evaluate(real_data_dir: Path, gold_dir: Path, datasets: set[str] | None, misses: int,
             markets: list[str] | None = None) -> dict[str, Any]:
    counts: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    miss_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for pattern, check in (("shipping_*.jsonl", shipping_checks), ("quantity_price_*.jsonl", quantity_price_checks)):
        records: list[GoldRecord] = load_gold(real_data_dir, gold_dir, pattern, datasets=datasets)
        for record in records:
            dataset = record.record["dataset"]
            if markets and not any(dataset.startswith(m) for m in markets):
                continue
            for field, right, expected, predicted in check(record.record, record.texts):
                for key in (dataset, "TOTAL"):
                    counts[key][field]["n"] += 1
                    counts[key][field]["correct"] += right
                    if record.record["sample"] == "random":
                        counts[key][field]["n_random"] += 1
                        counts[key][field]["correct_random"] += right
                if not right and field in FIELDS:
                    miss_rows[dataset].append({"where": record.where, "field": field, "texts": record.texts,
                                               "expected": expected, "predicted": predicted,
                                               "note": record.record.get("note")})
    out: dict[str, Any] = {"datasets": {}, "misses": {}, "misses_total": {}}
    for key, per_field in sorted(counts.items(), key=lambda kv: kv[0] == "TOTAL"):
        out["datasets"][key] = {
            f: {**c, "accuracy": round(c["correct"] / c["n"], 4) if c["n"] else None,
                "accuracy_random": round(c["correct_random"] / c["n_random"], 4) if c.get("n_random") else None}
            for f, c in per_field.items()}
    for dataset, rows in miss_rows.items():
        by_field: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_field[row["field"]].append(row)
        out["misses"][dataset] = {f: r[:misses] for f, r in by_field.items()}
        out["misses_total"][dataset] = {f: len(r) for f, r in by_field.items()}
    return out


def print_report(report: dict[str, Any]) -> None:
    print("\n== Fields (accuracy of labelled strings, parsers called as the crawl pipeline calls them)")
    for sample in ("", "_random"):
        rows = []
        for dataset, per_field in report["datasets"].items():
            cells = []
            for f in FIELDS:
                c = per_field.get(f)
                n = c.get(f"n{sample}", 0) if c else 0
                cells.append(f"{pct(c[f'accuracy{sample}'])} ({n})" if c and n else "-")
            rows.append([dataset, *cells])
        print(f"\n-- {'random sample only' if sample else 'all labels'}: accuracy (labels)")
        print(table(rows, ["", *FIELDS]))
    kept = report["datasets"].get("TOTAL", {}).get("origin_if_kept")
    if kept:
        print(f"(origin if the pipeline kept results with ok=False, e.g. when only the ships-to part failed: "
              f"{pct(kept['accuracy'])} of {kept['n']})")
    for dataset, per_field in report["misses"].items():
        for field, rows in per_field.items():
            total = report["misses_total"][dataset][field]
            print(f"\n-- misses, {dataset} / {field} (first {len(rows)} of {total})")
            for row in rows:
                texts = " | ".join(f"{k}={v[:70]!r}" for k, v in row["texts"].items())
                print(f"  {row['where']}: {texts}\n      want {row['expected']}  got {row['predicted']}"
                      + (f"  ({row['note']})" if row.get("note") else ""))
