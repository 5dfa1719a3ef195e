"""Fixtures: the fake chat services, an SMTP receiver, destinations pointing at them."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as EmailMessage
from typing import Any

import pytest
import structlog
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from syncer.ledger import LedgerConfig

from .receivers import Services

SMTP_USER = "robot@example.com"
SMTP_PASSWORD = "smtp-pass-1"


@pytest.fixture
def services() -> Iterator[Services]:
    """WeCom, DingTalk, Feishu and Slack stand-ins on one local port."""
    running = Services()
    yield running
    running.close()


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Mailbox:
    """What the SMTP receiver got, and how it should answer."""

    messages: list[tuple[Envelope, EmailMessage]] = field(default_factory=list)
    #: Answer this many DATA commands with a temporary 451 before accepting.
    defer_first: int = 0
    seen: int = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Accept (or defer) one message."""
        self.seen += 1
        if self.seen <= self.defer_first:
            return "451 4.7.1 Too many messages, slow down"
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        self.messages.append((envelope, message_from_bytes(content)))
        return "250 OK"


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = (
        isinstance(data, LoginPassword)
        and data.login.decode() == SMTP_USER
        and data.password.decode() == SMTP_PASSWORD
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    """An SMTP server (aiosmtpd) on 127.0.0.1 with AUTH LOGIN/PLAIN; yields it and its port."""
    box = Mailbox()
    port = free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticate,
        auth_require_tls=False,
    )
    controller.start()
    yield box, port
    controller.stop()


def notify_ledger(notify: list[dict[str, Any]], **overrides: Any) -> LedgerConfig:
    """A small ledger on the memory connector with the given destinations."""
    data: dict[str, Any] = {
        "name": "sales",
        "source": {"connector": "memory", "name": "sales"},
        "tabs": {"main": "基础信息"},
        "key": "客户编号",
        "columns": {"客户编号": {"type": "text"}, "联系方式": {"type": "phone"}, "跟进人": {}},
        "notify": notify,
    }
    data.update(overrides)
    return LedgerConfig.model_validate(data)


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    """CLI commands configure structlog; undo it after each test."""
    yield
    structlog.reset_defaults()
