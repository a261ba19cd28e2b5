"""The scheduler's job store: run state, leases and requests in one SQL database.

APScheduler's own `SQLAlchemyJobStore` keeps each job's trigger and next run time (table
`apscheduler_jobs`).  Beside it, in the same database, trawl keeps:

- `trawl_schedule_state`: per job, whether it is paused, a pending "run now" request, the
  number of coalesced misfires, and the last run (start, end, result, exit code, summary).
  `trawl schedule pause|resume|run-now` write here, from any process; a running scheduler
  polls it every second.
- `trawl_schedule_leases`: one row per job being run.  A scheduler runs a job only after it
  took the row (insert, or update of an expired row) and renews it while the job runs
  (heartbeat), so two schedulers on one store never run one job at the same time; a
  crashed holder's lease expires and can be taken over.

SQLite under $TRAWL_HOME by default (`schedule.sqlite`); any SQLAlchemy URL, such as
`postgresql+psycopg://user@host/trawl`, by the `schedule.store_url` setting.  Lease expiry
compares wall-clock times, so schedulers on several hosts need synchronised clocks.
"""
from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import TrawlError
from core.sqlite_wal import enter_wal

STORE_FILE = "schedule.sqlite"
APS_TABLE = "apscheduler_jobs"
STATE_TABLE = "trawl_schedule_state"
LEASE_TABLE = "trawl_schedule_leases"


def default_store_url(home: Path) -> str:
    return f"sqlite:///{home / STORE_FILE}"


def holder_id() -> str:
    """Who holds a lease: host, pid and a random part (a pid can be reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


@dataclass
class JobState:
    job_id: str
    paused: bool = False
    run_requested: float | None = None
    misfires: int = 0
    runs: int = 0
    last: dict[str, Any] | None = None  # the last outcome (JobOutcome.as_dict())


class ScheduleStore:
    """Tables and the operations on them; safe to use from several processes at once."""

    def __init__(self, url: str) -> None:
        try:
            from sqlalchemy import (
                Column,
                Float,
                Integer,
                MetaData,
                Table,
                Text,
                Unicode,
                create_engine,
                event,
            )
        except ImportError:  # pragma: no cover - a dependency of trawl
            raise TrawlError("the schedule store needs SQLAlchemy: pip install SQLAlchemy") from None
        self.url = url
        self.taken_over: dict[str, str] = {}
        options: dict[str, Any] = {}
        if url.startswith("sqlite"):
            # two schedulers and the CLI write one file: wait for a lock instead of failing
            options["connect_args"] = {"timeout": 30, "check_same_thread": False}
        try:
            self.engine = create_engine(url, **options)
        except Exception as exc:  # noqa: BLE001 - a bad URL, or a missing DB driver
            raise TrawlError(f"schedule store {url!r}: {exc}") from None
        if url.startswith("sqlite"):
            @event.listens_for(self.engine, "connect")
            def _wal(dbapi_connection: Any, _record: Any) -> None:
                enter_wal(dbapi_connection, 30)  # two schedulers and the CLI may create the file together
        self.metadata = MetaData()
        self.state_t = Table(
            STATE_TABLE, self.metadata,
            Column("job_id", Unicode(191), primary_key=True),
            Column("paused", Integer, nullable=False, default=0),
            Column("run_requested", Float, nullable=True),
            Column("misfires", Integer, nullable=False, default=0),
            Column("runs", Integer, nullable=False, default=0),
            Column("last", Text, nullable=True),
        )
        self.lease_t = Table(
            LEASE_TABLE, self.metadata,
            Column("job_id", Unicode(191), primary_key=True),
            Column("holder", Unicode(191), nullable=False),
            Column("expires_at", Float, nullable=False),
            Column("acquired_at", Float, nullable=False),
        )
        self._create_tables()

    def _create_tables(self) -> None:
        """Our tables and APScheduler's.  Two schedulers starting together race between
        "does it exist?" and CREATE TABLE: the loser retries and then finds it."""
        from sqlalchemy.exc import DBAPIError

        aps_table = self.jobstore().jobs_t
        for attempt in range(5):
            try:
                self.metadata.create_all(self.engine)
                aps_table.create(self.engine, checkfirst=True)
                return
            except DBAPIError as exc:
                if attempt == 4 or exc.connection_invalidated:
                    raise TrawlError(f"schedule store {self.url_for_humans()}: cannot open: {exc}") from None
                time.sleep(0.2)
            except Exception as exc:  # noqa: BLE001 - unreachable server, unwritable file, missing driver
                raise TrawlError(f"schedule store {self.url_for_humans()}: cannot open: {exc}") from None

    def url_for_humans(self) -> str:
        from core.config import mask_url_password

        return mask_url_password(self.url)

    def jobstore(self) -> Any:
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

        return SQLAlchemyJobStore(engine=self.engine, tablename=APS_TABLE)

    def close(self) -> None:
        self.engine.dispose()

    # --- state ---------------------------------------------------------------------------

    def ensure(self, job_id: str) -> None:
        from sqlalchemy import select
        from sqlalchemy.exc import IntegrityError

        with self.engine.begin() as conn:
            if conn.execute(select(self.state_t.c.job_id).where(self.state_t.c.job_id == job_id)).first():
                return
        try:
            with self.engine.begin() as conn:
                conn.execute(self.state_t.insert().values(job_id=job_id, paused=0, misfires=0, runs=0))
        except IntegrityError:
            pass  # another process inserted it first

    def state(self, job_id: str) -> JobState:
        return self.states().get(job_id) or JobState(job_id)

    def states(self) -> dict[str, JobState]:
        from sqlalchemy import select

        with self.engine.begin() as conn:
            rows = conn.execute(select(self.state_t)).mappings().all()
        return {row["job_id"]: JobState(row["job_id"], bool(row["paused"]), row["run_requested"],
                                        int(row["misfires"] or 0), int(row["runs"] or 0),
                                        json.loads(row["last"]) if row["last"] else None) for row in rows}

    def _update(self, job_id: str, **values: Any) -> None:
        self.ensure(job_id)
        with self.engine.begin() as conn:
            conn.execute(self.state_t.update().where(self.state_t.c.job_id == job_id).values(**values))

    def set_paused(self, job_id: str, paused: bool) -> None:
        self._update(job_id, paused=int(paused))

    def request_run(self, job_id: str) -> None:
        self._update(job_id, run_requested=time.time())

    def take_run_request(self, job_id: str, requested: float) -> bool:
        """Clear a "run now" request; True for the one process that cleared it."""
        with self.engine.begin() as conn:
            result = conn.execute(self.state_t.update()
                                  .where(self.state_t.c.job_id == job_id, self.state_t.c.run_requested == requested)
                                  .values(run_requested=None))
        return bool(result.rowcount)

    def add_misfires(self, job_id: str, count: int) -> None:
        self.ensure(job_id)
        with self.engine.begin() as conn:
            conn.execute(self.state_t.update().where(self.state_t.c.job_id == job_id)
                         .values(misfires=self.state_t.c.misfires + count))

    def record_outcome(self, job_id: str, outcome: dict[str, Any]) -> None:
        self.ensure(job_id)
        with self.engine.begin() as conn:
            conn.execute(self.state_t.update().where(self.state_t.c.job_id == job_id)
                         .values(last=json.dumps(outcome, default=str), runs=self.state_t.c.runs + 1))

    def next_run_times(self) -> dict[str, float | None]:
        """APScheduler's next run time per job id (None: paused), read without a scheduler."""
        from sqlalchemy import inspect, text

        if not inspect(self.engine).has_table(APS_TABLE):
            return {}
        with self.engine.begin() as conn:
            return {row[0]: row[1] for row in conn.execute(text(f"SELECT id, next_run_time FROM {APS_TABLE}"))}  # noqa: S608 - a constant

    # --- leases --------------------------------------------------------------------------

    def acquire(self, job_id: str, holder: str, ttl: float) -> bool:
        """Take the job's lease when it is free or expired (never twice, even by one holder:
        a run-now and a scheduled firing in one process must not run together).  True when
        taken; an expired lease of another holder is noted in `taken_over` (job id -> holder)."""
        from sqlalchemy import select
        from sqlalchemy.exc import IntegrityError

        now = time.time()
        try:
            with self.engine.begin() as conn:
                conn.execute(self.lease_t.insert().values(job_id=job_id, holder=holder, expires_at=now + ttl,
                                                          acquired_at=now))
            return True
        except IntegrityError:
            pass
        with self.engine.begin() as conn:
            previous = conn.execute(select(self.lease_t.c.holder).where(self.lease_t.c.job_id == job_id)).scalar()
            result = conn.execute(
                self.lease_t.update()
                .where(self.lease_t.c.job_id == job_id, self.lease_t.c.expires_at < now)
                .values(holder=holder, expires_at=now + ttl, acquired_at=now))
        if result.rowcount and previous and previous != holder:
            self.taken_over[job_id] = previous  # its holder died or stalled mid-run
        return bool(result.rowcount)

    def renew(self, job_id: str, holder: str, ttl: float) -> bool:
        """Heartbeat; False when the lease was lost (expired and taken over)."""
        with self.engine.begin() as conn:
            result = conn.execute(self.lease_t.update()
                                  .where(self.lease_t.c.job_id == job_id, self.lease_t.c.holder == holder)
                                  .values(expires_at=time.time() + ttl))
        return bool(result.rowcount)

    def release(self, job_id: str, holder: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.lease_t.delete().where(self.lease_t.c.job_id == job_id,
                                                     self.lease_t.c.holder == holder))

    def leases(self) -> dict[str, dict[str, Any]]:
        from sqlalchemy import select

        with self.engine.begin() as conn:
            rows = conn.execute(select(self.lease_t)).mappings().all()
        return {row["job_id"]: dict(row) for row in rows}


def open_store(url: str | None = None) -> ScheduleStore:
    """The configured store: `url`, else the `schedule.store_url` setting, else SQLite under
    $TRAWL_HOME (created on first use)."""
    from core.config import load_config
    from core.home import ensure_home

    url = url or load_config().schedule_store_url.strip()
    return ScheduleStore(url or default_store_url(ensure_home()))
