"""Fixtures for Drive copies of backups: one sandbox per session, a fresh shared drive,
service-account key and backup store per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from syncer.backup import BackupStore
from syncer.backup.drive import DriveBackup
from syncer.connectors.google.drive import DriveClient
from syncer.connectors.retry import RetryPolicy
from syncer.sandbox import SandboxServer
from syncer.settings import Settings

EMAIL = "syncer-backups@proj.iam.gserviceaccount.com"
OWNER = "admin@example.com"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    """One sandbox for every Drive-copy test (each test makes its own folders)."""
    with SandboxServer() as server:
        yield server


@pytest.fixture
def settings(sandbox: SandboxServer, tmp_path: Path) -> Settings:
    """Settings with a service-account key issued by the sandbox and its API base."""
    credentials = sandbox.write_credentials(tmp_path / "sa.json", EMAIL)
    return Settings(
        credentials_path=credentials,
        google_api_base=sandbox.url,
        backup_dir=tmp_path / "backups",
    )


@pytest.fixture
def shared_drive(sandbox: SandboxServer) -> str:
    """A shared drive where the service account is a Content manager (fileOrganizer)."""
    drive_id = sandbox.create_folder("syncer backups", OWNER, shared_drive=True)
    sandbox.share_file(drive_id, EMAIL, "fileOrganizer")
    return drive_id


@pytest.fixture
def policy() -> RetryPolicy:
    """The connector's retry policy with waits recorded instead of slept."""
    waits: list[float] = []
    return RetryPolicy(sleep=waits.append)


@pytest.fixture
def make_store(
    settings: Settings, policy: RetryPolicy, tmp_path: Path
) -> Callable[..., BackupStore]:
    """A backup store copying into ``folder`` through the sandbox (optionally encrypted)."""

    def make(folder: str, key: bytes | None = None) -> BackupStore:
        copier = DriveBackup(folder, lambda: DriveClient.from_settings(settings, policy))
        return BackupStore(tmp_path / "backups", key, drive=copier)

    return make
