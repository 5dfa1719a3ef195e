"""Sending one rendered message to one destination, the way each service expects.

:func:`deliver` signs where the service signs, posts, and reads the service's answer
into a :class:`Outcome`: delivered, worth retrying (rate limit, 5xx, network), or
permanently refused (a wrong key or signature, a bad payload). Nothing here logs, and
no outcome text contains a webhook URL, a key or a secret.

Signatures:

* DingTalk: ``timestamp`` in milliseconds; ``sign = base64(HMAC-SHA256(key=secret,
  msg=f"{timestamp}\\n{secret}"))``, both appended to the webhook URL's query (the sign
  URL-encoded).
* Feishu: ``timestamp`` in seconds; ``sign = base64(HMAC-SHA256(key=f"{timestamp}\\n
  {secret}", msg=b""))``, both in the JSON body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import requests

from syncer.errors import ConfigError
from syncer.notify import render
from syncer.notify.config import (
    DingtalkDestination,
    EmailDestination,
    FeishuDestination,
    SlackDestination,
    WecomDestination,
)
from syncer.notify.message import Message

#: Seconds to wait for a webhook answer.
TIMEOUT = 10.0
#: DingTalk throttles a robot for 10 minutes after more than 20 messages a minute.
DINGTALK_THROTTLE_SECONDS = 600.0

AnyDestination = (
    WecomDestination | DingtalkDestination | FeishuDestination | SlackDestination | EmailDestination
)


@dataclass(frozen=True)
class Outcome:
    """What happened to one send."""

    ok: bool
    #: Worth trying again later (rate limit, server error, network).
    retry: bool = False
    rate_limited: bool = False
    #: Seconds the service asked us to wait (rate limits), when it said.
    retry_after: float | None = None
    #: A short, secret-free description (the service's error code and message).
    detail: str = "ok"


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature of ``timestamp_ms`` (base64, not yet URL-encoded)."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's signature of ``timestamp_s`` (the key is timestamp and secret)."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _with_query(url: str, extra: dict[str, str]) -> str:
    parts = urllib.parse.urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urllib.parse.urlencode(extra)
    return urllib.parse.urlunsplit(parts._replace(query=query))


def _post(url: str, payload: dict[str, Any], timeout: float) -> requests.Response | Outcome:
    try:
        return requests.post(
            url,
            data=json.dumps(payload, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json; charset=utf-8"},
            timeout=timeout,
        )
    except requests.Timeout:
        return Outcome(False, retry=True, detail="timed out")
    except requests.RequestException as exc:  # the message may hold the URL: name the class
        return Outcome(False, retry=True, detail=f"connection failed ({exc.__class__.__name__})")


def _http_failure(response: requests.Response) -> Outcome | None:
    """An outcome for HTTP-level failures, or None when the body must be read."""
    if response.status_code == 429:
        after = _retry_after(response)
        return Outcome(False, True, True, after, "HTTP 429 rate limited")
    if response.status_code >= 500:
        return Outcome(False, True, detail=f"HTTP {response.status_code}")
    return None


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _json(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


# --- per service -----------------------------------------------------------------------


def _wecom(dest: WecomDestination, message: Message, now: Callable[[], float]) -> Outcome:
    payload = render.wecom(message, dest.mention)
    answer = _post(dest.webhook.resolve(), payload, TIMEOUT)
    # 45009: api freq out of limit, 20 messages a minute per robot
    return _errcode_answer(answer, "WeCom", {45009: 60.0})


def _dingtalk(dest: DingtalkDestination, message: Message, now: Callable[[], float]) -> Outcome:
    payload = render.dingtalk(message, dest.mention)
    url = dest.webhook.resolve()
    if dest.secret is not None:
        stamp = int(now() * 1000)
        url = _with_query(
            url, {"timestamp": str(stamp), "sign": dingtalk_sign(dest.secret.resolve(), stamp)}
        )
    answer = _post(url, payload, TIMEOUT)
    # 130101 / 660026: sent too fast (over 20 a minute), throttled for 10 minutes
    throttled = dict.fromkeys((130101, 660026), DINGTALK_THROTTLE_SECONDS)
    return _errcode_answer(answer, "DingTalk", throttled)


def _errcode_answer(
    answer: requests.Response | Outcome, service: str, throttled: Mapping[int, float]
) -> Outcome:
    """A WeCom or DingTalk robot's answer: ``errcode`` 0 is sent; a code in
    ``throttled`` is the rate limit (retry after its seconds); -1 (system busy) is
    retried; anything else is final."""
    if isinstance(answer, Outcome):
        return answer
    failed = _http_failure(answer)
    if failed is not None:
        return failed
    body = _json(answer)
    if body is None:
        return Outcome(False, detail=f"HTTP {answer.status_code}: not a {service} answer")
    code = int(body.get("errcode", -1))
    text = str(body.get("errmsg", ""))[:200]
    if code == 0:
        return Outcome(True)
    if code in throttled:
        return Outcome(False, True, True, throttled[code], f"errcode {code} {text}")
    if code == -1:
        return Outcome(False, True, detail=f"errcode -1 {text}")
    return Outcome(False, detail=f"errcode {code} {text}")


def _feishu(dest: FeishuDestination, message: Message, now: Callable[[], float]) -> Outcome:
    payload = render.feishu(message, dest.mention)
    if dest.secret is not None:
        stamp = int(now())
        payload = {
            "timestamp": str(stamp),
            "sign": feishu_sign(dest.secret.resolve(), stamp),
            **payload,
        }
    answer = _post(dest.webhook.resolve(), payload, TIMEOUT)
    if isinstance(answer, Outcome):
        return answer
    failed = _http_failure(answer)
    if failed is not None:
        return failed
    body = _json(answer)
    if body is None:
        return Outcome(False, detail=f"HTTP {answer.status_code}: not a Feishu answer")
    code = int(body.get("code", body.get("StatusCode", -1)))
    text = str(body.get("msg", body.get("StatusMessage", "")))[:200]
    if code == 0:
        return Outcome(True)
    if code == 11232 or "frequency" in text.lower():  # frequency limited (100/min, 5/s)
        return Outcome(False, True, True, 60.0, f"code {code} {text}")
    return Outcome(False, detail=f"code {code} {text}")


def _slack(dest: SlackDestination, message: Message, now: Callable[[], float]) -> Outcome:
    payload = render.slack(message, dest.mention)
    answer = _post(dest.webhook.resolve(), payload, TIMEOUT)
    if isinstance(answer, Outcome):
        return answer
    failed = _http_failure(answer)
    if failed is not None:
        return failed
    text = answer.text.strip()[:200]
    if answer.status_code == 200:
        return Outcome(True)
    return Outcome(False, detail=f"HTTP {answer.status_code} {text}")


def _email(dest: EmailDestination, message: Message, now: Callable[[], float]) -> Outcome:
    mail = render.email(message)
    msg = EmailMessage()
    msg["Subject"] = mail.subject
    msg["From"] = dest.from_
    msg["To"] = ", ".join(dest.to)
    msg["Date"] = formatdate(now(), localtime=False)
    msg["Message-ID"] = make_msgid(domain=dest.from_.rsplit("@", 1)[-1])
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    smtp = dest.smtp
    try:
        client: smtplib.SMTP
        if smtp.security == "ssl":
            client = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=smtp.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        with client:
            if smtp.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if smtp.username is not None and smtp.password is not None:
                client.login(smtp.username, smtp.password.resolve())
            client.send_message(msg)
    except smtplib.SMTPResponseException as exc:
        temporary = 400 <= exc.smtp_code < 500
        text = (
            exc.smtp_error.decode(errors="replace")[:200]
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)[:200]
        )
        return Outcome(
            False,
            retry=temporary,
            rate_limited=exc.smtp_code in (421, 450, 451, 452),
            detail=f"SMTP {exc.smtp_code} {text}",
        )
    except smtplib.SMTPRecipientsRefused as exc:
        return Outcome(False, detail=f"recipients refused: {sorted(exc.recipients)}")
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(False, retry=True, detail=f"SMTP failed ({exc.__class__.__name__})")
    return Outcome(True)


_SENDERS: dict[str, Callable[[Any, Message, Callable[[], float]], Outcome]] = {
    "wecom": _wecom,
    "dingtalk": _dingtalk,
    "feishu": _feishu,
    "slack": _slack,
    "email": _email,
}


def deliver(
    destination: AnyDestination, message: Message, now: Callable[[], float] = time.time
) -> Outcome:
    """Send ``message`` once; never raises (a missing secret is a permanent failure)."""
    try:
        return _SENDERS[destination.kind](destination, message, now)
    except ConfigError as exc:
        return Outcome(False, detail=str(exc))
