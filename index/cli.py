"""`trawl search`, `trawl trends` and `trawl index migrate|flush|stats` (`trawl export`: index/export_cli.py)."""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from core.errors import TrawlError
from core.records import to_dict
from core.timeutil import bound_from, bound_to
from core.vocabulary import VOCABULARY_META, LazyVocabulary, Vocabulary
from index import open_index
from index.api import SearchQuery, SearchResult, TrendQuery, TrendRow


def vocabulary() -> Vocabulary:
    """The substance vocabulary the application provides (trawl/cli.py puts a provider in click's
    context meta; the index never loads enrich/'s lists itself). Empty outside `trawl`."""
    ctx = click.get_current_context(silent=True)
    provider = ctx.meta.get(VOCABULARY_META) if ctx is not None else None
    # built on first use: most listing queries (by site, vendor, price, date) never need it
    return LazyVocabulary(provider) if callable(provider) else \
        Vocabulary.empty("no vocabulary provided (not run through `trawl`)")


MAX_COUNT = 1_000_000_000  # --limit/--offset above this are typos, and SQLite integers overflow far beyond it

FILTER_OPTIONS: list[tuple[str, str, type, str]] = [
    ("--substance", "substance", str, "Canonical substance name or synonym (e.g. mephedrone, 4-mmc)."),
    ("--control", "control", str, "Control list entry, e.g. 1971:II; '1971' matches every 1971 schedule."),
    ("--class", "substance_class", str, "Substance class, e.g. 'synthetic cathinone'."),
    ("--site", "site", str, "Site name, e.g. nightshade."),
    ("--market-kind", "market_kind", str, "darknet-market, vendor-shop, chemical-b2b, pharmacy, forum."),
    ("--vendor", "vendor", str, "Vendor name (any case) or vendor id (site:name)."),
    ("--origin", "origin", str, "Ships-from country, ISO alpha-2."),
    ("--destination", "destination", str, "Ships-to country, ISO alpha-2 (worldwide listings match unless excluded)."),
    ("--price-min", "price_usd_min", float, "Minimum offer price in USD."),
    ("--price-max", "price_usd_max", float, "Maximum offer price in USD."),
    ("--ppu-min", "usd_per_unit_min", float, "Minimum USD per g/ml/unit."),
    ("--ppu-max", "usd_per_unit_max", float, "Maximum USD per g/ml/unit."),
    ("--first-seen-from", "first_seen_from", str, "First seen on/after (ISO date or time)."),
    ("--first-seen-to", "first_seen_to", str, "First seen on/before."),
    ("--last-seen-from", "last_seen_from", str, "Last seen on/after."),
    ("--last-seen-to", "last_seen_to", str, "Last seen on/before."),
]


def checked_time(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Reject impossible dates (2026-13-45) at parse time, naming the option (exit 2)."""
    if value:
        flag = param.opts[0] if param.opts else str(param.name)
        (bound_to if flag.endswith("-to") or flag == "--to" else bound_from)(value, flag)
    return value


def checked_number(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """A finite number: "abc", "nan" and "inf" are user errors naming the option, not empty results."""
    if value is None:
        return None
    flag = param.opts[0] if param.opts else str(param.name)
    try:
        number = float(value)
    except ValueError:
        raise TrawlError(f"{flag}: expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise TrawlError(f"{flag}: expected a finite number, got {value!r}")
    return number


def checked_count(ctx: click.Context, param: click.Parameter, value: int) -> int:
    flag = param.opts[0] if param.opts else str(param.name)
    if not 0 <= value <= MAX_COUNT:
        raise TrawlError(f"{flag}: {value} is outside 0..{MAX_COUNT}")
    return value


def filter_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for flag, dest, kind, help_text in reversed(FILTER_OPTIONS):
        if kind is float:
            fn = click.option(flag, dest, type=str, default=None, callback=checked_number, metavar="NUMBER",
                              help=help_text)(fn)
        elif flag.startswith(("--first-seen", "--last-seen")):
            fn = click.option(flag, dest, type=str, default=None, callback=checked_time, metavar="ISO",
                              help=help_text)(fn)
        else:
            fn = click.option(flag, dest, type=kind, default=None, help=help_text)(fn)
    return fn


def index_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--index-url", envvar="TRAWL_INDEX_URL", default=None, metavar="URL",
                        help="sqlite:///path or http(s)://host:9200 "
                             "(default: $TRAWL_INDEX_URL, else $TRAWL_HOME/index.sqlite).")(fn)


def build_search_query(text: str = "", **options: Any) -> SearchQuery:
    fields = {f.name for f in dataclasses.fields(SearchQuery)}
    return SearchQuery(text=text, **{k: v for k, v in options.items() if k in fields and v is not None})


def _cell(value: Any, width: int) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(headers: list[str], rows: list[list[Any]], widths: list[int]) -> str:
    lines = ["  ".join(_cell(h, w).ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip()]
    for row in rows:
        lines.append("  ".join(_cell(v, w).ljust(w) for v, w in zip(row, widths, strict=False)).rstrip())
    return "\n".join(lines)


def _money(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _per_unit(listing: Any) -> str:
    if listing.usd_per_unit is None:
        return ""
    return _money(listing.usd_per_unit) + (f"/{listing.quantity_unit}" if listing.quantity_unit else "")


def render_search(result: SearchResult, query: SearchQuery) -> str:
    if not result.hits:
        return f"no listings match ({result.total} total)"
    rows = [
        [h.listing.title, h.listing.vendor or "", h.listing.site, _money(h.listing.price_usd), _per_unit(h.listing),
         h.listing.origin or "", (h.listing.last_seen or "")[:10]]
        for h in result.hits
    ]
    headers = ["TITLE", "VENDOR", "SITE", "PRICE USD", "USD/UNIT", "ORIGIN", "LAST SEEN"]
    table = _table(headers, rows, [40, 16, 11, 10, 11, 6, 10])
    shown = f"{query.offset + 1}-{query.offset + len(result.hits)}"
    return f"{table}\n{shown} of {result.total} listings"


def _csv(headers: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buf.getvalue().rstrip("\n")


def _output_flags(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--csv", "as_csv", is_flag=True, help="Print CSV (header + one row per result).")(fn)
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(fn)


@click.command("search")
@click.argument("text", nargs=-1)
@filter_options
@click.option("--sort", default="relevance", show_default=True,
              help="relevance | price_usd | usd_per_unit | first_seen | last_seen; prefix '-' for descending.")
@click.option("--limit", default=20, show_default=True, type=int, callback=checked_count)
@click.option("--offset", default=0, show_default=True, type=int, callback=checked_count)
@_output_flags
@index_option
def search(text: tuple[str, ...], sort: str, limit: int, offset: int, as_json: bool, as_csv: bool,
           index_url: str | None, **filters: Any) -> None:
    """Full-text search over listings, with filters, sorting and paging.

    Every word must match (title, description, vendor or substance), as typed
    or as a known synonym; filters narrow the result.  Text is words only:
    quotes, AND/OR/NEAR and col:value are not operators; put text that starts
    with '-' after '--'.

    \b
    Example:
      trawl search mephedrone --destination DE --sort usd_per_unit
      trawl search --substance cocaine --ppu-max 60 --json
      trawl search "xanax bars" --site vortex --csv > bars.csv
      trawl search --limit 5 -- -pvp
    """
    query = build_search_query(" ".join(text), sort=sort, limit=limit, offset=offset, **filters)
    with open_index(index_url, vocabulary=vocabulary()) as backend:
        result = backend.search(query)
    if as_json:
        click.echo(json.dumps({"total": result.total, "offset": offset, "hits": [
            {"listing": to_dict(h.listing), "score": h.score, "highlight": h.highlight} for h in result.hits]},
            ensure_ascii=False, indent=2))
    elif as_csv:
        headers = ["listing_id", "title", "vendor", "site", "price_usd", "usd_per_unit", "quantity_unit", "origin",
                   "last_seen", "substances", "highlight"]
        click.echo(_csv(headers, [[h.listing.listing_id, h.listing.title, h.listing.vendor, h.listing.site,
                                   h.listing.price_usd, h.listing.usd_per_unit, h.listing.quantity_unit,
                                   h.listing.origin, h.listing.last_seen,
                                   ";".join(s.name for s in h.listing.substances), h.highlight] for h in result.hits]))
    else:
        click.echo(render_search(result, query))


EXACT_OPTION = click.option(
    "--exact", is_flag=True, help="usd_per_unit: exact type-7 quantiles (Elasticsearch otherwise estimates them with "
    "TDigest percentiles, much faster at scale; SQLite is always exact).")


def trend_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--metric", default="usd_per_unit", show_default=True,
                     type=click.Choice(["usd_per_unit", "listings", "vendors", "new_substances", "activity"])),
        click.option("--interval", default="month", show_default=True, type=click.Choice(["day", "week", "month"])),
        click.option("--by", "group_by", default="substance", show_default=True,
                     help="Comma-separated groups: substance, site, origin ('' for none)."),
        click.option("--substance", "trend_substance", default=None, help="Only this substance (synonyms accepted)."),
        click.option("--site", "trend_site", default=None, help="Only this site."),
        click.option("--origin", "trend_origin", default=None, help="Only this ships-from country (ISO alpha-2)."),
        click.option("--unit", default="g", show_default=True, type=click.Choice(["g", "ml", "unit"]),
                     help="Quantity unit for usd_per_unit (USD per gram, ml or unit)."),
        click.option("--from", "time_from", default=None, help="Crawl time on/after (ISO date or time).",
                     callback=checked_time),
        click.option("--to", "time_to", default=None, help="Crawl time on/before.", callback=checked_time),
        EXACT_OPTION,
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def build_trend_query(metric: str, interval: str, group_by: str, trend_substance: str | None, trend_site: str | None,
                      trend_origin: str | None, unit: str, time_from: str | None, time_to: str | None,
                      exact: bool = False) -> TrendQuery:
    groups = [g.strip() for g in group_by.split(",") if g.strip()]
    return TrendQuery(metric=metric, interval=interval, group_by=groups, substance=trend_substance, site=trend_site,
                      origin=trend_origin, unit=unit, time_from=time_from, time_to=time_to, exact=exact)


def render_trends(rows: list[TrendRow], query: TrendQuery) -> tuple[list[str], list[list[Any]]]:
    group_names = sorted({k for r in rows for k in r.group},
                         key=lambda k: list(rows[0].group).index(k) if rows and k in rows[0].group else 99)
    headers = ["period", *group_names, "count"]
    if query.metric == "usd_per_unit":
        headers += ["median", "q1", "q3"]
    if query.metric == "activity":
        headers += ["delta"]
    table = []
    for r in rows:
        line: list[Any] = [r.period, *(r.group.get(g) for g in group_names), r.count]
        if query.metric == "usd_per_unit":
            line += [r.median, r.q1, r.q3]
        if query.metric == "activity":
            line += ["" if r.delta is None else f"{r.delta:+d}"]
        table.append(line)
    return headers, table


@click.command("trends")
@trend_options
@_output_flags
@index_option
def trends(as_json: bool, as_csv: bool, index_url: str | None, **options: Any) -> None:
    """Time series over snapshots: prices, listing and vendor counts, new substances, crawl activity.

    usd_per_unit gives the median and interquartile range (type-7 quantiles)
    of USD per --unit in each period; listings/vendors count distinct ones
    seen; activity lists listings seen per crawl run and the change.
    On Elasticsearch the quantiles are TDigest estimates unless --exact.

    \b
    Example:
      trawl trends --substance mephedrone --interval month
      trawl trends --substance mephedrone --exact
      trawl trends --by substance,site --interval week --json
      trawl trends --metric activity --site vortex --csv
    """
    query = build_trend_query(**options)
    with open_index(index_url, vocabulary=vocabulary()) as backend:
        rows = backend.trends(query)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(r) for r in rows], ensure_ascii=False, indent=2))
        return
    headers, table = render_trends(rows, query)
    if as_csv:
        click.echo(_csv(headers, table))
    elif not rows:
        click.echo("no data for this trend (check filters and --unit)")
    else:
        widths = [max(8, min(24, max(len(str(x[i])) for x in [headers, *table]))) for i in range(1, len(headers))]
        click.echo(_table(headers, table, [10, *widths]))


@click.group("index")
def index_group() -> None:
    """Manage the index: create/upgrade its layout, replay the spool, show statistics.

    \b
    Example:
      trawl index stats
      TRAWL_INDEX_URL=http://localhost:9200 trawl index migrate
      trawl index flush
    """


@index_group.command("migrate")
@index_option
def migrate_cmd(index_url: str | None) -> None:
    """Create or upgrade the index layout (SQLite schema; ES templates, versioned indices, aliases).

    On Elasticsearch a new mapping version is built beside the old one,
    reindexed, then the read/write aliases move in one atomic step.

    \b
    Example:
      trawl index migrate
      trawl index migrate --index-url https://es.example:9200
    """
    with open_index(index_url, vocabulary=vocabulary()) as backend:
        if backend.name == "elasticsearch":
            from index import es_admin

            backend.ensure_ready()  # type: ignore[attr-defined]
            report = backend._call("migrating", es_admin.migrate, backend)  # type: ignore[attr-defined]
            click.echo(json.dumps(report, indent=2))
        else:
            version = backend.conn.execute("PRAGMA user_version").fetchone()[0]  # type: ignore[attr-defined]
            click.echo(f"{backend.describe()}: schema version {version}, up to date")  # type: ignore[attr-defined]


@index_group.command("flush")
@click.option("--spool-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Spool folder (default $TRAWL_HOME/spool).")
@click.option("--rejected", is_flag=True, help="Also retry documents the server rejected earlier.")
@index_option
def flush_cmd(spool_dir: Path | None, rejected: bool, index_url: str | None) -> None:
    """Replay spooled batches (written while Elasticsearch was down) into the index, oldest first.

    \b
    Example:
      trawl index flush
      trawl index flush --rejected
    """
    from index.spool import Spool, default_spool_dir

    directory = spool_dir or default_spool_dir()
    spools = [Spool(directory)] + ([Spool(directory / "rejected")] if rejected else [])
    with open_index(index_url, vocabulary=vocabulary()) as backend:
        target: Any = backend
        if backend.name == "elasticsearch":
            from index.es_backend import _DirectWriter

            backend.ensure_ready()  # type: ignore[attr-defined]
            target = _DirectWriter(backend)  # type: ignore[arg-type]
        with backend.bulk_mode():  # Elasticsearch: refresh off during the replay, restored after
            for spool in spools:
                report = spool.replay(target)
                click.echo(f"{spool.directory}: replayed {report.batches} batches ({report.records} records) from "
                           f"{report.files} files; {report.remaining_files} files left"
                           + (f"; skipped {report.skipped_lines} torn lines" if report.skipped_lines else ""))


@index_group.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@index_option
def stats_cmd(as_json: bool, index_url: str | None) -> None:
    """Record counts and storage details of the index.

    \b
    Example:
      trawl index stats
      trawl index stats --json
    """
    from index.spool import Spool

    with open_index(index_url, vocabulary=vocabulary()) as backend:
        if backend.name == "elasticsearch":
            from index import es_admin

            info = backend._call("reading stats", es_admin.stats, backend)  # type: ignore[attr-defined]
        else:
            path = Path(backend.path)  # type: ignore[attr-defined]
            info = {"backend": "sqlite", "path": str(path), "bytes": path.stat().st_size if path.exists() else 0,
                    "counts": backend.counts(), "spooled_batches": Spool().pending()}
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"backend  {info['backend']}  {info.get('path') or info.get('url')}")
    for kind, n in info["counts"].items():
        click.echo(f"{kind:<12} {n:>10,}")
    if info.get("spooled_batches"):
        click.echo(f"spooled batches waiting: {info['spooled_batches']} (run `trawl index flush`)")


__all__ = ["TrawlError", "index_group", "search", "trends"]  # `trawl export`: index/export_cli.py
