"""Structured logs: JSON lines with cycle context, phones masked, secrets redacted."""

from __future__ import annotations

import io
import json

import structlog
from hypothesis import given
from hypothesis import strategies as st

from syncer.logs import REDACTED, configure_logging, mask_text


def test_json_events_carry_context_and_mask_phones() -> None:
    """A JSON event has the bound context, masked phones and redacted secrets."""
    out = io.StringIO()
    configure_logging("json", "INFO", stream=out)
    try:
        with structlog.contextvars.bound_contextvars(ledger="sales", cycle_id="c1"):
            structlog.get_logger("t").info(
                "row.checked",
                value="客户 13800138000 / +86 139-0013-9000",
                password="hunter2",
                extra={"private_key": "-----BEGIN", "note": "tel 010-12345678"},
                change_token="12:34",
            )
            structlog.get_logger("t").debug("hidden")
    finally:
        structlog.reset_defaults()
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert (event["ledger"], event["cycle_id"], event["level"]) == ("sales", "c1", "info")
    assert "13800138000" not in event["value"]
    assert "138****8000" in event["value"]
    assert "0013-9000" not in event["value"]
    assert event["password"] == REDACTED
    assert event["extra"]["private_key"] == REDACTED
    assert "12345678" not in event["extra"]["note"]
    assert event["change_token"] == "12:34"


def test_console_format_renders_text() -> None:
    """The console renderer writes a readable line with the event name."""
    out = io.StringIO()
    configure_logging("console", "DEBUG", stream=out)
    try:
        structlog.get_logger("t").debug("cycle.finished", outcome="ok")
    finally:
        structlog.reset_defaults()
    assert "cycle.finished" in out.getvalue()
    assert "outcome=ok" in out.getvalue()


@given(st.from_regex(r"1[3-9]\d{9}", fullmatch=True), st.text(max_size=20))
def test_any_mainland_mobile_is_masked(phone: str, prefix: str) -> None:
    """No 11-digit mainland mobile survives mask_text, whatever text precedes it."""
    masked = mask_text(f"{prefix} {phone} end")
    assert phone not in masked
