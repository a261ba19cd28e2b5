"""The one configuration object (core.config) and `trawl config show`, through the real CLI."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from core.config import MAX_CONFIG_BYTES, config_fields, load_config
from core.defaults import KEYS
from core.errors import TrawlError
from core.home import ensure_home, trawl_home
from tests.commands import TRAWL

SECRETS = {"TRAWL_INDEX_PASSWORD": "hunter2-index", "TRAWL_INDEX_API_KEY": "apikey-xyz",
           "TRAWL_DASHBOARD_TOKEN": "dash-token-123", "TRAWL_TOR_CONTROL_PASSWORD": "torpw-456",
           "TRAWL_EVIDENCE_WEBHOOK_SECRET": "hook-secret-789"}


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The test process's environment without any TRAWL_* (a developer's shell must not leak in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAWL_")}
    return {**env, "TRAWL_HOME": str(home), **extra}


def trawl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRAWL, *args], env=env, capture_output=True, text=True, timeout=60)


def show_json(env: dict[str, str], *args: str) -> dict[str, dict[str, Any]]:
    proc = trawl(env, "config", "show", "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return {row["key"]: row for row in json.loads(proc.stdout)["keys"]}


def test_fresh_home_shows_defaults_and_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / "never-created"
    rows = show_json(clean_env(home))
    assert not home.exists()  # a reading command leaves no trace on a fresh machine
    assert [row for row in rows] == [key.name for key in KEYS]
    assert rows["home"]["value"] == str(home) and rows["home"]["source"] == "env TRAWL_HOME"
    assert {row["source"] for name, row in rows.items() if name != "home"} == {"default"}
    assert rows["tor.socks"]["value"] == "socks5h://127.0.0.1:9050"
    assert rows["index.prefix"]["value"] == "trawl" and rows["index.replicas"]["value"] is None  # auto 0-1
    text = trawl(clean_env(home), "config", "show")
    assert text.returncode == 0 and "index.url" in text.stdout and f"{home}/trawl.toml absent" in text.stdout
    assert not home.exists()


def test_env_overrides_with_types_and_sources(tmp_path: Path) -> None:
    env = clean_env(tmp_path, TRAWL_INDEX_URL="http://127.0.0.1:9/", TRAWL_INDEX_REPLICAS="3",
                    TRAWL_REMOTE_CONTROL="1", TRAWL_EVIDENCE_ANCHOR_TIMEOUT="2.5", TRAWL_PROFILE="")
    rows = show_json(env)
    assert rows["index.url"] == {"key": "index.url", "env": "TRAWL_INDEX_URL", "value": "http://127.0.0.1:9/",
                                 "source": "env TRAWL_INDEX_URL"}
    assert rows["index.replicas"]["value"] == 3
    assert rows["crawl.remote_control"]["value"] is True
    assert rows["evidence.anchor_timeout"]["value"] == 2.5
    assert rows["crawl.profile"]["source"] == "default"  # empty variable = unset, as before


def test_toml_file_then_env_then_flag(tmp_path: Path) -> None:
    (tmp_path / "trawl.toml").write_text(
        "# site-wide settings\ncrawl.profile = \"test\"\n[index]\nprefix = \"from-file\"\nreplicas = 2\n\n"
        "[tor]\nsocks = \"socks5h://127.0.0.1:9150\"\n")
    rows = show_json(clean_env(tmp_path, TRAWL_INDEX_REPLICAS="5"), "--set", "tor.socks=socks5h://127.0.0.1:9250")
    toml = tmp_path / "trawl.toml"
    assert rows["index.prefix"]["value"] == "from-file" and rows["index.prefix"]["source"] == f"file {toml}:4"
    assert rows["index.replicas"]["value"] == 5 and rows["index.replicas"]["source"] == "env TRAWL_INDEX_REPLICAS"
    assert rows["tor.socks"]["value"] == "socks5h://127.0.0.1:9250" and rows["tor.socks"]["source"] == "flag tor.socks"
    assert rows["crawl.profile"]["value"] == "test" and rows["crawl.profile"]["source"] == f"file {toml}:2"
    assert rows["browser.netns"]["source"] == "default"


def test_secrets_are_masked_from_env_and_file(tmp_path: Path) -> None:
    (tmp_path / "trawl.toml").write_text('[tor]\ncontrol_cookie = "/var/lib/tor/control_auth_cookie"\n')
    env = clean_env(tmp_path, **SECRETS, TRAWL_REDIS_URL="redis://:redispw-1@127.0.0.1:6379/0")
    for args in (("--json",), ()):
        proc = trawl(env, "config", "show", *args)
        assert proc.returncode == 0, proc.stderr
        for secret in (*SECRETS.values(), "redispw-1", "control_auth_cookie"):
            assert secret not in proc.stdout
    rows = show_json(env)
    for name in ("index.password", "index.api_key", "dashboard.token", "tor.control_password",
                 "evidence.webhook_secret", "tor.control_cookie"):
        assert rows[name]["value"] == "***", name
    assert rows["redis.url"]["value"] == "redis://:***@127.0.0.1:6379/0"
    assert rows["index.user"]["value"] == ""  # unset secrets-adjacent keys stay visibly empty


@pytest.mark.parametrize(("text", "expected"), [
    ('[index]\nprefix = "a"\nprefx = "b"\n', r"trawl.toml:3: unknown key 'index.prefx' \(known: index.url,"),
    ('[index]\nreplicas = "two"\n', r"trawl.toml:2: index.replicas must be an integer, got str 'two'"),
    ('home = "/elsewhere"\n', r"trawl.toml:1: home cannot be set in trawl.toml: set \$TRAWL_HOME instead"),
    ('[index]\nurl = \n', r"trawl.toml:2: Invalid value"),
    ('[nonsense]\nx = 1\n', r"trawl.toml:2: unknown key 'nonsense.x'"),
])
def test_broken_toml_is_one_line_exit_2(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "trawl.toml").write_text(text)
    proc = trawl(clean_env(tmp_path), "config", "show")
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"error: {tmp_path}/")
    assert re.search(expected, proc.stderr), proc.stderr


def test_bad_env_value_and_bad_flag_name_are_errors(tmp_path: Path) -> None:
    proc = trawl(clean_env(tmp_path, TRAWL_INDEX_REPLICAS="many"), "config", "show")
    assert proc.returncode == 2 and proc.stderr.strip() == "error: TRAWL_INDEX_REPLICAS='many': expected an integer"
    proc = trawl(clean_env(tmp_path), "config", "show", "--set", "index.nope=1")
    assert proc.returncode == 2 and "unknown configuration key 'index.nope'" in proc.stderr


def test_oversized_and_non_utf8_files_are_refused(tmp_path: Path) -> None:
    toml = tmp_path / "trawl.toml"
    toml.write_text("# " + "x" * MAX_CONFIG_BYTES + "\n")
    with pytest.raises(TrawlError, match=rf"{toml}:1: more than {MAX_CONFIG_BYTES} bytes"):
        load_config(env={"TRAWL_HOME": str(tmp_path)})
    toml.write_bytes(b'[index]\nprefix = "ok"\nuser = "\xff"\n')
    with pytest.raises(TrawlError, match=rf"{toml}:3: not UTF-8"):
        load_config(env={"TRAWL_HOME": str(tmp_path)})


def test_config_object_is_typed_and_complete(tmp_path: Path) -> None:
    assert config_fields() == [key.field for key in KEYS]
    config = load_config({"index.replicas": 4, "crawl.remote_control": "yes"},
                         env={"TRAWL_HOME": str(tmp_path), "TRAWL_INDEX_PASSWORD": "s3cret-pw"})
    assert (config.index_replicas, config.crawl_remote_control, config.index_password) == (4, True, "s3cret-pw")
    assert config.source("index.replicas") == "flag index.replicas"
    assert "s3cret-pw" not in repr(config)  # secrets never reach logs through a repr
    with pytest.raises(TrawlError, match=r"flag index\.replicas: index\.replicas must be an integer"):
        load_config({"index.replicas": 1.5}, env={"TRAWL_HOME": str(tmp_path)})
    with pytest.raises(TrawlError, match="TRAWL_REMOTE_CONTROL='maybe': expected one of"):
        load_config(env={"TRAWL_HOME": str(tmp_path), "TRAWL_REMOTE_CONTROL": "maybe"})


@pytest.mark.parametrize("command", [("runs", "--json"), ("sites", "list"), ("config", "show", "--json")])
def test_reading_commands_leave_a_fresh_home_uncreated(tmp_path: Path, command: tuple[str, ...]) -> None:
    home = tmp_path / "fresh"
    proc = trawl(clean_env(home), *command)
    assert proc.returncode == 0, proc.stderr
    assert not home.exists()


def test_readme_documents_every_key() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    for key in KEYS:
        leaf = key.name.rpartition(".")[2]
        assert f"`{key.name}`" in section or f"`.{leaf}`" in section, key.name
        assert key.env in section or key.env.rsplit("_", 1)[0] + "_*" in section \
            or key.env.rsplit("_", 2)[0] + "_*" in section, key.env


def test_trawl_home_is_found_without_being_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "a" / "home"
    monkeypatch.setenv("TRAWL_HOME", str(home))
    assert trawl_home() == home and not home.exists()
    assert ensure_home() == home and home.is_dir()
