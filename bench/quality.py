"""Real-world quality: substance matching and field parsers against the hand-labelled gold sets.

Reads the labels in tests/data/gold/ (titles_*, shipping_*, quantity_price_*; format in
tests/data/README.md) and the real text they point at in ../shared/real-data, runs the
project's public functions the way the crawl pipeline calls them, and prints:

- substances: precision / recall / F1 per market and per category (all labels and the
  `sample: random` part), counting every `offered` label (strains, brands, street names)
  and, separately, listed substances only (label names that are list entries); the
  false-positive rate on non-drug listings; analogue->parent collapses; predictions that
  are only `mentioned` (the matcher has no mentioned relation, so they count as false
  positives); the most common miss classes and the misses themselves;
- fields: accuracy of origin, destinations, shipping options, quantity, dose, price and
  per-unit price per source dataset.

A report, not a gate: exit 0 whatever the figures, 2 when the inputs are broken.

    .venv/bin/python bench/quality.py [--market torrez] [--dataset torrez-2021] [--misses 20] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import quality_fields
from bench.quality_report import (
    COUNTS_HEADER,
    Counts,
    GoldRecord,
    collapse_kind,
    counts_row,
    load_gold,
    pct,
    score_title,
    table,
)
from core.errors import TrawlError
from enrich.lists import ReferenceLists, default_lists
from enrich.matcher import SubstanceMatch, get_matcher
from enrich.normalize import name_key

REPO = Path(__file__).resolve().parents[1]
GOLD_DIR = REPO / "tests" / "data" / "gold"
REAL_DATA = Path(os.environ.get("TRAWL_REAL_DATA", REPO.parent / "shared" / "real-data"))
CANNABIS = frozenset({"cannabis", "cannabis resin", "THC", "CBD"})
_WORDS = re.compile(r"[^0-9a-z]+")


class Names:
    """Name comparisons through the reference lists (synonyms, abbreviations, street names)."""

    def __init__(self, lists: ReferenceLists) -> None:
        self.lists = lists
        self.listed = frozenset(lists.substances)
        self.keys_of: dict[str, set[str]] = defaultdict(set)
        for key, entry in lists.names.items():
            self.keys_of[entry.canonical].add(key)

    def same(self, predicted: str, label: str) -> bool:
        """A predicted canonical name equals a label: same name, or the label is one of its names."""
        key = name_key(label)
        entry = self.lists.names.get(key)
        return key == name_key(predicted) or (entry is not None and entry.canonical == predicted)

    def is_listed(self, label: str) -> bool:
        """The label names a list entry (its canonical name, or a synonym of it)."""
        return label in self.listed or name_key(label) in self.lists.names

    def analogue_shaped(self, label: str) -> bool:
        """A label that can have a parent: not a cannabis product ("cannabis resin") and not a
        combination of two listed substances ("codeine-promethazine syrup")."""
        parts = [p for p in re.split(r"[\s-]+", label) if p]
        return label not in CANNABIS and sum(self.is_listed(p) for p in parts) < 2

    def in_title(self, canonical: str, title: str) -> list[Any]:
        """Reference names of `canonical` written in the title (as words, or glued when long)."""
        words = f" {_WORDS.sub(' ', title.casefold())} "
        glued = name_key(title)
        found = []
        for key in self.keys_of.get(canonical, ()):
            entry = self.lists.names[key]
            spaced = _WORDS.sub(" ", entry.text.casefold()).strip()
            if (spaced and f" {spaced} " in words) or (len(key) >= 6 and key in glued):
                found.append(entry)
        return found


def _missed_class(names: Names, label: str, record: dict[str, Any], title: str) -> str:
    if not names.is_listed(label):
        if re.search(r"\d|-", label):
            return "FN: unlisted code-named substance (research chemical / analogue: early warning)"
        return "FN: unlisted named substance (medicine, steroid, hormone, plant)"
    canonical = names.lists.names[name_key(label)].canonical if name_key(label) in names.lists.names else label
    present = names.in_title(canonical, title)
    if not present:
        if "misspel" in (record.get("note") or ""):
            return "FN: misspelling beyond fuzzy reach"
        if canonical in CANNABIS:
            return "FN: cannabis strain/product word, no list name in title"
        return "FN: brand/street name/imprint not in the lists"
    if all(entry.context_only for entry in present):
        return "FN: street word without accepted context (context rule)"
    return "FN: a list name is written in the title (glued, suffixed, split) but not matched"


def _invented_class(names: Names, match: SubstanceMatch, record: dict[str, Any], collapse: str | None) -> str:
    if any(names.same(match.canonical, m) for m in record["mentioned"]):
        return "FP: mentioned (negation/comparison) read as offered"
    if collapse:
        return "FP: analogue -> parent collapse"
    if record["none"]:
        return "FP: substance on a non-drug listing"
    if match.canonical in CANNABIS and set(record["offered"]) & CANNABIS:
        return "FP: cannabis product type confused (flower / resin / THC potency figure)"
    entry = names.lists.names.get(name_key(match.matched_name or match.matched_text))
    if entry is not None and entry.context_only:
        return "FP: form/colour/street word invented a drug"
    if match.reason == "fuzzy":
        return "FP: fuzzy match to the wrong substance"
    return f"FP: wrong substance ({match.reason})"


def _category(record: GoldRecord, real_data_dir: Path) -> str:
    """Category as the source gives it; ToRReZ grouped by its top-level `category_level_2`."""
    rec = record.record
    if rec["dataset"] == "torrez-2021":
        from bench.quality_report import cell

        return cell(real_data_dir, rec["dataset"], rec["file"], rec["row"], "category_level_2") or "(none)"
    return rec["category"] or "(none)"


def substances(records: list[GoldRecord], real_data_dir: Path, *, category_hint: bool, misses: int) -> dict[str, Any]:
    names = Names(default_lists())
    texts = [r.texts["title"] for r in records]
    # the category as the pipeline's substance_hint (drug context, fallback when the title names nothing)
    hints = [r.record["category"] or None for r in records] if category_hint else None
    # only offered substances count: a `mentioned` one ("NO FENT", "like Xanax") is no prediction
    predicted = [[m for m in found if m.relation == "offered"] for found in get_matcher().match_many(texts, hints=hints)]
    views: dict[str, dict[str, Counts]] = defaultdict(lambda: defaultdict(Counts))
    categories: dict[str, dict[str, dict[str, Counts]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(Counts)))
    non_drug: dict[str, Counter[str]] = defaultdict(Counter)
    classes: Counter[str] = Counter()
    collapses: list[dict[str, Any]] = []
    mentioned_fp: list[dict[str, Any]] = []
    miss_list: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record, matches in zip(records, predicted, strict=True):
        rec, title = record.record, record.texts["title"]
        market, random_sample = rec["market"], rec["sample"] == "random"
        by_name = {m.canonical: m for m in matches}
        score = score_title(rec["offered"], by_name, names.same)
        unlisted = [label for label in rec["offered"] if not names.is_listed(label)]
        listed_score = score_title([x for x in rec["offered"] if x not in unlisted],
                                   [p for p in by_name if not any(names.same(p, u) for u in unlisted)], names.same)
        for view, s in (("all", score), ("listed", listed_score)):
            for key in (market, "TOTAL"):
                views[key][view].add(s.counts)
                if random_sample:
                    views[key][f"{view}_random"].add(s.counts)
        cat = _category(record, real_data_dir)
        categories[market][cat]["all"].add(score.counts)
        if random_sample:
            categories[market][cat]["random"].add(score.counts)
        if rec["none"]:
            for key in (market, "TOTAL"):
                non_drug[key]["titles"] += 1
                non_drug[key]["with_fp"] += bool(matches)
                if random_sample:
                    non_drug[key]["titles_random"] += 1
                    non_drug[key]["with_fp_random"] += bool(matches)
        where = {"where": record.where, "market": market, "category": rec["category"], "title": title}
        for name in score.invented:
            match = by_name[name]
            keys = [name_key(name), *names.keys_of.get(name, ())]
            mentioned = any(names.same(name, m) for m in rec["mentioned"])
            collapse = None if mentioned else next(
                (f"{kind}: {label}" for label in rec["offered"] if names.analogue_shaped(label)
                 and (kind := collapse_kind(keys, name_key(match.matched_text), name_key(label)))), None)
            kind_text = _invented_class(names, match, rec, collapse)
            classes[kind_text] += 1
            row = {**where, "predicted": name, "reason": match.reason, "matched_text": match.matched_text,
                   "offered": rec["offered"], "class": kind_text, "collapse": collapse}
            if collapse:
                collapses.append(row)
            if kind_text.startswith("FP: mentioned"):
                mentioned_fp.append(row)
            miss_list[market].append(row)
        for label in score.missed:
            kind_text = _missed_class(names, label, rec, title)
            classes[kind_text] += 1
            miss_list[market].append({**where, "missed": label, "predicted": sorted(by_name), "class": kind_text,
                                      "note": rec.get("note")})
    return {
        "markets": {m: {**{v: c.to_dict() for v, c in vs.items()}, "non_drug": _rates(non_drug[m])}
                    for m, vs in sorted(views.items(), key=lambda kv: (kv[0] == "TOTAL", -kv[1]["all"].titles))},
        "categories": {m: {c: {v: x.to_dict() for v, x in vs.items()} for c, vs in sorted(cats.items())}
                       for m, cats in categories.items()},
        "collapses": collapses, "mentioned_as_offered": mentioned_fp,
        "miss_classes": dict(classes.most_common()),
        "misses": {m: rows[:misses] for m, rows in miss_list.items()},
        "misses_total": {m: len(rows) for m, rows in miss_list.items()},
        "category_hint": category_hint,
    }


def _counts(data: dict[str, Any] | None) -> Counts:
    return Counts(**{k: data[k] for k in ("tp", "fp", "fn", "titles")}) if data else Counts()


def _rates(counter: Counter[str]) -> dict[str, Any]:
    out: dict[str, Any] = dict(counter)
    for suffix in ("", "_random"):
        n = counter[f"titles{suffix}"]
        out[f"fp_rate{suffix}"] = round(counter[f"with_fp{suffix}"] / n, 4) if n else None
    return out


def _print_substances(report: dict[str, Any], min_category: int) -> None:
    print("== Substances (micro-averaged over labelled substances; title only"
          + (", category given as substance hint)" if report["category_hint"] else ")"))
    for view, title in (("all", "all offered labels (strains, brands, street names included)"),
                        ("listed", "listed substances only (label is a list entry)")):
        print(f"\n-- {title}: all labels | random sample only")
        rows = []
        for market, vs in report["markets"].items():
            c, r = _counts(vs[view]), _counts(vs.get(f"{view}_random"))
            random_cells = [str(r.titles), pct(r.precision), pct(r.recall), pct(r.f1)]
            rows.append([market, *counts_row("", c)[1:], "|", *random_cells])
        print(table(rows, [*COUNTS_HEADER, "|", "titles", "prec", "recall", "F1"]))
    print("\n-- false-positive rate on non-drug listings (any substance predicted)")
    rows = []
    for market, v in report["markets"].items():
        nd = v["non_drug"]
        if nd.get("titles"):
            rows.append([market, str(nd["titles"]), str(nd.get("with_fp", 0)), pct(nd["fp_rate"]),
                         str(nd.get("titles_random", 0)), pct(nd["fp_rate_random"])])
    print(table(rows, ["", "non-drug", "with FP", "rate", "random", "rate(random)"]))
    print(f"\n-- per category (all labels | random; categories with >= {min_category} titles; --json has all)")
    rows = []
    for market, cats in report["categories"].items():
        for cat, v in sorted(cats.items(), key=lambda kv: -kv[1]["all"]["titles"]):
            c, r = _counts(v["all"]), _counts(v.get("random"))
            if c.titles >= min_category:
                rows.append([f"{market} / {cat[:40]}", *counts_row("", c)[1:], "|", str(r.titles), pct(r.precision),
                             pct(r.recall)])
    print(table(rows, [*COUNTS_HEADER, "|", "titles", "prec", "recall"]))
    print(f"\n-- analogue -> parent collapses: {len(report['collapses'])}")
    for row in report["collapses"]:
        print(f"  {row['where']}: predicted {row['predicted']!r} from {row['matched_text']!r}, labelled"
              f" {row['collapse']} | {row['title'][:90]!r}")
    print(f"\n-- mentioned substance predicted as offered (counted as FP): {len(report['mentioned_as_offered'])}")
    for row in report["mentioned_as_offered"]:
        print(f"  {row['where']}: {row['predicted']!r} | {row['title'][:90]!r}")
    print("\n-- miss classes")
    for kind, n in report["miss_classes"].items():
        print(f"  {n:5d}  {kind}")
    for market, rows in report["misses"].items():
        print(f"\n-- misses, {market} (first {len(rows)} of {report['misses_total'][market]})")
        for row in rows:
            what = (f"missed {row['missed']!r} (got {row['predicted']})" if "missed" in row
                    else f"invented {row['predicted']!r} from {row['matched_text']!r} (offered {row['offered']})")
            print(f"  {row['where']} [{row['category'][:25]}] {what} | {row['title'][:90]!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Example:\n  .venv/bin/python bench/quality.py --market torrez --misses 50\n"
               "  .venv/bin/python bench/quality.py --dataset darkmatter-2024 --only fields --json")
    parser.add_argument("--market", action="append", help="only these markets (title labels; repeatable)")
    parser.add_argument("--dataset", action="append", help="only these datasets (e.g. torrez-2021; repeatable)")
    parser.add_argument("--misses", type=int, default=20, help="misses listed per market / dataset (default 20)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--category-hint", action="store_true",
                        help="give the source category to the matcher as the substance hint, as the crawl"
                             " does with a site's substance_hint field")
    parser.add_argument("--min-category", type=int, default=5, help="smallest category shown in the text table")
    parser.add_argument("--only", choices=("substances", "fields"), help="run one half only")
    parser.add_argument("--gold-dir", type=Path, default=GOLD_DIR)
    parser.add_argument("--real-data", type=Path, default=REAL_DATA)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    datasets = set(args.dataset or ())
    try:
        if not args.real_data.is_dir():
            raise TrawlError(f"{args.real_data}: real data folder not found (--real-data or TRAWL_REAL_DATA)")
        report: dict[str, Any] = {}
        if args.only != "fields":
            titles = [r for r in load_gold(args.real_data, args.gold_dir, "titles_*.jsonl", datasets=datasets or None)
                      if not args.market or r.record["market"] in args.market]
            report["substances"] = substances(titles, args.real_data, category_hint=args.category_hint,
                                              misses=args.misses)
        if args.only != "substances":
            # field labels carry no market: --market keeps the datasets named after it (torrez -> torrez-2021)
            report["fields"] = quality_fields.evaluate(args.real_data, args.gold_dir, datasets or None, args.misses,
                                                       markets=args.market)
    except TrawlError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report["seconds"] = round(time.perf_counter() - started, 2)
    if args.json:
        print(json.dumps(report, indent=1, ensure_ascii=False))
        return 0
    if "substances" in report:
        _print_substances(report["substances"], args.min_category)
    if "fields" in report:
        quality_fields.print_report(report["fields"])
    print(f"\n({report['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
