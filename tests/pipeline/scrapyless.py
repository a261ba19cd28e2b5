"""Run as a subprocess by test_without_scrapy.py: one saved testbed page through the site's
page object and the pipeline into a real SQLite index, in a process where importing Scrapy
or Twisted fails (so nothing on the way may need them).

    python -m tests.pipeline.scrapyless SITE URL INDEX_PATH CLOCK

Prints one JSON line: the processed results of two passes over the page (the second finds
it unchanged) and the pipeline's counters.

    python -m tests.pipeline.scrapyless --worker SITE URL INDEX_PATH CLOCK

does what a processing worker does with the page instead (crawler.engine.workers_job.JobRunner
on a job carrying the page, as the crawl's local pool hands it over, gate check included) and
prints what the written batch acknowledged.
"""
from __future__ import annotations

import hashlib
import importlib.abc
import json
import os
import sys
import urllib.request
from typing import Any
from urllib.parse import urlsplit

BLOCKED = ("scrapy", "twisted")


class RefuseScrapy(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} imported on the Scrapy-less path")
        return None


def fetch_page(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:  # loopback: the testbed
        body: bytes = response.read()
    return body


def main(site_name: str, url: str, index_path: str, clock: str) -> None:
    sys.meta_path.insert(0, RefuseScrapy())
    from core.items import EvidenceRef, Fetch
    from crawler.sitedef.pages import PageInput, read_item
    from crawler.sitedef.siteconfig import load_site
    from index.sqlite_backend import SqliteBackend
    from pipeline import BatchHooks, Pipeline, Tally

    body = fetch_page(url)
    site = load_site(site_name)
    parts = urlsplit(url)
    mirror = f"{parts.scheme}://{parts.netloc}"
    fetch = Fetch(key=parts.path, mirror=mirror, evidence=EvidenceRef(payload_sha256=hashlib.sha256(body).hexdigest()),
                  page_sha256=hashlib.sha256(body).hexdigest())
    stats = Tally()
    done: list[str] = []
    index = SqliteBackend(index_path)
    try:
        passes = []
        for _ in range(2):  # the second pass finds the stored page unchanged
            pipeline = Pipeline(index, clock=clock, run_id="ingest-1", stats=stats, batch_size=10, batch_seconds=3600,
                                hooks=BatchHooks(after_write=done.extend))
            raw = read_item(site, PageInput(url=url, text=body.decode("utf-8")), "listing", fetch)
            result = pipeline.handle(raw)
            pipeline.flush()
            passes.append({"novelty": result.novelty, "drop": str(result.drop) if result.drop else None,
                           "missing": list(raw.missing), "parse_errors": result.parse_errors})
    finally:
        index.close()
    loaded = sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED)
    print(json.dumps({"passes": passes, "stats": dict(stats.values), "done": done, "loaded": loaded}))


def worker(site_name: str, url: str, index_path: str, clock: str) -> None:
    sys.meta_path.insert(0, RefuseScrapy())
    from core.records import Evidence
    from crawler.engine.workers_job import JobRunner, PageJob, WorkerSpec
    from crawler.evidence.reader import ArchivedPage

    body = fetch_page(url)
    os.environ["TRAWL_INDEX_URL"] = f"sqlite://{index_path}"
    runner = JobRunner(WorkerSpec(site_name=site_name, site_source="", run_id="w-1", clock=clock,
                                  home=os.environ["TRAWL_HOME"]))
    digest = hashlib.sha256(body).hexdigest()
    page = ArchivedPage(url=url, status=200, body=body, content_type="text/html; charset=utf-8", warc_file="w.warc.gz",
                        payload_sha256=digest)
    evidence = Evidence(run_id="w-1", warc_file="w.warc.gz", payload_sha256=digest)
    try:
        runner.run(PageJob(key=urlsplit(url).path, kind="listing", evidence=evidence, page=page, seq=1))
        ack = runner.flush()
    finally:
        runner.close()
    assert ack is not None, "the job's batch was not written"
    loaded = sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED)
    print(json.dumps({"seqs": ack.seqs, "keys": ack.keys, "counters": ack.counters, "loaded": loaded}))


if __name__ == "__main__":
    if sys.argv[1] == "--worker":
        worker(*sys.argv[2:6])
    else:
        main(*sys.argv[1:5])
