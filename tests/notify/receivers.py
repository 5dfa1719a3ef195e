"""Local stand-ins for the chat services' webhook endpoints, on 127.0.0.1.

Each receiver checks a request the way the real service documents it and answers with
the real service's success or error body:

* WeCom group robot — ``POST /cgi-bin/webhook/send?key=KEY``; markdown content at most
  4096 bytes; ``{"errcode":0,"errmsg":"ok"}``; a wrong key ``93000 invalid webhook url``;
  over the rate limit ``45009 api freq out of limit``.
* DingTalk custom robot — ``POST /robot/send?access_token=T&timestamp=MS&sign=S``; the
  timestamp within an hour, ``S == base64(HMAC-SHA256(secret, f"{MS}\\n{secret}"))``;
  markdown ``title``/``text``, ``at.atMobiles``, ``isAtAll`` false; ``310000`` for a bad
  signature, ``130101 send too fast`` over the limit.
* Feishu custom bot — ``POST /open-apis/bot/v2/hook/TOKEN``; body ``timestamp`` (s) and
  ``sign == base64(HMAC-SHA256(key=f"{ts}\\n{secret}", msg=""))``; ``msg_type`` post with a
  title and rows of text/a/at tags; ``19021 sign match fail``; ``11232 frequency limited``.
* Slack incoming webhook — ``POST /services/T/B/X``; ``text`` and ``blocks`` within Block
  Kit limits; ``200 ok``; ``400 invalid_blocks``; ``429 rate_limited`` with Retry-After.

``limit`` makes a receiver answer with the rate-limit error once it accepted that many
messages (until :meth:`Receiver.reset_limit`); ``throttle_first`` answers the first N
requests with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    """One accepted message."""

    service: str
    path: str
    query: dict[str, list[str]]
    body: dict[str, Any]


@dataclass
class Receiver:
    """Configuration and record of the fake services."""

    wecom_key: str = "wecom-key-1"
    dingtalk_token: str = "ding-token-1"
    dingtalk_secret: str = "SECding-secret-1"
    feishu_token: str = "feishu-hook-1"
    feishu_secret: str = "feishu-secret-1"
    slack_path: str = "/services/T000/B000/XXXX"
    limit: int | None = None
    throttle_first: int = 0
    accepted: list[Received] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, service: str) -> list[Received]:
        """Accepted messages of one service."""
        with self.lock:
            return [r for r in self.accepted if r.service == service]

    def _throttled(self) -> bool:
        with self.lock:
            self.requests += 1
            if self.requests <= self.throttle_first:
                return True
            return self.limit is not None and len(self.accepted) >= self.limit

    def reset_limit(self) -> None:
        """Accept again (the rate-limit window has passed)."""
        with self.lock:
            self.limit = None
            self.throttle_first = 0


def _dingtalk_sign(secret: str, stamp: str) -> str:
    digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _feishu_sign(secret: str, stamp: str) -> str:
    digest = hmac.new(f"{stamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _within_hour(stamp_seconds: float) -> bool:
    return abs(time.time() - stamp_seconds) < 3600


class _Handler(BaseHTTPRequestHandler):
    receiver: Receiver

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            self._json(400, {"errcode": 40001, "errmsg": "invalid json"})
            return
        path = parts.path
        if path == "/cgi-bin/webhook/send":
            self._wecom(path, query, body)
        elif path == "/robot/send":
            self._dingtalk(path, query, body)
        elif path.startswith("/open-apis/bot/v2/hook/"):
            self._feishu(path, query, body)
        elif path.startswith("/services/"):
            self._slack(path, query, body)
        else:
            self._json(404, {"error": "no such hook"})

    # --- services ----------------------------------------------------------------------

    def _wecom(self, path: str, query: dict[str, list[str]], body: dict[str, Any]) -> None:
        r = self.receiver
        if query.get("key") != [r.wecom_key]:
            self._reject("wecom", {"errcode": 93000, "errmsg": "invalid webhook url"})
            return
        content = (body.get("markdown") or {}).get("content")
        if body.get("msgtype") != "markdown" or not isinstance(content, str):
            self._reject("wecom", {"errcode": 40008, "errmsg": "invalid message type"})
            return
        if len(content.encode()) > 4096:
            self._reject(
                "wecom", {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
            )
            return
        if r._throttled():
            self._reject("wecom", {"errcode": 45009, "errmsg": "api freq out of limit"})
            return
        self._accept("wecom", path, query, body, {"errcode": 0, "errmsg": "ok"})

    def _dingtalk(self, path: str, query: dict[str, list[str]], body: dict[str, Any]) -> None:
        r = self.receiver
        if query.get("access_token") != [r.dingtalk_token]:
            self._reject("dingtalk", {"errcode": 300001, "errmsg": "token is not exist"})
            return
        stamp = (query.get("timestamp") or [""])[0]
        sign = (query.get("sign") or [""])[0]
        if (
            not stamp.isdigit()
            or not _within_hour(int(stamp) / 1000)
            or not hmac.compare_digest(sign, _dingtalk_sign(r.dingtalk_secret, stamp))
        ):
            self._reject("dingtalk", {"errcode": 310000, "errmsg": "sign not match"})
            return
        markdown = body.get("markdown") or {}
        at = body.get("at") or {}
        if (
            body.get("msgtype") != "markdown"
            or not isinstance(markdown.get("title"), str)
            or not isinstance(markdown.get("text"), str)
            or not isinstance(at.get("atMobiles", []), list)
            or at.get("isAtAll") not in (None, False)
        ):
            self._reject("dingtalk", {"errcode": 40035, "errmsg": "缺少参数 json"})
            return
        if r._throttled():
            self._reject(
                "dingtalk",
                {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"},
            )
            return
        self._accept("dingtalk", path, query, body, {"errcode": 0, "errmsg": "ok"})

    def _feishu(self, path: str, query: dict[str, list[str]], body: dict[str, Any]) -> None:
        r = self.receiver
        if path.rsplit("/", 1)[-1] != r.feishu_token:
            self._reject(
                "feishu",
                {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"},
            )
            return
        stamp = str(body.get("timestamp", ""))
        sign = str(body.get("sign", ""))
        if (
            not stamp.isdigit()
            or not _within_hour(int(stamp))
            or not hmac.compare_digest(sign, _feishu_sign(r.feishu_secret, stamp))
        ):
            self._reject(
                "feishu",
                {
                    "code": 19021,
                    "msg": "sign match fail or timestamp is not within one hour from current time",
                },
            )
            return
        post = (body.get("content") or {}).get("post") or {}
        valid = body.get("msg_type") == "post" and len(post) == 1
        for lang in post.values():
            rows = lang.get("content")
            valid = valid and isinstance(lang.get("title"), str) and isinstance(rows, list)
            for row in rows or []:
                for tag in row:
                    kind = tag.get("tag")
                    valid = valid and (
                        (kind == "text" and isinstance(tag.get("text"), str))
                        or (kind == "a" and str(tag.get("href", "")).startswith("https://"))
                        or (kind == "at" and str(tag.get("user_id", "")).startswith("ou_"))
                    )
        if not valid:
            self._reject("feishu", {"code": 9499, "msg": "Bad Request"})
            return
        if r._throttled():
            self._reject(
                "feishu",
                {"code": 11232, "msg": "frequency limited psm[lark.oapi.app_platform_runtime]"},
            )
            return
        self._accept("feishu", path, query, body, {"code": 0, "msg": "success", "data": {}})

    def _slack(self, path: str, query: dict[str, list[str]], body: dict[str, Any]) -> None:
        r = self.receiver
        if path != r.slack_path:
            self._text(404, "no_service")
            return
        blocks = body.get("blocks")
        valid = isinstance(body.get("text"), str) and isinstance(blocks, list) and len(blocks) <= 50
        for block in blocks or []:
            kind = block.get("type")
            if kind == "header":
                text = block.get("text") or {}
                valid = (
                    valid and text.get("type") == "plain_text" and len(text.get("text", "")) <= 150
                )
            elif kind == "section":
                text = block.get("text")
                fields = block.get("fields")
                valid = valid and (text is not None or fields is not None)
                if text is not None:
                    valid = (
                        valid and text.get("type") == "mrkdwn" and len(text.get("text", "")) <= 3000
                    )
                if fields is not None:
                    valid = valid and len(fields) <= 10
            elif kind == "context":
                valid = valid and 0 < len(block.get("elements") or []) <= 10
            else:
                valid = False
        if not valid:
            self._text(400, "invalid_blocks", "slack")
            return
        if r._throttled():
            self.send_response(429)
            self.send_header("Retry-After", "1")
            self.send_header("Content-Type", "text/plain")
            payload = b"rate_limited"
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            with r.lock:
                r.rejected.append(("slack", "rate_limited"))
            return
        with r.lock:
            r.accepted.append(Received("slack", path, query, body))
        self._text(200, "ok")

    # --- answers --------------------------------------------------------------------------

    def _accept(
        self,
        service: str,
        path: str,
        query: dict[str, list[str]],
        body: dict[str, Any],
        answer: dict[str, Any],
    ) -> None:
        with self.receiver.lock:
            self.receiver.accepted.append(Received(service, path, query, body))
        self._json(200, answer)

    def _reject(self, service: str, answer: dict[str, Any]) -> None:
        with self.receiver.lock:
            self.receiver.rejected.append((service, json.dumps(answer, ensure_ascii=False)))
        self._json(200, answer)  # these services answer errors with HTTP 200 and a code

    def _json(self, status: int, answer: dict[str, Any]) -> None:
        payload = json.dumps(answer, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _text(self, status: int, text: str, service: str | None = None) -> None:
        if service is not None:
            with self.receiver.lock:
                self.receiver.rejected.append((service, text))
        payload = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class Services:
    """The fake services on one local port."""

    def __init__(self, receiver: Receiver | None = None) -> None:
        self.receiver = receiver or Receiver()
        handler = type("Handler", (_Handler,), {"receiver": self.receiver})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def wecom_url(self, key: str | None = None) -> str:
        """The WeCom robot's webhook."""
        return f"{self.base}/cgi-bin/webhook/send?key={key or self.receiver.wecom_key}"

    def dingtalk_url(self) -> str:
        """The DingTalk robot's webhook."""
        return f"{self.base}/robot/send?access_token={self.receiver.dingtalk_token}"

    def feishu_url(self) -> str:
        """The Feishu bot's webhook."""
        return f"{self.base}/open-apis/bot/v2/hook/{self.receiver.feishu_token}"

    def slack_url(self) -> str:
        """The Slack incoming webhook."""
        return f"{self.base}{self.receiver.slack_path}"

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
