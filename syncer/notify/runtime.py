"""Wiring notifications and the status page into the daemon (``syncer run``).

:func:`build_notifier` makes the :class:`Notifier` of a process from its settings and
state store; :func:`build_status_page` the page served on the HTTP port.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from syncer.ledger import LedgerConfig
from syncer.notify.dispatch import Dispatcher
from syncer.notify.notifier import Notifier
from syncer.notify.store import NotifyStore
from syncer.settings import Settings

if TYPE_CHECKING:
    from syncer.state import StateStore
    from syncer.status_page import StatusPage


def build_notifier(settings: Settings, store: StateStore) -> Notifier:
    """The process's notifier: notification state beside the state store's tables."""
    return Notifier(
        NotifyStore(settings.state_url),
        Dispatcher(),
        ops=settings.notify_ops,
        runs=lambda ledger, limit: store.runs(ledger, limit=limit),
        status_url=settings.status_url,
    )


def build_status_page(
    settings: Settings,
    store: StateStore,
    ledgers: Callable[[], Sequence[LedgerConfig]],
    next_run: Callable[[str], datetime | None],
) -> StatusPage | None:
    """The status page, or None when ``SYNCER_STATUS_PAGE`` is false."""
    if not settings.status_page:
        return None
    from syncer.status_page import PageAuth, StatusPage

    auth = PageAuth(
        token=settings.status_token.get_secret_value() if settings.status_token else None,
        basic=settings.status_basic_auth.get_secret_value() if settings.status_basic_auth else None,
    )
    return StatusPage(
        lambda ledger, limit: store.runs(ledger, limit=limit), ledgers, next_run, auth=auth
    )


def next_run_of(scheduler: object) -> Callable[[str], datetime | None]:
    """A function giving a ledger's next scheduled cycle from the daemon's scheduler."""

    def next_run(ledger: str) -> datetime | None:
        job = scheduler.get_job(f"cycle:{ledger}")  # type: ignore[attr-defined]
        when = getattr(job, "next_run_time", None) if job is not None else None
        return when if isinstance(when, datetime) else None

    return next_run
