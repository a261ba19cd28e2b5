"""`trawl parse ...`: run one parser on a piece of text and print the structured result."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import click

from core.errors import TrawlError

_LOCALE = click.option("--site-locale", default=None, metavar="LOCALE", help="Site locale hint, e.g. de, en_US (decides '1.000' and 04/03/2019).")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


def _emit(result: Any, as_json: bool) -> None:
    data = result.to_dict()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False))
        return
    for key, value in data.items():
        if value in (None, [], "", {}) and key not in ("ok",):
            continue
        if key == "offers" or key == "equivalents":
            value = ", ".join(_short(v) for v in value)
        click.echo(f"{key:>22}: {value}")


def _short(item: dict[str, Any]) -> str:
    if "currency" in item:
        return f"{item.get('amount')} {item.get('currency')}"
    return f"{item.get('amount')} {item.get('unit')}"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def parse() -> None:
    """Parse listing text into values (quantity, price, shipping, dates).

    \b
    Example:
      trawl parse quantity "100 x 2mg Xanax bars" --json
      trawl parse price "0.0021 BTC (≈ $85)"
    """


@parse.command()
@click.argument("text")
@click.option("--default-unit", type=click.Choice(["g", "ml", "unit"]), default=None, help="Unit for a bare number such as a tier cell '5'.")
@_LOCALE
@_JSON
def quantity(text: str, default_unit: str | None, site_locale: str | None, as_json: bool) -> None:
    """Amount in g / ml / units, per-unit dose, purity, multi-offers.

    \b
    Example:
      trawl parse quantity "100 x 2mg Xanax bars"
      trawl parse quantity "1g/5g/10g 90%+ c0ca1ne" --json
    """
    from parsers.quantity import parse_quantity

    _emit(parse_quantity(text, default_unit=default_unit), as_json)


@parse.command()
@click.argument("text")
@click.option("--currency", "currency_hint", default=None, help="Currency of a bare number, e.g. EUR.")
@click.option("--rates", "rates_file", type=click.Path(dir_okay=False), default=None,
              help="Rate file (CSV/JSON date,currency,usd_per_unit); default: built-in approximate table.")
@click.option("--when", default=None, help="Date of the price (ISO) for the rate lookup.")
@_LOCALE
@_JSON
def price(text: str, currency_hint: str | None, rates_file: str | None, when: str | None, site_locale: str | None, as_json: bool) -> None:
    """Amount and currency (plus stated equivalents) and its USD value.

    \b
    Example:
      trawl parse price "85,40 €" --when 2019-03-04
      trawl parse price "1.000 €" --site-locale en --json
    """
    from parsers.price import parse_price
    from parsers.rates import RateTable
    from parsers.tiers import price_to_usd

    result = parse_price(text, site_locale=site_locale, currency_hint=currency_hint)
    table = RateTable.from_file(rates_file) if rates_file else RateTable.default()
    conv = price_to_usd(result, rates=table, when=when) if result.ok else None
    if as_json:
        data = result.to_dict()
        data["usd"] = conv.to_dict() if conv else None
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    _emit(result, False)
    if conv is not None:
        click.echo(f"{'usd':>22}: {conv.usd if conv.ok else None} ({conv.rate_source or conv.error})")


@parse.command()
@click.argument("text", required=False)
@click.option("--from", "ships_from", default=None, help="Ships-from text, e.g. 'Netherlands'.")
@click.option("--to", "ships_to", default=None, help="Ships-to text, e.g. 'Worldwide except USA'.")
@_LOCALE
@_JSON
def shipping(text: str | None, ships_from: str | None, ships_to: str | None, site_locale: str | None, as_json: bool) -> None:
    """Origin and destinations as ISO codes (regions expanded). TEXT alone is read as ships-to.

    \b
    Example:
      trawl parse shipping --from Netherlands --to "Worldwide except USA, Australia"
      trawl parse shipping "EU" --json
    """
    from parsers.shipping import parse_shipping

    if text is None and ships_from is None and ships_to is None:
        raise TrawlError("parse shipping: give TEXT or --from/--to")
    _emit(parse_shipping(ships_from, ships_to if ships_to is not None else text), as_json)


@parse.command()
@click.argument("text")
@click.option("--currency", "currency_hint", default=None, help="Currency for 'free' or bare costs.")
@_LOCALE
@_JSON
def option(text: str, currency_hint: str | None, site_locale: str | None, as_json: bool) -> None:
    """One shipping option: method, cost, days, tracked, stealth.

    \b
    Example:
      trawl parse option "Standard (5-10 days) +$5.00"
      trawl parse option "airmail - 8 days - USD + 5.00 / order" --json
    """
    from parsers.options import parse_shipping_option

    _emit(parse_shipping_option(text, currency_hint=currency_hint, site_locale=site_locale), as_json)


@parse.command()
@click.argument("text")
@click.option("--now", default=None, help="Crawl time (ISO 8601) for relative dates; default: now (UTC).")
@_LOCALE
@_JSON
def date(text: str, now: str | None, site_locale: str | None, as_json: bool) -> None:
    """Absolute or relative date as UTC with its precision.

    \b
    Example:
      trawl parse date "3 days ago" --now 2019-03-04T12:00:00Z
      trawl parse date "04/03/2019" --site-locale en_US --json
    """
    from parsers.dates import parse_date

    if now is not None:
        try:
            datetime.fromisoformat(now.replace("Z", "+00:00"))
        except ValueError:
            raise TrawlError(f"--now: not an ISO 8601 time: {now!r}") from None
    _emit(parse_date(text, now=now or datetime.now(timezone.utc), site_locale=site_locale), as_json)


@parse.command()
@click.argument("text")
@_JSON
def text(text: str, as_json: bool) -> None:
    """Cleaned text as the matcher sees it (Unicode, homoglyphs, leetspeak, flags).

    \b
    Example:
      trawl parse text "c0ca1ne 🇳🇱 mеphedrone"
    """
    from parsers.text import normalize_text

    _emit(normalize_text(text), as_json)
