"""`trawl doctor`: check every component the configuration uses, each within a time bound.

A check is a small function returning a `CheckResult` (ok / warn / fail, what it found,
and the one command that fixes it).  What the configured sites need decides how bad a
broken part is: Tor is needed when a site is `network: tor`, Chromium when a site is
`render: browser`; a broken part no site needs is a warning, not a failure.

Every check runs in its own daemon thread and is given up on after its time bound (the
check's own sockets carry the same bound, so a stuck one does not outlive the command
for long); a check never contacts anything but loopback and the configured endpoints.

    report = run_doctor(load_config(), sites=None, timeout=10)
    report.exit_code   # 0: nothing needed is broken; EXIT_BROKEN otherwise
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from core.config import Config
from core.errors import TrawlError

Status = Literal["ok", "warn", "fail"]
EXIT_OK = 0
EXIT_BROKEN = 3  # distinct from 1 (crash) and 2 (a user error such as a bad flag)
DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str
    fix: str = ""  # the one command (or edit) that fixes it; empty when ok

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class SiteNeeds:
    """What the configured sites need, from the site YAMLs that loaded."""

    tor_sites: tuple[str, ...] = ()
    browser_sites: tuple[str, ...] = ()
    onion_browser_sites: tuple[str, ...] = ()
    onion_target: tuple[str, str, int] | None = None  # (site, onion host, port) for the remote-DNS probe
    onion_browser_target: tuple[str, str, int] | None = None  # the same, for Chromium through the proxy


@dataclass
class DoctorContext:
    config: Config
    timeout: float
    needs: SiteNeeds = field(default_factory=SiteNeeds)


@dataclass
class Report:
    results: list[CheckResult]

    @property
    def broken(self) -> bool:
        return any(r.status == "fail" for r in self.results)

    @property
    def exit_code(self) -> int:
        return EXIT_BROKEN if self.broken else EXIT_OK

    def counts(self) -> dict[str, int]:
        return {status: sum(r.status == status for r in self.results) for status in ("ok", "warn", "fail")}

    def as_json(self) -> dict[str, Any]:
        return {"ok": not self.broken, "exit_code": self.exit_code, "counts": self.counts(),
                "checks": [r.as_dict() for r in self.results]}

    def text(self) -> str:
        width = max((len(r.name) for r in self.results), default=10)
        lines = []
        for r in self.results:
            lines.append(f"{r.status.upper() if r.status != 'ok' else 'ok':<5} {r.name:<{width}}  {r.detail}")
            if r.fix:
                lines.append(f"{'':<5} {'':<{width}}  fix: {r.fix}")
        counts = self.counts()
        lines.append(f"doctor: {counts['ok']} ok, {counts['warn']} warning(s), {counts['fail']} failed"
                     + (" - trawl is NOT ready to crawl" if self.broken else ""))
        return "\n".join(lines)


def optional(result: CheckResult, why_not_needed: str) -> CheckResult:
    """A failure of a part no configured site needs is only a warning."""
    if result.status != "fail":
        return result
    return CheckResult(result.name, "warn", f"{result.detail} (not needed: {why_not_needed})", result.fix)


def bounded(name: str, check: Callable[[], list[CheckResult]], timeout: float) -> Callable[[], list[CheckResult]]:
    """Run `check` in a daemon thread; a check that overruns `timeout` (plus a grace for
    thread start-up on a busy machine) is reported as failed, never waited for."""
    box: list[list[CheckResult]] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            box.append(check())
        except TrawlError as exc:
            box.append([CheckResult(name, "fail", str(exc), "")])
        except Exception as exc:  # noqa: BLE001 - a broken check must not hide the others
            errors.append(exc)

    thread = threading.Thread(target=target, name=f"doctor-{name}", daemon=True)
    thread.start()

    def wait() -> list[CheckResult]:
        thread.join(timeout + 5.0)
        if box:
            return box[0]
        if errors:
            exc = errors[0]
            return [CheckResult(name, "fail", f"check crashed: {type(exc).__name__}: {exc}", "")]
        return [CheckResult(name, "fail", f"no answer within {timeout:g}s", "")]

    return wait


def run_doctor(config: Config, sites: tuple[str, ...] | None = None, timeout: float = DEFAULT_TIMEOUT) -> Report:
    """Every check the configuration calls for, concurrently, each within `timeout` seconds."""
    from trawl import doctor_checks as checks

    site_results, needs = checks.check_sites(config, sites)
    context = DoctorContext(config=config, timeout=timeout, needs=needs)
    plan: list[tuple[str, Callable[[], list[CheckResult]]]] = [
        ("tor", lambda: checks.check_tor(context)),
        ("chromium", lambda: checks.check_chromium(context)),
        ("index", lambda: checks.check_index(context)),
        ("disk", lambda: checks.check_disk(context)),
        ("evidence", lambda: checks.check_evidence_store(context)),
        ("schedule", lambda: checks.check_schedule(context)),
        ("clock", lambda: checks.check_clock(context)),
    ]
    if config.redis_url:
        plan.insert(2, ("redis", lambda: checks.check_redis(context)))
    # Chromium takes up to three bounded steps (launch, render, a page through the proxy)
    waiters = [bounded(name, check, timeout * (3 if name == "chromium" else 1))
               for name, check in plan]  # all started before any wait
    results = list(site_results)
    for wait in waiters:
        results.extend(wait())
    return Report(results)


def fix_setting(config: Config, key: str, value: str) -> str:
    """The command that sets configuration key `key` where it is set now."""
    from core.defaults import KEYS_BY_NAME

    source = config.source(key)
    if source.startswith("file ") and config.file is not None:
        where = source.removeprefix("file ")
        return f"edit {where}: {key.rpartition('.')[2]} = \"{value}\""
    return f"export {KEYS_BY_NAME[key].env}={value}" if value else f"unset {KEYS_BY_NAME[key].env}"


def nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
