"""The Drive v3 calls backups need, on the Google connector's HTTP transport.

:class:`DriveClient` is a thin layer over the transport's :class:`PolicyHTTPClient`:
every call goes through its one :class:`~syncer.connectors.retry.RetryPolicy` (429/5xx,
403 rate limits, timeouts and dropped connections retried with jitter; a 401 refreshes
the token once), its error parsing (:func:`~syncer.connectors.google.transport.failure_of`),
call counters and metrics, over the same authorized session the Sheets connector uses
(``SYNCER_GOOGLE_API_BASE`` sends it to a sandbox too). Drive calls are not paced by the
Sheets rate limiter (Drive has its own, larger quota).

What this module adds is only Drive's vocabulary: multipart upload, list by name in a
folder, download, delete, and errors in Drive's terms: a final failure becomes a
:class:`~syncer.errors.BackupError` saying what to do — 403 ``storageQuotaExceeded``
(a service account uploading into someone's *My Drive*: the folder must be in a shared
drive), 404 (the folder is not shared with the service account), other 403s (the
account may not add files: make it a Content manager).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests
from google.auth.exceptions import RefreshError, TransportError

from syncer.connectors.google.transport import PolicyHTTPClient
from syncer.connectors.retry import CallFailed, Failure, RetryPolicy, Target
from syncer.errors import BackupError, ConnectorError, RetriesExhausted
from syncer.settings import Settings

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
SETUP = "docs/operations.md, section 'Copies in Google Drive'"


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


@dataclass(frozen=True)
class DriveTarget(Target):
    """What a Drive call is about, for the retry policy's messages."""

    folder: str = "?"

    def describe(self) -> str:
        """``ledger 'sales' (Drive folder 1AbC…)``."""
        return f"ledger {self.ledger!r} (Drive folder {self.folder})"


def drive_error(failure: Failure, target: DriveTarget, what: str) -> BackupError:
    """The BackupError, with the next step, for a Drive call that failed for good."""
    reasons = failure.reason or ""
    message = failure.message.rstrip(".") or f"HTTP {failure.status}"
    who = target.client_email or "the service account syncer runs as"
    where = f"{what} for {target.describe()}"
    if "storageQuotaExceeded" in reasons:
        return BackupError(
            f"{where} was refused (403 storageQuotaExceeded: {message}). Service accounts "
            "own no storage, so they cannot upload into a folder of someone's My Drive. "
            f"Create a shared drive, add {who} to it as Content manager, and set "
            f"SYNCER_BACKUP_DRIVE_FOLDER to a folder in that shared drive ({SETUP})."
        )
    if failure.kind == "not_found":
        return BackupError(
            f"{where}: not found (404: {message}). Share the folder with {who} (as Content "
            "manager of its shared drive), and check SYNCER_BACKUP_DRIVE_FOLDER is the "
            "folder's id or URL."
        )
    if failure.kind == "permission":
        return BackupError(
            f"{where} was refused (403 {reasons or 'forbidden'}: {message}). {who} may not "
            "add files to this folder: add it to the folder's shared drive as Content "
            f"manager ({SETUP})."
        )
    if failure.kind == "auth":
        return BackupError(
            f"{where}: Google rejected syncer's credentials ({message}). Check "
            "SYNCER_CREDENTIALS_PATH (or Application Default Credentials)."
        )
    return BackupError(f"{where} failed ({failure.status} {reasons}: {message})".replace(" :", ":"))


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
    """The few Drive v3 calls backups need, each one logical call of ``http``."""

    def __init__(self, http: PolicyHTTPClient, *, client_email: str | None = None) -> None:
        self.http = http
        self.client_email = client_email

    @classmethod
    def from_settings(cls, settings: Settings, policy: RetryPolicy | None = None) -> DriveClient:
        """A client with the connector's credentials, API base and transport."""
        from syncer.connectors.google.auth import open_session

        auth = open_session(settings.credentials_path, settings.google_api_base)
        http = PolicyHTTPClient(auth.credentials, auth.session)
        http.policy = policy if policy is not None else RetryPolicy()
        http.refresh_token = auth.refresh
        http.set_timeout(TIMEOUT)
        return cls(http, client_email=auth.client_email)

    def close(self) -> None:
        """Close the HTTP session."""
        self.http.session.close()

    def _call(
        self,
        what: str,
        target: DriveTarget,
        method: str,
        url: str,
        *,
        params: Mapping[str, str],
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        self.http.target = target
        try:
            return self.http.request(
                method, url, params=dict(params), data=data, headers=dict(headers or {})
            )
        except RetriesExhausted as exc:
            raise BackupError(str(exc)) from exc
        except ConnectorError as exc:  # a final answer: the policy's failure is its cause
            cause = exc.__cause__
            if isinstance(cause, CallFailed):
                raise drive_error(cause.failure, target, what) from exc
            raise BackupError(f"{what} for {target.describe()} failed: {exc}") from exc
        except RefreshError as exc:  # the token endpoint refused the credentials
            raise BackupError(
                f"{what} for {target.describe()}: Google refused syncer's credentials "
                f"({exc}). Check SYNCER_CREDENTIALS_PATH (or Application Default "
                "Credentials)."
            ) from exc
        except TransportError as exc:
            raise BackupError(
                f"{what} for {target.describe()}: cannot reach Google's token endpoint "
                f"({exc}); the next backup tries again"
            ) from exc

    def upload(
        self, target: DriveTarget, name: str, data: bytes, mime: str = DATA_MIME
    ) -> DriveFile:
        """Create ``name`` with ``data`` in the target folder (one multipart upload)."""
        body, content_type = multipart_body(
            {"name": name, "parents": [target.folder], "mimeType": mime}, data, mime
        )
        response = self._call(
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

    def folder(self, target: DriveTarget) -> DriveFile:
        """The target folder itself; BackupError when it is missing, not shared or no folder."""
        response = self._call(
            "Drive folder check",
            target,
            "GET",
            f"{FILES_URL}/{target.folder}",
            params={"fields": "id,name,mimeType", "supportsAllDrives": "true"},
        )
        body = response.json()
        if body.get("mimeType") != FOLDER_MIME:
            raise BackupError(
                f"SYNCER_BACKUP_DRIVE_FOLDER {target.folder} is a file "
                f"({body.get('mimeType')}), not a folder; give a folder's id or URL"
            )
        return DriveFile.from_json(body)

    def delete(self, target: DriveTarget, file: DriveFile) -> None:
        """Delete ``file`` (a shared drive's Content manager may)."""
        self._call(
            f"Drive deletion of {file.name}",
            target,
            "DELETE",
            f"{FILES_URL}/{file.id}",
            params={"supportsAllDrives": "true"},
        )

    def download(self, target: DriveTarget, file: DriveFile) -> bytes:
        """The content of ``file``."""
        response = self._call(
            f"Drive download of {file.name}",
            target,
            "GET",
            f"{FILES_URL}/{file.id}",
            params={"alt": "media", "supportsAllDrives": "true"},
        )
        return response.content
