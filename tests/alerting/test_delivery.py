"""The dispatcher against real loopback receivers: HMAC signatures, retries with backoff,
dead letters, a cursor that survives restarts, one alert per state change, digests,
Slack/Matrix/MISP payloads, and e-mail through a real SMTP server with STARTTLS."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

from core.alerts import AlertEvent, JsonlSink
from tests.alerting.receivers import Receiver, SmtpServer, receiver, smtp_server
from trawl.alerting.config import ChannelConfig, DeliveryConfig
from trawl.alerting.dispatcher import Dispatcher

SECRET = "hook-secret-7f3a"
TIME = "2026-11-30T03:00:00Z"


@pytest.fixture
def hook() -> Iterator[Receiver]:
    yield from receiver()


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    yield from smtp_server(tmp_path, "trawl", "mail-pass-93kd")


def webhook(url: str, *, fmt: str = "json", kinds: tuple[str, ...] = ()) -> ChannelConfig:
    return ChannelConfig("ops", "webhook", {"url": url, "format": fmt}, secret=SECRET, kinds=kinds)


def delivery(tmp_path: Path, *channels: ChannelConfig, retries: int = 2, digest_after: int = 0) -> DeliveryConfig:
    return DeliveryConfig(retries=retries, backoff_seconds=0.5, max_backoff_seconds=1.5, timeout_seconds=5,
                          dead_letter=tmp_path / "dead.jsonl", digest_after=digest_after,
                          digest_window_seconds=3600, channels={c.name: c for c in channels})


class Clock:
    def __init__(self) -> None:
        self.slept: list[float] = []
        self.now = datetime.fromisoformat(TIME.replace("Z", "+00:00")).timestamp() + 600

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def dispatcher(tmp_path: Path, config: DeliveryConfig, clock: Clock | None = None) -> Dispatcher:
    clock = clock or Clock()
    return Dispatcher(config, log=tmp_path / "alerts.jsonl", state_dir=tmp_path / "state", sleep=clock.sleep,
                      now=lambda: clock.now)


def log(tmp_path: Path, kind: str, summary: str, **data: Any) -> None:
    JsonlSink(tmp_path / "alerts.jsonl").emit(AlertEvent(kind, data.pop("time", TIME), summary, data))


def signature_ok(request: Any) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(request.headers["X-Trawl-Signature"], expected)


def test_signed_delivery_resumes_from_its_cursor_across_restarts(tmp_path: Path, hook: Receiver) -> None:
    config = delivery(tmp_path, webhook(hook.url))
    log(tmp_path, "new-substance", "new token 'x-pvp'", token="x-pvp")
    log(tmp_path, "site_paused", "vortex paused: captcha", site="vortex")

    first = dispatcher(tmp_path, config).deliver_once()
    again = dispatcher(tmp_path, config).deliver_once()  # a restarted dispatcher: nothing twice
    log(tmp_path, "watch_listing", "new listing", listing_id="vortex:1", dedupe_key="w:vortex:1:h")
    third = dispatcher(tmp_path, config).deliver_once()

    assert (first.delivered, again.read, again.delivered, third.delivered) == (2, 0, 0, 1)
    assert [r.json()["kind"] for r in hook.requests] == ["new-substance", "site_paused", "watch_listing"]
    assert all(signature_ok(r) for r in hook.requests)
    assert hook.requests[1].json()["data"]["site"] == "vortex"
    assert len({r.headers["X-Trawl-Delivery"] for r in hook.requests}) == 3
    # a body changed in transit fails the check
    tampered = type(hook.requests[0])(hook.requests[0].path, hook.requests[0].headers, hook.requests[0].body + b" ")
    assert not signature_ok(tampered)


def test_two_failures_then_success_is_delivered_once_with_backoff(tmp_path: Path, hook: Receiver) -> None:
    hook.statuses = [500, 500]
    clock = Clock()
    log(tmp_path, "market_down", "vortex is down", site="vortex")

    report = dispatcher(tmp_path, delivery(tmp_path, webhook(hook.url), retries=3), clock).deliver_once()

    assert [r.json()["kind"] for r in hook.requests] == ["market_down"] * 3
    assert len({r.headers["X-Trawl-Delivery"] for r in hook.requests}) == 1
    assert (report.delivered, report.dead, clock.slept) == (1, 0, [0.5, 1.0])
    assert not (tmp_path / "dead.jsonl").exists()


def test_a_receiver_that_always_fails_ends_in_the_dead_letter_file(tmp_path: Path, hook: Receiver,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    hook.statuses = [500] * 10
    clock = Clock()
    log(tmp_path, "market_down", "vortex is down", site="vortex")
    config = delivery(tmp_path, webhook(hook.url), retries=3)

    with caplog.at_level(logging.DEBUG):
        report = dispatcher(tmp_path, config, clock).deliver_once()
    later = dispatcher(tmp_path, config, clock).deliver_once()

    assert len(hook.requests) == 4 and (report.dead, later.read) == (1, 0)  # 1 + 3 retries, then given up
    assert clock.slept == [0.5, 1.0, 1.5]  # doubled, capped at max_backoff_seconds
    [dead] = [json.loads(line) for line in (tmp_path / "dead.jsonl").read_text().splitlines()]
    assert (dead["channel"], dead["attempts"], dead["error"]) == ("ops", 4, "channel ops: HTTP 500")
    assert dead["message"]["kind"] == "market_down"
    assert SECRET not in (tmp_path / "dead.jsonl").read_text() and SECRET not in caplog.text
    assert hook.url not in caplog.text  # a webhook URL may be a credential itself


def test_a_client_error_is_not_retried(tmp_path: Path, hook: Receiver) -> None:
    hook.statuses = [403]
    log(tmp_path, "market_down", "vortex is down", site="vortex")
    report = dispatcher(tmp_path, delivery(tmp_path, webhook(hook.url), retries=3)).deliver_once()
    assert (len(hook.requests), report.dead) == (1, 1)


def test_one_alert_per_state_change_and_per_dedupe_key(tmp_path: Path, hook: Receiver) -> None:
    for kind in ("market_down", "market_down", "market_back", "market_back", "market_down"):
        log(tmp_path, kind, f"vortex {kind}", site="vortex")
    log(tmp_path, "market_down", "nightshade down", site="nightshade")  # another subject
    for _ in range(3):  # a resumed crawl logged the same listing alert again
        log(tmp_path, "watch_listing", "listing", dedupe_key="watch_listing:vortex:1:abc")

    report = dispatcher(tmp_path, delivery(tmp_path, webhook(hook.url))).deliver_once()

    got = [(r.json()["kind"], r.json()["data"].get("site")) for r in hook.requests]
    assert got == [("market_down", "vortex"), ("market_back", "vortex"), ("market_down", "vortex"),
                   ("market_down", "nightshade"), ("watch_listing", None)]
    assert report.suppressed == 4


def test_a_noisy_rule_becomes_one_digest(tmp_path: Path, hook: Receiver) -> None:
    clock = Clock()
    config = delivery(tmp_path, webhook(hook.url), digest_after=2)
    for n in range(6):
        log(tmp_path, "watch_listing", f"listing {n}", rule="substance", listing_id=f"vortex:{n}",
            time=f"2026-11-30T03:0{n}:00Z")
    log(tmp_path, "market_down", "vortex is down", site="vortex", time="2026-11-30T03:07:00Z")

    first = dispatcher(tmp_path, config, clock).deliver_once()
    clock.now += 3600  # the window (an hour from the first listing) has passed: the digest is due
    second = dispatcher(tmp_path, config, clock).deliver_once()

    kinds = [r.json()["kind"] for r in hook.requests]
    assert kinds == ["watch_listing", "watch_listing", "market_down", "digest"]
    assert (first.held, first.digests, second.digests) == (4, 0, 1)
    digest = hook.requests[-1].json()
    assert (digest["rule"], digest["count"]) == ("watch_listing:substance", 4)
    assert [e["data"]["listing_id"] for e in digest["events"]] == [f"vortex:{n}" for n in range(2, 6)]
    assert signature_ok(hook.requests[-1])


def test_slack_and_matrix_payloads_and_kind_filters(tmp_path: Path, hook: Receiver) -> None:
    slack = ChannelConfig("chat", "webhook", {"url": hook.url + "/slack", "format": "slack"}, kinds=("market_down",))
    matrix = ChannelConfig("room", "webhook", {"url": hook.url + "/matrix", "format": "matrix"})
    log(tmp_path, "market_down", "vortex <is> down", site="vortex")
    log(tmp_path, "new-substance", "new token", token="t")

    dispatcher(tmp_path, delivery(tmp_path, slack, matrix)).deliver_once()

    by_path = [(r.path, r.json()) for r in hook.requests]
    assert by_path[0] == ("/slack", {"text": "vortex <is> down"})
    assert by_path[1][0] == "/matrix" and by_path[1][1]["text"] == "vortex <is> down"
    assert "vortex &lt;is&gt; down" in by_path[1][1]["html"] and by_path[1][1]["msgtype"] == "m.notice"
    assert [p for p, _ in by_path] == ["/slack", "/matrix", "/matrix"]  # slack wants market_down only
    assert "X-Trawl-Signature" not in hook.requests[0].headers  # no secret configured: unsigned


def test_misp_event_posted_with_the_authkey(tmp_path: Path, hook: Receiver) -> None:
    misp = ChannelConfig("misp", "misp", {"url": hook.url + "/", "tags": ["tlp:amber"], "distribution": 1,
                                          "threat_level": 3, "analysis": 0}, secret="misp-key-0042")
    log(tmp_path, "market_seized", "vortex seized", site="vortex", url="http://vortex.onion/")

    report = dispatcher(tmp_path, delivery(tmp_path, misp)).deliver_once()

    [request] = hook.requests
    event = request.json()["Event"]
    assert report.delivered == 1 and request.path == "/events"
    assert request.headers["Authorization"] == "misp-key-0042" and request.headers["Accept"] == "application/json"
    assert (event["info"], event["date"], event["distribution"], event["threat_level_id"]) == (
        "trawl: vortex seized", "2026-11-30", 1, 3)
    assert {"type": "url", "category": "Network activity", "value": "http://vortex.onion/", "to_ids": False} \
        in event["Attribute"]
    assert {t["name"] for t in event["Tag"]} == {"tlp:amber", 'trawl:kind="market_seized"'}


def email_channel(smtp: SmtpServer, **options: Any) -> ChannelConfig:
    return ChannelConfig("mail", "email", {"host": smtp.host, "port": smtp.port, "starttls": True,
                                           "username": "trawl", "from": "trawl@example.org",
                                           "to": ["analyst@example.org"], "subject_prefix": "[trawl]",
                                           "ca_file": str(smtp.cert), **options}, secret="mail-pass-93kd")


def test_email_over_starttls_with_login(tmp_path: Path, smtp: SmtpServer, caplog: pytest.LogCaptureFixture) -> None:
    log(tmp_path, "market_down", "vortex is down (3 failed runs)", site="vortex")

    with caplog.at_level(logging.DEBUG):
        report = dispatcher(tmp_path, delivery(tmp_path, email_channel(smtp))).deliver_once()

    assert report.delivered == 1 and smtp.logins == ["trawl"]
    [envelope] = smtp.messages
    mail = message_from_bytes(envelope.original_content)
    assert envelope.mail_from == "trawl@example.org" and envelope.rcpt_tos == ["analyst@example.org"]
    assert mail["Subject"] == "[trawl] vortex is down (3 failed runs)" and mail["X-Trawl-Delivery"]
    body = mail.get_payload(decode=True)
    assert isinstance(body, bytes) and "market_down: vortex is down" in body.decode()
    assert "mail-pass-93kd" not in caplog.text


def test_email_with_a_wrong_password_is_dead_lettered_without_retries(tmp_path: Path, smtp: SmtpServer) -> None:
    channel = email_channel(smtp)
    channel.secret = "wrong-password"
    log(tmp_path, "market_down", "vortex is down", site="vortex")
    report = dispatcher(tmp_path, delivery(tmp_path, channel, retries=3)).deliver_once()
    dead = json.loads((tmp_path / "dead.jsonl").read_text())
    assert (report.dead, dead["attempts"], smtp.messages) == (1, 1, [])
    assert "wrong-password" not in (tmp_path / "dead.jsonl").read_text()


def test_a_gate_pause_is_delivered_and_damaged_lines_are_skipped(tmp_path: Path, hook: Receiver,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from crawler.engine.session import pause_site

    monkeypatch.setenv("TRAWL_HOME", str(tmp_path))
    with (tmp_path / "alerts.jsonl").open("w", encoding="utf-8") as handle:
        handle.write('{"kind": "new-substance", "time": "2026-11-30T01:00:00Z", "summ\n')  # torn by a kill
    pause_site("vortex", "captcha at /login", url="http://vortex.onion/login", run_id="r1")  # the crawler's own call
    with (tmp_path / "alerts.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"kind": "market_down", "time": "2026-11-30T01:0')  # still being written: waits

    report = dispatcher(tmp_path, delivery(tmp_path, webhook(hook.url))).deliver_once()

    [request] = hook.requests
    body = request.json()
    assert (body["kind"], body["data"]["site"], body["summary"]) == ("site_paused", "vortex",
                                                                     "vortex paused: captcha at /login")
    assert (report.read, report.skipped_lines, report.delivered) == (2, 1, 1)


def test_only_one_dispatcher_at_a_time(tmp_path: Path, hook: Receiver) -> None:
    from core.errors import TrawlError

    config = delivery(tmp_path, webhook(hook.url))
    log(tmp_path, "market_down", "vortex is down", site="vortex")
    holder = dispatcher(tmp_path, config)
    with holder._locked(), pytest.raises(TrawlError, match="another `trawl alerts deliver`"):
        dispatcher(tmp_path, config).deliver_once()
    assert hook.requests == [] and holder.deliver_once().delivered == 1


def test_a_replaced_log_is_read_from_its_start(tmp_path: Path, hook: Receiver) -> None:
    config = delivery(tmp_path, webhook(hook.url))
    log(tmp_path, "market_down", "vortex is down", site="vortex")
    dispatcher(tmp_path, config).deliver_once()
    (tmp_path / "alerts.jsonl").rename(tmp_path / "alerts.1.jsonl")  # rotated away
    log(tmp_path, "market_back", "vortex is back", site="vortex")
    dispatcher(tmp_path, config).deliver_once()
    assert [r.json()["kind"] for r in hook.requests] == ["market_down", "market_back"]
