"""Run tests/crawler/net_spider.py in a subprocess (Twisted's reactor cannot restart)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PYTHON = Path(sys.executable)  # the interpreter running the tests, wherever its environment lives


@dataclass
class CrawlResult:
    returncode: int
    items: list[dict[str, Any]]
    stats: dict[str, Any]
    log: str
    leak_lines: list[str]


def run_net_spider(tmp: Path, config: dict[str, Any], env: dict[str, str] | None = None,
                   timeout: float = 90, record_leaks: bool = False,
                   name: str = "crawl") -> CrawlResult:
    tmp.mkdir(parents=True, exist_ok=True)
    config = dict(config)
    config.setdefault("items_out", str(tmp / f"{name}-items.jsonl"))
    config_path = tmp / f"{name}-config.json"
    config_path.write_text(json.dumps(config))
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TRAWL_")}
    full_env.update(env or {})
    pythonpath = [str(REPO)]
    leak_log = tmp / f"{name}-leaks.log"
    if record_leaks:
        site_dir = tmp / f"{name}-site"
        site_dir.mkdir(exist_ok=True)
        shutil.copy(HERE / "net_sitecustomize.py", site_dir / "sitecustomize.py")
        pythonpath.insert(0, str(site_dir))
        full_env["TRAWL_NET_LEAK_LOG"] = str(leak_log)
        leak_log.write_text("")
    full_env["PYTHONPATH"] = os.pathsep.join(pythonpath)
    proc = subprocess.run([sys.executable, str(HERE / "net_spider.py"), str(config_path)],
                          env=full_env, cwd=str(tmp), capture_output=True, text=True,
                          timeout=timeout)
    items: list[dict[str, Any]] = []
    stats: dict[str, Any] = {}
    out = Path(config["items_out"])
    if out.exists():
        for line in out.read_text().splitlines():
            row = json.loads(line)
            if "stats" in row and len(row) == 1:
                stats = row["stats"]
            else:
                items.append(row)
    leaks = leak_log.read_text().splitlines() if record_leaks else []
    return CrawlResult(proc.returncode, items, stats, proc.stdout + proc.stderr, leaks)
