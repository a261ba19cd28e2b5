"""`trawl process`: a page-processing consumer fed through Redis (crawler.engine.workers_redis)."""
from __future__ import annotations

import click


@click.command("process")
@click.option("--redis", "redis_url", metavar="URL", help="Redis with the job stream (default: redis.url).")
@click.option("--name", default="", help="Consumer name in the group (default: host-pid).")
@click.option("--batch", type=click.IntRange(min=1), default=50, show_default=True,
              help="Jobs per index write (one transaction / bulk request).")
@click.option("--claim-idle", type=click.FloatRange(min=0.1), default=60.0, show_default=True, metavar="SECONDS",
              help="Take over jobs another consumer has held this long without acking (it died).")
@click.option("--idle-exit", type=click.FloatRange(min=0), default=0.0, metavar="SECONDS",
              help="Exit after this long with nothing to do (default: run until stopped).")
def process(redis_url: str | None, name: str, batch: int, claim_idle: float, idle_exit: float) -> None:
    """Process pages crawls hand over through Redis: read each page back from its run's
    evidence ($TRAWL_HOME/runs/... must be readable here), extract, parse, enrich and store
    it in the configured index, then ack it. Crawls send jobs here when
    crawl.workers_feed = redis (TRAWL_WORKERS_FEED=redis). Run as many as you like, on
    any machine; a consumer killed mid-batch loses nothing: another takes its jobs over.

    \b
    Example:
      TRAWL_REDIS_URL=redis://127.0.0.1:6379/0 trawl process
      trawl process --redis redis://queue.lan:6379/0 --name box2 --batch 100
      TRAWL_WORKERS_FEED=redis trawl crawl vortex
    """
    from core.config import load_config
    from core.errors import TrawlError
    from crawler.engine.workers_redis import Consumer

    url = redis_url or load_config().redis_url
    if not url:
        raise TrawlError("trawl process: no Redis to read jobs from (give --redis URL or set redis.url)")
    consumer = Consumer(url, name=name, batch_size=batch, claim_idle=claim_idle,
                        log=lambda line: click.echo(line, err=True))
    click.echo(f"trawl process {consumer.name}: waiting for jobs", err=True)
    try:
        consumer.run(idle_exit=idle_exit)
    except KeyboardInterrupt:
        pass
    click.echo(f"trawl process {consumer.name}: {consumer.processed} job(s) processed, "
               f"{consumer.claimed} taken over", err=True)
