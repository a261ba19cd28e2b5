"""`trawl serve`: the local web dashboard and JSON API."""
from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; keep the default unless a reverse proxy with TLS sits in front.")
@click.option("--port", default=8800, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
def serve(host: str, port: int) -> None:
    """Serve search, trends and match over HTTP (read-only without a token).

    Starting a crawl (POST /api/crawl) needs `Authorization: Bearer TOKEN`, the token
    from $TRAWL_DASHBOARD_TOKEN or $TRAWL_HOME/dashboard.token (created on first use).

    \b
    Example:
      trawl serve --port 8800
      curl 'http://127.0.0.1:8800/api/search?q=mephedrone&destination=DE'
    """
    from dashboards.web import serve as run

    click.echo(f"dashboard on http://{host}:{port}/ (Ctrl-C stops it)")
    run(host=host, port=port)
