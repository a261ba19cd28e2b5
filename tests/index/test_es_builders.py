"""The Elasticsearch request bodies trawl builds, checked without a server (pure functions).

These assert our builders' JSON (what is sent), not a server's behaviour: the server side of
the same features is exercised by the `es`-marked tests against a real Elasticsearch.
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from core.vocabulary import Vocabulary
from enrich.vocabulary import default_vocabulary
from index.api import SearchQuery, TrendQuery
from index.es_bulk import (
    BULK_LEASE_SECONDS,
    BulkOptions,
    current_refresh,
    helper_kwargs,
    is_abandoned,
    restore_bodies,
    suspend_body,
)
from index.es_mappings import PROPERTIES, Names, template_body
from index.es_query import HIGHLIGHT_FIELDS, pick_highlight, search_body
from index.es_trends import native_request, native_rows, quantile_method, within_tolerance
from index.sqlite_schema import DDL
from index.trends import quantile


def test_text_query_boosts_title_and_scores_substances() -> None:
    body = search_body(SearchQuery(text="mephedrone", limit=10, offset=20), default_vocabulary())
    clause = body["query"]["bool"]["must"][0]["bool"]["should"][0]["multi_match"]
    assert clause["type"] == "phrase" and clause["tie_breaker"] == 0.3
    # SQLite's bm25 column weights: title 10, description 1, vendor 3, substances 5
    assert clause["fields"] == ["title^10", "description", "vendor^3", "substances_text^5"]
    assert "constant_score" not in repr(body["query"])
    assert body["sort"] == [{"_score": {"order": "desc"}}, {"last_seen": {"order": "desc", "missing": "_last"}},
                            {"listing_id": {"order": "asc"}}]
    assert (body["from_"], body["size"], body["track_total_hits"]) == (20, 10, True)
    # without words there is nothing to highlight or rank
    plain = search_body(SearchQuery(site="vortex"), Vocabulary.empty())
    assert "highlight" not in plain and plain["sort"][0] == {"last_seen": {"order": "desc", "missing": "_last"}}


def test_highlight_covers_sqlites_fts_columns() -> None:
    fts = DDL.split("listings_fts USING fts5(", 1)[1].split("tokenize", 1)[0]
    sqlite_columns = [c.strip() for c in fts.split(",") if c.strip()]
    assert sqlite_columns == ["title", "description", "vendor", "substances"]
    assert [f.removesuffix("_text") for f in HIGHLIGHT_FIELDS] == sqlite_columns
    body = search_body(SearchQuery(text="4-mmc"), default_vocabulary())["highlight"]
    assert list(body["fields"]) == list(HIGHLIGHT_FIELDS) and body["pre_tags"] == ["["] and body["post_tags"] == ["]"]
    # a stored copy_to field: highlightable although not in _source
    assert PROPERTIES["listings"]["substances_text"]["store"] is True
    assert pick_highlight({"description": ["a [x]"], "title": ["[x] b"]}) == "[x] b"
    assert pick_highlight({"substances_text": ["[mephedrone]"]}) == "[mephedrone]"
    assert pick_highlight({}) == ""


def test_include_mentioned_searches_the_mapped_field() -> None:
    vocabulary = default_vocabulary()
    offered = search_body(SearchQuery(substance="fentanyl"), vocabulary)["query"]["bool"]["filter"][0]
    assert list(offered) == ["terms"] and "substances.name" in offered["terms"]
    both = search_body(SearchQuery(substance="fentanyl", include_mentioned=True), vocabulary)["query"]["bool"]["filter"][0]
    fields = [next(iter(c["terms"])) for c in both["bool"]["should"]]
    assert fields == ["substances.name", "mentioned_substances.name"] and both["bool"]["minimum_should_match"] == 1
    assert PROPERTIES["listings"]["mentioned_substances"]["properties"]["name"]["type"] == "keyword"


def test_grid_fields_are_mapped_without_x_pack_types() -> None:
    listing = PROPERTIES["listings"]
    assert listing["sold_count"] == {"type": "long"} and listing["views"] == {"type": "long"}
    assert listing["extra"] == {"type": "object", "enabled": False}  # `flattened` is not in OSS 7.17
    assert "flattened" not in repr(PROPERTIES)
    assert listing["extraction_version"] == {"type": "keyword"}  # the reprocess field stays


def test_shards_and_replicas_per_deployment() -> None:
    settings = template_body(Names(), "snapshots", Vocabulary.empty(), shards=3)["template"]["settings"]
    assert settings["number_of_shards"] == 3 and settings["auto_expand_replicas"] == "0-1"
    fixed = template_body(Names(), "listings", Vocabulary.empty(), shards=2, replicas=1)["template"]["settings"]
    assert fixed["number_of_shards"] == 2 and fixed["number_of_replicas"] == 1 and "auto_expand_replicas" not in fixed


def test_settings_reach_the_backend_without_contacting_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from index.es_backend import EsBackend

    monkeypatch.setenv("TRAWL_HOME", str(tmp_path))
    monkeypatch.setenv("TRAWL_INDEX_SHARDS", "4")
    monkeypatch.setenv("TRAWL_INDEX_BULK_THREADS", "1")
    monkeypatch.setenv("TRAWL_INDEX_WAIT_SHARDS", "all")
    backend = EsBackend.from_url("http://127.0.0.1:9", spool_dir=tmp_path / "spool")  # port 9: nothing listens
    assert backend.shards == 4 and backend.bulk == BulkOptions(threads=1, wait_for_active_shards="all")
    monkeypatch.delenv("TRAWL_INDEX_SHARDS")
    monkeypatch.delenv("TRAWL_INDEX_BULK_THREADS")
    monkeypatch.delenv("TRAWL_INDEX_WAIT_SHARDS")
    default = EsBackend.from_url("http://127.0.0.1:9", spool_dir=tmp_path / "spool")
    assert default.shards == 1 and default.bulk.threads == 2 and default.bulk.wait_for_active_shards == "1"
    backend.close()
    default.close()


def test_bulk_is_chunked_by_bytes_and_count_and_reports_every_failure() -> None:
    kwargs = helper_kwargs(BulkOptions())
    assert kwargs == {"chunk_size": 1000, "max_chunk_bytes": 8 * 1024 * 1024, "raise_on_error": False,
                      "raise_on_exception": True, "wait_for_active_shards": "1"}


def test_refresh_restore_plan() -> None:
    assert suspend_body() == {"index": {"refresh_interval": "-1"}}
    assert suspend_body("30s") == {"index": {"refresh_interval": "30s"}}  # a crawl dashboards still follow
    response = {
        "trawl-listings-v3": {"settings": {"index": {"refresh_interval": "30s"}}},
        "trawl-snapshots-v3-2025.01": {"settings": {}},
        "trawl-snapshots-v3-2025.02": {"settings": {}},
        "trawl-meta": {"settings": {}},
        "other-index": {"settings": {}},
        "trawl-bench-1-listings-v3": {"settings": {}},  # another deployment under a longer prefix
    }
    originals = current_refresh(response, "trawl")
    assert [e["index"] for e in originals] == ["trawl-listings-v3", "trawl-snapshots-v3-2025.01", "trawl-snapshots-v3-2025.02"]
    # unset comes back as null (the server default); a stray -1 is never "restored"
    plan = restore_bodies([*originals, {"index": "trawl-vendors-v3", "value": "-1"}])
    assert plan == [(["trawl-listings-v3"], {"index": {"refresh_interval": "30s"}}),
                    (["trawl-snapshots-v3-2025.01", "trawl-snapshots-v3-2025.02", "trawl-vendors-v3"],
                     {"index": {"refresh_interval": None}})]


def test_abandoned_bulk_owner_is_recognised() -> None:
    # a real process that has exited: its pid is free (or reused, which only delays the restore)
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead_pid = int(proc.stdout)

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    now = 1_750_000_000.0
    assert is_abandoned({"owner": f"here:{dead_pid}", "since": "2025-01-01T00:00:00Z"}, "here", alive, now) == (not alive(dead_pid))
    assert not is_abandoned({"owner": f"here:{os.getpid()}", "since": "2000-01-01T00:00:00Z"}, "here", alive, now)
    recent = "2025-06-15T14:00:00Z"  # 1_750_000_000 is 2025-06-15T15:06:40Z
    assert not is_abandoned({"owner": "elsewhere:1", "since": recent}, "here", alive, now)
    assert is_abandoned({"owner": "elsewhere:1", "since": recent}, "here", alive, now + BULK_LEASE_SECONDS)
    assert is_abandoned({"owner": "elsewhere:1", "since": "garbage"}, "here", alive, now)


def test_native_trend_request_and_rows() -> None:
    query = TrendQuery(metric="usd_per_unit", interval="week", group_by=["substance", "site"], substance="mephedrone")
    body = native_request(query, [{"term": {"site": "x"}}], after={"period": "2025-01-06"})
    agg = body["aggs"]["c"]
    sources = agg["composite"]["sources"]
    assert sources[0] == {"period": {"date_histogram": {"field": "crawled_at", "calendar_interval": "1w", "format": "yyyy-MM-dd"}}}
    assert sources[1:] == [{"g_substance": {"terms": {"field": "substance.lc", "missing_bucket": True}}},
                           {"g_site": {"terms": {"field": "site", "missing_bucket": True}}}]
    assert agg["composite"]["after"] == {"period": "2025-01-06"}
    assert agg["aggs"] == {"q": {"percentiles": {"field": "usd_per_unit", "percents": [25.0, 50.0, 75.0], "keyed": False,
                                                 "tdigest": {"compression": 200}}}}
    assert body["size"] == 0 and body["query"] == {"bool": {"filter": [{"term": {"site": "x"}}]}}
    month = native_request(TrendQuery(), [])["aggs"]["c"]["composite"]["sources"][0]
    assert month["period"]["date_histogram"]["calendar_interval"] == "1M"
    buckets = [
        {"key": {"period": "2025-01-13", "g_substance": "mephedrone", "g_site": "b"}, "doc_count": 3,
         "q": {"values": [{"key": 25.0, "value": 10.123456}, {"key": 50.0, "value": 12.0}, {"key": 75.0, "value": 14.5}]}},
        {"key": {"period": "2025-01-06", "g_substance": "mephedrone", "g_site": None}, "doc_count": 1,
         "q": {"values": [{"key": 25.0, "value": 9.0}, {"key": 50.0, "value": 9.0}, {"key": 75.0, "value": 9.0}]}},
    ]
    rows = native_rows(query, buckets)
    assert [(r.period, r.group, r.count, r.q1, r.median, r.q3) for r in rows] == [
        ("2025-01-06", {"substance": "mephedrone", "site": None}, 1, 9.0, 9.0, 9.0),
        ("2025-01-13", {"substance": "mephedrone", "site": "b"}, 3, 10.1235, 12.0, 14.5),
    ]


def test_quantile_method_and_tolerance() -> None:
    assert quantile_method(TrendQuery()) == "tdigest(compression=200)"
    assert quantile_method(TrendQuery(exact=True)) == "exact"
    assert quantile_method(TrendQuery(metric="listings")) == "exact"
    rng = random.Random(16)
    values = sorted(round(rng.lognormvariate(3, 0.6), 2) for _ in range(500))
    for p in (0.25, 0.5, 0.75):
        exact = quantile(values, p)
        assert within_tolerance(values, p, exact)
        assert within_tolerance(values, p, quantile(values, p + 0.009))  # inside the stated 1%
        assert not within_tolerance(values, p, quantile(values, p + 0.05))  # 5% off is caught
    assert within_tolerance([7.0], 0.5, 7.0) and not within_tolerance([7.0, 8.0], 0.5, 9.0)


def test_a_partial_answer_is_named_not_passed_off() -> None:
    from index.es_query import incomplete

    assert incomplete({"_shards": {"total": 3, "successful": 3, "failed": 0}, "hits": {}}) is None
    why = incomplete({"_shards": {"total": 3, "successful": 2, "failed": 1,
                                  "failures": [{"shard": 1, "reason": {"type": "no_shard_available_action_exception"}}]}})
    assert why is not None and why.startswith("1 of 3 shards failed (no_shard_available_action_exception)")
