"""What keeps a rendered page from leaking or from eating the machine.

Chromium flags (crawler.net.browser) are the first layer; this module is the second, in the
download handler every `render: browser` request goes through:

- WebRTC: an init script in every browser context removes `RTCPeerConnection` and friends
  before any page script runs (the `--webrtc-ip-handling-policy` flag already stops
  non-proxied UDP; the script also stops a page from learning local candidates at all).
- Hidden-service names: requests to `.onion`/`.i2p`/`.exit` hosts from a clear-web page
  (and `.i2p`/`.exit` from a tor page) are aborted before Chromium looks the name up;
  the host-resolver rules stop what interception cannot see (DNS prefetch, preconnect).
- Size: a response whose Content-Length or decoded body exceeds the crawl's
  DOWNLOAD_MAXSIZE closes the page; a rendered DOM longer than that is not stored.
- Memory: a watchdog reads the Chromium process tree's memory from /proc and kills a
  renderer above TRAWL_BROWSER_RENDERER_MAX_MB (or the largest one when the tree is above
  TRAWL_BROWSER_MAX_MB); its page is dropped.

Every drop raises `RenderDropped` (an IgnoreRequest: not retried) and is counted as
`item_dropped_reasons/browser_<reason>`, which the run summary lists under drops.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest

logger = logging.getLogger(__name__)

HIDDEN_SERVICE_SUFFIXES = (".onion", ".i2p", ".exit")
DROP_STAT = "item_dropped_reasons/browser_"
BLOCKED_STAT = "trawl/browser/blocked/"
KILLED_STAT = "trawl/browser/renderer_killed/"
DEFAULT_RENDERER_MAX_MB = 512
DEFAULT_BROWSER_MAX_MB = 1280
WATCHDOG_INTERVAL = 0.2

# Runs in every frame before the page's own scripts. Deleting is not enough (a page can
# find the constructors again through prototypes of other objects only if they stay
# reachable from window), so each name is redefined as a non-configurable undefined.
WEBRTC_OFF_SCRIPT = """(() => {
  const names = ["RTCPeerConnection", "webkitRTCPeerConnection", "RTCDataChannel",
    "RTCSessionDescription", "RTCIceCandidate", "RTCRtpSender", "RTCRtpReceiver",
    "RTCRtpTransceiver", "RTCDtlsTransport", "RTCIceTransport", "RTCSctpTransport",
    "RTCCertificate", "RTCDTMFSender", "RTCEncodedAudioFrame", "RTCEncodedVideoFrame",
    "RTCError", "RTCErrorEvent", "RTCPeerConnectionIceEvent", "RTCTrackEvent",
    "RTCDataChannelEvent", "RTCStatsReport"];
  for (const name of names) {
    try { delete window[name]; } catch (e) {}
    try { Object.defineProperty(window, name, {value: undefined, writable: false,
                                               configurable: false}); } catch (e) {}
  }
})();"""


class RenderDropped(IgnoreRequest):
    """A rendered page given up for a named reason (counted, never retried)."""

    def __init__(self, reason: str, url: str, detail: str = "") -> None:
        super().__init__(f"browser: {url} dropped ({reason}{': ' + detail if detail else ''})")
        self.reason = reason


def blocked_suffix(url: str, tor: bool) -> str | None:
    """The hidden-service suffix a browser request must not go to, or None."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    for suffix in HIDDEN_SERVICE_SUFFIXES:
        if host.endswith(suffix) and not (tor and suffix == ".onion"):
            return suffix.lstrip(".")
    return None


@dataclass
class RenderLimits:
    max_response_bytes: int
    max_dom_chars: int
    renderer_max_bytes: int
    browser_max_bytes: int

    @classmethod
    def from_settings(cls, settings: Any) -> RenderLimits:
        maxsize = settings.getint("DOWNLOAD_MAXSIZE") or 2**62  # 0 = no limit in Scrapy
        return cls(maxsize, maxsize,
                   settings.getint("TRAWL_BROWSER_RENDERER_MAX_MB", DEFAULT_RENDERER_MAX_MB) * 2**20,
                   settings.getint("TRAWL_BROWSER_MAX_MB", DEFAULT_BROWSER_MAX_MB) * 2**20)


@dataclass
class PageWatch:
    """Watches one page's network traffic through its own CDP session; `violation` is the
    first reason it closed the page for."""

    page: Any
    max_bytes: int
    violation: str | None = None
    crashed: bool = False
    kills_at_start: int = 0
    received: dict[str, int] = field(default_factory=dict)
    closing: asyncio.Future[None] | None = None
    session: Any = None

    async def attach(self) -> None:
        self.page.on("crash", self._on_crash)
        session = self.session = await self.page.context.new_cdp_session(self.page)
        session.on("Network.responseReceived", self._on_response)
        session.on("Network.dataReceived", self._on_data)
        # DevTools keeps response bodies for a client that enables Network: keep none
        await session.send("Network.enable", {"maxTotalBufferSize": 1, "maxResourceBufferSize": 1})

    def _on_crash(self, *_: Any) -> None:
        self.crashed = True

    def _on_response(self, event: dict[str, Any]) -> None:
        headers = {k.lower(): v for k, v in (event.get("response") or {}).get("headers", {}).items()}
        length = str(headers.get("content-length", "")).strip()
        if length.isdigit() and int(length) > self.max_bytes:
            self.trip("response_too_large")

    def _on_data(self, event: dict[str, Any]) -> None:
        request_id = str(event.get("requestId"))
        total = self.received.get(request_id, 0) + int(event.get("dataLength") or 0)
        self.received[request_id] = total
        if total > self.max_bytes:
            self.trip("response_too_large")

    def trip(self, reason: str) -> None:
        if self.violation is None:
            self.violation = reason
            self.closing = asyncio.ensure_future(self._close())

    async def _close(self) -> None:
        """Crash the page's renderer (DevTools Page.crash): the navigation fails at once
        and the bytes already parsed are freed. Not page.close(): closing a page while
        its navigation commits can leave Playwright waiting forever (microsoft/playwright
        #42366). Page.crash gets no answer: it is given 2 s, in the background."""
        if self.session is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.session.send("Page.crash"), 2)
            return
        with contextlib.suppress(Exception):
            await self.page.close()


# --- memory watchdog ---------------------------------------------------------------

def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                parent = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(parent, []).append(int(entry))
    return tree


def descendants(root: int) -> list[int]:
    tree, found, todo = _children(), [], [root]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _status_bytes(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _is_renderer(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"--type=renderer" in fh.read()
    except OSError:
        return False


def _is_chromium(pid: int) -> bool:
    try:
        return "chrom" in os.path.basename(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return False


class MemoryWatchdog:
    """Kills a Chromium renderer of this process's tree that is over its memory cap.

    RssAnon (the process's own heap, not the shared binary) is what a hostile page grows;
    the tree total is the sum of VmRSS of the Chromium processes. One watchdog per
    process (`shared`): Scrapy makes a handler per scheme, and they must not count kills
    apart or both police the same tree."""

    _shared: MemoryWatchdog | None = None

    def __init__(self, limits: RenderLimits, stats: Any) -> None:
        self.limits, self.stats = limits, stats
        self.kills = 0
        self.users = 0
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def shared(cls, limits: RenderLimits, stats: Any) -> MemoryWatchdog:
        if cls._shared is None or cls._shared.stats is not stats:
            cls._shared = cls(limits, stats)
        return cls._shared

    def start(self) -> None:
        self.users += 1
        if self._task is None and os.path.isdir("/proc/self"):
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        self.users -= 1
        if self._task is not None and self.users <= 0:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(WATCHDOG_INTERVAL)
            try:
                self.check()
            except Exception:  # a /proc race must not stop the watchdog
                logger.debug("browser memory watchdog: check failed", exc_info=True)

    def check(self) -> None:
        chromium = [pid for pid in descendants(os.getpid()) if _is_chromium(pid)]
        renderers = {pid: _status_bytes(pid, "RssAnon") for pid in chromium if _is_renderer(pid)}
        total = sum(_status_bytes(pid, "VmRSS") for pid in chromium)
        for pid, used in renderers.items():
            if used > self.limits.renderer_max_bytes:
                self._kill(pid, "renderer_memory", used)
        if total > self.limits.browser_max_bytes and renderers:
            pid = max(renderers, key=lambda p: renderers[p])
            self._kill(pid, "browser_memory", total)

    def _kill(self, pid: int, reason: str, used: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            self.kills += 1
            self.stats.inc_value(KILLED_STAT + reason)
            logger.warning("browser: killed renderer %d (%s, %d MB)", pid, reason, used // 2**20)
