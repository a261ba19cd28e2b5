"""Analysts' decisions on new-substance candidates: reviewed, dismissed, or mapped to a known substance.

Stored in $TRAWL_HOME/candidate-reviews.json (token -> the latest decision: status,
substance, who, when, note), a small file rewritten atomically (temporary file, fsync,
rename) under a lock: candidates number in the tens or hundreds, the index is not the
place for them (the ES candidate mapping is strict and the SQLite schema belongs to the
index), and a JSON file survives re-indexing and backend switches.  Every decision is
also appended to the audit log (core/audit.py).

A mapping takes effect for matching through a control-list file generated beside it,
$TRAWL_HOME/lists/candidate-mappings.yaml (instrument "other": it adds the token as a
synonym of the chosen substance and changes no control).  The matcher reads it when
$TRAWL_CONTROL_LISTS names that file or the folder $TRAWL_HOME/lists (see docs/web.md);
listings already stored keep their substances until they are re-crawled or reprocessed.
"""
from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from core.clock import utc_now_iso
from core.errors import TrawlError
from core.home import ensure_home, trawl_home

REVIEWS_FILE = "candidate-reviews.json"
MAPPINGS_LIST = Path("lists") / "candidate-mappings.yaml"
STATUSES = ("reviewed", "dismissed", "mapped")
_LOCK = threading.Lock()


def reviews_path(home: Path | None = None) -> Path:
    return (home or trawl_home()) / REVIEWS_FILE


def mappings_list_path(home: Path | None = None) -> Path:
    return (home or trawl_home()) / MAPPINGS_LIST


def load_reviews(home: Path | None = None) -> dict[str, dict[str, Any]]:
    path = reviews_path(home)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise TrawlError(f"{path}: not valid JSON ({exc}); fix or remove the file") from None
    if not isinstance(data, dict):
        raise TrawlError(f"{path}: expected a JSON object of token -> review")
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def known_substance(name: str) -> tuple[str, str] | None:
    """(canonical name, class) of a substance the reference lists know by `name` (any listed spelling)."""
    from enrich.lists import default_lists
    from enrich.normalize import name_key

    lists = default_lists()
    entry = lists.names.get(name_key(name))
    if entry is None:
        return None
    substance = lists.substances[entry.canonical]
    return substance.canonical, substance.substance_class


@contextmanager
def _locked(home: Path) -> Iterator[None]:
    """One writer at a time, across threads (the API's pool) and processes."""
    with _LOCK, open(home / (REVIEWS_FILE + ".lock"), "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def record_review(token: str, status: str, *, who: str, note: str = "", substance: str | None = None,
                  substance_class: str | None = None) -> dict[str, Any]:
    """Store the decision on `token` (replacing an earlier one) and regenerate the mappings list."""
    if status not in STATUSES:
        raise TrawlError(f"status: {status!r} is not one of {', '.join(STATUSES)}")
    home = ensure_home()
    review = {"token": token, "status": status, "substance": substance, "substance_class": substance_class,
              "who": who, "at": utc_now_iso(), "note": note}
    with _locked(home):
        reviews = load_reviews(home)
        reviews[token] = review
        _write_atomically(reviews_path(home), json.dumps(reviews, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
        write_mappings_list(reviews, mappings_list_path(home))
    return review


def mappings_document(reviews: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The control-list document (enrich/lists.py format) adding each mapped token as a synonym; None if none."""
    by_substance: dict[str, dict[str, Any]] = {}
    for token, review in sorted(reviews.items()):
        if review.get("status") != "mapped" or not review.get("substance"):
            continue
        entry = by_substance.setdefault(review["substance"], {
            "name": review["substance"], "class": review.get("substance_class") or "unknown", "synonyms": []})
        entry["synonyms"].append(token)
    if not by_substance:
        return None
    latest = max(str(r.get("at", "")) for r in reviews.values())
    return {"source": "trawl candidate reviews (dashboard, audited)", "source_url": "local:" + REVIEWS_FILE,
            "as_of": latest[:10] or "1970-01-01", "version": latest or "0", "instrument": "other",
            "entries": list(by_substance.values())}


def write_mappings_list(reviews: dict[str, dict[str, Any]], path: Path) -> None:
    document = mappings_document(reviews)
    if document is None:
        if path.exists():
            path.unlink()
        return
    header = "# Generated by trawl from $TRAWL_HOME/candidate-reviews.json: candidate tokens an analyst mapped\n" \
             "# to a known substance. Do not edit; map again from the New substances page.\n"
    _write_atomically(path, header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
