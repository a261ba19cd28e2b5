"""Admin actions over real HTTP (uvicorn on 127.0.0.1): pause/resume a site and review/map
new-substance candidates.  Checked on what they leave behind: the gate pause file a real
`trawl crawl` then refuses to start on, the audit log (who, when, reason; never a token),
the review store, and the generated control list the real matcher then reads."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.audit import read_audit
from core.records import CandidateSubstance, Records
from dashboards.api import ApiSettings, create_app
from index import open_index
from index.api import IndexBackend
from tests.dashboards.test_api import ADMIN, READ, REPO, LiveServer

JSON = {"Content-Type": "application/json"}
TOKEN = "x-pvp"  # a candidate token no reference list knows


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("admin-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRAWL_HOME", str(home))
        for name in ("TRAWL_SITES_DIR", "TRAWL_INDEX_URL", "TRAWL_CONTROL_LISTS"):
            patch.delenv(name, raising=False)
        yield home


@pytest.fixture(scope="module")
def index(home: Path) -> Iterator[IndexBackend]:
    backend = open_index(f"sqlite:///{home / 'index.sqlite'}")
    backend.write(Records(candidates=[
        CandidateSubstance(token=TOKEN, first_seen="2026-11-01T00:00:00Z", last_seen="2026-11-02T00:00:00Z",
                           site="vortex", example_listing_ids=["vortex:1"], pattern="cathinone-like"),
        CandidateSubstance(token="zeta-blend", first_seen="2026-11-01T00:00:00Z", last_seen="2026-11-01T00:00:00Z",
                           site="vortex", pattern="cathinone-like")]))
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def api(index: IndexBackend, home: Path) -> Iterator[LiveServer]:
    server = LiveServer(create_app(ApiSettings(admin_token=ADMIN, read_token=READ), index=index))
    yield server
    server.stop()


def post(api: LiveServer, path: str, body: object, token: str | None = ADMIN,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    status, _, raw = api.request("POST", path, token=token, body=json.dumps(body).encode(), headers=headers or JSON)
    return status, json.loads(raw or b"{}")


def test_admin_pauses_then_resumes_a_site_and_crawl_refuses_while_paused(api: LiveServer, home: Path) -> None:
    status, paused = post(api, "/api/sites/vortex/pause", {"reason": "market under DDoS"})
    assert status == 200 and paused["paused"] == "admin: market under DDoS"
    sites = {s["name"]: s for s in api.json("/api/sites")["sites"]}
    assert sites["vortex"]["paused"] == "admin: market under DDoS" and sites["nightshade"]["paused"] is None
    assert post(api, "/api/sites/vortex/pause", {"reason": "again"})[0] == 409

    # the pause is the gates' pause: a real `trawl crawl` refuses to start, naming the reason
    env = {**os.environ, "TRAWL_HOME": str(home), "PYTHONPATH": str(REPO)}
    crawl = subprocess.run([sys.executable, "-m", "trawl.cli", "crawl", "vortex"], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=120)
    assert crawl.returncode != 0 and "paused: admin: market under DDoS" in crawl.stdout + crawl.stderr
    assert not (home / "runs").exists() or not any((home / "runs").iterdir())  # no run was started

    status, resumed = post(api, "/api/sites/vortex/resume", {"reason": "DDoS over"})
    assert status == 200 and resumed["paused"] is None
    assert post(api, "/api/sites/vortex/resume", {})[0] == 409  # not paused any more
    trail = [r for r in read_audit(home / "audit.jsonl") if r["target"] == "vortex"]
    assert [(r["action"], r["who"], r["via"], r["reason"]) for r in trail] == [
        ("site.pause", "admin", "api", "market under DDoS"), ("site.resume", "admin", "api", "DDoS over")]
    assert trail[1]["was"] == "admin: market under DDoS" and trail[0]["time"].endswith("Z")
    assert trail[0]["client"] == "127.0.0.1"
    text = (home / "audit.jsonl").read_text()
    assert ADMIN not in text and READ not in text
    assert oct((home / "audit.jsonl").stat().st_mode & 0o777) == "0o600"


def test_cli_pause_is_seen_by_the_api_and_unpause_clears_it(api: LiveServer, home: Path) -> None:
    from click.testing import CliRunner

    from core.errors import TrawlError
    from trawl.cli import cli

    done = CliRunner().invoke(cli, ["sites", "pause", "nightshade", "--reason", "new captcha"])
    assert done.exit_code == 0, done.output
    assert {s["name"]: s["paused"] for s in api.json("/api/sites")["sites"]}["nightshade"] == "admin: new captcha"
    again = CliRunner().invoke(cli, ["sites", "pause", "nightshade", "--reason", "x"])
    assert isinstance(again.exception, TrawlError) and "already paused" in str(again.exception)
    assert CliRunner().invoke(cli, ["sites", "unpause", "nightshade"]).exit_code == 0
    assert {s["name"]: s["paused"] for s in api.json("/api/sites")["sites"]}["nightshade"] is None


def test_review_and_map_candidates_are_stored_audited_and_matched(api: LiveServer, home: Path) -> None:
    status, reviewed = post(api, "/api/candidates/zeta-blend/review", {"status": "dismissed", "note": "a blend name"})
    assert status == 200 and reviewed["status"] == "dismissed" and reviewed["who"] == "admin"
    status, mapped = post(api, f"/api/candidates/{TOKEN}/map", {"substance": "alpha-pvp", "note": "vendor's spelling"})
    assert status == 200, mapped
    listed = api.json("/api/candidates")
    assert listed["reviews"]["zeta-blend"]["note"] == "a blend name"
    canonical = listed["reviews"][TOKEN]["substance"]
    assert listed["reviews"][TOKEN]["status"] == "mapped" and canonical and listed["reviews"][TOKEN]["at"]
    stored = json.loads((home / "candidate-reviews.json").read_text())
    assert set(stored) == {TOKEN, "zeta-blend"} and stored[TOKEN]["substance"] == canonical
    actions = [(r["action"], r["target"]) for r in read_audit(home / "audit.jsonl") if r["action"].startswith("cand")]
    assert actions == [("candidate.dismissed", "zeta-blend"), ("candidate.map", TOKEN)]

    # the generated list is a valid control list, loaded by default from $TRAWL_HOME/lists: the real
    # matcher reads the token as the substance with it, and not from the shipped lists alone
    from enrich.lists import DATA_DIR, check_file, default_paths, load_reference_lists
    from enrich.matcher import match

    assert check_file(home / "lists" / "candidate-mappings.yaml")[1] == []  # what `trawl lists check` runs
    text = f"{TOKEN} crystals 5g"
    assert all(m.canonical != canonical for m in match(text, lists=load_reference_lists([DATA_DIR])))
    assert home / "lists" in default_paths()
    assert canonical in [m.canonical for m in match(text, lists=load_reference_lists(default_paths()))]


def test_mapping_to_an_unknown_substance_is_422_naming_it(api: LiveServer) -> None:
    status, body = post(api, f"/api/candidates/{TOKEN}/map", {"substance": "unobtainium"})
    assert status == 422 and body["detail"][0]["loc"] == ["body", "substance"]  # type: ignore[index]
    assert "unobtainium" in body["detail"][0]["msg"]  # type: ignore[index]


@pytest.mark.parametrize("path, body, field", [
    ("/api/sites/vortex/pause", {}, "reason"), ("/api/sites/vortex/pause", {"reason": ""}, "reason"),
    ("/api/sites/vortex/pause", {"reason": "x" * 501}, "reason"),
    (f"/api/candidates/{TOKEN}/review", {"status": "approved"}, "status"),
    (f"/api/candidates/{TOKEN}/map", {}, "substance"), ("/api/sites/Bad%20Name/pause", {"reason": "x"}, "name"),
])
def test_bad_bodies_are_422_naming_the_field(api: LiveServer, path: str, body: object, field: str) -> None:
    status, answer = post(api, path, body)
    assert status == 422, answer
    assert any(e["loc"][-1] == field for e in answer["detail"]), answer  # type: ignore[attr-defined,index]


def test_unknown_targets_are_404_and_non_json_is_415(api: LiveServer) -> None:
    assert post(api, "/api/sites/nosuchsite/pause", {"reason": "x"})[0] == 404
    assert post(api, "/api/candidates/not-a-candidate/review", {"status": "reviewed"})[0] == 404
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, _ = api.request("POST", "/api/sites/vortex/pause", token=ADMIN, body=b"reason=x", headers=form)
    assert status == 415


ADMIN_ROUTES = [("/api/sites/vortex/pause", {"reason": "x"}), ("/api/sites/vortex/resume", {}),
                (f"/api/candidates/{TOKEN}/review", {"status": "reviewed"}),
                (f"/api/candidates/{TOKEN}/map", {"substance": "mephedrone"})]


@pytest.mark.parametrize("path, body", ADMIN_ROUTES)
def test_admin_routes_are_401_without_token_and_403_for_analysts(api: LiveServer, home: Path, path: str,
                                                                 body: object) -> None:
    before = read_audit(home / "audit.jsonl")
    assert post(api, path, body, token=None)[0] == 401
    assert post(api, path, body, token="wrong-token-0123456789")[0] == 401
    status, answer = post(api, path, body, token=READ)
    assert status == 403 and "admin" in str(answer["detail"])
    assert read_audit(home / "audit.jsonl") == before  # nothing happened, nothing logged
    assert all(s["paused"] is None for s in api.json("/api/sites")["sites"])
