"""Copies of backups in a Google Drive folder (``SYNCER_BACKUP_DRIVE_FOLDER``).

After a snapshot is written locally, :class:`DriveBackup` uploads its stored file (the
encrypted bytes when encryption is on) and then its manifest into the folder, each with
one Drive v3 multipart upload (``POST /upload/drive/v3/files?uploadType=multipart``,
``supportsAllDrives=true``). Every call goes through the connector's
:class:`~syncer.connectors.retry.RetryPolicy` (429/5xx/timeouts retried with jitter, a 401
refreshes the token once) over the same authorized session the Google connector uses, so
``SYNCER_GOOGLE_API_BASE`` sends it to a sandbox too.

Failures that retrying cannot fix become a :class:`~syncer.errors.BackupError` saying what
to do: Google answers 403 ``storageQuotaExceeded`` when a service account uploads into a
folder of someone's *My Drive* (service accounts own no storage — the folder must be in a
shared drive), and 404 when the folder is not shared with the service account.

The copy is a second place, not the backup itself: :class:`~syncer.backup.BackupStore`
logs and meters a failed copy, keeps the good local snapshot, and ``syncer backup`` exits
non-zero. :meth:`DriveBackup.verify` downloads both copies and compares their sha256 with
the local manifest (part of ``syncer backup verify``).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests
import structlog
from google.auth.exceptions import RefreshError, TransportError

from syncer import metrics
from syncer.backup import Manifest, VerifyResult
from syncer.connectors.retry import (
    CallFailed,
    Failure,
    RetryPolicy,
    Target,
    kind_for_status,
    parse_retry_after,
)
from syncer.errors import BackupError, ConnectorError, RetriesExhausted, SyncerError
from syncer.settings import Settings

log = structlog.get_logger(__name__)

FILES_URL = "https://www.googleapis.com/drive/v3/files"
UPLOAD_URL = "https://www.googleapis.com/upload/drive/v3/files"
FOLDER_MIME = "application/vnd.google-apps.folder"
#: Stored snapshots are opaque bytes to Drive (an .xlsx only when not encrypted).
DATA_MIME = "application/octet-stream"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MANIFEST_MIME = "application/json"
#: Seconds to wait for Drive to answer one request (uploads of large snapshots included).
TIMEOUT = 120.0
_ID = re.compile(r"^[A-Za-z0-9_-]+$")
_FOLDER_PATH = re.compile(r"/folders/([A-Za-z0-9_-]+)")
_SETUP = "docs/operations.md, section 'Copies in Google Drive'"
LOCAL_IS_GOOD = "The local backup was written and is good."


# --- pure helpers -------------------------------------------------------------------------


def folder_id(value: str) -> str:
    """The folder id in ``value``: an id, or a Drive folder URL
    (``https://drive.google.com/drive/folders/ID``, ``…/drive/u/0/folders/ID?usp=…``,
    ``https://drive.google.com/open?id=ID``)."""
    text = value.strip()
    if _ID.match(text):
        return text
    parsed = urlparse(text)
    if parsed.scheme in ("http", "https") and parsed.netloc:
        found = _FOLDER_PATH.search(parsed.path)
        if found:
            return found.group(1)
        ids = parse_qs(parsed.query).get("id")
        if ids and _ID.match(ids[0]):
            return ids[0]
    raise BackupError(
        f"SYNCER_BACKUP_DRIVE_FOLDER={value!r} is neither a Drive folder id nor a folder URL; "
        "open the folder in Google Drive and copy its address "
        "(https://drive.google.com/drive/folders/ID) or the ID part of it"
    )


def multipart_body(
    metadata: Mapping[str, Any], data: bytes, mime: str, boundary: str | None = None
) -> tuple[bytes, str]:
    """A ``multipart/related`` upload body (metadata JSON, then the media) and its
    Content-Type. The boundary is random and never occurs in ``data``."""
    while boundary is None or boundary.encode() in data:
        boundary = f"syncer-{secrets.token_hex(16)}"
    head = (
        f"--{boundary}\r\n"
        "Content-Type: application/json; charset=UTF-8\r\n\r\n"
        f"{json.dumps(dict(metadata), ensure_ascii=False)}\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: {mime}\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return head + data + tail, f"multipart/related; boundary={boundary}"


def query_literal(text: str) -> str:
    """``text`` as a single-quoted string of a Drive ``q`` query."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _error_parts(body: Any) -> tuple[str, str]:
    """(message, reasons) of a Google error body; both may be empty."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return "", ""
    reasons = [str(error.get("status") or "")]
    for item in error.get("errors") or []:
        if isinstance(item, Mapping) and item.get("reason"):
            reasons.append(str(item["reason"]))
    return str(error.get("message") or ""), " ".join(r for r in reasons if r)


@dataclass(frozen=True)
class DriveTarget(Target):
    """What a Drive call is about, for the retry policy's messages."""

    folder: str = "?"

    def describe(self) -> str:
        """``ledger 'sales' (Drive folder 1AbC…)``."""
        return f"ledger {self.ledger!r} (Drive folder {self.folder})"


def classify(
    status: int, body: Any, retry_after: str | None, target: DriveTarget, what: str
) -> Failure | BackupError:
    """The retry policy's view of a failed Drive answer, or the BackupError that ends it.

    Transient answers (429, 5xx, 403 rate limits) and 401 become a :class:`Failure` for the
    policy; everything else becomes a BackupError with the next step.
    """
    message, reasons = _error_parts(body)
    message = message.rstrip(".") or f"HTTP {status}"
    who = target.client_email or "the service account syncer runs as"
    where = f"{what} for {target.describe()}"
    if "storageQuotaExceeded" in reasons:
        return BackupError(
            f"{where} was refused (403 storageQuotaExceeded: {message}). Service accounts "
            "own no storage, so they cannot upload into a folder of someone's My Drive. "
            f"Create a shared drive, add {who} to it as Content manager, and set "
            f"SYNCER_BACKUP_DRIVE_FOLDER to a folder in that shared drive ({_SETUP})."
        )
    kind = kind_for_status(status, reasons)
    if kind in ("transient", "auth"):
        return Failure(
            kind=kind,
            message=message,
            status=status,
            retry_after=parse_retry_after(retry_after),
            reason=reasons or None,
        )
    if kind == "not_found":
        return BackupError(
            f"{where}: not found (404: {message}). Share the folder with {who} (as Content "
            "manager of its shared drive), and check SYNCER_BACKUP_DRIVE_FOLDER is the "
            "folder's id or URL."
        )
    if kind == "permission":
        return BackupError(
            f"{where} was refused (403 {reasons or 'forbidden'}: {message}). {who} may not "
            "add files to this folder: add it to the folder's shared drive as Content "
            f"manager ({_SETUP})."
        )
    return BackupError(f"{where} failed ({status} {reasons}: {message})".replace(" :", ":"))


# --- the Drive client ---------------------------------------------------------------------


@dataclass(frozen=True)
class DriveFile:
    """A file in Drive, as files.create / files.list describe it."""

    id: str
    name: str
    size: int | None = None
    md5: str | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> DriveFile:
        """From a Drive File resource (``size`` arrives as a string)."""
        size = body.get("size")
        md5 = body.get("md5Checksum")
        return cls(
            id=str(body["id"]),
            name=str(body.get("name", "")),
            size=int(size) if size is not None else None,
            md5=str(md5) if md5 else None,
        )


class DriveClient:
    """The few Drive v3 calls backups need, over an authorized ``requests`` session,
    each under the retry policy."""

    def __init__(
        self,
        session: requests.Session,
        *,
        client_email: str | None = None,
        refresh: Callable[[], None] | None = None,
        policy: RetryPolicy | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        self.session = session
        self.client_email = client_email
        self.refresh = refresh
        self.policy = policy if policy is not None else RetryPolicy()
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings, policy: RetryPolicy | None = None) -> DriveClient:
        """A client with the connector's credentials and API base."""
        from syncer.connectors.google.auth import open_session

        auth = open_session(settings.credentials_path, settings.google_api_base)
        return cls(
            auth.session, client_email=auth.client_email, refresh=auth.refresh, policy=policy
        )

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    def _call(
        self,
        kind: str,
        what: str,
        target: DriveTarget,
        method: str,
        url: str,
        *,
        params: Mapping[str, str],
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        metrics.record_api_call(target.ledger, kind)

        def attempt() -> requests.Response:
            try:
                response = self.session.request(
                    method,
                    url,
                    params=dict(params),
                    data=data,
                    headers=dict(headers or {}),
                    timeout=self.timeout,
                )
            except (requests.Timeout, requests.ConnectionError, TransportError) as exc:
                raise CallFailed(
                    Failure(kind="transient", message=f"{type(exc).__name__}: {exc}")
                ) from exc
            except RefreshError as exc:  # the token endpoint refused the credentials
                raise BackupError(
                    f"{what} for {target.describe()}: Google refused syncer's credentials "
                    f"({exc}). Check SYNCER_CREDENTIALS_PATH (or Application Default "
                    "Credentials)."
                ) from exc
            if response.ok:
                return response
            if response.status_code == 429:
                metrics.record_throttled(target.ledger, kind)
            try:
                body: Any = response.json()
            except ValueError:
                body = None
            verdict = classify(
                response.status_code,
                body,
                response.headers.get("Retry-After"),
                target,
                what,
            )
            if isinstance(verdict, BackupError):
                raise verdict
            raise CallFailed(verdict)

        def on_retry(failure: Failure, wait: float) -> None:
            metrics.record_retry(target.ledger, kind)
            log.warning(
                "backup.drive_retry",
                call=kind,
                ledger=target.ledger,
                folder=target.folder,
                status=failure.status,
                error=failure.message,
                wait=round(wait, 2),
            )

        try:
            return self.policy.call(
                attempt, target, what=what, refresh=self.refresh, on_retry=on_retry
            )
        except RetriesExhausted as exc:
            raise BackupError(str(exc)) from exc
        except ConnectorError as exc:  # a 401 even after refreshing the token
            raise BackupError(
                f"{what} for {target.describe()}: Google rejected syncer's credentials "
                f"({exc}). Check SYNCER_CREDENTIALS_PATH (or Application Default "
                "Credentials)."
            ) from exc

    def upload(
        self, target: DriveTarget, name: str, data: bytes, mime: str = DATA_MIME
    ) -> DriveFile:
        """Create ``name`` with ``data`` in the target folder (one multipart upload)."""
        body, content_type = multipart_body(
            {"name": name, "parents": [target.folder], "mimeType": mime}, data, mime
        )
        response = self._call(
            "drive.files.create",
            f"Drive upload of {name}",
            target,
            "POST",
            UPLOAD_URL,
            params={
                "uploadType": "multipart",
                "supportsAllDrives": "true",
                "fields": "id,name,size,md5Checksum",
            },
            data=body,
            headers={"Content-Type": content_type},
        )
        stored = DriveFile.from_json(response.json())
        if (stored.size is not None and stored.size != len(data)) or (
            stored.md5 is not None and stored.md5 != hashlib.md5(data).hexdigest()
        ):
            raise BackupError(
                f"Drive stored {name} (file {stored.id}) with other bytes than were sent "
                f"({stored.size} bytes, expected {len(data)}); the next backup uploads again"
            )
        return stored

    def find(self, target: DriveTarget, name: str) -> list[DriveFile]:
        """The files called ``name`` in the target folder (not trashed)."""
        response = self._call(
            "drive.files.list",
            f"Drive search for {name}",
            target,
            "GET",
            FILES_URL,
            params={
                "q": (
                    f"{query_literal(target.folder)} in parents and name = "
                    f"{query_literal(name)} and trashed = false"
                ),
                "fields": "files(id,name,size,md5Checksum)",
                "supportsAllDrives": "true",
                "includeItemsFromAllDrives": "true",
                "corpora": "allDrives",
                "pageSize": "100",
            },
        )
        return [DriveFile.from_json(f) for f in response.json().get("files", [])]

    def delete(self, target: DriveTarget, file: DriveFile) -> None:
        """Delete ``file`` (a shared drive's Content manager may)."""
        self._call(
            "drive.files.delete",
            f"Drive deletion of {file.name}",
            target,
            "DELETE",
            f"{FILES_URL}/{file.id}",
            params={"supportsAllDrives": "true"},
        )

    def download(self, target: DriveTarget, file: DriveFile) -> bytes:
        """The content of ``file``."""
        response = self._call(
            "drive.files.get_media",
            f"Drive download of {file.name}",
            target,
            "GET",
            f"{FILES_URL}/{file.id}",
            params={"alt": "media", "supportsAllDrives": "true"},
        )
        return response.content


# --- backups in a folder --------------------------------------------------------------------


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class DriveBackup:
    """Copies snapshots into one Drive folder and checks them; plugs into
    :class:`~syncer.backup.BackupStore` as its ``drive``.

    ``client`` makes a fresh :class:`DriveClient` per operation (a session is not shared
    between the daemon's worker threads).
    """

    def __init__(self, folder: str, client: Callable[[], DriveClient]) -> None:
        self.folder = folder_id(folder)
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> DriveBackup | None:
        """The copier ``SYNCER_BACKUP_DRIVE_FOLDER`` asks for; None when it is unset."""
        if not (settings.backup_drive_folder or "").strip():
            return None
        assert settings.backup_drive_folder is not None
        return cls(settings.backup_drive_folder, lambda: DriveClient.from_settings(settings))

    def describe(self) -> str:
        """``Drive folder ID``."""
        return f"Drive folder {self.folder}"

    def _open(self, ledger: str) -> tuple[DriveClient, DriveTarget]:
        try:
            client = self._client()
        except SyncerError as exc:  # credentials missing or unreadable
            raise BackupError(
                f"cannot copy backups of ledger {ledger!r} to {self.describe()}: {exc}"
            ) from exc
        target = DriveTarget(ledger=ledger, client_email=client.client_email, folder=self.folder)
        return client, target

    def copy(self, manifest: Manifest) -> tuple[DriveFile, DriveFile]:
        """Upload the snapshot's stored file, then its manifest (last, as on disk)."""
        stored = _read(manifest.data_path, manifest.id)
        if _sha256(stored) != manifest.sha256:
            raise BackupError(
                f"snapshot {manifest.data_path} changed since it was written; not copied to "
                f"{self.describe()}"
            )
        assert manifest.path is not None  # data_path above raised otherwise
        manifest_bytes = _read(manifest.path, manifest.id)
        try:
            client, target = self._open(manifest.ledger)
            try:
                mime = XLSX_MIME if not manifest.encrypted else DATA_MIME
                data = client.upload(target, manifest.file, stored, mime)
                meta = client.upload(target, manifest.path.name, manifest_bytes, MANIFEST_MIME)
            finally:
                client.close()
        except BackupError as exc:
            raise BackupError(f"{exc} {LOCAL_IS_GOOD}") from exc
        log.info(
            "backup.drive_copied",
            ledger=manifest.ledger,
            snapshot=manifest.id,
            folder=self.folder,
            file_id=data.id,
            manifest_id=meta.id,
        )
        return data, meta

    def remove(self, ledger: str, names: Sequence[str]) -> int:
        """Delete the files called ``names`` from the folder, in that order; return how
        many were deleted (names not found are skipped)."""
        client, target = self._open(ledger)
        deleted = 0
        try:
            for name in names:
                for found in client.find(target, name):
                    client.delete(target, found)
                    deleted += 1
        finally:
            client.close()
        return deleted

    def verify(self, manifest: Manifest) -> VerifyResult:
        """Download the Drive copies of ``manifest``'s snapshot and compare their sha256
        with the local manifest."""
        label = f"{manifest.id} (Drive)"
        try:
            client, target = self._open(manifest.ledger)
            try:
                problems = self._check(client, target, manifest)
            finally:
                client.close()
        except BackupError as exc:
            return VerifyResult(label, False, str(exc))
        if problems:
            return VerifyResult(label, False, "; ".join(problems))
        return VerifyResult(label, True, f"ok (same sha256 in {self.describe()})")

    def _check(self, client: DriveClient, target: DriveTarget, manifest: Manifest) -> list[str]:
        assert manifest.path is not None
        local_manifest = _read(manifest.path, manifest.id)
        problems: list[str] = []
        for name, size, digest in (
            (manifest.file, manifest.size, manifest.sha256),
            (manifest.path.name, len(local_manifest), _sha256(local_manifest)),
        ):
            found = client.find(target, name)
            if not found:
                problems.append(
                    f"{name} is missing from {self.describe()}; the next `syncer backup` "
                    "copies a new snapshot"
                )
                continue
            sums = [_sha256(client.download(target, f)) for f in found]
            if digest not in sums:
                problems.append(
                    f"{name} in {self.describe()} differs from the local copy (sha256 "
                    f"{sums[0][:12]}…, expected {digest[:12]}… of {size} bytes)"
                )
        return problems


def _read(path: Path, snapshot: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BackupError(
            f"cannot read {path} of snapshot {snapshot}: {exc.strerror or exc}"
        ) from exc
