"""Every default trawl runs with, in one module.

Two kinds live here:
- `KEYS`: the user-facing configuration keys (`trawl config show`).  Each has one name
  (`index.url`, also the `[index] url = ...` entry of `$TRAWL_HOME/trawl.toml`), one
  environment variable and one default; `core.config` resolves them in layers.
- Crawl-internal Scrapy setting defaults (`SCRAPY_DEFAULTS`): set per site YAML or per
  profile by `crawler.engine.settings`, which takes its values from here, as do the
  components that read them with a fallback (`settings.getint(NAME, SCRAPY_DEFAULTS[NAME])`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_HOME = "trawl-data"
# Tor's own default SocksPort: a stock local tor works, a missing tor fails closed
TOR_SOCKS_URL = "socks5h://127.0.0.1:9050"
BROWSER_NETNS_MODES = ("auto", "require", "off")


@dataclass(frozen=True)
class Key:
    """One configuration key: dotted name, its environment variable, type and default."""

    name: str
    env: str
    kind: type  # str, int, float or bool
    default: Any
    help: str
    secret: bool = False  # shown as *** by `trawl config show`
    in_file: bool = True  # False: only env/flag (TRAWL_HOME says where the file is)

    @property
    def field(self) -> str:
        """Attribute name on core.config.Config (`index.url` -> `index_url`)."""
        return self.name.replace(".", "_")


KEYS: tuple[Key, ...] = (
    Key("home", "TRAWL_HOME", str, DEFAULT_HOME, "where trawl keeps its data (relative: to the working directory)",
        in_file=False),
    # index (index/__init__.py, index/es_client.py, index/es_backend.py)
    Key("index.url", "TRAWL_INDEX_URL", str, "", "empty: SQLite at $TRAWL_HOME/index.sqlite; sqlite:///path; "
        "http(s)://host:9200 (Elasticsearch)"),
    Key("index.user", "TRAWL_INDEX_USER", str, "", "Elasticsearch user (basic auth)"),
    Key("index.password", "TRAWL_INDEX_PASSWORD", str, "", "Elasticsearch password", secret=True),
    Key("index.password_file", "TRAWL_INDEX_PASSWORD_FILE", str, "", "file holding the Elasticsearch password"),
    Key("index.api_key", "TRAWL_INDEX_API_KEY", str, "", "Elasticsearch API key", secret=True),
    Key("index.ca_cert", "TRAWL_INDEX_CA_CERT", str, "", "CA bundle for the Elasticsearch TLS certificate"),
    Key("index.prefix", "TRAWL_INDEX_PREFIX", str, "trawl", "Elasticsearch index/alias name prefix"),
    Key("index.replicas", "TRAWL_INDEX_REPLICAS", int, None, "Elasticsearch replicas per index when set; "
        "unset: auto_expand_replicas 0-1 (green on one node)"),
    Key("index.shards", "TRAWL_INDEX_SHARDS", int, 1, "Elasticsearch primary shards per new index "
        "(listings, vendors, candidates, each snapshot month; docs/elasticsearch.md sizing)"),
    Key("index.wait_for_active_shards", "TRAWL_INDEX_WAIT_SHARDS", str, "1", "Elasticsearch bulk "
        "writes wait for this many active copies of each shard (1, a number, or all)"),
    Key("index.bulk_threads", "TRAWL_INDEX_BULK_THREADS", int, 2, "Elasticsearch bulk requests in flight "
        "(parallel_bulk threads; 1 = streaming_bulk, one at a time)"),
    # crawl engine
    Key("crawl.profile", "TRAWL_PROFILE", str, "default", "settings profile: default, test, production, bench"),
    Key("crawl.workers", "TRAWL_WORKERS", int, -1, "page-processing worker processes beside the crawl: "
        "-1 = cores - 1 (at least 1; 0 with evidence off), 0 = in the crawl process"),
    Key("crawl.workers_feed", "TRAWL_WORKERS_FEED", str, "local", "where page-processing jobs go: local (worker "
        "processes of the crawl), redis (redis.url) or a redis:// URL: for `trawl process` on any machine"),
    Key("crawl.workers_help_at_close", "TRAWL_WORKERS_HELP_AT_CLOSE", bool, True, "with local workers, the "
        "crawl process also loads the lists (~25 MB) and at close processes two thirds of what each worker "
        "has not started (docs/workers.md)"),
    Key("crawl.event_loop", "TRAWL_EVENT_LOOP", str, "auto", "the crawl's asyncio event loop: auto (uvloop "
        "when installed, else asyncio's own), uvloop or asyncio"),
    Key("crawl.remote_control", "TRAWL_REMOTE_CONTROL", bool, False,
        "Scrapy's telnet/remote-control consoles (debugging on a trusted machine only)"),
    Key("log.level", "TRAWL_LOG_LEVEL", str, "", "console log level (empty: trawl's default)"),
    Key("sites.dir", "TRAWL_SITES_DIR", str, "", "extra site YAML folders (os.pathsep-separated), searched first"),
    Key("sessions.secrets_file", "TRAWL_SECRETS_FILE", str, "", "YAML of site logins (besides $TRAWL_HOME/secrets/)"),
    Key("redis.url", "TRAWL_REDIS_URL", str, "", "redis://host:port/db: share the crawl frontier between workers"),
    Key("redis.frontier", "TRAWL_REDIS_FRONTIER", str, "default", "name of the shared frontier"),
    # networks
    Key("tor.socks", "TRAWL_TOR_SOCKS", str, TOR_SOCKS_URL, "Tor SOCKS5 proxy (socks5h://host:port)"),
    Key("tor.control", "TRAWL_TOR_CONTROL", str, "", "Tor control port (host:port or unix:/path): circuit renewal"),
    Key("tor.control_password", "TRAWL_TOR_CONTROL_PASSWORD", str, "", "Tor control password", secret=True),
    Key("tor.control_cookie", "TRAWL_TOR_CONTROL_COOKIE", str, "", "Tor control auth cookie file", secret=True),
    Key("tor.pool", "TRAWL_TOR_POOL", str, "", "more Tor clients, each site pinned to one: 'socks5h://H:P "
        "[control=H:P] [cookie=PATH]; ...' (with the ones `trawl tor start` manages)"),
    Key("browser.chromium", "TRAWL_CHROMIUM", str, "", "Chromium executable (empty: the system Chromium)"),
    Key("browser.netns", "TRAWL_BROWSER_NETNS", str, "auto",
        f"confine Chromium in a network namespace: {'|'.join(BROWSER_NETNS_MODES)}"),
    # evidence anchoring (crawler/evidence/anchor.py)
    Key("evidence.heads_log", "TRAWL_EVIDENCE_HEADS_LOG", str, "",
        "heads log (empty: $TRAWL_HOME/evidence/heads.jsonl)"),
    Key("evidence.webhook_url", "TRAWL_EVIDENCE_WEBHOOK_URL", str, "", "POST each manifest head here"),
    Key("evidence.webhook_secret", "TRAWL_EVIDENCE_WEBHOOK_SECRET", str, "", "HMAC key for the webhook",
        secret=True),
    Key("evidence.tsa_url", "TRAWL_EVIDENCE_TSA_URL", str, "", "RFC 3161 timestamp authority"),
    Key("evidence.tsa_ca", "TRAWL_EVIDENCE_TSA_CA", str, "", "TSA CA certificates (os.pathsep-separated)"),
    Key("evidence.anchor_timeout", "TRAWL_EVIDENCE_ANCHOR_TIMEOUT", float, 10.0, "seconds per webhook/TSA call"),
    # alerts (pipeline/watch.py, trawl/alerting/)
    Key("alerts.watch_file", "TRAWL_ALERTS_WATCH_FILE", str, "", "watch rules YAML (empty: $TRAWL_HOME/watch.yaml)"),
    Key("alerts.channels_file", "TRAWL_ALERTS_CHANNELS_FILE", str, "",
        "alert delivery channels YAML (empty: $TRAWL_HOME/alert-channels.yaml)"),
    Key("alerts.webhook_secret", "TRAWL_ALERTS_WEBHOOK_SECRET", str, "",
        "HMAC key of webhook channels that name no secret of their own", secret=True),
    Key("alerts.smtp_password", "TRAWL_ALERTS_SMTP_PASSWORD", str, "",
        "SMTP password of e-mail channels that name none of their own", secret=True),
    Key("alerts.misp_key", "TRAWL_ALERTS_MISP_KEY", str, "", "MISP authkey of MISP channels that name none",
        secret=True),
    # dashboard (dashboards/api/security.py)
    Key("dashboard.token", "TRAWL_DASHBOARD_TOKEN", str, "", "API token (empty: $TRAWL_HOME/dashboard.token)",
        secret=True),
    Key("dashboard.read_token", "TRAWL_DASHBOARD_READ_TOKEN", str, "",
        "analyst (read-only) API token (empty: $TRAWL_HOME/dashboard-read.token)", secret=True),
    Key("dashboard.hosts", "TRAWL_DASHBOARD_HOSTS", str, "", "extra Host names accepted (comma-separated)"),
    # scheduler (trawl/schedule_store.py)
    Key("schedule.store_url", "TRAWL_SCHEDULE_STORE", str, "",
        "scheduler job store (SQLAlchemy URL; empty: SQLite at $TRAWL_HOME/schedule.sqlite)"),
)

KEYS_BY_NAME: dict[str, Key] = {key.name: key for key in KEYS}

# Scrapy setting defaults of trawl's own components (see the module docstring).
SCRAPY_DEFAULTS: dict[str, Any] = {
    "TRAWL_EVIDENCE_ENABLED": True,
    "TRAWL_EVIDENCE_FSYNC": True,
    "TRAWL_EVIDENCE_SYNC_INTERVAL": 0.5,
    "TRAWL_WARC_MAX_BYTES": 100 * 2**20,
    "TRAWL_MAX_RATE_LIMITED": 20,
    "TRAWL_RETRY_BACKOFF": 1.0,
    "TRAWL_RETRY_AFTER_MAX": 60.0,
    # stored items are written per batch (one transaction / one bulk request), see pipeline.store
    "TRAWL_STORE_BATCH": 50,
    "TRAWL_STORE_BATCH_SECONDS": 1.0,
    "TRAWL_TOR_RENEW_AFTER_FAILURES": 5,
    "TRAWL_TOR_NEWNYM_INTERVAL": 10.0,
}
