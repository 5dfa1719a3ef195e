"""Exceptions raised by syncer.

Validation *findings* are data (see :mod:`syncer.model`), never exceptions.
Exceptions are for broken configuration and failed I/O. The tree::

    SyncerError                      base of everything syncer raises on purpose
    ├── ConfigError                  a settings or ledger file is invalid (file:line:col + hint)
    ├── ConnectorError               reading or writing a ledger's source failed
    │   ├── SourceNotFound           the workbook / spreadsheet / tab does not exist
    │   ├── PermissionDenied         not shared with us, or read-only (never retried)
    │   ├── SourceChanged            the source changed between guard and write (re-plan)
    │   └── TransientError           429 / 5xx / timeout: retried, then raised as RetriesExhausted
    │       └── RetriesExhausted     the retry policy gave up
    ├── StateError                   the state database is unusable
    └── BackupError                  a backup could not be written, verified or restored

Each exception builds its own message from the objects involved and says what to do next.
"""

from __future__ import annotations


class SyncerError(Exception):
    """Base class for every error syncer raises on purpose."""


class ConfigError(SyncerError):
    """A configuration file is invalid.

    ``problems`` holds one line per problem, each ``file:line:col: message (hint)``.
    """

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class ConnectorError(SyncerError):
    """Reading or writing a ledger's source failed."""


class SourceNotFound(ConnectorError):
    """The workbook, spreadsheet or tab does not exist."""


class PermissionDenied(ConnectorError):
    """The source exists but we may not read or write it. Never retried."""


class SourceChanged(ConnectorError):
    """The source changed between the guard read and the write; nothing was written."""


class TransientError(ConnectorError):
    """A temporary failure (quota, server error, timeout) worth retrying."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RetriesExhausted(TransientError):
    """The retry policy gave up on a temporary failure."""


class WriteNotSent(TransientError):
    """A guarded write was refused for a temporary reason (quota, server error, timeout)
    before any of it was applied. It is never retried as it was: what it would write was
    checked against a read that is now old, so the caller reads and guards again first."""


class StateError(SyncerError):
    """The state database cannot be opened or written."""


class BackupError(SyncerError):
    """A backup could not be written, verified or restored."""
