"""Scrapy components trawl switches off are left out of Scrapy's base lists, not imported.

Scrapy imports every class named in DOWNLOADER_MIDDLEWARES, SPIDER_MIDDLEWARES and
EXTENSIONS to normalise its path, a `None` one too (crawler.engine.settings.leave_out_switched_off).
The check runs in a fresh interpreter: the test process has imported Scrapy's modules long ago."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# builds a crawl's settings twice, reads which components Scrapy enables from each, and
# reports what the first read imported
PROBE = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from scrapy.settings import Settings
    import crawler.engine.settings as crawl_settings
    from crawler.sitedef.siteconfig import load_site_file

    NAMES = crawl_settings.COMPONENT_SETTINGS
    WATCHED = ["scrapy.extensions.remote_control", "scrapy.extensions.telnet", "aiohttp",
               "scrapy.downloadermiddlewares.cookies", "tldextract",
               "scrapy.spidermiddlewares.depth", "scrapy.spidermiddlewares.urllength"]

    def enabled(settings):
        scrapy_settings = Settings(settings)
        return {name: sorted(scrapy_settings.get_component_priority_dict_with_base(name).items()) for name in NAMES}

    def build():
        site = load_site_file(Path(sys.argv[1]) / "crawler/sites/vortex.yaml")
        return crawl_settings.build_settings(site, run_id="r", run_dir=Path("/nonexistent/r"), home=Path("/nonexistent"))

    left_out = enabled(build())
    imported = [name for name in WATCHED if name in sys.modules]
    crawl_settings.leave_out_switched_off = lambda settings: settings  # Scrapy's own way: None in the override
    plain = enabled(build())
    print(json.dumps({"left_out": left_out, "plain": plain, "imported": imported,
                      "imported_plain": [name for name in WATCHED if name in sys.modules]}))
""")


def test_switched_off_components_are_not_imported_and_the_same_ones_run() -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE, str(REPO)], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "TRAWL_HOME": "/nonexistent"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["imported"] == [], "switched-off components were imported"
    # the probe can fail: Scrapy's own way imports every one of them
    assert set(result["imported_plain"]) == {"scrapy.extensions.remote_control", "scrapy.extensions.telnet", "aiohttp",
                                             "scrapy.downloadermiddlewares.cookies", "tldextract",
                                             "scrapy.spidermiddlewares.depth", "scrapy.spidermiddlewares.urllength"}
    assert result["left_out"] == result["plain"]
    enabled = {name for components in result["left_out"].values() for name, _ in components}
    assert "crawler.engine.session.SessionCookiesMiddleware" in enabled
    assert "crawler.engine.runstats.RunStatsExtension" in enabled
    assert not {"scrapy.downloadermiddlewares.cookies.CookiesMiddleware",
                "scrapy.extensions.remote_control.RemoteControl"} & enabled
