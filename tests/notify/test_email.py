"""Email over SMTP against a local aiosmtpd server: plain + HTML, login, deferrals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from syncer.notify.compose import FindingSummary, digest, probe
from syncer.notify.dispatch import Dispatcher
from syncer.notify.services import deliver
from syncer.notify.store import Tally
from tests.ops.test_daemon import wait_for

from .conftest import SMTP_PASSWORD, SMTP_USER, Mailbox, notify_ledger


def _email(port: int, **smtp: Any) -> Any:
    return notify_ledger(
        [
            {
                "kind": "email",
                "smtp": {"host": "127.0.0.1", "port": port, "security": "none", **smtp},
                "from": "syncer@example.com",
                "to": ["boss@example.com", "ops@example.com"],
            }
        ]
    ).notify[0]


def test_email_has_a_plain_and_an_html_part(mailbox: tuple[Mailbox, int]) -> None:
    """One message to every recipient, multipart/alternative with text and escaped HTML."""
    box, port = mailbox
    dest = _email(port, username=SMTP_USER, password=SMTP_PASSWORD)
    ledger = notify_ledger([], locale="en")
    now = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    summary = FindingSummary(3, {"<b>联系方式</b>": 2, "跟进人": 1}, {"张三": 2, "(blank)": 1})
    message = digest(
        ledger, summary, "跟进人", Tally({"archived": 1}, {"archived": ["XS001 · 流失"]}), now, now
    )
    outcome = deliver(dest, message)
    assert outcome.ok, outcome.detail
    [(envelope, mail)] = box.messages
    assert sorted(envelope.rcpt_tos) == ["boss@example.com", "ops@example.com"]
    assert mail["Subject"] == "sales digest"
    assert mail.get_content_type() == "multipart/alternative"
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in mail.walk()
        if not p.is_multipart()
    }
    assert "Open findings by column" in parts["text/plain"]
    assert "联系方式&lt;" in parts["text/html"]
    assert "<b>" not in parts["text/html"]


def test_wrong_smtp_password_is_permanent(mailbox: tuple[Mailbox, int]) -> None:
    """An authentication failure (535) is not retried and the password is not reported."""
    _box, port = mailbox
    dest = _email(port, username=SMTP_USER, password="not-the-password")
    outcome = deliver(dest, probe(notify_ledger([]), "email-1"))
    assert not outcome.ok
    assert not outcome.retry
    assert "535" in outcome.detail
    assert "not-the-password" not in outcome.detail


def test_a_deferred_message_is_retried_and_delivered(mailbox: tuple[Mailbox, int]) -> None:
    """451 (slow down) is temporary: the dispatcher retries and the mail arrives once."""
    box, port = mailbox
    box.defer_first = 1
    dest = _email(port)
    dispatcher = Dispatcher(backoff_base=0.01, backoff_cap=0.02)
    dispatcher.start()
    try:
        dispatcher.submit(dest, "email-1", probe(notify_ledger([]), "email-1"))
        wait_for(lambda: len(box.messages) == 1)
        assert dispatcher.wait_idle(10)
    finally:
        dispatcher.stop()
    assert box.seen == 2
    assert len(box.messages) == 1
