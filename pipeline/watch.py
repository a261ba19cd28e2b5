"""Watch rules: which listings, vendors and price moves raise an alert.

The rules live in a small YAML file ($TRAWL_HOME/watch.yaml, or the `alerts.watch_file`
setting); every problem is reported as FILE:LINE: field: problem.

    watch:
      substances: [mephedrone, 3-MMC]     # a listing offering one of these (any synonym)
      vendors: [ChefRamsay]               # a listing by, or a vendor page of, one of these
      countries: [NL]                     # a listing shipping from one of these (ISO alpha-2)
      new_market_vendors: all             # all | watched | off: a vendor seen on a new market
      price_moves:
        substances: [cocaine]
        threshold_pct: 30                 # median USD/unit per substance+market vs the previous run
        min_listings: 3                   # priced listings needed in both runs

The pipeline evaluates listings when they are new or changed (pipeline.alerts.WatchAlerts);
price moves are checked at the end of a crawl (pipeline.alerts.alert_run_end).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config import load_config
from core.errors import TrawlError
from core.home import trawl_home
from core.records import Listing
from core.vocabulary import Vocabulary, name_key
from crawler.sitedef.yamlnodes import Document, SiteConfigError, load_document

WATCH_FILE = "watch.yaml"
NEW_MARKET_MODES = ("all", "watched", "off")
_TOP_KEYS = ("substances", "vendors", "countries", "new_market_vendors", "price_moves")
_PRICE_KEYS = ("substances", "threshold_pct", "min_listings")


@dataclass(frozen=True)
class PriceMoveRule:
    substances: tuple[str, ...] = ()
    threshold_pct: float = 30.0
    min_listings: int = 3


@dataclass
class WatchRules:
    """Validated rules; `source` is the file they came from ("" when none exists)."""

    substances: tuple[str, ...] = ()
    vendors: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    new_market_vendors: str = "all"
    price_moves: PriceMoveRule = field(default_factory=PriceMoveRule)
    source: str = ""
    _substance_keys: dict[str, str] = field(default_factory=dict, repr=False)  # name_key -> watched term
    _price_keys: dict[str, str] = field(default_factory=dict, repr=False)

    def resolve(self, vocabulary: Vocabulary) -> WatchRules:
        """Index the watched substance names by every spelling the vocabulary knows for them."""
        self._substance_keys = _keys_of(self.substances, vocabulary)
        self._price_keys = _keys_of(self.price_moves.substances, vocabulary)
        return self

    @property
    def vendor_keys(self) -> set[str]:
        return {name_key(v) for v in self.vendors}

    def matches(self, listing: Listing) -> list[tuple[str, str]]:
        """(rule, watched value) pairs the listing meets: ("substance", "mephedrone"), ..."""
        hits: list[tuple[str, str]] = []
        for ref in listing.substances:
            for key in (name_key(ref.name), name_key(ref.matched_text)):
                term = self._substance_keys.get(key)
                if term and ("substance", term) not in hits:
                    hits.append(("substance", term))
        if listing.vendor and name_key(listing.vendor) in self.vendor_keys:
            hits.append(("vendor", self._vendor_term(listing.vendor)))
        if listing.origin and listing.origin.upper() in self.countries:
            hits.append(("country", listing.origin.upper()))
        return hits

    def watches_vendor(self, name: str) -> bool:
        return name_key(name) in self.vendor_keys

    def price_term(self, substance: str) -> str | None:
        """The watched price-move term a canonical substance name falls under, if any."""
        return self._price_keys.get(name_key(substance))

    def _vendor_term(self, name: str) -> str:
        return next(v for v in self.vendors if name_key(v) == name_key(name))

    @property
    def empty(self) -> bool:
        return not (self.substances or self.vendors or self.countries or self.price_moves.substances)


def _keys_of(terms: Iterable[str], vocabulary: Vocabulary) -> dict[str, str]:
    keys: dict[str, str] = {}
    for term in terms:
        names = [term, *vocabulary.synonyms(term)]
        for name in names:
            keys.setdefault(name_key(name), term)
    return keys


def watch_file() -> Path:
    configured = load_config().alerts_watch_file
    return Path(configured) if configured else trawl_home() / WATCH_FILE


def load_watch_rules(path: Path | None = None, vocabulary: Vocabulary | None = None,
                     *, required: bool = False) -> WatchRules:
    """The rules of `path` (default: watch_file()); no file gives empty rules unless `required`.

    vocabulary: spellings of the watched substances; None builds the reference one
    (enrich.vocabulary) when the rules name substances."""
    path = path or watch_file()
    if not path.exists():
        if required:
            raise TrawlError(f"{path}: no such watch rules file")
        return WatchRules()
    try:
        doc = load_document(path, env={})
    except SiteConfigError as exc:
        raise TrawlError(str(exc)) from None
    rules = _validate(doc)
    if doc.problems:
        raise SiteConfigError(doc.problems)
    if rules.substances or rules.price_moves.substances:
        if vocabulary is None:
            from enrich.vocabulary import default_vocabulary  # about a second: only when needed

            vocabulary = default_vocabulary()
        rules.resolve(vocabulary)
    return rules


def _validate(doc: Document) -> WatchRules:
    data = doc.data
    if not isinstance(data, dict) or "watch" not in data:
        doc.problem((), "expected a mapping with a top-level `watch:` key")
        return WatchRules()
    watch = data["watch"]
    for key in data:
        if key != "watch":
            doc.problem((key,), "unknown key (the file holds one `watch:` mapping)")
    if watch is None:
        return WatchRules(source=doc.file)
    if not isinstance(watch, dict):
        doc.problem(("watch",), "expected a mapping")
        return WatchRules(source=doc.file)
    _unknown(doc, ("watch",), watch, _TOP_KEYS)
    countries = _names(doc, ("watch", "countries"), watch.get("countries"), _country)
    mode = watch.get("new_market_vendors", "all")
    mode = {False: "off", True: "all"}.get(mode, mode) if isinstance(mode, bool) else mode  # YAML 1.1: off is false
    if mode not in NEW_MARKET_MODES:
        doc.problem(("watch", "new_market_vendors"), f"expected one of {', '.join(NEW_MARKET_MODES)}, got {mode!r}")
        mode = "all"
    return WatchRules(substances=_names(doc, ("watch", "substances"), watch.get("substances")),
                      vendors=_names(doc, ("watch", "vendors"), watch.get("vendors")),
                      countries=tuple(c.upper() for c in countries), new_market_vendors=mode,
                      price_moves=_price_rule(doc, watch.get("price_moves")), source=doc.file)


def _price_rule(doc: Document, value: Any) -> PriceMoveRule:
    where = ("watch", "price_moves")
    if value is None:
        return PriceMoveRule()
    if not isinstance(value, dict):
        doc.problem(where, "expected a mapping (substances, threshold_pct, min_listings)")
        return PriceMoveRule()
    _unknown(doc, where, value, _PRICE_KEYS)
    threshold = value.get("threshold_pct", 30)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold <= 0:
        doc.problem((*where, "threshold_pct"), f"expected a number above 0, got {threshold!r}")
        threshold = 30
    minimum = value.get("min_listings", 3)
    if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 1:
        doc.problem((*where, "min_listings"), f"expected a whole number of at least 1, got {minimum!r}")
        minimum = 3
    return PriceMoveRule(substances=_names(doc, (*where, "substances"), value.get("substances")),
                         threshold_pct=float(threshold), min_listings=minimum)


def _unknown(doc: Document, where: tuple[str, ...], mapping: dict[str, Any], known: tuple[str, ...]) -> None:
    for key in mapping:
        if key not in known:
            doc.problem((*where, key), f"unknown key (known: {', '.join(known)})")


def _country(text: str) -> str | None:
    return None if len(text) == 2 and text.isascii() and text.isalpha() else "expected an ISO alpha-2 country code"


def _names(doc: Document, where: tuple[str | int, ...], value: Any,
           check: Callable[[str], str | None] | None = None) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        doc.problem(where, f"expected a list, got {type(value).__name__}")
        return ()
    names: list[str] = []
    for position, item in enumerate(value):
        path = (*where, position)
        if not isinstance(item, str) or not item.strip():
            doc.problem(path, f"expected a non-empty name, got {item!r}")
            continue
        problem = check(item.strip()) if check else None
        if problem:
            doc.problem(path, f"{problem}, got {item!r}")
            continue
        names.append(item.strip())
    return tuple(names)


__all__ = ["NEW_MARKET_MODES", "PriceMoveRule", "WatchRules", "load_watch_rules", "watch_file"]
