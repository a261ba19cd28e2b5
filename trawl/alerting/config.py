"""Alert channels: where `trawl alerts deliver` sends the alert log, read from one YAML file.

$TRAWL_HOME/alert-channels.yaml by default (setting `alerts.channels_file`); every problem
is reported as FILE:LINE: field: problem.  `${VAR}` in a value is expanded from the
environment (an unset variable is an error at its line), so secrets need not sit in the
file; a channel without a secret of its own uses the `alerts.*` setting (docs/alerts.md).

    delivery:                      # all optional
      retries: 4                   # attempts after the first, per channel and alert
      backoff_seconds: 2           # doubled after each failed attempt ...
      max_backoff_seconds: 60      # ... up to this
      timeout_seconds: 10
      dead_letter: alerts-dead-letter.jsonl   # relative to $TRAWL_HOME
      digest: {after: 5, window_minutes: 60}  # the 6th+ alert of one rule in the window: one digest
    channels:
      ops:    {type: webhook, url: "https://hooks.example.org/trawl", secret: "${HOOK_SECRET}"}
      chat:   {type: webhook, format: slack, url: "https://hooks.slack.com/services/..."}
      mail:   {type: email, host: smtp.example.org, port: 587, from: trawl@example.org, to: [a@example.org],
               username: trawl}
      misp:   {type: misp, url: "https://misp.example.org", kinds: [market_seized, vendor_new_market]}
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config import Config, load_config
from core.errors import TrawlError
from core.home import trawl_home
from crawler.sitedef.yamlnodes import Document, SiteConfigError, load_document

CHANNELS_FILE = "alert-channels.yaml"
WEBHOOK_FORMATS = ("json", "slack", "matrix")
_DELIVERY_KEYS = ("retries", "backoff_seconds", "max_backoff_seconds", "timeout_seconds", "dead_letter", "digest")
_COMMON = ("type", "kinds", "timeout_seconds")
_CHANNEL_KEYS: dict[str, tuple[str, ...]] = {
    "webhook": (*_COMMON, "url", "format", "secret", "secret_file", "ca_file"),
    "email": (*_COMMON, "host", "port", "starttls", "username", "password", "password_file", "from", "to",
              "subject_prefix", "ca_file"),
    "misp": (*_COMMON, "url", "authkey", "authkey_file", "ca_file", "distribution", "threat_level", "analysis",
             "tags"),
}


@dataclass
class ChannelConfig:
    """One channel: `options` are its validated keys; secrets are kept out of repr."""

    name: str
    type: str
    options: dict[str, Any]
    secret: str = field(default="", repr=False)  # webhook HMAC key, SMTP password or MISP authkey
    kinds: tuple[str, ...] = ()  # empty: every kind

    def wants(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds


@dataclass
class DeliveryConfig:
    retries: int = 4
    backoff_seconds: float = 2.0
    max_backoff_seconds: float = 60.0
    timeout_seconds: float = 10.0
    dead_letter: Path = field(default_factory=lambda: trawl_home() / "alerts-dead-letter.jsonl")
    digest_after: int = 5  # 0: never digest
    digest_window_seconds: float = 3600.0
    channels: dict[str, ChannelConfig] = field(default_factory=dict)
    source: str = ""


def channels_file(config: Config | None = None) -> Path:
    config = config or load_config()
    return Path(config.alerts_channels_file) if config.alerts_channels_file else config.home_path / CHANNELS_FILE


def load_delivery_config(path: Path | None = None, *, config: Config | None = None) -> DeliveryConfig:
    """The channels file (default: channels_file()); no file: no channels (the log only)."""
    config = config or load_config()
    if path is not None and not path.exists():
        raise TrawlError(f"{path}: no such channels file")
    path = path or channels_file(config)
    if not path.exists():
        return DeliveryConfig()
    try:
        doc = load_document(path)
    except SiteConfigError as exc:
        raise TrawlError(str(exc)) from None
    result = _validate(doc, config)
    if doc.problems:
        raise SiteConfigError(doc.problems)
    return result


def _validate(doc: Document, config: Config) -> DeliveryConfig:
    out = DeliveryConfig(source=doc.file)
    data = doc.data
    if not isinstance(data, dict):
        doc.problem((), "expected a mapping with `channels:` (and optionally `delivery:`)")
        return out
    for key in data:
        if key not in ("delivery", "channels"):
            doc.problem((key,), "unknown key (known: channels, delivery)")
    delivery = data.get("delivery") or {}
    if not isinstance(delivery, dict):
        doc.problem(("delivery",), "expected a mapping")
        delivery = {}
    _unknown(doc, ("delivery",), delivery, _DELIVERY_KEYS)
    out.retries = _number(doc, ("delivery", "retries"), delivery.get("retries", 4), int, 0, 20)
    out.backoff_seconds = _number(doc, ("delivery", "backoff_seconds"), delivery.get("backoff_seconds", 2.0), float,
                                  0, 3600)
    out.max_backoff_seconds = _number(doc, ("delivery", "max_backoff_seconds"),
                                      delivery.get("max_backoff_seconds", 60.0), float, 0, 86400)
    out.timeout_seconds = _number(doc, ("delivery", "timeout_seconds"), delivery.get("timeout_seconds", 10.0),
                                  float, 0.1, 600)
    dead = delivery.get("dead_letter")
    if dead is not None:
        if isinstance(dead, str) and dead.strip():
            out.dead_letter = trawl_home() / dead if not Path(dead).is_absolute() else Path(dead)
        else:
            doc.problem(("delivery", "dead_letter"), "expected a file path")
    digest = delivery.get("digest")
    if digest is not None:
        if not isinstance(digest, dict):
            doc.problem(("delivery", "digest"), "expected a mapping (after, window_minutes)")
        else:
            _unknown(doc, ("delivery", "digest"), digest, ("after", "window_minutes"))
            out.digest_after = _number(doc, ("delivery", "digest", "after"), digest.get("after", 5), int, 0, 10_000)
            out.digest_window_seconds = 60 * _number(doc, ("delivery", "digest", "window_minutes"),
                                                     digest.get("window_minutes", 60), float, 0.001, 7 * 24 * 60)
    channels = data.get("channels") or {}
    if not isinstance(channels, dict):
        doc.problem(("channels",), "expected a mapping of channel name -> settings")
        return out
    for name, settings in channels.items():
        channel = _channel(doc, name, settings, config)
        if channel is not None:
            out.channels[name] = channel
    return out


def _channel(doc: Document, name: str, settings: Any, config: Config) -> ChannelConfig | None:
    where = ("channels", name)
    if not isinstance(settings, dict):
        doc.problem(where, "expected a mapping with `type:` (webhook, email, misp)")
        return None
    kind = settings.get("type")
    if kind not in _CHANNEL_KEYS:
        doc.problem((*where, "type"), f"expected one of {', '.join(_CHANNEL_KEYS)}, got {kind!r}")
        return None
    _unknown(doc, where, settings, _CHANNEL_KEYS[kind])
    options = dict(settings)
    kinds = _strings(doc, (*where, "kinds"), settings.get("kinds"))
    if "timeout_seconds" in settings:
        options["timeout_seconds"] = _number(doc, (*where, "timeout_seconds"), settings["timeout_seconds"], float,
                                             0.1, 600)
    for key in ("ca_file",):
        if key in settings and not Path(str(settings[key])).is_file():
            doc.problem((*where, key), f"no such file: {settings[key]}")
    secret = ""
    if kind == "webhook":
        _url(doc, (*where, "url"), settings.get("url"))
        fmt = settings.get("format", "json")
        if fmt not in WEBHOOK_FORMATS:
            doc.problem((*where, "format"), f"expected one of {', '.join(WEBHOOK_FORMATS)}, got {fmt!r}")
        options["format"] = fmt
        secret = _secret(doc, where, settings, "secret", config.alerts_webhook_secret)
        if fmt == "json" and not secret:
            doc.problem(where, "a json webhook needs an HMAC key: secret, secret_file or the "
                               "alerts.webhook_secret setting (TRAWL_ALERTS_WEBHOOK_SECRET)")
    elif kind == "email":
        _email(doc, where, settings, options)
        secret = _secret(doc, where, settings, "password", config.alerts_smtp_password)
        if settings.get("username") and not secret:
            doc.problem((*where, "username"), "a username needs a password: password, password_file or the "
                                              "alerts.smtp_password setting (TRAWL_ALERTS_SMTP_PASSWORD)")
    else:
        _url(doc, (*where, "url"), settings.get("url"))
        secret = _secret(doc, where, settings, "authkey", config.alerts_misp_key)
        if not secret:
            doc.problem(where, "a MISP channel needs an authkey: authkey, authkey_file or the alerts.misp_key "
                               "setting (TRAWL_ALERTS_MISP_KEY)")
        for key, low, high, default in (("distribution", 0, 5, 0), ("threat_level", 1, 4, 4), ("analysis", 0, 2, 0)):
            options[key] = _number(doc, (*where, key), settings.get(key, default), int, low, high)
        options["tags"] = _strings(doc, (*where, "tags"), settings.get("tags", ["trawl"]))
    for key in ("secret", "secret_file", "password", "password_file", "authkey", "authkey_file"):
        options.pop(key, None)  # secrets live in ChannelConfig.secret only
    return ChannelConfig(name=name, type=kind, options=options, secret=secret, kinds=kinds)


def _email(doc: Document, where: tuple[str, ...], settings: dict[str, Any], options: dict[str, Any]) -> None:
    if not isinstance(settings.get("host"), str) or not settings["host"]:
        doc.problem((*where, "host"), "expected the SMTP server's host name")
    options["port"] = _number(doc, (*where, "port"), settings.get("port", 587), int, 1, 65535)
    starttls = settings.get("starttls", True)
    if not isinstance(starttls, bool):
        doc.problem((*where, "starttls"), f"expected true or false, got {starttls!r}")
        starttls = True
    if settings.get("username") and not starttls:
        doc.problem((*where, "starttls"), "credentials are only sent after STARTTLS: set starttls: true")
    options["starttls"] = starttls
    sender = settings.get("from")
    if not isinstance(sender, str) or "@" not in sender:
        doc.problem((*where, "from"), f"expected an e-mail address, got {sender!r}")
    recipients = _strings(doc, (*where, "to"), settings.get("to"))
    if not recipients or any("@" not in r for r in recipients):
        doc.problem((*where, "to"), "expected a list of e-mail addresses")
    options["to"] = list(recipients)
    options.setdefault("subject_prefix", "[trawl]")


def _secret(doc: Document, where: tuple[str, ...], settings: dict[str, Any], key: str, default: str) -> str:
    """The channel's secret: `key`, else the file `key_file`, else the setting's value."""
    value = settings.get(key)
    if value is not None:
        if not isinstance(value, str):
            doc.problem((*where, key), "expected a string (use ${VAR} to take it from the environment)")
            return ""
        return value
    path = settings.get(f"{key}_file")
    if path is not None:
        try:
            return Path(str(path)).read_text(encoding="utf-8").strip()
        except OSError as exc:
            doc.problem((*where, f"{key}_file"), f"cannot read: {exc.strerror or exc}")
            return ""
    return default


def _url(doc: Document, where: tuple[str | int, ...], value: Any) -> None:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        doc.problem(where, "expected an http(s):// URL")


def _strings(doc: Document, where: tuple[str | int, ...], value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        doc.problem(where, "expected a list of names")
        return ()
    return tuple(value)


def _number(doc: Document, where: tuple[str | int, ...], value: Any, kind: type, low: float, high: float) -> Any:
    ok = not isinstance(value, bool) and isinstance(value, int if kind is int else (int, float))
    if not ok or not low <= value <= high:
        what = "a whole number" if kind is int else "a number"
        doc.problem(where, f"expected {what} from {low} to {high}, got {value!r}")
        return kind(low)
    return kind(value)


def _unknown(doc: Document, where: tuple[str, ...], mapping: dict[str, Any], known: tuple[str, ...]) -> None:
    for key in mapping:
        if key not in known:
            doc.problem((*where, key), f"unknown key (known: {', '.join(known)})")
