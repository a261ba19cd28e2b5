"""`trawl serve`: the analysts' HTTP API (dashboards/api)."""
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
    token ($TRAWL_DASHBOARD_TOKEN or $TRAWL_HOME/dashboard.token) may also start crawls
    (POST /api/crawl).  Token files are created with mode 0600 on first use.  Requests
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
