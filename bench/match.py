"""Benchmark: listing titles matched per second against the full reference lists.

Batch path (production): `enrich.match_batch` - exact n-gram lookups per title, then ONE
`rapidfuzz.process.cdist` over the unique fuzzy candidates of the whole batch.
Naive path: the same exact stage, then per title and per candidate n-gram a
`rapidfuzz.process.extract` over all long reference names (every name above the
decision floor, which the ambiguity guard needs; `extractOne` alone could not tell
"isotonitazene" from "isotonitazepyne").  Both are run in the same process, on one
core, and must give identical results.

    .venv/bin/python bench/match.py [--titles 10000] [--seed 7]
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rapidfuzz import fuzz, process

from enrich import fuzzy
from enrich.lists import default_lists
from enrich.matcher import get_matcher

FILLER = [
    "stealth", "shipping", "worldwide", "escrow", "quality", "pure", "uncut", "tested", "lab", "premium",
    "free", "sample", "bulk", "discount", "fast", "tracked", "vacuum", "sealed", "next", "day", "delivery",
    "from", "germany", "netherlands", "uk", "usa", "canada", "crystals", "powder", "pills", "tabs", "rocks",
    "champagne", "colombian", "peruvian", "afghan", "dutch", "original", "pharma", "grade", "restock", "sale",
]
BRANDS = ["Tesla", "Punisher", "Gucci", "Rolex", "Bugatti", "Heisenberg", "Supreme", "Versace", "Lamborghini", "Hulk",
          "Sherbert", "Gelato", "Zkittlez", "Amnesia", "Pineapple", "Wedding", "Gorilla", "Blueberry", "Kosher", "Durban"]
QUANTITIES = ["1g", "3.5g", "5g", "10g", "28g", "100g", "1kg", "10x", "50 pills", "100 tabs", "250mg", "2mg", "0.5g", "1oz"]
PRICES = ["$40", "€120", "£25", "0.002 BTC", "0.5 XMR", "USD 300", ""]


def misspell(rng: random.Random, word: str) -> str:
    if len(word) < 7 or rng.random() < 0.5:
        return word
    i = rng.randrange(1, len(word) - 1)
    op = rng.choice(["drop", "swap", "double"])
    if op == "drop":
        return word[:i] + word[i + 1:]
    if op == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + word[i] + word[i:]


def make_titles(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    names = sorted(e.text for e in default_lists().names.values() if not e.context_only)
    titles = []
    for _ in range(n):
        parts = [misspell(rng, rng.choice(names)) for _ in range(rng.choice([1, 1, 1, 2]))]
        parts += rng.sample(FILLER, rng.randint(2, 5)) + [rng.choice(BRANDS) for _ in range(rng.randint(0, 2))]
        parts += [rng.choice(QUANTITIES), rng.choice(PRICES)]
        rng.shuffle(parts)
        titles.append(" ".join(p for p in parts if p))
    return titles


def naive(matcher, titles: list[str]) -> list:
    """Per title: every n-gram looked up with process.extractOne over all reference
    names (a score of 100 is an exact hit), then per-n-gram process.extract for fuzzy."""
    entries = list(matcher.lists.names.values())
    keys = [e.key for e in entries]

    def lookup(key: str):
        found = process.extractOne(key, keys, scorer=fuzz.ratio, score_cutoff=100)
        return entries[found[2]] if found else None

    results = []
    for title in titles:
        prep = matcher.prepare(title, lookup=lookup)
        queries = sorted({q for _, _, q in prep.queries})
        decisions = fuzzy.score_extract(queries, matcher.choices) if queries else {}
        results.append(matcher.finish(prep, decisions))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    matcher = get_matcher()
    fuzzy.english_words()  # load the dictionary outside the timed runs
    titles = make_titles(args.titles, args.seed)
    matcher.match_many(titles[:200])  # warm caches for both paths alike
    # ...but not the fuzzy decisions the batch path keeps per query: timed from cold
    matcher.decision_cache.clear()

    t0 = time.perf_counter()
    batch = matcher.match_many(titles)
    t_batch = time.perf_counter() - t0
    t0 = time.perf_counter()
    slow = naive(matcher, titles)
    t_naive = time.perf_counter() - t0

    same = [[m.to_dict() for m in r] for r in batch] == [[m.to_dict() for m in r] for r in slow]
    matched = sum(1 for r in batch if r)
    print(f"reference lists: {len(matcher.lists.substances)} substances, {len(matcher.lists.names)} names, {len(matcher.choices)} fuzzy choices")
    print(f"titles: {len(titles)} ({matched} with at least one match)")
    print(f"batch (cdist):          {t_batch:8.3f} s  {len(titles) / t_batch:10.0f} titles/s")
    print(f"naive (per-title extract): {t_naive:8.3f} s  {len(titles) / t_naive:10.0f} titles/s")
    print(f"speed-up: {t_naive / t_batch:.1f}x   identical results: {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
