"""Client-side pieces of the ES backend that need no server: settings and the compatibility header."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.errors import TrawlError
from core.vocabulary import Vocabulary
from enrich.vocabulary import default_vocabulary
from index.es_client import make_client, pin_compatibility, settings_from
from index.es_mappings import MAPPING_VERSION, Names, synonym_rules, template_body


def test_credentials_never_in_display_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "pw"
    secret.write_text("hunter2\n")
    monkeypatch.setenv("TRAWL_INDEX_PASSWORD_FILE", str(secret))
    monkeypatch.delenv("TRAWL_INDEX_PASSWORD", raising=False)
    s = settings_from("https://elastic@es.example:9243/")
    assert (s.user, s.password, s.display_url) == ("elastic", "hunter2", "https://es.example:9243")
    with pytest.raises(TrawlError, match="TRAWL_INDEX_CA_CERT"):
        settings_from("https://es.example:9243", ca_cert=str(tmp_path / "missing.pem"))


def test_compatibility_header_follows_server_major() -> None:
    """The 9.x client asks for compatible-with=9; an 8.x server needs 8 (else 'Invalid media-type')."""
    client = make_client(settings_from("http://127.0.0.1:1"))
    sent: list[dict[str, Any]] = []

    def capture(method: str, target: str, **kwargs: Any) -> Any:  # records the request instead of sending it
        sent.append(dict(kwargs.get("headers") or {}))
        raise RuntimeError("captured")

    client.transport.perform_request = capture
    pin_compatibility(client, 8)
    pin_compatibility(client, 8)  # idempotent
    for call in (lambda: client.search(index="x", query={"match_all": {}}), lambda: client.bulk(operations=[{"index": {}}, {}])):
        with pytest.raises(RuntimeError):
            call()
    assert [h["Accept"] for h in sent] == ["application/vnd.elasticsearch+json; compatible-with=8"] * 2
    assert sent[1]["Content-Type"] == "application/vnd.elasticsearch+x-ndjson; compatible-with=8"


def test_templates_are_strict_and_versioned() -> None:
    names = Names("trawl", 3)
    body = template_body(names, "snapshots", default_vocabulary())
    assert body["index_patterns"] == ["trawl-snapshots-v3-*"]
    assert body["template"]["mappings"]["dynamic"] is False
    assert body["template"]["aliases"] == {"trawl-snapshots": {}}
    assert names.snapshot_index("2026-01-31T23:59:59Z") == "trawl-snapshots-v3-2026.01"
    listings = template_body(names, "listings", default_vocabulary())["template"]["mappings"]["properties"]
    assert listings["usd_per_unit"]["type"] == "double"  # exact values: same ranges and quantiles as SQLite
    assert body["meta"]["trawl_vocabulary"] == default_vocabulary().digest


def test_synonym_rules_come_from_the_vocabulary() -> None:
    """One vocabulary: the ES analyzer's synonyms are the query-time groups, in analyzer tokens."""
    vocabulary = default_vocabulary()
    rules = synonym_rules(vocabulary)
    (meph,) = [r for r in rules if r.startswith("mephedrone, ")]
    assert {"4 mmc", "4mmc", "mcat", "m cat", "meow meow"} <= set(meph.split(", "))
    assert "speed" not in {w for r in rules for w in r.split(", ")}  # ordinary words widen no search
    # sane for index settings: a few hundred rules, tens of kB, no rule of one spelling
    assert 100 < len(rules) < 2000 and sum(map(len, rules)) < 100_000
    assert all(len(set(r.split(", "))) >= 2 for r in rules)
    settings = template_body(Names(), "listings", vocabulary)["template"]["settings"]["analysis"]
    assert settings["filter"]["trawl_substance_synonyms"]["synonyms"] == rules
    assert Names().index("listings") == f"trawl-listings-v{MAPPING_VERSION}" and MAPPING_VERSION == 4
    assert synonym_rules(Vocabulary.empty()) == []
