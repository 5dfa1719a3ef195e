"""Copies of backups in a Drive folder, through the real stack (google-auth, requests, HTTP)
against the sandbox: shared drives work, My Drive and unshared folders fail with the fix."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from syncer import metrics
from syncer.backup import BackupStore, backup_ledger, decrypt, generate_key, xlsx_to_tables
from syncer.cli import commands  # noqa: F401  (registers every command)
from syncer.cli.app import app
from syncer.connectors.google.drive import (
    FILES_URL,
    UPLOAD_URL,
    DriveClient,
    DriveFile,
    DriveTarget,
)
from syncer.connectors.memory import MemoryConnector
from syncer.connectors.retry import RetryPolicy
from syncer.errors import BackupError
from syncer.ledger import LedgerConfig
from syncer.sandbox import SandboxServer
from syncer.settings import Settings

from ..xlsx_ledger import write_ledger
from .conftest import EMAIL, OWNER

KEY = base64.b64decode(generate_key())
StoreFactory = Callable[..., BackupStore]


def retries_counted(kind: str) -> float:
    """The api_retries_total samples of one call kind, over every ledger."""
    return sum(
        sample.value
        for family in metrics.REGISTRY.collect()
        for sample in family.samples
        if sample.name == "syncer_api_retries_total" and sample.labels.get("kind") == kind
    )


def test_copy_into_shared_drive_round_trips_the_encrypted_bytes(
    sandbox: SandboxServer,
    shared_drive: str,
    make_store: StoreFactory,
    ledger: LedgerConfig,
    connector: MemoryConnector,
    now: datetime,
) -> None:
    """Both files land in the shared drive; the copy is the encrypted file, byte for byte,
    and decrypts to the same tables as the local snapshot."""
    store = make_store(shared_drive, KEY)
    manifest = backup_ledger(ledger, connector, store, now)
    assert store.drive_failures == {}
    files = {f["name"]: f for f in sandbox.files_in(shared_drive)}
    assert set(files) == {manifest.file, f"{manifest.id}.json"}
    assert manifest.file.endswith(".xlsx.enc")
    remote = sandbox.file_content(files[manifest.file]["id"])
    assert remote == manifest.data_path.read_bytes()
    assert manifest.path is not None
    assert sandbox.file_content(files[f"{manifest.id}.json"]["id"]) == manifest.path.read_bytes()
    plain = decrypt(KEY, remote, "drive copy")
    assert xlsx_to_tables(plain, manifest.tabs, "drive copy") == store.read(manifest)
    results = store.verify_latest()
    assert [(r.snapshot, r.ok) for r in results] == [
        (manifest.id, True),
        (f"{manifest.id} (Drive)", True),
    ]


def test_verify_detects_an_altered_and_a_missing_drive_copy(
    sandbox: SandboxServer,
    shared_drive: str,
    make_store: StoreFactory,
    settings: Settings,
    ledger: LedgerConfig,
    connector: MemoryConnector,
    now: datetime,
) -> None:
    """A copy changed in Drive, or a manifest deleted there, fails verification by name."""
    store = make_store(shared_drive)
    manifest = backup_ledger(ledger, connector, store, now)
    ids = {f["name"]: f["id"] for f in sandbox.files_in(shared_drive)}
    client = DriveClient.from_settings(settings)
    try:
        altered = client.http.session.request(
            "PATCH",
            f"{UPLOAD_URL}/{ids[manifest.file]}",
            params={"uploadType": "media", "supportsAllDrives": "true"},
            data=b"not the backup",
            headers={"Content-Type": "application/octet-stream"},
        )
        assert altered.status_code == 200
        deleted = client.http.session.request(
            "DELETE",
            f"{FILES_URL}/{ids[manifest.id + '.json']}",
            params={"supportsAllDrives": "true"},
        )
        assert deleted.status_code == 204
    finally:
        client.close()
    local, remote = store.verify_latest()
    assert local.ok
    assert not remote.ok
    assert f"{manifest.file} in Drive folder {shared_drive} differs" in remote.message
    assert f"{manifest.id}.json is missing from Drive folder {shared_drive}" in remote.message


def test_my_drive_folder_gives_the_shared_drive_hint(
    sandbox: SandboxServer,
    make_store: StoreFactory,
    ledger: LedgerConfig,
    connector: MemoryConnector,
    now: datetime,
) -> None:
    """A folder in a person's My Drive, even shared as writer, answers storageQuotaExceeded:
    the local backup stands and the failure tells how to set up a shared drive."""
    folder = sandbox.create_folder("backups", OWNER)
    sandbox.share_file(folder, EMAIL, "writer")
    store = make_store(folder)
    before = (
        metrics.REGISTRY.get_sample_value(
            "syncer_backups_total", {"ledger": "sales", "outcome": "drive_failed"}
        )
        or 0.0
    )
    manifest = backup_ledger(ledger, connector, store, now)
    assert store.verify(manifest).ok
    message = str(store.drive_failures[manifest.id])
    assert "storageQuotaExceeded" in message
    assert "Service Accounts do not have storage quota" in message
    assert f"add {EMAIL} to it as Content manager" in message
    assert "SYNCER_BACKUP_DRIVE_FOLDER" in message
    assert message.endswith("The local backup was written and is good.")
    assert sandbox.files_in(folder) == []
    after = metrics.REGISTRY.get_sample_value(
        "syncer_backups_total", {"ledger": "sales", "outcome": "drive_failed"}
    )
    assert after == before + 1


@pytest.mark.parametrize("kind", ["my_drive_folder", "shared_drive"])
def test_unshared_folder_gives_the_sharing_hint(
    kind: str,
    sandbox: SandboxServer,
    make_store: StoreFactory,
    ledger: LedgerConfig,
    connector: MemoryConnector,
    now: datetime,
) -> None:
    """A folder or shared drive the account cannot see is a 404 naming the account to add."""
    folder = sandbox.create_folder("private", OWNER, shared_drive=kind == "shared_drive")
    store = make_store(folder)
    manifest = backup_ledger(ledger, connector, store, now)
    message = str(store.drive_failures[manifest.id])
    assert "404" in message
    assert f"Share the folder with {EMAIL}" in message
    assert store.verify(manifest).ok


def test_read_only_member_is_asked_to_become_content_manager(
    sandbox: SandboxServer,
    make_store: StoreFactory,
    ledger: LedgerConfig,
    connector: MemoryConnector,
    now: datetime,
) -> None:
    """A shared-drive member who may only read gets the Content-manager hint."""
    drive_id = sandbox.create_folder("read only", OWNER, shared_drive=True)
    sandbox.share_file(drive_id, EMAIL, "reader")
    store = make_store(drive_id)
    manifest = backup_ledger(ledger, connector, store, now)
    message = str(store.drive_failures[manifest.id])
    assert "403" in message
    assert "Content manager" in message


def test_a_503_once_is_retried_and_uploads_once(
    sandbox: SandboxServer,
    shared_drive: str,
    make_store: StoreFactory,
    policy: RetryPolicy,
    ledger: LedgerConfig,
    connector: MemoryConnector,
    now: datetime,
) -> None:
    """An injected 503 on the first upload is retried under the connector's policy; each
    file exists once in the drive afterwards."""
    store = make_store(shared_drive)
    retried = retries_counted("drive")
    sandbox.clear_log()
    sandbox.inject(503, on_request=1, api="drive")
    manifest = backup_ledger(ledger, connector, store, now)
    assert store.drive_failures == {}
    assert policy.stats.retries == 1
    assert retries_counted("drive") == retried + 1
    uploads = [e.status for e in sandbox.request_log if e.path.startswith("/upload/drive/v3")]
    assert uploads == [503, 200, 200]
    names = sorted(f["name"] for f in sandbox.files_in(shared_drive))
    assert names == sorted([manifest.file, f"{manifest.id}.json"])


def test_prune_deletes_old_copies_from_the_shared_drive(
    sandbox: SandboxServer,
    shared_drive: str,
    make_store: StoreFactory,
    ledger: LedgerConfig,
    connector: MemoryConnector,
    now: datetime,
) -> None:
    """The retention removes a pruned snapshot's two Drive copies and keeps the newest."""
    store = make_store(shared_drive)
    backup_ledger(ledger, connector, store, now - timedelta(days=2))
    new = backup_ledger(ledger, connector, store, now)
    assert len(sandbox.files_in(shared_drive)) == 4
    store.prune("sales", keep_daily=1, keep_weekly=0, keep_last=1)
    names = sorted(f["name"] for f in sandbox.files_in(shared_drive))
    assert names == sorted([new.file, f"{new.id}.json"])


def test_find_and_download_through_the_client(
    sandbox: SandboxServer, shared_drive: str, settings: Settings
) -> None:
    """Upload, search by name (quotes escaped) and download give back the same bytes."""
    client = DriveClient.from_settings(settings)
    target = DriveTarget(ledger="x", client_email=EMAIL, folder=shared_drive)
    try:
        data = bytes(range(256)) * 3
        stored = client.upload(target, "o'neil.bin", data)
        assert stored == DriveFile(stored.id, "o'neil.bin", len(data), stored.md5)
        found = client.find(target, "o'neil.bin")
        assert [f.id for f in found] == [stored.id]
        assert client.download(target, found[0]) == data
        assert client.find(target, "other.bin") == []
    finally:
        client.close()


# --- the CLI --------------------------------------------------------------------------------


def cli_env(settings: Settings, tmp_path: Path, folder: str) -> dict[str, str]:
    """SYNCER_* variables for an xlsx ledger whose backups are copied to ``folder``."""
    _book, config = write_ledger(tmp_path)
    assert settings.credentials_path is not None
    assert settings.google_api_base is not None
    return {
        "SYNCER_CONFIG_PATH": str(config),
        "SYNCER_BACKUP_DIR": str(tmp_path / "backups"),
        "SYNCER_BACKUP_KEY": generate_key(),
        "SYNCER_CREDENTIALS_PATH": str(settings.credentials_path),
        "SYNCER_GOOGLE_API_BASE": settings.google_api_base,
        "SYNCER_BACKUP_DRIVE_FOLDER": f"https://drive.google.com/drive/folders/{folder}",
        "SYNCER_LOG_FORMAT": "json",
    }


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Invoke the CLI in-process; return exit code and combined output."""
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


def test_cli_backup_and_verify_with_a_shared_drive(
    sandbox: SandboxServer, shared_drive: str, settings: Settings, tmp_path: Path
) -> None:
    """`syncer backup` copies to the folder and exits 0; `verify` checks the Drive copy too."""
    env = cli_env(settings, tmp_path, shared_drive)
    code, out = run(env, "backup")
    assert code == 0, out
    assert f"shop: copied to Drive folder {shared_drive}" in out
    assert len(sandbox.files_in(shared_drive)) == 2
    code, out = run(env, "backup", "verify")
    assert code == 0, out
    assert "(Drive): OK" in out
    code, out = run(env, "backup", "verify", "--local-only")
    assert code == 0, out
    assert "(Drive)" not in out


def test_cli_backup_into_my_drive_exits_nonzero_with_the_hint(
    sandbox: SandboxServer, settings: Settings, tmp_path: Path
) -> None:
    """The local backup is written and reported, the Drive failure makes the exit code 1."""
    folder = sandbox.create_folder("mine", OWNER)
    sandbox.share_file(folder, EMAIL, "writer")
    env = cli_env(settings, tmp_path, folder)
    code, out = run(env, "backup")
    assert code == 1
    assert "shop: backed up to" in out
    assert "shop: Drive copy FAILED" in out
    assert "Create a shared drive" in out
    code, out = run(env, "backup", "verify", "--local-only")
    assert code == 0, out
    code, out = run(env, "backup", "verify")
    assert code == 1
    assert "(Drive): FAILED" in out


def test_folder_check_accepts_a_folder_and_names_a_file_or_a_missing_one(
    sandbox: SandboxServer, shared_drive: str, settings: Settings
) -> None:
    """The folder check passes for a folder shared with the account, refuses a file by
    its type, and turns a 404 into the sharing hint (through the connector's transport)."""
    folder = sandbox.create_folder("team", OWNER)
    sandbox.share_file(folder, EMAIL, "writer")
    client = DriveClient.from_settings(settings)
    target = DriveTarget(ledger="x", client_email=EMAIL, folder=shared_drive)
    try:
        assert client.folder(DriveTarget(ledger="x", folder=folder)).id == folder
        stored = client.upload(target, "plain.bin", b"data")
        with pytest.raises(BackupError, match="is a file"):
            client.folder(DriveTarget(ledger="x", client_email=EMAIL, folder=stored.id))
        with pytest.raises(BackupError, match=f"Share the folder with {EMAIL}"):
            client.folder(DriveTarget(ledger="x", client_email=EMAIL, folder="nope123"))
        assert client.http.calls["drive.files.get"] >= 3  # counted by the one transport
    finally:
        client.close()
