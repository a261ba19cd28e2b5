"""`trawl parse ...` through the root CLI."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from trawl.cli import cli, main


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["parse", *args])
    return result.exit_code, result.output


def _run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Through trawl.cli.main, which turns TrawlError into one line and exit code 2."""
    try:
        main(["parse", *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_quantity_json() -> None:
    code, out = _run("quantity", "100 x 2mg Xanax bars", "--json")
    data = json.loads(out)
    assert code == 0 and (data["unit"], data["amount"], data["dose_mg"], data["active_mg"]) == ("unit", 100.0, 2.0, 200.0)


def test_price_json_with_locale_and_usd() -> None:
    code, out = _run("price", "1.000 €", "--site-locale", "de", "--when", "2019-03-04", "--json")
    data = json.loads(out)
    assert code == 0 and data["amount"] == 1000.0 and data["currency"] == "EUR" and "ambiguous" in data["ambiguity"]
    assert data["usd"]["rate_source"] == "table:default:2019-03" and data["usd"]["usd"] == pytest.approx(1126.7)


def test_price_with_rate_file_and_bad_rate_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "r.csv"
    good.write_text("date,currency,usd_per_unit\n2019-01,XMR,50\n", encoding="utf-8")
    code, out = _run("price", "2 XMR", "--rates", str(good), "--when", "2019-02-01")
    assert code == 0 and "100.0 (table:r:2019-01)" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("date,currency,usd_per_unit\n2019-01,XMR,fifty\n", encoding="utf-8")
    code, out = _run_main(capsys, "price", "2 XMR", "--rates", str(bad))
    assert code == 2 and f"{bad}:2: field 'usd_per_unit'" in out and "Traceback" not in out


def test_shipping_from_to_and_positional(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run("shipping", "--from", "Netherlands", "--to", "Worldwide except USA, Australia", "--json")
    data = json.loads(out)
    assert code == 0 and data["origin"] == "NL" and data["ships_worldwide"] and data["destinations_excluded"] == ["AU", "US"]
    code, out = _run("shipping", "Benelux", "--json")
    assert json.loads(out)["destinations"] == ["BE", "LU", "NL"]
    code, out = _run_main(capsys, "shipping")
    assert code == 2 and "give TEXT" in out


def test_date_option_and_text_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run("date", "3 days ago", "--now", "2019-03-04T12:00:00Z")
    assert code == 0 and "2019-03-01T00:00:00+00:00" in out and "relative: True" in out
    code, out = _run_main(capsys, "date", "x", "--now", "yesterday-ish")
    assert code == 2 and "--now" in out
    code, out = _run("option", "Express stealth shipping 2-3 days +0.0003 BTC", "--json")
    assert json.loads(out)["stealth"] is True
    code, out = _run("text", "c0ca1ne 🇳🇱")
    assert code == 0 and "cocaine NL" in out


@pytest.mark.parametrize("command", ["quantity", "price", "shipping", "date", "option", "text"])
def test_every_command_has_an_example(command: str) -> None:
    code, out = _run(command, "--help")
    assert code == 0 and "Example:" in out and "trawl parse " + command in out


def test_garbage_never_fails_the_command() -> None:
    for command in ("quantity", "price", "option", "text"):
        code, out = _run(command, "\x00\ufffd🙂 ̈", "--json")
        assert code == 0 and json.loads(out)["raw"]
