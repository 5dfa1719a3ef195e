"""Drive copies of backups without a server: folder ids, upload bodies, error mapping,
and how the backup store treats a copy that fails."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from gspread.exceptions import APIError
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from syncer import metrics
from syncer.backup import BackupStore, Manifest, VerifyResult, backup_ledger
from syncer.backup.drive import DriveBackup
from syncer.cli import commands  # noqa: F401  (registers every command)
from syncer.cli.app import app
from syncer.connectors.google.drive import (
    DriveTarget,
    drive_error,
    folder_id,
    multipart_body,
    query_literal,
)
from syncer.connectors.google.transport import failure_of
from syncer.connectors.memory import MemoryConnector
from syncer.connectors.retry import Failure
from syncer.errors import BackupError
from syncer.ledger import LedgerConfig
from syncer.settings import Settings

from .xlsx_ledger import write_ledger

IDS = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
    min_size=1,
    max_size=44,
)
EMAIL = "syncer@proj.iam.gserviceaccount.com"
TARGET = DriveTarget(ledger="sales", client_email=EMAIL, folder="F1")


def classify(
    status: int, body: object, retry_after: str | None, target: DriveTarget, what: str
) -> Failure | BackupError:
    """What the Drive client makes of an answer: the transport's parse of it (the one
    error parser), then a Failure the policy retries, or the Drive-worded BackupError."""
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode() if body is not None else b"<html>oops</html>"
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    failure = failure_of(APIError(response))
    if failure.kind in ("transient", "auth"):
        return failure
    return drive_error(failure, target, what)


def google_error(code: int, reason: str, message: str) -> dict[str, object]:
    """An error body in Drive's format."""
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"domain": "usageLimits", "reason": reason, "message": message}],
        }
    }


@given(IDS)
def test_folder_id_accepts_ids_and_every_drive_url_form(ident: str) -> None:
    """An id, a folder URL (with /u/N/ and a query) and an open?id= URL all give the id."""
    for value in (
        ident,
        f"  {ident}\n",
        f"https://drive.google.com/drive/folders/{ident}",
        f"https://drive.google.com/drive/u/1/folders/{ident}?usp=sharing",
        f"https://drive.google.com/open?id={ident}",
    ):
        assert folder_id(value) == ident


@pytest.mark.parametrize(
    "value", ["", "my backups", "https://drive.google.com/drive/my-drive", "folder/../x"]
)
def test_folder_id_rejects_what_is_no_folder(value: str) -> None:
    """A value that holds no folder id is refused naming the setting and where to look."""
    with pytest.raises(BackupError, match="SYNCER_BACKUP_DRIVE_FOLDER") as info:
        folder_id(value)
    assert "drive.google.com/drive/folders/ID" in str(info.value)


@given(
    st.binary(max_size=2048),
    st.text(min_size=1, max_size=40),
    st.sampled_from(["application/octet-stream", "application/json"]),
)
def test_multipart_body_parses_back_to_metadata_and_exact_bytes(
    data: bytes, name: str, mime: str
) -> None:
    """A standard MIME parser recovers the metadata and the media bytes unchanged."""
    metadata = {"name": name, "parents": ["F1"]}
    body, content_type = multipart_body(metadata, data, mime)
    assert content_type.startswith("multipart/related; boundary=")
    boundary = content_type.split("boundary=", 1)[1]
    assert boundary.encode() not in data
    message = email.message_from_bytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body, policy=email.policy.HTTP
    )
    parts = list(message.iter_parts())  # type: ignore[attr-defined]
    assert len(parts) == 2
    assert json.loads(parts[0].get_payload(decode=True)) == metadata
    assert parts[1].get_content_type() == mime
    assert parts[1].get_payload(decode=True) == data


def test_multipart_boundary_avoids_the_data() -> None:
    """A boundary that occurs in the data is replaced by a fresh one."""
    body, content_type = multipart_body({}, b"xx--clash--xx", "text/plain", boundary="clash")
    assert "boundary=clash" not in content_type
    assert body.endswith(f"\r\n--{content_type.split('boundary=')[1]}--\r\n".encode())


def test_query_literal_escapes_quotes_and_backslashes() -> None:
    """Names with quotes and backslashes are quoted the way Drive's q syntax wants."""
    assert query_literal("sales") == "'sales'"
    assert query_literal("o'neil\\x") == "'o\\'neil\\\\x'"


def test_storage_quota_403_is_final_and_explains_shared_drives() -> None:
    """Google's 403 storageQuotaExceeded is not retried and says how to set up a shared drive."""
    body = google_error(
        403,
        "storageQuotaExceeded",
        "Service Accounts do not have storage quota. Leverage shared drives "
        "(https://developers.google.com/workspace/drive/api/guides/about-shareddrives), "
        "or use OAuth delegation instead.",
    )
    verdict = classify(403, body, None, TARGET, "Drive upload of x.json")
    assert isinstance(verdict, BackupError)
    text = str(verdict)
    for needed in ("own no storage", "shared drive", "Content manager", EMAIL,
                   "SYNCER_BACKUP_DRIVE_FOLDER"):  # fmt: skip
        assert needed in text


def test_not_found_says_to_share_the_folder_with_the_account() -> None:
    """A 404 names the service account the folder must be shared with."""
    verdict = classify(404, google_error(404, "notFound", "File not found: F1."), None,
                       TARGET, "Drive upload of x")  # fmt: skip
    assert isinstance(verdict, BackupError)
    assert f"Share the folder with {EMAIL}" in str(verdict)
    assert "(404: File not found: F1)" in str(verdict)


def test_write_refusal_asks_for_content_manager() -> None:
    """A 403 without write access asks to make the account a Content manager."""
    body = google_error(403, "insufficientFilePermissions", "The user does not have "
                        "sufficient permissions for this file.")  # fmt: skip
    verdict = classify(403, body, None, TARGET, "Drive upload of x")
    assert isinstance(verdict, BackupError)
    assert "Content manager" in str(verdict)
    assert "insufficientFilePermissions" in str(verdict)


@pytest.mark.parametrize(
    ("status", "reason", "kind"),
    [
        (429, "rateLimitExceeded", "transient"),
        (503, "backendError", "transient"),
        (500, "internalError", "transient"),
        (403, "userRateLimitExceeded", "transient"),
        (401, "authError", "auth"),
    ],
)
def test_temporary_answers_go_to_the_retry_policy(status: int, reason: str, kind: str) -> None:
    """Rate limits and server errors become a Failure the policy retries (401 refreshes)."""
    verdict = classify(status, google_error(status, reason, "busy"), "7", TARGET, "x")
    assert isinstance(verdict, Failure)
    assert verdict.kind == kind
    assert verdict.status == status
    assert verdict.retry_after == 7.0


def test_unparseable_error_body_still_names_status() -> None:
    """A 400 with an HTML body is a BackupError carrying the status."""
    verdict = classify(400, None, None, TARGET, "Drive upload of x")
    assert isinstance(verdict, BackupError)
    assert "400" in str(verdict)
    assert "Drive folder F1" in str(verdict)


def test_drive_backup_from_settings_is_off_when_unset() -> None:
    """No folder (or an empty one) means no copier; a URL is reduced to its id."""
    assert DriveBackup.from_settings(Settings(backup_drive_folder=None)) is None
    assert DriveBackup.from_settings(Settings(backup_drive_folder="  ")) is None
    copier = DriveBackup.from_settings(
        Settings(backup_drive_folder="https://drive.google.com/drive/folders/0ABcd-_9")
    )
    assert copier is not None
    assert copier.folder == "0ABcd-_9"


# --- the store with a fake copier ----------------------------------------------------------


class FakeCopier:
    """Records copies; fails with ``error`` when set."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.copied: list[str] = []
        self.verified: list[str] = []
        self.removed: list[tuple[str, list[str]]] = []

    def describe(self) -> str:
        """Where copies go."""
        return "fake folder"

    def copy(self, manifest: Manifest) -> object:
        """Record the copy, or fail."""
        if self.error is not None:
            raise self.error
        self.copied.append(manifest.id)
        return None

    def verify(self, manifest: Manifest) -> VerifyResult:
        """Always fine, recorded."""
        self.verified.append(manifest.id)
        return VerifyResult(f"{manifest.id} (fake)", True, "ok")

    def remove(self, ledger: str, names: Sequence[str]) -> int:
        """Record the names, or fail with ``error``."""
        if self.error is not None:
            raise self.error
        self.removed.append((ledger, list(names)))
        return len(names)


def backups_counted(ledger: str, outcome: str) -> float:
    """The backups_total sample of one ledger and outcome."""
    value = metrics.REGISTRY.get_sample_value(
        "syncer_backups_total", {"ledger": ledger, "outcome": outcome}
    )
    return value or 0.0


def test_failed_drive_copy_keeps_the_local_backup_and_is_metered(
    tmp_path: Path, ledger: LedgerConfig, connector: MemoryConnector, now: datetime
) -> None:
    """A copy that fails leaves a good, verified local snapshot; the failure is recorded."""
    copier = FakeCopier(BackupError("Drive said no; create a shared drive"))
    store = BackupStore(tmp_path, drive=copier)
    before = backups_counted("sales", "drive_failed")
    manifest = backup_ledger(ledger, connector, store, now)
    assert store.verify(manifest).ok
    assert str(store.drive_failures[manifest.id]) == "Drive said no; create a shared drive"
    assert backups_counted("sales", "drive_failed") == before + 1


def test_unexpected_copy_error_is_wrapped_not_raised(
    tmp_path: Path, ledger: LedgerConfig, connector: MemoryConnector, now: datetime
) -> None:
    """Even a non-syncer exception from the copier does not fail the local backup."""
    store = BackupStore(tmp_path, drive=FakeCopier(RuntimeError("boom")))
    manifest = backup_ledger(ledger, connector, store, now)
    error = store.drive_failures[manifest.id]
    assert "RuntimeError: boom" in str(error)
    assert "fake folder" in str(error)


def test_successful_copy_is_counted_and_verified_with_the_local_one(
    tmp_path: Path, ledger: LedgerConfig, connector: MemoryConnector, now: datetime
) -> None:
    """Each snapshot is copied once; verify checks it locally, then its copy (unless told not)."""
    copier = FakeCopier()
    store = BackupStore(tmp_path, drive=copier)
    before = backups_counted("sales", "drive_ok")
    manifest = backup_ledger(ledger, connector, store, now)
    assert copier.copied == [manifest.id]
    assert store.drive_failures == {}
    assert backups_counted("sales", "drive_ok") == before + 1
    results = store.verify_latest()
    assert [r.snapshot for r in results] == [manifest.id, f"{manifest.id} (fake)"]
    assert all(r.ok for r in results)
    assert [r.snapshot for r in store.verify_latest(drive=False)] == [manifest.id]
    assert copier.verified == [manifest.id]


def test_copy_refuses_a_snapshot_changed_on_disk(
    tmp_path: Path, ledger: LedgerConfig, connector: MemoryConnector, now: datetime
) -> None:
    """DriveBackup never uploads a stored file whose sha256 no longer matches its manifest."""
    manifest = backup_ledger(ledger, connector, BackupStore(tmp_path), now)
    manifest.data_path.write_bytes(b"tampered")

    def no_client() -> object:
        raise AssertionError("no upload may be attempted")

    copier = DriveBackup("F1", no_client)  # type: ignore[arg-type]
    with pytest.raises(BackupError, match="changed since it was written"):
        copier.copy(manifest)


def test_prune_removes_the_drive_copies_of_pruned_snapshots(
    tmp_path: Path, ledger: LedgerConfig, connector: MemoryConnector, now: datetime
) -> None:
    """Snapshots dropped by the retention are removed from Drive too, manifest first."""
    copier = FakeCopier()
    store = BackupStore(tmp_path, drive=copier)
    old = backup_ledger(ledger, connector, store, now - timedelta(days=3))
    new = backup_ledger(ledger, connector, store, now)
    store.prune("sales", keep_daily=1, keep_weekly=0, keep_last=1)
    assert copier.removed == [("sales", [f"{old.id}.json", old.file])]
    assert [m.id for m in store.manifests("sales")] == [new.id]
    store.prune("sales", keep_daily=1, keep_weekly=0, keep_last=1)
    assert len(copier.removed) == 1  # nothing more to remove, no Drive call


def test_failed_drive_prune_is_metered_not_raised(
    tmp_path: Path, ledger: LedgerConfig, connector: MemoryConnector, now: datetime
) -> None:
    """A Drive deletion that fails does not undo or break the local retention."""
    store = BackupStore(tmp_path)
    backup_ledger(ledger, connector, store, now - timedelta(days=3))
    backup_ledger(ledger, connector, store, now)
    store.drive = FakeCopier(BackupError("no delete rights"))
    before = backups_counted("sales", "drive_prune_failed")
    removed = store.prune("sales", keep_daily=1, keep_weekly=0, keep_last=1)
    assert len(removed) == 2
    assert backups_counted("sales", "drive_prune_failed") == before + 1


def test_cli_rejects_a_malformed_drive_folder_setting(tmp_path: Path) -> None:
    """`syncer backup` with a folder setting that is no id or URL exits 2 naming it."""
    _book, config = write_ledger(tmp_path)
    env = {
        "SYNCER_CONFIG_PATH": str(config),
        "SYNCER_BACKUP_DIR": str(tmp_path / "backups"),
        "SYNCER_BACKUP_DRIVE_FOLDER": "my backups folder",
        "SYNCER_LOG_FORMAT": "json",
    }
    result = CliRunner().invoke(app, ["backup"], env=env)
    assert result.exit_code == 2
    assert "SYNCER_BACKUP_DRIVE_FOLDER='my backups folder'" in result.output
    assert not (tmp_path / "backups").exists()
