"""Early warning: unknown substance-like tokens become candidates and raise one alert each."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.alerts import MemorySink, read_alerts
from core.records import CandidateSubstance, Records
from enrich import new_substance_candidates
from enrich.alerts import alert_new_candidates
from trawl.enrich_cli import alerts as alerts_cmd


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("New 3-CMPVP crystals 5g", [("3-cmpvp", "pyrrolidinophenone")]),
        ("fluetizolam 2mg pellets", [("fluetizolam", "azolam")]),
        ("fluoronitazene 1g", [("fluoronitazene", "nitazene")]),
        ("p-methylfentanyl 100mg", [("p-methylfentanyl", "fentanyl")]),
        ("2C-Z research chemical", [("2c-z", "2c")]),
        ("1S-LSD blotters", [("1s-lsd", "lsd-prodrug")]),
        ("ADB-6F-PINACA 1g", [("adb-6f-pinaca", "cannabinoid")]),
        ("3-Br-PCP 1g", [("3-br-pcp", "arylcyclohexylamine")]),  # 3-Cl-PCP is listed now (issue 14)
        ("3-FEA 1g", [("3-fea", "amphetamine-code")]),
    ],
)
def test_unknown_tokens_are_candidates(text: str, tokens: list[tuple[str, str]]) -> None:
    found = new_substance_candidates(text)
    assert [(c.token, c.pattern) for c in found] == tokens
    start, end = found[0].span
    assert text[start:end].lower() == found[0].token


@pytest.mark.parametrize("text", ["3-MMC 4-MMC 3-CMC", "etizolam clonazolam bromazolam", "isotonitazene metonitazene",
                                  "carfentanil furanylfentanyl", "2C-B 2C-E 2C-B-FLY", "1P-LSD 1cP-LSD", "MDMB-4en-PINACA",
                                  "alpha-PVP 4F-PVP", "pvp server 2v2", "price 20 usd, 5g"])
def test_known_names_and_plain_text_are_not_candidates(text: str) -> None:
    assert new_substance_candidates(text) == []


def _cand(token: str, first_seen: str = "2026-11-20T10:00:00Z") -> CandidateSubstance:
    return CandidateSubstance(token=token, first_seen=first_seen, last_seen=first_seen, site="nightshade",
                              example_listing_ids=["nightshade:42"], pattern="pyrrolidinophenone")


def test_alert_only_for_new_tokens_and_jsonl_default(trawl_home: Path) -> None:
    sink = MemorySink()
    events = alert_new_candidates([_cand("3-cmpvp"), _cand("3-cmpvp"), _cand("2c-z")], known_tokens={"2c-z"}, sink=sink)
    assert [e.data["token"] for e in events] == ["3-cmpvp"] and sink.events == events
    alert_new_candidates([_cand("4-xx-pvp")])  # default sink: $TRAWL_HOME/alerts.jsonl
    lines = (trawl_home / "alerts.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["data"]["token"] == "4-xx-pvp"
    assert [e.data["token"] for e in read_alerts(kind="new-substance")] == ["4-xx-pvp"]
    assert read_alerts(since="2027-01-01") == []


def test_cli_new_substances_reads_the_index(trawl_home: Path) -> None:
    from index import open_index

    url = f"sqlite://{trawl_home / 'index.sqlite'}"
    with open_index(url) as backend:
        backend.write(Records(candidates=[_cand("3-cmpvp", "2026-11-01T00:00:00Z"), _cand("fluetizolam", "2026-11-21T00:00:00Z")]))
    result = CliRunner().invoke(alerts_cmd, ["new-substances", "--since", "2026-11-10", "--json", "--index-url", url])
    assert result.exit_code == 0, result.output
    assert [c["token"] for c in json.loads(result.output)] == ["fluetizolam"]
    text = CliRunner().invoke(alerts_cmd, ["new-substances", "--index-url", url])
    assert "3-cmpvp" in text.output and "fluetizolam" in text.output


def test_candidate_records_for_pipeline() -> None:
    from core.records import Listing
    from enrich import candidate_records

    listing = Listing(listing_id="vortex:9", site="vortex", market_kind="darknet-market", url="", title="3-CMPVP 1g",
                      description="also fluetizolam and 3-MMC", crawled_at="2026-11-23T10:00:00Z")
    records = candidate_records(listing)
    assert [(r.token, r.pattern, r.site, r.first_seen, r.example_listing_ids) for r in records] == [
        ("3-cmpvp", "pyrrolidinophenone", "vortex", "2026-11-23T10:00:00Z", ["vortex:9"]),
        ("fluetizolam", "azolam", "vortex", "2026-11-23T10:00:00Z", ["vortex:9"]),
    ]


def test_flat_records_from_other_stages_are_read(trawl_home: Path) -> None:
    from core.alerts import append_alert

    (trawl_home / "alerts.jsonl").write_text(json.dumps({"time": "2026-11-23T09:00:00+00:00", "kind": "site_paused",
                                                         "site": "vortex", "message": "vortex paused: captcha"}) + "\n")
    append_alert({"kind": "site_paused", "site": "nightshade", "message": "nightshade paused: 403"})
    events = read_alerts(kind="site_paused")
    assert [(e.summary, e.data["site"]) for e in events] == [("vortex paused: captcha", "vortex"), ("nightshade paused: 403", "nightshade")]


# issue 14, class 8: the analogue families, each as an unlisted made-up member (so the rows stay
# candidates as the lists grow) and the pattern that catches it
FAMILIES = [
    ("27Q-NBOMe blotters", "nbome"),
    ("29Z-NBOH 1mg", "nbome"),
    ("MDMB-7XQ-PINACA 1g", "cannabinoid"),
    ("QRX-FUBINACA 5g", "cannabinoid"),
    ("ZX-INACA powder", "cannabinoid"),
    ("JWH-999 herbal blend", "cannabinoid-code"),
    ("quinonitazene 100mg", "nitazene"),
    ("zorbazolam pellets", "azolam"),
    ("qubrazepam 5mg", "azepam"),
    ("2C-QZ 10 pills", "2c"),
    ("QXE ketamine-like, qoxetamine 1g", "arylcyclohexylamine"),
    ("trimethylqylone 10g", "cathinone"),
    ("4-QMC crystals", "cathinone-code"),
]


@pytest.mark.parametrize(("text", "pattern"), FAMILIES, ids=[t for t, _ in FAMILIES])
def test_analogue_families_are_candidates(text: str, pattern: str) -> None:
    found = new_substance_candidates(text)
    assert pattern in [c.pattern for c in found], found


@pytest.mark.parametrize("text", ["5xfentanyl 10g", "alprozolam 2mg", "non-fentanyl pills", "10x-etizolam",
                                  "Bromazolam 1mg analog of etizolam", "25b 25c NBOMe mix"])
def test_noise_is_no_candidate(text: str) -> None:
    assert new_substance_candidates(text) == []


def test_matcher_and_early_warning_agree() -> None:
    from enrich import analyse

    for text in ("5F-AB-PINACA 1g", "3-Cl-PCP 1g", "N-desethyl-isotonitazene 1g", "2C-B-FLY 10 pills", "3D-MXE 1g"):
        result = analyse(text)
        tokens = {c.token for c in result.candidates}
        assert tokens == {c.token for c in new_substance_candidates(text)}
        for cand in result.candidates:  # no list match inside a candidate, ever
            assert not any(cand.span[0] <= m.span[0] and m.span[1] <= cand.span[1] for m in result.matches), text
