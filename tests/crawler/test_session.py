"""Sessions: credentials sources, cookie import (Netscape/JSON) with 0600 files, pause/alerts,
and the persistent frontier's bookkeeping."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import TrawlError
from crawler.engine import session
from crawler.engine.frontier import Frontier, StoredPage, page_key
from crawler.sitedef.siteconfig import LoginConfig

LOGIN = LoginConfig(url="/login", username_env="T_USER", password_env="T_PASS")


def test_credentials_from_env_then_secrets_files(trawl_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert session.load_credentials("shop", LOGIN) is None
    secrets = trawl_home / "secrets"
    secrets.mkdir()
    (secrets / "shop.yaml").write_text("username: fromfile\npassword: s3cret-file\n")
    creds = session.load_credentials("shop", LOGIN)
    assert creds is not None and creds.username == "fromfile" and "s3cret" not in repr(creds)
    (secrets / "shop.yaml").unlink()
    shared = tmp_path / "all.yaml"
    shared.write_text("shop:\n  username: shared\n  password: pw2\n")
    monkeypatch.setenv("TRAWL_SECRETS_FILE", str(shared))
    assert session.load_credentials("shop", LOGIN).username == "shared"  # type: ignore[union-attr]
    monkeypatch.setenv("T_USER", "envuser")
    monkeypatch.setenv("T_PASS", "envpass")
    assert session.load_credentials("shop", LOGIN) == session.Credentials("envuser", "envpass")


def test_import_netscape_and_json_cookies(trawl_home: Path, tmp_path: Path) -> None:
    txt = tmp_path / "cookies.txt"
    txt.write_text("# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tcf_clearance\tsolved-by-human\n"
                   "example.onion\tTRUE\t/\tFALSE\t4102444800\tsession\tabc\n")
    assert session.import_cookies("shop", txt) == 2
    data = json.loads(session.session_file("shop").read_text())
    assert {c["name"] for c in data["cookies"]} == {"cf_clearance", "session"}
    assert session.session_file("shop").stat().st_mode & 0o777 == 0o600
    assert {c.name for c in session.load_cookies("shop")} == {"cf_clearance", "session"}  # session cookie kept
    js = tmp_path / "cookies.json"
    js.write_text(json.dumps([{"name": "lang", "value": "en", "domain": "127.0.0.1", "path": "/"}]))
    assert session.import_cookies("shop", js) == 1
    assert {c.name for c in session.load_cookies("shop")} == {"cf_clearance", "session", "lang"}
    bad = tmp_path / "bad.json"
    bad.write_text("[{\"value\": 1}]")
    with pytest.raises(TrawlError, match=r"cookies\[0\]"):
        session.import_cookies("shop", bad)


def test_pause_unpause_and_alert(trawl_home: Path) -> None:
    session.pause_site("shop", "captcha gate 'captcha' at http://x/", url="http://x/", run_id="r1")
    assert session.paused_reason("shop") == "captcha gate 'captcha' at http://x/"
    alerts = [json.loads(line) for line in (trawl_home / "alerts.jsonl").read_text().splitlines()]
    assert alerts[-1]["kind"] == "site_paused" and alerts[-1].get("site", alerts[-1].get("data", {}).get("site")) == "shop"
    assert session.unpause_site("shop") and session.paused_reason("shop") is None


def test_frontier_states_and_keys(tmp_path: Path) -> None:
    assert page_key("http://a.onion/c/x?sort=price&page=2") == page_key("http://b.onion/c/x?page=2&sort=price")
    frontier = Frontier(tmp_path / "f.sqlite")
    assert frontier.add("/a", "nav") and not frontier.add("/a", "nav")
    frontier.add("/l/1", "listing")
    frontier.store_body("/l/1", "http://m/l/1", b"<html>1</html>")
    frontier.done("/a")
    frontier.close()
    reopened = Frontier(tmp_path / "f.sqlite")  # as after a SIGKILL: state is in the file
    assert [e.key for e in reopened.unfinished()] == ["/l/1"]
    assert reopened.stored_page("/l/1") == StoredPage("http://m/l/1", b"<html>1</html>")
    reopened.done("/l/1")
    assert reopened.stored_page("/l/1") is None and reopened.counts() == {"done": 2}


def test_frontier_written_before_references_opens_and_keeps_its_bodies(tmp_path: Path) -> None:
    """A run killed under an older trawl stored bodies, with no body_ref column: resumable."""
    import sqlite3

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript("""
            CREATE TABLE frontier (key TEXT PRIMARY KEY, kind TEXT NOT NULL, depth INTEGER NOT NULL DEFAULT 0,
                status TEXT NOT NULL, meta TEXT NOT NULL DEFAULT '{}', body BLOB, body_url TEXT, mirror TEXT,
                error TEXT, seq INTEGER NOT NULL);
            INSERT INTO frontier VALUES ('/l/1', 'listing', 1, 'fetched', '{}', x'3c68746d6c3e', 'http://m/l/1', '', NULL, 1);
            INSERT INTO frontier VALUES ('/l/2', 'listing', 1, 'pending', '{}', NULL, NULL, NULL, NULL, 2);
        """)
    frontier = Frontier(path)
    assert frontier.stored_page("/l/1") == StoredPage("http://m/l/1", b"<html>")
    ref = {"run_id": "r", "warc_file": "runs/r/warc/r-00000.warc.gz", "warc_offset": 120}
    frontier.store_body("/l/2", "http://m/l/2", b"<html>2</html>", ref=ref)
    stored = frontier.stored_page("/l/2")
    assert stored is not None and stored.body is None and stored.ref == ref and stored.url == "http://m/l/2"
    frontier.forget_body("/l/2")  # unusable: pending again, nothing kept
    assert frontier.stored_page("/l/2") is None and frontier.status("/l/2") == "pending"


def test_session_cookies_middleware_sends_keeps_and_saves_what_responses_set(trawl_home: Path) -> None:
    """Real Scrapy requests and responses through the jar: an empty jar adds no Cookie header (and
    drops a stale one), a Set-Cookie is sent back and saved, a response without one leaves the
    session file alone, an expiring Set-Cookie removes the cookie and is saved."""
    from scrapy.http import HtmlResponse, Request

    site, url = "shop", "http://shop.onion/listing/1"
    middleware = session.SessionCookiesMiddleware(site)
    fresh = Request(url, headers={"Cookie": "stale=1"})
    middleware.process_request(fresh)
    assert b"Cookie" not in fresh.headers
    assert not session.session_file(site).exists()

    def answer(request: Request, set_cookie: str | None) -> None:
        headers = {"Content-Type": "text/html; charset=utf-8"} | ({"Set-Cookie": set_cookie} if set_cookie else {})
        middleware.process_response(request, HtmlResponse(request.url, body=b"<p>x</p>", headers=headers, request=request))

    answer(fresh, "sid=abc; Path=/")
    assert [c.name for c in session.load_cookies(site)] == ["sid"]
    saved = session.session_file(site).read_text()
    following = Request("http://shop.onion/listing/2")
    middleware.process_request(following)
    assert following.headers.get(b"Cookie") == b"sid=abc"
    answer(following, None)
    assert session.session_file(site).read_text() == saved  # nothing changed: not rewritten
    answer(following, "sid=gone; Path=/; Max-Age=0")
    assert session.load_cookies(site) == []
    last = Request("http://shop.onion/listing/3", headers={"Cookie": "sid=abc"})
    middleware.process_request(last)
    assert b"Cookie" not in last.headers
    kept = Request("http://shop.onion/listing/4", meta={"dont_merge_cookies": True}, headers={"Cookie": "own=1"})
    middleware.process_request(kept)
    assert kept.headers.get(b"Cookie") == b"own=1"
