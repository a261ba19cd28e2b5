"""Channel senders: one `Message` (an alert, or a digest of several) to a webhook, an SMTP
server or a MISP instance.  A sender raises `DeliveryError` saying whether a retry may help.

Secrets (HMAC key, SMTP password, MISP authkey) are used here and nowhere else: they are
never part of a message, an error or a log line; errors name the channel, not its URL
(a Slack or Matrix webhook URL is itself a credential).
"""
from __future__ import annotations

import hashlib
import hmac
import html
import json
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from core.alerts import AlertEvent
from trawl.alerting.config import ChannelConfig

SIGNATURE_HEADER = "X-Trawl-Signature"
DELIVERY_HEADER = "X-Trawl-Delivery"  # the delivery id: a receiver can drop a redelivery after a crash
USER_AGENT = "trawl-alerts/1"


class DeliveryError(Exception):
    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.attempts = 1  # set by the dispatcher when it gives up


@dataclass
class Message:
    """What one delivery carries: one event, or a digest of `events` of one rule."""

    delivery_id: str
    events: list[AlertEvent]
    rule: str = ""  # set for a digest
    digest: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.events[0].kind

    @property
    def title(self) -> str:
        if self.digest:
            return f"{len(self.events)} {self.rule} alerts ({self.events[0].time} .. {self.events[-1].time})"
        return self.events[0].summary

    def lines(self) -> list[str]:
        return [f"{e.time} {e.kind}: {e.summary}" for e in self.events]

    def document(self) -> dict[str, Any]:
        """The JSON a webhook receives (format json)."""
        if self.digest:
            return {"trawl_alert": 1, "delivery_id": self.delivery_id, "kind": "digest", "rule": self.rule,
                    "count": len(self.events), "summary": self.title,
                    "events": [_event_dict(e) for e in self.events]}
        return {"trawl_alert": 1, "delivery_id": self.delivery_id, **_event_dict(self.events[0])}


def _event_dict(event: AlertEvent) -> dict[str, Any]:
    return {"kind": event.kind, "time": event.time, "summary": event.summary, "data": event.data}


def send(channel: ChannelConfig, message: Message, timeout: float) -> None:
    timeout = float(channel.options.get("timeout_seconds", timeout))
    if channel.type == "webhook":
        send_webhook(channel, message, timeout)
    elif channel.type == "email":
        send_email(channel, message, timeout)
    elif channel.type == "misp":
        send_misp(channel, message, timeout)
    else:
        raise DeliveryError(f"channel {channel.name}: unknown type {channel.type!r}", retryable=False)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def webhook_body(channel: ChannelConfig, message: Message) -> bytes:
    fmt = channel.options.get("format", "json")
    text = message.title if not message.digest else message.title + "\n" + "\n".join(message.lines())
    if fmt == "slack":
        payload: dict[str, Any] = {"text": text}
    elif fmt == "matrix":  # matrix-hookshot's generic webhook (and most Matrix bridges): text + html
        items = "".join(f"<li>{html.escape(line)}</li>" for line in message.lines())
        payload = {"text": text, "html": f"<b>{html.escape(message.title)}</b><ul>{items}</ul>",
                   "msgtype": "m.notice", "username": "trawl"}
    else:
        payload = message.document()
    return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")


def send_webhook(channel: ChannelConfig, message: Message, timeout: float) -> None:
    body = webhook_body(channel, message)
    headers = {"Content-Type": "application/json", DELIVERY_HEADER: message.delivery_id}
    if channel.secret:
        headers[SIGNATURE_HEADER] = sign(channel.secret, body)
    _post(channel, str(channel.options["url"]), body, headers, timeout)


def misp_event(channel: ChannelConfig, message: Message) -> dict[str, Any]:
    """The MISP JSON event format (POST /events): one event per alert or digest."""
    first = message.events[0]
    attributes: list[dict[str, Any]] = [
        {"type": "text", "category": "Other", "value": line, "to_ids": False, "comment": "trawl alert"}
        for line in message.lines()]
    urls = sorted({str(e.data["url"]) for e in message.events if isinstance(e.data.get("url"), str) and e.data["url"]})
    attributes += [{"type": "url", "category": "Network activity", "value": url, "to_ids": False} for url in urls]
    attributes.append({"type": "text", "category": "Internal reference", "value": message.delivery_id,
                       "to_ids": False, "comment": "trawl delivery id"})
    tags = [{"name": tag} for tag in channel.options.get("tags", ["trawl"])]
    tags.append({"name": f'trawl:kind="{message.rule or first.kind}"'})
    return {"Event": {"info": f"trawl: {message.title}"[:255], "date": first.time[:10],
                      "distribution": channel.options.get("distribution", 0),
                      "threat_level_id": channel.options.get("threat_level", 4),
                      "analysis": channel.options.get("analysis", 0), "Attribute": attributes, "Tag": tags}}


def send_misp(channel: ChannelConfig, message: Message, timeout: float) -> None:
    body = json.dumps(misp_event(channel, message), ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", "Accept": "application/json", "Authorization": channel.secret}
    url = str(channel.options["url"]).rstrip("/") + "/events"
    _post(channel, url, body, headers, timeout)


def _tls_context(channel: ChannelConfig) -> ssl.SSLContext:
    ca_file = channel.options.get("ca_file")
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


def _post(channel: ChannelConfig, url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
    if not url.startswith(("http://", "https://")):  # validated in config; never file: or others
        raise DeliveryError(f"channel {channel.name}: not an http(s) URL", retryable=False)
    request = urllib.request.Request(url, data=body, method="POST",  # noqa: S310 - scheme checked above
                                     headers={**headers, "User-Agent": USER_AGENT})
    handlers: list[Any] = [urllib.request.ProxyHandler({})]  # alerts go direct, never through a crawl proxy
    if url.startswith("https://"):
        handlers.append(urllib.request.HTTPSHandler(context=_tls_context(channel)))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read(65536)
    except urllib.error.HTTPError as exc:
        # 408/429/5xx may pass on a later try; any other 4xx is the request itself
        retryable = exc.code in (408, 429) or exc.code >= 500
        raise DeliveryError(f"channel {channel.name}: HTTP {exc.code}", retryable=retryable) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"channel {channel.name}: {type(exc).__name__}: {reason}", retryable=True) from None


def email_message(channel: ChannelConfig, message: Message) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = f"{channel.options.get('subject_prefix', '[trawl]')} {message.title}"[:200]
    mail["From"] = str(channel.options["from"])
    mail["To"] = ", ".join(channel.options["to"])
    mail["X-Trawl-Delivery"] = message.delivery_id
    body = "\n".join(message.lines()) + "\n\n" + json.dumps(message.document(), indent=1, ensure_ascii=False)
    mail.set_content(body)
    return mail


def send_email(channel: ChannelConfig, message: Message, timeout: float) -> None:
    options = channel.options
    try:
        with smtplib.SMTP(str(options["host"]), int(options["port"]), timeout=timeout) as smtp:
            smtp.ehlo()
            if options.get("starttls", True):
                smtp.starttls(context=_tls_context(channel))
                smtp.ehlo()
            if options.get("username"):
                smtp.login(str(options["username"]), channel.secret)
            smtp.send_message(email_message(channel, message))
    except smtplib.SMTPNotSupportedError:
        raise DeliveryError(f"channel {channel.name}: the server offers no STARTTLS", retryable=False) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"channel {channel.name}: login refused (SMTP {exc.smtp_code})", retryable=False) from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"channel {channel.name}: SMTP {exc.smtp_code}", retryable=400 <= exc.smtp_code < 500) \
            from None
    except ssl.SSLError as exc:
        raise DeliveryError(f"channel {channel.name}: TLS: {exc.reason or exc}", retryable=False) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"channel {channel.name}: {type(exc).__name__}: {exc}", retryable=True) from None
