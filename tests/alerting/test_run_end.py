"""End-of-run alerts: run health per state change, and price moves of watched substances
computed from the snapshots of a real SQLite index."""
from __future__ import annotations

from pathlib import Path

from core.alerts import PRICE_MOVE, RUN_DEGRADED, RUN_RECOVERED, JsonlSink, read_alerts
from core.records import Listing, Records, SubstanceRef, snapshot_of
from core.vocabulary import Vocabulary
from index.api import IndexBackend
from index.sqlite_backend import SqliteBackend
from pipeline.runalerts import alert_run_end
from pipeline.watch import load_watch_rules
from tests.alerting.receivers import receiver
from tests.alerting.test_delivery import delivery, dispatcher, webhook

VOCAB = Vocabulary.from_groups({"ketamine": ["ket"], "cocaine": ["coke"]})


def offer(site: str, n: int, substance: str, usd_per_unit: float, when: str) -> Listing:
    return Listing(listing_id=f"{site}:{substance}:{n}", site=site, market_kind="darknet-market",
                   url=f"http://{site}.onion/{n}", title=f"{substance} {n}",
                   substances=[SubstanceRef(name=substance)], quantity_amount=1, quantity_unit="g",
                   usd_per_unit=usd_per_unit, crawled_at=when, first_seen=when, last_seen=when)


def store(index: IndexBackend, site: str, when: str, prices: dict[str, list[float]]) -> None:
    listings = [offer(site, n, substance, price, when)
                for substance, values in prices.items() for n, price in enumerate(values)]
    index.write(Records(listings=listings, snapshots=[snapshot_of(item, f"run-{when}") for item in listings]))


def test_price_moves_of_watched_substances_per_market(tmp_path: Path) -> None:
    rules_file = tmp_path / "watch.yaml"
    rules_file.write_text("watch:\n  price_moves:\n    substances: [ket]\n    threshold_pct: 30\n"
                          "    min_listings: 3\n", encoding="utf-8")
    rules = load_watch_rules(rules_file, VOCAB)
    sink = JsonlSink(tmp_path / "alerts.jsonl")
    index_path = tmp_path / "index.sqlite"
    with SqliteBackend(index_path) as index:
        store(index, "vortex", "2026-11-01T00:00Z", {"ketamine": [20, 22, 24], "cocaine": [80, 80, 80]})
        store(index, "nightshade", "2026-11-01T00:00Z", {"ketamine": [20, 20, 20]})
        store(index, "vortex", "2026-11-02T00:00Z", {"ketamine": [30, 33, 36], "cocaine": [200, 200, 200]})
        store(index, "nightshade", "2026-11-02T00:00Z", {"ketamine": [21, 21, 21]})  # +5%: below threshold

    record = {"site": "vortex", "status": "finished", "run_id": "r2"}
    first = alert_run_end(record, sink=sink, rules=rules, open_index=lambda: SqliteBackend(index_path))
    again = alert_run_end(record, sink=sink, rules=rules, open_index=lambda: SqliteBackend(index_path))
    other = alert_run_end({**record, "site": "nightshade"}, sink=sink, rules=rules,
                          open_index=lambda: SqliteBackend(index_path))

    [move] = read_alerts(tmp_path / "alerts.jsonl", kind=PRICE_MOVE)
    assert (len(first), again, other) == (1, [], [])  # cocaine is not watched; nightshade moved 5%
    assert (move.data["substance"], move.data["site"], move.data["unit"]) == ("ket", "vortex", "g")
    assert (move.data["previous_median"], move.data["median"], move.data["change_pct"]) == (22, 33, 50.0)
    assert move.data["period"] == "2026-11-02T00:00:00Z"


def test_degraded_runs_alert_once_per_change_of_state(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path / "alerts.jsonl")
    none = load_watch_rules(tmp_path / "absent.yaml")
    for run, status in enumerate(["finished", "degraded", "degraded", "degraded", "finished", "finished"]):
        alert_run_end({"site": "vortex", "status": status, "run_id": f"r{run}",
                       "degraded": "index unavailable: 12 records spooled"}, sink=sink, rules=none)

    logged = [a.kind for a in read_alerts(tmp_path / "alerts.jsonl")]
    assert logged == [RUN_DEGRADED] * 3 + [RUN_RECOVERED]

    for hook in receiver():
        report = dispatcher(tmp_path, delivery(tmp_path, webhook(hook.url))).deliver_once()
        assert [r.json()["kind"] for r in hook.requests] == [RUN_DEGRADED, RUN_RECOVERED]
        assert (report.delivered, report.suppressed) == (2, 2)
        assert "12 records spooled" in hook.requests[0].json()["summary"]
