"""A self-contained Scrapy crawl for the network/evidence tests, run as a subprocess:

    python tests/crawler/net_spider.py CONFIG.json

CONFIG: {"start_urls": [...], "settings": {...}, "items_out": path,
         "follow_css": "a::attr(href)", "item_css": "h2::text",
         "login": {"url": ..., "formdata": {...}, "secret_fields": [...]} (optional),
         "playwright_meta": {...} (optional, merged into every request's meta)}
Writes one JSON line per item and a final {"stats": {...}} line to items_out.
"""
from __future__ import annotations

import dataclasses
import json
import re
import sys
from pathlib import Path
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess


class NetSpider(scrapy.Spider):
    name = "netspider"

    def __init__(self, config: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config

    def _meta(self) -> dict[str, Any]:
        meta = dict(self.config.get("request_meta") or {})
        browser = self.config.get("browser")
        if browser:  # PageMethods are objects: build them here, fresh per request
            from types import SimpleNamespace

            from crawler.net.browser import playwright_request_meta

            meta |= playwright_request_meta(SimpleNamespace(**browser["site"]),
                                            browser.get("wait_for"),
                                            browser.get("screenshot", False))
        return meta

    async def start(self) -> Any:
        login = self.config.get("login")
        if login:
            meta = self._meta() | {"trawl_secret_fields": login.get("secret_fields", []),
                                   "trawl_login": True}
            yield scrapy.FormRequest(login["url"], formdata=login["formdata"], meta=meta,
                                     headers=login.get("headers"), callback=self.after_login,
                                     dont_filter=True)
            return
        for url in self.config["start_urls"]:
            yield scrapy.Request(url, meta=self._meta())

    def after_login(self, response: scrapy.http.Response) -> Any:
        for url in self.config["start_urls"]:
            yield scrapy.Request(url, meta=self._meta())

    def parse(self, response: scrapy.http.Response) -> Any:
        item_re = self.config.get("item_url_regex")
        if item_re and re.search(item_re, response.url):
            yield {"url": response.url, "evidence": response.meta.get("trawl_evidence")}
        deny = self.config.get("deny_regex")
        for name in response.css(self.config.get("item_css", "h2::text")).getall():
            yield {"name": name.strip(), "url": response.url,
                   "evidence": response.meta.get("trawl_evidence")}
        for href in response.css(self.config.get("follow_css", "a::attr(href)")).getall():
            if deny and re.search(deny, href):
                continue
            yield response.follow(href, meta=self._meta())


def main(config_path: str) -> None:
    config = json.loads(Path(config_path).read_text())
    out = Path(config["items_out"])
    items: list[dict[str, Any]] = []
    settings: dict[str, Any] = {
        "LOG_LEVEL": "INFO",
        "ROBOTSTXT_OBEY": False,
        "TELNETCONSOLE_ENABLED": False,
        "RETRY_TIMES": 1,
        "DOWNLOAD_TIMEOUT": 15,
        "DOWNLOADER_MIDDLEWARES": {"crawler.net.tor.OnionGuardMiddleware": 50},
    }
    for key, value in config.get("settings", {}).items():
        if isinstance(value, dict) and isinstance(settings.get(key), dict):
            settings[key] = settings[key] | value
        else:
            settings[key] = value
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(NetSpider)

    def collect(item: dict[str, Any], **_: Any) -> None:
        items.append(item)

    crawler.signals.connect(collect, signal=scrapy.signals.item_scraped)
    process.crawl(crawler, config=config)
    process.start()
    with out.open("w") as fh:
        for item in items:
            fh.write(json.dumps(item, default=dataclasses.asdict) + "\n")  # evidence: an EvidenceRef
        stats = {k: v for k, v in crawler.stats.get_stats().items()
                 if isinstance(v, (int, float, str))}
        fh.write(json.dumps({"stats": stats}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
