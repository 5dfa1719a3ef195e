"""The one runtime opener: settings, ledgers, state store, backups and connectors.

``syncer plan``, ``syncer run --once``, the daemon, ``syncer sheet setup`` and the
replica workers all open what a cycle needs here, so a cycle is opened, run and closed
the same way everywhere:

* :func:`load_settings` reads ``SYNCER_*`` / ``.env`` and turns an invalid value into a
  :class:`~syncer.errors.ConfigError` naming it;
* :func:`select_ledgers` loads the ledger files and picks one by name;
* :class:`Runtime` holds the state store and backup store of one process and runs one
  cycle of a ledger with a connector it opens and always closes
  (:meth:`Runtime.cycle`), or lends a connector to other work (:meth:`Runtime.connector`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from pydantic import ValidationError

from syncer.errors import ConfigError, StateError, SyncerError
from syncer.settings import Settings

log = structlog.get_logger("syncer.runtime")

#: How often a process prunes a ledger's history (:meth:`Runtime.prune_history`).
PRUNE_EVERY = timedelta(hours=6)

if TYPE_CHECKING:
    from syncer.backup import BackupStore
    from syncer.connectors.base import Connector
    from syncer.engine import BeforeRemoval, CycleResult
    from syncer.ledger import LedgerConfig
    from syncer.state import StateStore


def load_settings(config: Path | None = None) -> Settings:
    """Process settings, with ``config`` (a ledger file or directory) when given."""
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = [
            f"SYNCER_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        ]
        raise ConfigError(
            [
                f"invalid SYNCER_* setting {p} (see config/.env.example for accepted values)"
                for p in problems
            ]
        ) from exc
    if config is not None:
        settings = settings.model_copy(update={"config_path": config})
    return settings


def select_ledgers(settings: Settings, only: str | None = None) -> list[LedgerConfig]:
    """The ledgers in ``settings.config_path`` (one, when ``only`` names it)."""
    from syncer.config import load_ledgers

    ledgers = load_ledgers(settings.config_path)
    if only is None:
        return ledgers
    chosen = [lg for lg in ledgers if lg.name == only]
    if not chosen:
        names = ", ".join(lg.name for lg in ledgers) or "(none)"
        raise ConfigError(f"no ledger named {only!r} in {settings.config_path}; known: {names}")
    return chosen


class Runtime:
    """What one process needs to run cycles: settings, the state store, the backups."""

    def __init__(self, settings: Settings, *, backups: bool = True) -> None:
        from syncer.backup import BackupStore
        from syncer.connectors import ratelimit
        from syncer.state import StateStore

        self.settings = settings
        # On PostgreSQL the Google quota is shared with every replica (see ratelimit).
        ratelimit.share_through(settings.state_url)
        self.backups: BackupStore | None = BackupStore.from_settings(settings) if backups else None
        self.store: StateStore = StateStore(settings.state_url)
        self._pruned: dict[str, datetime] = {}

    @contextmanager
    def connector(self, ledger: LedgerConfig) -> Iterator[Connector]:
        """The ledger's connector, closed afterwards."""
        from syncer.connectors import open_connector

        connector = open_connector(ledger, self.settings)
        try:
            yield connector
        finally:
            connector.close()

    def cycle(
        self,
        ledger: LedgerConfig,
        now: datetime | None = None,
        *,
        dry_run: bool = False,
        clock: Callable[[], datetime] | None = None,
        cycle_id: str | None = None,
        tap: Callable[[BeforeRemoval | None], BeforeRemoval] | None = None,
    ) -> CycleResult:
        """One cycle of ``ledger``; never raises for a broken source (see run_cycle).

        ``tap`` wraps the pre-removal hook (the backup), e.g. to let the notifier see the
        cycle's snapshot."""
        from syncer.backup import backup_before_removal
        from syncer.engine import CycleResult, run_cycle

        started = now or datetime.now(UTC)
        try:
            with self.connector(ledger) as connector:
                before_removal: BeforeRemoval | None = (
                    partial(backup_before_removal, store=self.backups, connector=connector)
                    if self.backups is not None
                    else None
                )
                if tap is not None:
                    before_removal = tap(before_removal)
                result = run_cycle(
                    ledger,
                    connector,
                    self.store,
                    started,
                    dry_run=dry_run,
                    cycle_id=cycle_id,
                    clock=clock,
                    before_removal=before_removal,
                    full_pass_every=timedelta(hours=self.settings.full_pass_hours),
                )
        except SyncerError as exc:  # the connector could not be opened
            return CycleResult(
                ledger.name, cycle_id or "-", started, started, "failed", error=str(exc)
            )
        if not dry_run:
            self.prune_history(ledger.name, result.finished)
        return result

    def prune_history(self, ledger: str, now: datetime) -> None:
        """Delete the ledger's journal entries and run records older than
        ``settings.history_days`` (see :meth:`Journal.prune
        <syncer.journal.Journal.prune>` and :meth:`StateStore.prune_runs
        <syncer.state.StateStore.prune_runs>`), at most once per
        :data:`PRUNE_EVERY` in this process. A failure is logged, never raised: the
        history is pruned again later."""
        from syncer.engine import RECENT_JOURNAL
        from syncer.journal import Journal

        days = self.settings.history_days
        last = self._pruned.get(ledger)
        if not days or (last is not None and now - last < PRUNE_EVERY):
            return
        self._pruned[ledger] = now
        before = now - timedelta(days=days)
        try:
            entries = Journal(self.store).prune(ledger, before, RECENT_JOURNAL)
            runs = self.store.prune_runs(ledger, before)
        except StateError as exc:
            log.warning("history.prune_failed", ledger=ledger, error=str(exc))
            return
        if entries or runs:
            log.info("history.pruned", ledger=ledger, journal_entries=entries, runs=runs)

    def close(self) -> None:
        """Release the state store."""
        self.store.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
