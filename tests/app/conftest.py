"""Application tests (trawl/): real `trawl` subprocesses against a testbed served here."""
from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def testbed() -> Iterator[object]:
    from testbed.server import run_testbed

    with run_testbed(port=0, day=0, seed=1) as tb:
        yield tb


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL server on 127.0.0.1 (Debian's postgresql package; skips without it)."""
    import os
    import pwd
    import shutil
    import socket
    import subprocess
    import tempfile
    from pathlib import Path

    pytest.importorskip("psycopg")
    bindir = next((p for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
                   if (p / "initdb").exists()), None)
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    # not under pytest's temp dir: its 0700 parents keep the postgres user out
    base = Path(tempfile.mkdtemp(prefix="trawl-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres user
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user")
        shutil.chown(base, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = base / "data"
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "trawl"],
                   check=True, capture_output=True, timeout=120)
    subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-t", "60",
                    "-o", f"-p {port} -k {base} -c listen_addresses=127.0.0.1", "start"],
                   check=True, capture_output=True, timeout=120)
    try:
        yield f"postgresql+psycopg://trawl@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)
