"""The dispatcher: reads the alert log from a persisted cursor and delivers to the channels.

State lives in $TRAWL_HOME/alerts-delivery/state.sqlite (one dispatcher at a time: a lock
file beside it):
- `cursor`: the byte offset of the first line not yet handled (and the log's inode: a
  replaced log is read from its start);
- `sent`: (channel, delivery id) once a channel took a message or it went to the dead
  letters, so a restart never sends it to that channel again; the id is the line's offset
  and hash, sent as `X-Trawl-Delivery` so a receiver can drop the one redelivery a crash
  between "sent" and "recorded" can cause;
- `keys`: dedupe keys delivered (`AlertEvent.dedupe_key`): one alert per key;
- `states`: the last state reported per subject (core.alerts.STATE_OF_KIND): one alert per
  change of state, never "down" twice in a row;
- `windows` / `pending`: digests.  The first `after` alerts of one rule (kind, plus the
  watch rule) within `window` go out one by one; the rest wait and go out as one digest
  when the window has passed.

A channel that keeps failing gets `retries` more attempts with exponential backoff (only
for errors a retry may fix), then the message is appended to the dead-letter JSONL file.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from core.alerts import STATE_OF_KIND, AlertEvent, event_from_record
from core.clock import utc_now_iso
from core.errors import TrawlError
from core.home import ensure_home
from trawl.alerting.channels import DeliveryError, Message, send
from trawl.alerting.config import ChannelConfig, DeliveryConfig

logger = logging.getLogger(__name__)
STATE_DIR = "alerts-delivery"
MAX_LINE_BYTES = 1 * 2**20  # an alert is a few hundred bytes: a longer "line" is damage, skipped

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cursor (id INTEGER PRIMARY KEY CHECK (id = 1), inode INTEGER, offset INTEGER);
CREATE TABLE IF NOT EXISTS sent (channel TEXT, delivery_id TEXT, outcome TEXT, PRIMARY KEY (channel, delivery_id));
CREATE TABLE IF NOT EXISTS keys (dedupe_key TEXT PRIMARY KEY, delivery_id TEXT);
CREATE TABLE IF NOT EXISTS states (subject TEXT PRIMARY KEY, state TEXT, delivery_id TEXT);
CREATE TABLE IF NOT EXISTS windows (rule TEXT PRIMARY KEY, start REAL, count INTEGER);
CREATE TABLE IF NOT EXISTS pending (id INTEGER PRIMARY KEY AUTOINCREMENT, rule TEXT, event TEXT);
"""


@dataclass
class DeliveryReport:
    read: int = 0  # log lines handled
    delivered: int = 0  # (channel, message) pairs delivered
    dead: int = 0  # (channel, message) pairs dead-lettered
    suppressed: int = 0  # duplicates and repeated states
    held: int = 0  # waiting for a digest
    digests: int = 0
    skipped_lines: int = 0  # unreadable lines
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rule_of(event: AlertEvent) -> str:
    """What digests count per: the kind, plus the watch rule that raised it if any."""
    rule = event.data.get("rule")
    return f"{event.kind}:{rule}" if isinstance(rule, str) and rule else event.kind


def event_epoch(event: AlertEvent, default: float) -> float:
    try:
        parsed = datetime.fromisoformat(event.time.replace("Z", "+00:00"))
    except ValueError:
        return default
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()


class Dispatcher:
    def __init__(self, config: DeliveryConfig, *, log: Path | None = None, state_dir: Path | None = None,
                 sleep: Callable[[float], None] = time.sleep, now: Callable[[], float] = time.time) -> None:
        home = ensure_home() if log is None or state_dir is None else None
        self.config = config
        self.log = log or (home or Path()) / "alerts.jsonl"
        self.state_dir = state_dir or (home or Path()) / STATE_DIR
        self.sleep, self.now = sleep, now

    # --- one pass ----------------------------------------------------------------------
    def deliver_once(self, *, flush_digests: bool = False) -> DeliveryReport:
        """Deliver every complete line after the cursor, then the digests that are due."""
        report = DeliveryReport()
        with self._locked(), self._db() as db:
            for offset, end, line in self._new_lines(db):
                self._handle(db, offset, line, report)
                db.execute("UPDATE cursor SET offset = ? WHERE id = 1", (end,))
                db.commit()
            self._flush_digests(db, report, everything=flush_digests)
        return report

    def _handle(self, db: sqlite3.Connection, offset: int, line: bytes, report: DeliveryReport) -> None:
        report.read += 1
        try:
            record = json.loads(line)
            event = event_from_record(record)
            if not event.kind:
                raise ValueError("no kind")
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            report.skipped_lines += 1
            logger.warning("%s: byte %d: not an alert line, skipped (%s)", self.log, offset, exc)
            return
        delivery_id = f"{offset}-{hashlib.sha256(line).hexdigest()[:12]}"
        if self._suppressed(db, event, delivery_id):
            report.suppressed += 1
            return
        rule = rule_of(event)
        if self._over_digest_limit(db, rule, event):
            db.execute("INSERT INTO pending (rule, event) VALUES (?, ?)", (rule, json.dumps(asdict(event))))
            report.held += 1
            return
        self._deliver(db, Message(delivery_id, [event]), report)

    def _suppressed(self, db: sqlite3.Connection, event: AlertEvent, delivery_id: str) -> bool:
        """A dedupe key already delivered, or a state already reported, by another line;
        records the new ones (the same line read again after a crash is not a repeat)."""
        key = event.dedupe_key
        if key is not None:
            row = db.execute("SELECT delivery_id FROM keys WHERE dedupe_key = ?", (key,)).fetchone()
            if row is not None and row[0] != delivery_id:
                return True
            db.execute("INSERT OR REPLACE INTO keys (dedupe_key, delivery_id) VALUES (?, ?)", (key, delivery_id))
        state = STATE_OF_KIND.get(event.kind)
        if state is not None:
            who = event.data.get("market") or event.data.get("site") or ""
            subject = f"{state[0]}:{who}"
            row = db.execute("SELECT state, delivery_id FROM states WHERE subject = ?", (subject,)).fetchone()
            if row is not None and row[0] == state[1] and row[1] != delivery_id:
                return True
            db.execute("INSERT OR REPLACE INTO states (subject, state, delivery_id) VALUES (?, ?, ?)",
                       (subject, state[1], delivery_id))
        return False

    def _over_digest_limit(self, db: sqlite3.Connection, rule: str, event: AlertEvent) -> bool:
        after, window = self.config.digest_after, self.config.digest_window_seconds
        if after <= 0:
            return False
        when = event_epoch(event, self.now())
        row = db.execute("SELECT start, count FROM windows WHERE rule = ?", (rule,)).fetchone()
        start, count = (row[0], row[1]) if row else (when, 0)
        pending = db.execute("SELECT 1 FROM pending WHERE rule = ? LIMIT 1", (rule,)).fetchone()
        if when >= start + window and not pending:
            start, count = when, 0  # a new window (a held digest closes the old one first)
        count += 1
        db.execute("INSERT OR REPLACE INTO windows (rule, start, count) VALUES (?, ?, ?)", (rule, start, count))
        return count > after

    def _flush_digests(self, db: sqlite3.Connection, report: DeliveryReport, *, everything: bool) -> None:
        rules = [r[0] for r in db.execute("SELECT DISTINCT rule FROM pending ORDER BY rule")]
        for rule in rules:
            row = db.execute("SELECT start FROM windows WHERE rule = ?", (rule,)).fetchone()
            due = row is None or self.now() >= row[0] + self.config.digest_window_seconds
            if not (due or everything):
                continue
            rows = db.execute("SELECT id, event FROM pending WHERE rule = ? ORDER BY id", (rule,)).fetchall()
            events = [AlertEvent(**json.loads(text)) for _, text in rows]
            message = Message(f"digest-{rule}-{rows[0][0]}-{rows[-1][0]}", events, rule=rule, digest=True)
            self._deliver(db, message, report)
            db.execute("DELETE FROM pending WHERE rule = ? AND id <= ?", (rule, rows[-1][0]))
            db.execute("DELETE FROM windows WHERE rule = ?", (rule,))
            db.commit()
            report.digests += 1

    # --- delivery with retries ---------------------------------------------------------
    def _deliver(self, db: sqlite3.Connection, message: Message, report: DeliveryReport) -> None:
        for channel in self.config.channels.values():
            if not channel.wants(message.kind):
                continue
            if db.execute("SELECT 1 FROM sent WHERE channel = ? AND delivery_id = ?",
                          (channel.name, message.delivery_id)).fetchone():
                continue  # delivered before a restart
            error = self.attempt(channel, message)
            outcome = "delivered" if error is None else "dead"
            if error is not None:
                self._dead_letter(channel, message, error)
                report.dead += 1
                report.errors.append(str(error))
            else:
                report.delivered += 1
            db.execute("INSERT INTO sent (channel, delivery_id, outcome) VALUES (?, ?, ?)",
                       (channel.name, message.delivery_id, outcome))
            db.commit()

    def attempt(self, channel: ChannelConfig, message: Message) -> DeliveryError | None:
        """Send with up to `retries` retries (exponential backoff); the last error, or None."""
        delay = self.config.backoff_seconds
        for attempt in range(self.config.retries + 1):
            try:
                send(channel, message, self.config.timeout_seconds)
                return None
            except DeliveryError as exc:
                logger.warning("alert %s: attempt %d failed: %s", message.delivery_id, attempt + 1, exc)
                if not exc.retryable or attempt == self.config.retries:
                    exc.attempts = attempt + 1
                    return exc
                self.sleep(min(delay, self.config.max_backoff_seconds))
                delay *= 2
        return None  # not reached: the loop returns on its last attempt

    def _dead_letter(self, channel: ChannelConfig, message: Message, error: DeliveryError) -> None:
        record = {"time": utc_now_iso(), "channel": channel.name, "delivery_id": message.delivery_id,
                  "error": str(error), "attempts": error.attempts, "message": message.document()}
        path = self.config.dead_letter
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    # --- the log and the state ---------------------------------------------------------
    def _new_lines(self, db: sqlite3.Connection) -> Iterator[tuple[int, int, bytes]]:
        """(offset, end, line) of each complete line after the cursor; a line still being
        written (no newline yet) waits for the next pass."""
        try:
            handle = self.log.open("rb")
        except FileNotFoundError:
            return
        with handle:
            inode = os.fstat(handle.fileno()).st_ino
            size = os.fstat(handle.fileno()).st_size
            row = db.execute("SELECT inode, offset FROM cursor WHERE id = 1").fetchone()
            offset = row[1] if row and row[0] == inode and row[1] <= size else 0  # a new or truncated log
            db.execute("INSERT OR REPLACE INTO cursor (id, inode, offset) VALUES (1, ?, ?)", (inode, offset))
            db.commit()
            handle.seek(offset)
            while True:
                line = handle.readline(MAX_LINE_BYTES)
                if not line.endswith(b"\n"):
                    if len(line) >= MAX_LINE_BYTES:  # damage: skip to the next newline
                        rest = handle.readline()
                        if rest.endswith(b"\n"):
                            offset += len(line) + len(rest)
                            db.execute("UPDATE cursor SET offset = ? WHERE id = 1", (offset,))
                            continue
                    return
                end = offset + len(line)
                if line.strip():
                    yield offset, end, line.strip()
                else:
                    db.execute("UPDATE cursor SET offset = ? WHERE id = 1", (end,))
                offset = end

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.state_dir / "state.sqlite")
        try:
            db.executescript(_SCHEMA)
            yield db
        finally:
            db.close()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.state_dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise TrawlError(f"another `trawl alerts deliver` holds {self.state_dir / 'lock'}") from None
            yield
        finally:
            os.close(fd)


def run_forever(dispatcher: Dispatcher, interval: float, stop: Callable[[], bool]) -> DeliveryReport:
    """Pass after pass until `stop()`; returns the totals."""
    total = DeliveryReport()
    while not stop():
        report = dispatcher.deliver_once()
        for name in ("read", "delivered", "dead", "suppressed", "held", "digests", "skipped_lines"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        waited = 0.0
        while waited < interval and not stop():
            dispatcher.sleep(min(0.2, interval - waited))
            waited += 0.2
    return total
