"""`trawl serve`: the analysts' HTTP API (dashboards/api); `trawl dashboards install`: Kibana objects."""
from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; keep the default unless a reverse proxy with TLS sits in front.")
@click.option("--port", default=8800, show_default=True, type=click.IntRange(0, 65535),
              help="TCP port (0: any free one).")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME",
              help="Also accept this Host name (repeatable; e.g. the reverse proxy's). Also $TRAWL_DASHBOARD_HOSTS.")
def serve(host: str, port: int, allow_hosts: tuple[str, ...]) -> None:
    """Serve the analysts' pages (/ui/) and the JSON API: search with facets, listing history
    with its archived page, trends, vendors, sites and runs.

    Open the printed /ui/ address and paste the analyst token once (or open
    /ui/#token=TOKEN); the pages send it as a Bearer header, never as a cookie.

    Every API route needs `Authorization: Bearer TOKEN`: the analyst token
    ($TRAWL_DASHBOARD_READ_TOKEN or $TRAWL_HOME/dashboard-read.token) reads, the admin
    token ($TRAWL_DASHBOARD_TOKEN or $TRAWL_HOME/dashboard.token) may also start crawls,
    pause/resume sites and review new-substance candidates (audited in
    $TRAWL_HOME/audit.jsonl; see docs/web.md).  Token files are created with mode 0600 on first use.  Requests
    naming another Host than localhost, 127.0.0.1, [::1], the bound address or an
    --allow-host name are refused (421), against DNS rebinding.  The OpenAPI schema is
    at /openapi.json.

    \b
    Example:
      trawl serve --port 8800
      curl -H "Authorization: Bearer $(cat trawl-data/dashboard-read.token)" \\
           'http://127.0.0.1:8800/api/search?q=mephedrone&destination=DE'
    """
    from dashboards.api import serve as run

    run(host=host, port=port, hosts=allow_hosts)  # prints the bound address once listening


@click.group("dashboards")
def dashboards() -> None:
    """Dashboards outside trawl: Kibana saved objects for the Elasticsearch backend.

    \b
    Example:
      trawl dashboards install --kibana-url http://localhost:5601
    """


@dashboards.command("install")
@click.option("--kibana-url", required=True, metavar="URL", help="Kibana's base URL, e.g. http://localhost:5601.")
@click.option("--space", default=None, metavar="ID", help="Kibana space id (default: the default space).")
@click.option("--api-key", envvar="TRAWL_KIBANA_API_KEY", default="", show_envvar=True, metavar="KEY",
              help="Kibana API key (base64 id:key); prefer the environment variable to a flag others can see.")
@click.option("--user", envvar="TRAWL_KIBANA_USER", default="", show_envvar=True, help="Basic-auth user.")
@click.option("--password", envvar="TRAWL_KIBANA_PASSWORD", default="", show_envvar=True, hidden=True)
@click.option("--prefix", default=None, metavar="PREFIX",
              help="Index prefix the data views cover (default: index.prefix, $TRAWL_INDEX_PREFIX, 'trawl').")
def dashboards_install(kibana_url: str, space: str | None, api_key: str, user: str, password: str,
                       prefix: str | None) -> None:
    """Import trawl's Kibana objects (dashboards/kibana/*.ndjson): data views over the
    listings and snapshots aliases, price-per-gram and market-activity visualisations and
    the "trawl: market overview" dashboard.  Objects with the same ids are overwritten.

    Credentials: $TRAWL_KIBANA_API_KEY, or $TRAWL_KIBANA_USER and $TRAWL_KIBANA_PASSWORD;
    they are sent only in the Authorization header and never printed.  The objects are in
    the Kibana 7.17 format (imported and migrated by 7.17 and 8.x).

    \b
    Example:
      trawl dashboards install --kibana-url http://localhost:5601
      TRAWL_KIBANA_API_KEY=... trawl dashboards install --kibana-url https://kibana.example --space osint
    """
    from core.config import load_config
    from dashboards.kibana import KibanaAuth, install

    chosen = prefix or load_config().index_prefix
    results = install(kibana_url, space=space, auth=KibanaAuth(api_key=api_key, user=user, password=password),
                      prefix=chosen)
    for result in results:
        click.echo(f"{result['file']}: {result['success_count']} object(s) imported into "
                   f"{'space ' + space if space else 'the default space'}")
