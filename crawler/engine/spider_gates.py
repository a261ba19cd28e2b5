"""The spider's gate and login steps: pass a wait gate, pause on a captcha, log in.

A captcha or a gate that cannot be passed pauses the site (a person must look); a login form
that would put the password in a URL stops the crawl.  Only gate and login forms are ever
submitted.  Functions of the spider (crawler/engine/spider.py), kept apart so its navigation
core stays short.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, cast

from scrapy.http import FormRequest, Request, Response, TextResponse

from crawler.engine import session
from crawler.sitedef.pagetree import page_selector
from crawler.sitedef.selectors import evaluate
from crawler.sitedef.siteconfig import GateConfig

if TYPE_CHECKING:
    from crawler.engine.spider import TrawlSpider


def handle_gate(spider: TrawlSpider, gate: GateConfig, response: Response) -> Iterator[Request]:
    stats = spider.crawler.stats
    stats.inc_value("trawl/gate_hits")
    stats.inc_value(f"trawl/gate_hits/{gate.name}")
    attempts = response.meta.get("trawl_gate_attempts", 0) + 1
    if gate.type == "captcha":
        spider.pause(f"captcha gate '{gate.name}' at {response.url}", response.url)
        return
    if attempts > gate.max_attempts:
        spider.pause(f"wait gate '{gate.name}' not passed after {gate.max_attempts} attempts", response.url)
        return
    meta = {**spider.carry(response), "trawl_gate_attempts": attempts, "trawl_after_gate": True}
    if gate.wait_seconds:
        meta["trawl_wait_before"] = gate.wait_seconds
    if gate.pass_form:
        try:
            # a gate or login form was found with CSS, so the page is a TextResponse
            yield FormRequest.from_response(cast(TextResponse, response), formcss=gate.pass_form, meta=meta, callback=spider.parse,
                                            errback=spider.failed, dont_filter=True)
        except ValueError as exc:
            spider.pause(f"wait gate '{gate.name}': form {gate.pass_form!r} not found ({exc})", response.url)
        return
    target = None
    if gate.pass_link is not None:
        target = evaluate(gate.pass_link, page_selector(response.text), response.url).value
    elif gate.pass_meta_refresh:
        refresh = None
        for content in response.css('meta[http-equiv="refresh" i]::attr(content)').getall():
            refresh = session.parse_meta_refresh(content)
            if refresh is not None:  # browsers act on the first valid one
                break
        if refresh is not None:
            wait, target = refresh[0], refresh[1] or response.url  # no URL: reload this page
            if not gate.wait_seconds:
                meta["trawl_wait_before"] = min(wait, 30.0)
    if isinstance(target, list):
        target = target[0] if target else None
    if not target:
        spider.pause(f"wait gate '{gate.name}': nothing to follow", response.url)
        return
    yield Request(response.urljoin(target), callback=spider.parse, errback=spider.failed, meta=meta, dont_filter=True)


def handle_login(spider: TrawlSpider, response: Response) -> Iterator[Request]:
    login = spider.site.login
    if login is None:
        raise RuntimeError(f"handle_login called for {spider.site.name}, which has no login section")
    if response.meta.get("trawl_login_submitted"):
        spider.login_attempts += 1
    if spider.login_attempts >= login.max_attempts:
        spider.pause(f"login failed {spider.login_attempts} times (check credentials)", response.url)
        return
    creds = session.load_credentials(spider.site.name, login)
    if creds is None:
        spider.pause(f"login required but no credentials: set {login.username_env}/{login.password_env} "
                   f"or $TRAWL_HOME/secrets/{spider.site.name}.yaml", response.url)
        return
    meta = {**spider.carry(response), "trawl_after_gate": True, "trawl_login_submitted": True,
            "trawl_secret_fields": [login.username_field, login.password_field]}
    if not response.css(login.form):
        meta.pop("trawl_login_submitted")
        yield Request(spider.mirror + login.url, callback=spider.parse, errback=spider.failed, meta=meta, dont_filter=True)
        return
    method = (login.method or response.css(login.form).attrib.get("method") or "GET").upper()
    if method != "POST" and not login.allow_credentials_in_url:
        spider.stop(f"login form {login.form!r} submits by {method}: the password would travel in the URL; "
                  f"refused (to accept it, set login.allow_credentials_in_url: true in {login.where})",
                  "login_refused")
        return
    spider.crawler.stats.inc_value("trawl/login/submitted")
    formdata = {login.username_field: creds.username, login.password_field: creds.password, **dict(login.extra_fields)}
    yield FormRequest.from_response(cast(TextResponse, response), formcss=login.form, formdata=formdata, meta=meta, method=method,
                                    callback=spider.parse, errback=spider.failed, dont_filter=True)
