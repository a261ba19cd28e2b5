"""Anchoring a run's manifest head: sign it, keep it beside the run, publish it outside.

A head is `{run_id, entries, head, state, segment, signed_at, key_id}` signed with the
Ed25519 key of `crawler.evidence.keys`; `state` is `open` when a crawl segment starts
(a fresh run, or a resumed one after recovery) and `closed` when the crawl closes.  Each
signed head is written, in this order, to:

1. the heads log (`TRAWL_EVIDENCE_HEADS_LOG`, default `$TRAWL_HOME/evidence/heads.jsonl`):
   one JSON line per head, appended and fsync'ed.  Put it on storage the crawl host cannot
   rewrite (another machine, an append-only mount) — it is what a full rewrite of a run
   cannot follow;
2. the run dir: `manifest.head` (the latest head) and `anchors/heads.jsonl` (all of them);
3. the webhook (`TRAWL_EVIDENCE_WEBHOOK_URL`): the head as a JSON POST, signed with
   `X-Trawl-Signature: sha256=<hex HMAC-SHA256 of the body>` when
   `TRAWL_EVIDENCE_WEBHOOK_SECRET` is set; an undelivered head goes to
   `$TRAWL_HOME/evidence/undelivered.jsonl`;
4. the RFC 3161 timestamp authority (`TRAWL_EVIDENCE_TSA_URL`, optional): the token for
   the head's statement is stored as `manifest.head.tsr` (and `anchors/<n>.tsr`).

Only the signed head goes out: no URL, proxy, cookie or page content.  A sink that fails
is logged and counted (`trawl/evidence/publish_failed`), never fatal to the crawl: the
run then fails `trawl evidence verify` until the head is published, which is the point.
"""
from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.clock import utc_now_iso
from core.config import load_config
from core.errors import TrawlError
from crawler.evidence.keys import load_signing_key

logger = logging.getLogger(__name__)

HEAD_FILE = "manifest.head"
TOKEN_FILE = "manifest.head.tsr"  # noqa: S105 - a file name, not a secret
ANCHORS_DIR = "anchors"
HEAD_TYPE = "trawl-evidence-head"


def _setting(settings: Any, name: str) -> str:
    """A crawl's Scrapy setting `name`, else the configured key with that variable name."""
    value = settings.get(name) if settings is not None else None
    return str(value if value not in (None, "") else load_config().by_env(name)).strip()


@dataclass(frozen=True)
class AnchorConfig:
    home: Path
    heads_log: Path
    webhook_url: str = ""
    webhook_secret: str = field(default="", repr=False)
    tsa_url: str = ""
    tsa_ca: tuple[Path, ...] = ()
    timeout: float = 10.0

    @classmethod
    def from_env(cls, home: Path, settings: Any = None) -> AnchorConfig:
        log = _setting(settings, "TRAWL_EVIDENCE_HEADS_LOG")
        ca = _setting(settings, "TRAWL_EVIDENCE_TSA_CA")
        return cls(home=home,
                   heads_log=Path(log).expanduser() if log else default_heads_log(home),
                   webhook_url=_setting(settings, "TRAWL_EVIDENCE_WEBHOOK_URL"),
                   webhook_secret=_setting(settings, "TRAWL_EVIDENCE_WEBHOOK_SECRET"),
                   tsa_url=_setting(settings, "TRAWL_EVIDENCE_TSA_URL"),
                   tsa_ca=tuple(Path(p).expanduser() for p in ca.split(os.pathsep) if p),
                   timeout=float(_setting(settings, "TRAWL_EVIDENCE_ANCHOR_TIMEOUT")))


def default_heads_log(home: Path) -> Path:
    return home / "evidence" / "heads.jsonl"


def canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def statement_of(signed: dict[str, Any]) -> dict[str, Any]:
    """What the signature covers: every field but the signature."""
    return {k: v for k, v in signed.items() if k != "signature"}


def statement_digest(signed: dict[str, Any]) -> bytes:
    """SHA-256 of the signed statement: what a timestamp token is asked to cover."""
    return hashlib.sha256(canonical(statement_of(signed))).digest()


def _utc_now() -> str:
    return utc_now_iso()


def _fsync_append(path: Path, line: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # concurrent crawls append whole lines
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class HeadAnchor:
    """Signs and publishes the heads of one run."""

    def __init__(self, config: AnchorConfig, run_dir: Path, run_id: str) -> None:
        self.config, self.run_dir, self.run_id = config, run_dir, run_id
        self.failures: list[str] = []

    def previous(self) -> dict[str, Any] | None:
        try:
            data = json.loads((self.run_dir / HEAD_FILE).read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def publish(self, entries: int, head: str, state: str) -> dict[str, Any]:
        """Sign {entries, head, state} and send it to every sink; returns the signed head."""
        key = load_signing_key(self.config.home)
        previous = self.previous() or {}
        segment = int(previous.get("segment", -1)) + (1 if state == "open" else 0)
        statement = {"type": HEAD_TYPE, "v": 1, "run_id": self.run_id, "entries": entries,
                     "head": head, "state": state, "segment": max(segment, 0),
                     "signed_at": _utc_now(), "key_id": key.key_id}
        signed = statement | {"signature": key.sign(canonical(statement))}
        line = canonical(signed) + b"\n"
        # the heads log and manifest.head back to back: a kill between them is the only
        # moment they differ (the slow network sinks come after)
        self._try("heads log", lambda: _fsync_append(self.config.heads_log, line))
        anchors = self.run_dir / ANCHORS_DIR
        anchors.mkdir(exist_ok=True)
        _fsync_append(anchors / "heads.jsonl", line)
        (self.run_dir / TOKEN_FILE).unlink(missing_ok=True)  # belonged to the previous head
        _atomic_write(self.run_dir / HEAD_FILE, line)
        if self.config.webhook_url:
            self._try("webhook", lambda: self._post(line.rstrip(b"\n")))
        if self.config.tsa_url:
            self._try("timestamp authority", lambda: self._timestamp(signed))
        return signed

    def republish(self) -> dict[str, Any]:
        """Send the current signed head (not re-signed) to the sinks that missed it: the
        heads log if its last head of this run differs, the webhook, and the TSA when the
        head has no token yet.  For a sink that was down while the crawl ran."""
        signed = self.previous()
        if signed is None or not signed.get("signature"):
            raise TrawlError(f"{self.run_dir / HEAD_FILE}: no signed head to publish")
        line = canonical(signed) + b"\n"
        published = published_heads(self.config.heads_log, self.run_id)
        if not published or canonical(published[-1]) != canonical(signed):
            self._try("heads log", lambda: _fsync_append(self.config.heads_log, line))
        if self.config.webhook_url:
            self._try("webhook", lambda: self._post(line.rstrip(b"\n")))
        if self.config.tsa_url and not (self.run_dir / TOKEN_FILE).exists():
            self._try("timestamp authority", lambda: self._timestamp(signed))
        return signed

    def _try(self, sink: str, action: Any) -> None:
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - a sink down must not stop the crawl
            message = f"{sink}: {type(exc).__name__}: {exc}"
            self.failures.append(message)
            logger.error("evidence head of run %s not published to %s", self.run_id, message)

    def _post(self, body: bytes) -> None:
        headers = {"Content-Type": "application/json", "User-Agent": "trawl-evidence"}
        if self.config.webhook_secret:
            mac = hmac.new(self.config.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Trawl-Signature"] = f"sha256={mac}"
        if not self.config.webhook_url.startswith(("http://", "https://")):
            raise ValueError(f"TRAWL_EVIDENCE_WEBHOOK_URL={self.config.webhook_url!r}: expected an "
                             f"http(s):// URL")
        last: Exception | None = None
        for _attempt in range(3):
            request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
                self.config.webhook_url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.config.timeout) as reply:  # noqa: S310
                    if 200 <= reply.status < 300:
                        return
                    last = RuntimeError(f"HTTP {reply.status}")
            except (urllib.error.URLError, OSError) as exc:
                last = exc
        _fsync_append(self.config.home / "evidence" / "undelivered.jsonl", body + b"\n")
        raise RuntimeError(f"{self.config.webhook_url}: {last}")

    def _timestamp(self, signed: dict[str, Any]) -> None:
        from crawler.evidence.tsa import request_timestamp

        token = request_timestamp(self.config.tsa_url, statement_digest(signed),
                                  timeout=self.config.timeout, ca_certs=list(self.config.tsa_ca))
        number = sum(1 for _ in (self.run_dir / ANCHORS_DIR / "heads.jsonl").open("rb")) - 1
        _atomic_write(self.run_dir / ANCHORS_DIR / f"{number:04d}.tsr", token)
        _atomic_write(self.run_dir / TOKEN_FILE, token)


def published_heads(heads_log: Path, run_id: str) -> list[dict[str, Any]]:
    """Every head of `run_id` in a heads log, oldest first (unreadable lines skipped)."""
    out: list[dict[str, Any]] = []
    if not heads_log.is_file():
        return out
    for raw in heads_log.read_bytes().splitlines():
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("run_id") == run_id:
            out.append(entry)
    return out
