"""`trawl match`, `trawl lists show|check`, `trawl alerts new-substances`, `trawl vendors show`."""
from __future__ import annotations

import json
from typing import Any

import click

from core.errors import TrawlError


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False))


def _lists_from(paths: tuple[str, ...]) -> Any:
    from enrich.lists import default_paths, load_reference_lists

    if not paths:
        return None
    return load_reference_lists([*default_paths(), *paths])


@click.command("match")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print the matches as JSON.")
@click.option("--lists", "extra_lists", multiple=True, type=click.Path(), metavar="FILE",
              help="Extra control list file or folder (added to the shipped lists and $TRAWL_CONTROL_LISTS).")
@click.option("--candidates/--no-candidates", default=True, help="Also show substance-like tokens that match no list.")
def match(text: str, as_json: bool, extra_lists: tuple[str, ...], candidates: bool) -> None:
    """Which substances does TEXT mention, and how are they controlled?

    Short codes (3-MMC, 2C-B, 4-FA) match exactly; longer names also match
    misspelt; ordinary-word street names (speed, ice, coke) only count with a
    quantity, price or another drug nearby.

    \b
    Example:
      trawl match "3-MMC crystals 10g, mefedron 5g" --json
      trawl match "speed paste 100g" --lists national/de_btmg.yaml
    """
    from enrich.early_warning import new_substance_candidates
    from enrich.lists import default_lists
    from enrich.matcher import match as do_match

    lists = _lists_from(extra_lists) or default_lists()
    found = do_match(text, lists=lists)
    new = new_substance_candidates(text, lists=lists) if candidates else []
    if as_json:
        _dump({"text": text, "matches": [m.to_dict() for m in found],
               "candidates": [{"token": c.token, "pattern": c.pattern, "span": list(c.span)} for c in new]})
        return
    if not found:
        click.echo("no substance matched")
    for m in found:
        controls = ", ".join(m.controls) or "not internationally controlled"
        click.echo(f"{m.canonical}  [{m.substance_class}]  {controls}  ({m.reason} {m.score:.2f}: {m.matched_text!r} at {m.span[0]}-{m.span[1]})")
    for c in new:
        click.echo(f"candidate new substance: {c.token!r} ({c.pattern})")


@click.group("lists")
def lists() -> None:
    """Reference control lists (UN conventions, ISSL, NPS early warning, national lists).

    \b
    Example:
      trawl lists show
      TRAWL_CONTROL_LISTS=/etc/trawl/de_btmg.yaml trawl lists show --json
      trawl lists check my_country.yaml
    """


@lists.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--substances", is_flag=True, help="Also list every substance with its controls.")
def lists_show(as_json: bool, substances: bool) -> None:
    """Show the loaded list files: source, date, version, entry count.

    \b
    Example:
      trawl lists show --substances --json
    """
    from enrich.lists import default_lists

    loaded = default_lists()
    data: dict[str, Any] = {
        "lists": [vars(info) for info in loaded.lists],
        "substances": len(loaded.substances),
        "names": len(loaded.names),
        "warnings": loaded.warnings,
    }
    if substances:
        data["substance_list"] = [
            {"name": s.canonical, "class": s.substance_class, "controls": s.controls, "cas": s.cas, "year_added": s.year_added}
            for s in sorted(loaded.substances.values(), key=lambda s: s.canonical.lower())
        ]
    if as_json:
        _dump(data)
        return
    for info in loaded.lists:
        click.echo(f"{info.instrument:10} {info.entries:4} entries  as of {info.as_of}  v{info.version}  {info.path}")
        click.echo(f"{'':10} source: {info.source}")
    click.echo(f"{data['substances']} substances, {data['names']} names")
    for warning in loaded.warnings:
        click.echo(f"warning: {warning}")
    for s in data.get("substance_list", []):
        click.echo(f"  {s['name']:40} {', '.join(s['controls']) or '-':20} {s['class']}")


@lists.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path())
def lists_check(files: tuple[str, ...]) -> None:
    """Validate list FILES (schema, CAS check digits, ambiguous names); exit 2 on errors.

    \b
    Example:
      trawl lists check enrich/data/un_1971.yaml national/de_btmg.yaml
    """
    from enrich.lists import check_file

    problems: list[str] = []
    for path in files:
        _, errors = check_file(path)
        problems.extend(errors)
        if not errors:
            click.echo(f"{path}: ok")
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        raise TrawlError(f"{len(problems)} error(s) in control list file(s)")


@click.group("alerts")
def alerts() -> None:
    """Early-warning alerts.

    \b
    Example:
      trawl alerts new-substances --since 2026-01-01 --json
    """


@alerts.command("new-substances")
@click.option("--since", default=None, metavar="DATE", help="Only tokens first seen on/after DATE (ISO).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--index-url", envvar="TRAWL_INDEX_URL", default=None, metavar="URL",
              help="Index to read (default: $TRAWL_INDEX_URL, else $TRAWL_HOME/index.sqlite).")
def new_substances(since: str | None, as_json: bool, index_url: str | None) -> None:
    """List candidate new substances: tokens shaped like drug names that match no list.

    \b
    Example:
      trawl alerts new-substances --since 2026-11-01
    """
    from core.records import to_dict
    from index import open_index

    with open_index(index_url) as backend:
        found = backend.candidates(since)
    if as_json:
        _dump([to_dict(c) for c in found])
        return
    if not found:
        click.echo("no candidate new substances" + (f" since {since}" if since else ""))
    for c in found:
        examples = ", ".join(c.example_listing_ids[:3])
        click.echo(f"{c.token:24} {c.pattern:20} first seen {c.first_seen[:10]} on {c.site} ({c.occurrences}x)  e.g. {examples}")


@click.group("vendors")
def vendors() -> None:
    """Vendor identities linked across markets.

    \b
    Example:
      trawl vendors show ChefRamsay --json
    """


@vendors.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON (the same document as GET /api/vendors/NAME).")
@click.option("--links/--no-links", default=True, show_default=True,
              help="Link identities across markets (reads every listing).")
@click.option("--index-url", envvar="TRAWL_INDEX_URL", default=None, metavar="URL",
              help="Index to read (default: $TRAWL_INDEX_URL, else $TRAWL_HOME/index.sqlite).")
def vendors_show(name: str, as_json: bool, links: bool, index_url: str | None) -> None:
    """Show vendor NAME: every stored field of its records, per-market statistics
    (listings, first/last seen, the market's sales/rating/feedback, top substances),
    and its identities on other markets with the evidence linking them.

    Links: same PGP fingerprint (strong), same crypto address (strong), similar
    name with overlapping substances/origins (weak, scored).

    \b
    Example:
      trawl vendors show ChefRamsay --json
      trawl vendors show nightshade:dutchgold --no-links
    """
    from index import open_index
    from index.vendors import vendor_report

    with open_index(index_url) as backend:
        report = vendor_report(backend, name, linker=cross_market_linker() if links else None)
    if report is None:
        raise TrawlError(f"vendor {name!r} not found in the index")
    if as_json:
        _dump(report)
        return
    for vendor, market in zip(report["vendors"], report["markets"], strict=True):
        click.echo(f"{vendor['vendor_id']:32} {vendor['name']:20} listings {market['listings']:<5} "
                   f"sales {market['sales'] if market['sales'] is not None else '-':<6} "
                   f"rating {market['rating'] if market['rating'] is not None else '-':<5} "
                   f"seen {market['first_seen'][:10]}..{market['last_seen'][:10]}")
        if vendor["joined"]:
            click.echo(f"  joined {vendor['joined']}")
        if vendor["pgp_fingerprints"]:
            click.echo(f"  pgp {', '.join(vendor['pgp_fingerprints'])}")
        if market["substances"]:
            click.echo("  offers " + ", ".join(f"{s['value']} ({s['count']})" for s in market["substances"]))
    for identity in report["identities"]:
        click.echo(f"linked {identity['vendor_id']:32} {identity['name']:20} {', '.join(identity['pgp_fingerprints'])}")
    for link in report["links"]:
        click.echo(f"  {link['a']} <-> {link['b']}: {link['kind']} ({link['strength']}, {link['score']}): {'; '.join(link['evidence'])}")


def cross_market_linker() -> Any:
    """enrich.vendors' linking as the `linker` of index.vendors.vendor_report (dashboards/api/routes_vendors.py
    passes the same: the API may not import this application package)."""
    from enrich.vendors import link_vendors, links_for

    return lambda name, everyone, listings: links_for(name, everyone, link_vendors(everyone, listings))
