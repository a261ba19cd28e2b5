"""One new-substance alert per token, however often a crawl is killed and resumed.

The listing goes through the real pipeline (validate, unchanged, parse, enrich, store) into
a real SQLite index under one $TRAWL_HOME.  A run "killed" before its batch is written is a
pipeline dropped without flush: exactly what SIGKILL leaves on disk
(the alert line, but no candidate in the index).  Resuming three times must not alert
the token again, and the run that finally writes the batch must not either."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.alerts import JsonlSink, read_alerts
from core.items import EvidenceRef, Fetch, RawListing
from core.records import CandidateSubstance
from crawler.engine.frontier import Frontier, page_key
from enrich.alerts import NEW_SUBSTANCE, alert_new_candidates
from index import open_index
from pipeline import BatchHooks, Pipeline, Tally

MIRROR = "http://lk2r3qhkh2nlbtkwndg45jtuowgav2t4dbaj4fknxqomeu5nt2hai4qd.onion"
TOKEN = "3-cmpvp"  # a pyrrolidinophenone-shaped name on no reference list


def raw_listing(native_id: int) -> RawListing:
    url = f"{MIRROR}/listing/{native_id}"
    body = f"<html><body>{native_id}</body></html>".encode()
    evidence = EvidenceRef(warc_file="warc/run-1.warc.gz", warc_offset=1000 * native_id,
                           payload_sha256=hashlib.sha256(body).hexdigest())
    return RawListing(
        site="nightshade", market_kind="darknet-market", url=url,
        fields={"native_id": str(native_id), "title": f"3-CMPVP crystal {native_id}g", "vendor": "DutchGold",
                "vendor_url": "/vendor/DutchGold", "price": "$40.00", "ships_from": "Netherlands",
                "ships_to": "Worldwide", "description": "New research chemical 3-CMPVP, lab tested."},
        fetch=Fetch(key=page_key(url), mirror=MIRROR, proxy="socks5h://127.0.0.1:9050", evidence=evidence,
                    page_sha256=hashlib.sha256(body).hexdigest()),
    )


def run_segment(home: Path, run: int, *, flush: bool, listings: tuple[int, ...] = (1, 2)) -> Tally:
    """One crawl process's worth of the pipeline over the shared home; flush=False is a kill before
    the write.  Returns the segment's counters."""
    frontier = Frontier(home / "frontier.sqlite")
    index, stats = open_index(), Tally()
    pipeline = Pipeline(index, clock=f"2026-11-2{run}T12:00:00Z", run_id="run-1", stats=stats, batch_size=50,
                        batch_seconds=3600.0, hooks=BatchHooks(after_write=frontier.done_many))
    try:
        for native_id in listings:  # each carries the same token
            raw = raw_listing(native_id)
            frontier.add(raw.fetch.key, raw.kind)
            frontier.store_body(raw.fetch.key, raw.url, b"<html></html>", mirror=MIRROR)
            result = pipeline.handle(raw)
            assert [c.token for c in result.records.candidates] == [TOKEN]
        if flush:
            pipeline.flush()
    finally:
        index.close()  # without flush: the process dies, its batch is lost
        frontier.close()
    return stats


def alert_tokens(home: Path) -> list[str]:
    return [e.data["token"] for e in read_alerts(home / "alerts.jsonl", kind=NEW_SUBSTANCE)]


def test_killed_and_resumed_runs_alert_a_token_once(trawl_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRAWL_INDEX_URL", raising=False)
    for run in (1, 2, 3):
        run_segment(trawl_home, run, flush=False)
        with open_index() as index:
            assert index.candidates() == []  # the kill lost the batch: the index does not know the token
        assert alert_tokens(trawl_home) == [TOKEN]
    last = run_segment(trawl_home, 4, flush=True)
    with open_index() as index:
        assert [c.token for c in index.candidates()] == [TOKEN]
    assert alert_tokens(trawl_home) == [TOKEN]
    assert not last.get_value("trawl/alerts/new_substance")  # nothing new was raised by the final run
    # a later, normal crawl that sees the token on a new listing stays quiet as well
    run_segment(trawl_home, 5, flush=True, listings=(3,))
    assert alert_tokens(trawl_home) == [TOKEN]


def test_a_torn_last_line_neither_hides_nor_swallows_an_alert(tmp_path: Path) -> None:
    log = tmp_path / "alerts.jsonl"
    log.write_bytes(b'{"kind": "new-substance", "data": {"token": "2c-z"')  # writer killed mid-line
    sink = JsonlSink(log)
    seen = "2026-11-20T10:00:00Z"
    candidate = CandidateSubstance(token="4-xx-pvp", first_seen=seen, last_seen=seen, site="nightshade",
                                   example_listing_ids=["nightshade:1"], pattern="pyrrolidinophenone")
    assert len(alert_new_candidates([candidate], sink=sink)) == 1
    assert alert_new_candidates([candidate], sink=JsonlSink(log)) == []
    lines = log.read_bytes().split(b"\n")
    assert json.loads(lines[1])["data"]["token"] == "4-xx-pvp" and lines[2] == b""


def test_concurrent_crawls_raise_one_alert(tmp_path: Path) -> None:
    """Four processes alert the same token at the same moment: the log lock lets one through."""
    log = tmp_path / "alerts.jsonl"
    go = tmp_path / "go"
    script = f"""
import os, sys, time
from core.alerts import JsonlSink
from enrich.alerts import alert_new_candidates
from core.records import CandidateSubstance
c = CandidateSubstance(token="5-race-pvp", first_seen="2026-11-20T10:00:00Z", last_seen="2026-11-20T10:00:00Z",
                       site=sys.argv[1], example_listing_ids=[], pattern="pyrrolidinophenone")
deadline = time.monotonic() + 60
while not os.path.exists({str(go)!r}) and time.monotonic() < deadline:
    time.sleep(0.001)
print(len(alert_new_candidates([c], sink=JsonlSink({str(log)!r}))))
"""
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    workers = [subprocess.Popen([sys.executable, "-c", script, f"site{i}"], env=env, stdout=subprocess.PIPE, text=True)
               for i in range(4)]
    go.touch()
    raised = [int(w.communicate(timeout=60)[0]) for w in workers]
    assert sorted(raised) == [0, 0, 0, 1]
    assert [e.data["token"] for e in read_alerts(log)] == ["5-race-pvp"]
