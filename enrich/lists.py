"""Reference control lists: versioned YAML files, a schema check and a loader.

Each file has a header (source, source_url, as_of, version, instrument) and
`entries`.  The instrument turns an entry's schedule into the control strings
stored on listings ("1961:I", "1971:II", "1988:I", "issl", "nps-ews"); a national
list uses its own instrument code (e.g. "de-btmg" -> "de-btmg:I").  Substances with
the same canonical name in several files are merged (controls and names unioned).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

from core.errors import TrawlError
from enrich.normalize import name_key

DATA_DIR = Path(__file__).resolve().parent / "data"
ENV_VAR = "TRAWL_CONTROL_LISTS"

HEADER_FIELDS = ("source", "source_url", "as_of", "version", "instrument")
NAME_FIELDS = ("synonyms", "abbreviations", "street_names", "context_names", "descriptor_names")
ENTRY_FIELDS = {"name", "class", "schedule", "cas", "year_added", "source", "note", "combinations", *NAME_FIELDS}
UN_INSTRUMENTS = {"1961", "1971", "1988"}
ROMAN = {"I", "II", "III", "IV"}
# lists whose membership is itself the control (no schedule inside)
FLAT_INSTRUMENTS = {"issl", "nps-ews"}
# names of substances not under any international instrument: no control string
UNCONTROLLED_INSTRUMENTS = {"other"}
CAS_RE = re.compile(r"^(\d{2,7})-(\d{2})-(\d)$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class Substance:
    canonical: str
    substance_class: str
    controls: list[str] = field(default_factory=list)
    cas: str | None = None
    year_added: int | None = None
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    names: dict[str, list[str]] = field(default_factory=dict)  # field -> names


@dataclass(frozen=True)
class NameEntry:
    """One searchable name: its normalised key and what a hit on it means."""

    key: str
    text: str
    canonical: str
    reason: str  # exact | synonym | abbreviation | street
    context_only: bool  # ordinary-word street name: counts only with drug context
    # a form or colour word ("crystal", "brown sugar", "blotters", "champagne"): names the
    # substance only when no other substance is named (enrich.context.DESCRIPTOR_WORDS are
    # descriptors whatever field lists them; `descriptor_names` adds others)
    descriptor: bool = False


@dataclass
class ListInfo:
    path: str
    source: str
    source_url: str
    as_of: str
    version: str
    instrument: str
    entries: int


@dataclass
class ReferenceLists:
    substances: dict[str, Substance]
    names: dict[str, NameEntry]  # normalised key -> entry
    lists: list[ListInfo]
    warnings: list[str] = field(default_factory=list)
    # combination brands: name key -> the co-actives a hit on it also names ("yasmin" is
    # drospirenone + ethinylestradiol); the brand itself names the entry it is listed under
    co_actives: dict[str, list[str]] = field(default_factory=dict)
    _matcher: Any = field(default=None, repr=False, compare=False)

    def controls_of(self, canonical: str) -> list[str]:
        sub = self.substances.get(canonical)
        return list(sub.controls) if sub else []


# libyaml's parser (PyYAML's wheels ship it) reads the ten list files in ~0.05 s, the pure-Python
# one in ~0.55 s: half a second of every process that loads the lists (each crawl or worker,
# `trawl match`, the search vocabulary). Same constructors, same line numbers in errors.
_SAFE_LOADER: Any = yaml.CSafeLoader if getattr(yaml, "__with_libyaml__", False) else yaml.SafeLoader


class _LineLoader(_SAFE_LOADER):
    """SafeLoader that remembers the line of every mapping, for error messages."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    # the list files' keys are field names (str); PyYAML types them as any hashable
    mapping = cast("dict[str, Any]", loader.construct_mapping(node, deep=True))
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def cas_is_valid(cas: str) -> bool:
    """CAS registry numbers carry a check digit: weighted sum of the other digits mod 10."""
    m = CAS_RE.match(cas)
    if not m:
        return False
    digits = (m.group(1) + m.group(2))[::-1]
    return sum((i + 1) * int(d) for i, d in enumerate(digits)) % 10 == int(m.group(3))


def _controls(instrument: str, schedule: Any) -> list[str]:
    if instrument in UNCONTROLLED_INSTRUMENTS:
        return []
    if instrument in FLAT_INSTRUMENTS or schedule in (None, "", []):
        return [instrument]
    schedules = schedule if isinstance(schedule, list) else [schedule]
    return [f"{instrument}:{s}" for s in schedules]


def _check_entry(entry: Any, instrument: str, where: str) -> list[str]:
    """Schema errors of one entry, each naming file, line and field."""
    if not isinstance(entry, dict):
        return [f"{where}: entry must be a mapping"]
    loc = f"{where}:{entry.get('__line__', '?')}"
    errors = []
    unknown = set(entry) - ENTRY_FIELDS - {"__line__"}
    if unknown:
        errors.append(f"{loc}: unknown field(s) {sorted(unknown)}")
    for key in ("name", "class"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            errors.append(f"{loc}: field '{key}' must be a non-empty string")
    for key in NAME_FIELDS:
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            errors.append(f"{loc}: field '{key}' must be a list of non-empty strings")
    cas = entry.get("cas")
    if cas is not None and (not isinstance(cas, str) or not cas_is_valid(cas)):
        errors.append(f"{loc}: field 'cas' {cas!r} is not a valid CAS number (format or check digit)")
    year = entry.get("year_added")
    if year is not None and (not isinstance(year, int) or not 1900 <= year <= 2100):
        errors.append(f"{loc}: field 'year_added' must be a year, got {year!r}")
    schedule = entry.get("schedule")
    if instrument in UN_INSTRUMENTS:
        schedules = schedule if isinstance(schedule, list) else [schedule]
        if not schedules or any(s not in ROMAN for s in schedules):
            errors.append(f"{loc}: field 'schedule' must be I-IV (or a list of them) for instrument {instrument}")
        if instrument == "1988" and any(s not in {"I", "II"} for s in schedules if s):
            errors.append(f"{loc}: field 'schedule' must be table I or II for instrument 1988")
    elif schedule is not None and not isinstance(schedule, (str, list)):
        errors.append(f"{loc}: field 'schedule' must be a string or list")
    for key in ("source", "note"):
        if key in entry and not isinstance(entry[key], str):
            errors.append(f"{loc}: field '{key}' must be a string")
    combos = {k: v for k, v in entry.get("combinations", {}).items() if k != "__line__"} \
        if isinstance(entry.get("combinations", {}), dict) else None
    if combos is None or not all(isinstance(brand, str) and brand.strip() and isinstance(actives, list) and actives
                                 and all(isinstance(a, str) and a.strip() for a in actives)
                                 for brand, actives in combos.items()):
        errors.append(f"{loc}: field 'combinations' must map each brand name to a list of co-active substance names")
    return errors


def _combination_names(entry: dict[str, Any]) -> dict[str, list[str]]:
    """brand -> co-actives of an entry's `combinations` (the line marker left out)."""
    return {brand: list(actives) for brand, actives in entry.get("combinations", {}).items() if brand != "__line__"}


def check_file(path: str | Path) -> tuple[dict[str, Any], list[str]]:
    """Parse and validate one list file; returns (document, errors)."""
    path = Path(path)
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except FileNotFoundError as exc:
        raise TrawlError(f"{path}: control list file not found") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise TrawlError(f"{path}{line}: invalid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(doc, dict):
        return {}, [f"{path}:1: top level must be a mapping with a header and 'entries'"]
    errors = []
    for key in HEADER_FIELDS:
        if not isinstance(doc.get(key), str) or not doc[key].strip():
            errors.append(f"{path}:1: header field '{key}' must be a non-empty string")
    if isinstance(doc.get("as_of"), str) and not DATE_RE.match(doc["as_of"]):
        errors.append(f"{path}:1: header field 'as_of' must be YYYY-MM-DD")
    entries = doc.get("entries")
    if not isinstance(entries, list) or not entries:
        errors.append(f"{path}:1: field 'entries' must be a non-empty list")
        return doc, errors
    instrument = str(doc.get("instrument", ""))
    seen: dict[str, str] = {}
    for entry in entries:
        entry_errors = _check_entry(entry, instrument, str(path))
        errors.extend(entry_errors)
        if entry_errors:
            continue
        loc = f"{path}:{entry['__line__']}"
        for text in [entry["name"], *(n for f in NAME_FIELDS for n in entry.get(f, [])), *_combination_names(entry)]:
            key = name_key(text)
            if not any(c.isalpha() for c in key):
                # usually an unquoted comma in a YAML flow list ("3,4-MDMA" split in two)
                errors.append(f"{loc}: name {text!r} has no letters (quote names that contain commas)")
            elif seen.get(key, entry["name"]) != entry["name"]:
                errors.append(f"{loc}: name {text!r} also belongs to {seen[key]!r} (ambiguous key {key!r})")
            else:
                seen[key] = entry["name"]
    return doc, errors


def _reason(field_name: str, text: str, canonical: str) -> str:
    if text == canonical:
        return "exact"
    return {"synonyms": "synonym", "abbreviations": "abbreviation"}.get(field_name, "street")


def home_lists_dir() -> Path:
    """$TRAWL_HOME/lists: lists the installation writes itself (the web app's candidate mappings)."""
    from core.home import trawl_home

    return trawl_home() / "lists"


def lists_state() -> tuple[str, ...]:
    """What the default lists depend on besides the shipped files: $TRAWL_CONTROL_LISTS and the
    files of $TRAWL_HOME/lists with their mtimes (a mapping saved by the web app changes it)."""
    folder = home_lists_dir()
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []
    return (os.environ.get(ENV_VAR, ""), *(f"{f}@{f.stat().st_mtime_ns}" for f in files))


def default_paths() -> list[Path]:
    """Shipped lists, $TRAWL_HOME/lists when it exists, then any files/dirs named in
    $TRAWL_CONTROL_LISTS (os.pathsep-separated)."""
    paths: list[Path] = [DATA_DIR]
    if home_lists_dir().is_dir():
        paths.append(home_lists_dir())
    extra = os.environ.get(ENV_VAR, "")
    paths.extend(Path(p).expanduser() for p in extra.split(os.pathsep) if p.strip())
    return paths


def _expand(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted([*p.glob("*.yaml"), *p.glob("*.yml")]))
        elif p.exists():
            files.append(p)
        else:
            raise TrawlError(f"{p}: control list file or directory not found (check ${ENV_VAR})")
    return files


def load_reference_lists(paths: list[str | Path] | None = None) -> ReferenceLists:
    """Load and merge list files (default: shipped lists + $TRAWL_CONTROL_LISTS).

    Raises TrawlError naming file/line/field for any schema error.  A name whose key
    already belongs to another substance from an earlier file is skipped with a warning.
    """
    files = _expand([Path(p) for p in paths] if paths is not None else default_paths())
    substances: dict[str, Substance] = {}
    names: dict[str, NameEntry] = {}
    infos: list[ListInfo] = []
    warnings: list[str] = []
    co_actives: dict[str, list[str]] = {}
    combo_sources: list[tuple[str, str, list[str]]] = []
    for path in files:
        doc, errors = check_file(path)
        if errors:
            raise TrawlError("; ".join(errors[:5]) + (f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""))
        instrument = doc["instrument"]
        infos.append(ListInfo(str(path), doc["source"], doc["source_url"], doc["as_of"], doc["version"], instrument, len(doc["entries"])))
        for entry in doc["entries"]:
            canonical = entry["name"]
            sub = substances.setdefault(canonical, Substance(canonical, entry["class"], cas=entry.get("cas")))
            for control in _controls(instrument, entry.get("schedule")):
                if control not in sub.controls:
                    sub.controls.append(control)
            sub.cas = sub.cas or entry.get("cas")
            if entry.get("year_added") and (sub.year_added is None or entry["year_added"] < sub.year_added):
                sub.year_added = entry["year_added"]
            sub.sources.append(entry.get("source") or f"{doc['source']} ({doc['version']})")
            if entry.get("note"):
                sub.notes.append(entry["note"])
            # a name also listed under context_names is context-only, even the canonical one ("DOB")
            context_keys = {name_key(n) for n in entry.get("context_names", [])}
            # descriptors are context-only too: "crystal" alone needs drug context like "speed"
            descriptor_keys = {name_key(n) for n in entry.get("descriptor_names", [])}
            context_keys |= descriptor_keys
            combinations = _combination_names(entry)
            for brand, actives in combinations.items():
                co_actives.setdefault(name_key(brand), []).extend(a for a in actives if a != canonical)
                combo_sources.append((f"{path}:{entry['__line__']}", brand, actives))
            for field_name, texts in [("name", [canonical]), *((f, entry.get(f, [])) for f in NAME_FIELDS),
                                      ("synonyms", list(combinations))]:
                if field_name != "name":
                    bucket = sub.names.setdefault(field_name, [])
                    bucket.extend(t for t in texts if t not in bucket)
                for text in texts:
                    key = name_key(text)
                    known = names.get(key)
                    if known and known.canonical != canonical:
                        warnings.append(f"{path}:{entry['__line__']}: name {text!r} skipped, key already names {known.canonical!r}")
                        continue
                    if known:
                        continue
                    names[key] = NameEntry(key, text, canonical, _reason(field_name, text, canonical), key in context_keys,
                                           key in descriptor_keys)
    for where, brand, actives in combo_sources:  # co-actives must be listed substances (any file)
        unknown = [a for a in actives if a not in substances]
        if unknown:
            raise TrawlError(f"{where}: field 'combinations': {brand!r} names {unknown} which no list defines")
    return ReferenceLists(substances, names, infos, warnings, co_actives)


_DEFAULT: dict[tuple[str, ...], ReferenceLists] = {}
_STATE_SEEN: list[Any] = [None, 0.0, None]  # lists_state(), when it was read, (env, TRAWL_HOME) then


def default_lists() -> ReferenceLists:
    """Cached default lists; keyed by $TRAWL_CONTROL_LISTS and $TRAWL_HOME/lists' files (lists_state),
    looked at no more than once a second (a long-lived dashboard sees a new mapping soon after)."""
    import time

    now = time.monotonic()
    where = (os.environ.get(ENV_VAR, ""), os.environ.get("TRAWL_HOME", ""))
    if _STATE_SEEN[0] is None or now - _STATE_SEEN[1] > 1.0 or _STATE_SEEN[2] != where:
        _STATE_SEEN[:] = [lists_state(), now, where]
    key = _STATE_SEEN[0]
    if key not in _DEFAULT:
        _DEFAULT[key] = load_reference_lists()
    return _DEFAULT[key]
