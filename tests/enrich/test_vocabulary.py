"""enrich.vocabulary: the one query-time vocabulary, generated from the reference lists."""
from __future__ import annotations

from enrich.lists import default_lists
from enrich.vocabulary import MAX_GROUP_NAMES, build_vocabulary


def test_every_list_name_resolves_to_its_canonical_name() -> None:
    lists = default_lists()
    vocabulary = build_vocabulary(lists)
    wrong = [(e.text, e.canonical, vocabulary.canonical(e.text)) for e in lists.names.values()
             if vocabulary.canonical(e.text) != e.canonical]
    assert wrong == []
    assert vocabulary.canonical("4-MMC") == "mephedrone" and vocabulary.canonical("no such drug") is None


def test_search_groups_hold_only_unambiguous_names() -> None:
    lists = default_lists()
    vocabulary = build_vocabulary(lists)
    ordinary = {e.text.lower() for e in lists.names.values() if e.context_only or e.descriptor}
    members = {n.lower() for group in vocabulary.groups.values() for n in group[1:]}
    assert members and not members & ordinary
    assert {"speed", "ice", "coke", "weed"} <= ordinary  # street words stay out of text expansion...
    assert vocabulary.canonical("speed") == "amphetamine"  # ...but still resolve a substance filter
    assert max(len(g) for g in vocabulary.groups.values()) <= MAX_GROUP_NAMES
    assert {"4-mmc", "mcat", "meow meow"} <= {n.lower() for n in vocabulary.group("mephedrone")}
    assert vocabulary.group("MCAT") == vocabulary.groups["mephedrone"]


def test_sources_and_broken_lists(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from enrich.vocabulary import default_vocabulary

    vocabulary = build_vocabulary()
    assert {s["instrument"] for s in vocabulary.provenance()} >= {"1961", "1971", "1988"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("source: x\n", encoding="utf-8")
    monkeypatch.setenv("TRAWL_CONTROL_LISTS", str(bad))
    broken = default_vocabulary()
    assert broken.groups == {} and str(broken.provenance()).startswith("unavailable: ")
    assert broken.synonyms("4-MMC") == ["4-mmc"]
