"""Process settings from ``SYNCER_*`` environment variables and a ``.env`` file.

Precedence (highest first): init arguments, environment, ``.env``, defaults — pydantic-
settings' own order. Ledger files (YAML) hold everything per ledger; these settings hold
what belongs to the process: where things are, how to log, how to serve.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from syncer.notify.config import Destination


class Settings(BaseSettings):
    """Settings of one syncer process."""

    model_config = SettingsConfigDict(
        env_prefix="SYNCER_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    #: A ledger file, or a directory whose ``*.yaml`` files are ledger files.
    config_path: Path = Path("config/ledgers")
    #: SQLAlchemy URL of the state database.
    state_url: str = "sqlite:///var/syncer-state.db"
    #: Service-account JSON for Google; unset means Application Default Credentials.
    credentials_path: Path | None = None
    #: Base URL replacing Google's API hosts (e.g. a ``syncer sandbox``); unset = Google.
    google_api_base: str | None = None
    log_format: Literal["json", "console", "auto"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: Zone for ledgers that do not name one.
    timezone: str = "Asia/Shanghai"
    #: Daemon: ledgers cycled in parallel at most.
    max_workers: int = Field(default=4, ge=1, le=64)
    #: Daemon: port of /healthz, /readyz and /metrics (0 disables the server).
    http_port: int = Field(default=9308, ge=0, le=65535)
    http_host: str = "127.0.0.1"
    #: Backups: where timestamped snapshots and their manifests go.
    backup_dir: Path = Path("var/backups")
    #: Backups: key for AES-GCM encryption at rest (base64, 32 bytes); unset = plain.
    backup_key: SecretStr | None = None
    #: Backups: a file holding the key instead of the variable (e.g. a mounted secret).
    backup_key_file: Path | None = None
    backup_keep_daily: int = Field(default=7, ge=0)
    backup_keep_weekly: int = Field(default=4, ge=0)
    #: Daemon: 5-field cron (in ``timezone``) of the scheduled backup of every ledger;
    #: empty disables scheduled backups (backups before removals still happen).
    backup_cron: str = "30 2 * * *"
    #: Backups: a Google Drive folder (id or URL) each backup is also copied into — a folder
    #: in a *shared drive* the service account is a Content manager of. Unset: no copy.
    backup_drive_folder: str | None = None
    #: Google: write requests per minute per credential the rate limiter allows.
    google_writes_per_minute: int = Field(default=55, ge=1)
    google_reads_per_minute: int = Field(default=55, ge=1)
    #: Google: the largest request body of one write call; a bigger plan is written in
    #: several ``batchUpdate`` chunks (journaled, each prefix safe). Google's own cap is
    #: about 10 MB.
    google_max_batch_bytes: int = Field(default=2_000_000, ge=10_000, le=9_000_000)
    #: Notifications: process-wide destinations (ops alerts) added to every ledger's
    #: ``notify`` list — a JSON list of destinations, see docs/notifications.md.
    notify_ops: list[Destination] = Field(default_factory=list)
    #: Status page at ``/`` and ``/status`` on the HTTP port (false: only the probes).
    status_page: bool = True
    #: Status page: require ``?token=…`` or ``Authorization: Bearer …`` with this token.
    status_token: SecretStr | None = None
    #: Status page: require HTTP basic auth, given as ``user:password``.
    status_basic_auth: SecretStr | None = None
    #: Public address of the status page, linked from messages (unset: no link).
    status_url: str | None = None
    #: Cycles validate only the rows that changed since the last cycle; a full pass over
    #: every row runs at least this often (hours; 0: every cycle is a full pass), besides
    #: on a changed ledger file, a new process or a state written elsewhere.
    full_pass_hours: float = Field(default=24.0, ge=0)
    #: Journal entries (which hold the values of the rows each cycle moved) and run
    #: records older than this many days are deleted (0: kept forever). Interrupted
    #: cycles' entries, the newest entries reconciliation reads and each ledger's last
    #: run are always kept.
    history_days: int = Field(default=90, ge=0)
    #: Backups: the retention keeps at least this many newest intact snapshots of each
    #: reason (before_removal, manual, scheduled) per ledger, besides daily/weekly ones.
    backup_keep_last: int = Field(default=3, ge=1)

    @field_validator("backup_key", "backup_key_file", "backup_drive_folder", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """``SYNCER_BACKUP_KEY_FILE=`` (empty) means unset, not the current directory."""
        return None if isinstance(value, str) and not value.strip() else value

    #: Worker (``syncer worker``): its name in tick records and logs; unset = host-pid.
    worker_name: str | None = None
    #: Worker: seconds between the dispatcher's looks at the schedules (the tick grain).
    dispatch_seconds: int = Field(default=1, ge=1, le=59)
    #: Worker: seconds between heartbeats in the queue's database.
    worker_heartbeat_seconds: float = Field(default=10.0, gt=0)
    #: Worker: a worker without a heartbeat for this long is dead; its running cycles
    #: are retried by another replica.
    worker_stalled_seconds: float = Field(default=30.0, gt=0)
