"""The channels file in-process: defaults, secrets from files and from the alerts.* settings."""
from __future__ import annotations

from pathlib import Path

from core.config import load_config
from trawl.alerting.config import load_delivery_config


def test_secrets_from_settings_and_files_and_delivery_defaults(trawl_home: Path, tmp_path: Path) -> None:
    (tmp_path / "misp.key").write_text("misp-from-file\n", encoding="utf-8")
    path = trawl_home / "alert-channels.yaml"
    path.write_text("delivery:\n  retries: 2\n  digest: {after: 3, window_minutes: 10}\n  dead_letter: dead.jsonl\n"
                    "channels:\n  ops: {type: webhook, url: 'https://hooks.example.org/a'}\n"
                    f"  misp: {{type: misp, url: 'https://misp.example.org', authkey_file: '{tmp_path / 'misp.key'}'}}\n",
                    encoding="utf-8")
    config = load_config(env={"TRAWL_HOME": str(trawl_home), "TRAWL_ALERTS_WEBHOOK_SECRET": "from-setting"})

    loaded = load_delivery_config(config=config)

    ops, misp = loaded.channels["ops"], loaded.channels["misp"]
    assert (ops.secret, ops.options["format"], misp.secret) == ("from-setting", "json", "misp-from-file")
    assert (misp.options["distribution"], misp.options["threat_level"], misp.options["tags"]) == (0, 4, ("trawl",))
    assert (loaded.retries, loaded.digest_after, loaded.digest_window_seconds) == (2, 3, 600)
    assert loaded.dead_letter == trawl_home / "dead.jsonl" and loaded.source == str(path)
    assert "from-setting" not in repr(ops) and "misp-from-file" not in repr(loaded)
    assert load_config(env={"TRAWL_HOME": str(trawl_home), "TRAWL_ALERTS_MISP_KEY": "k"}).display(
        "alerts.misp_key") == "***"
