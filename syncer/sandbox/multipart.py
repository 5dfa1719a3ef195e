"""Drive upload bodies: ``multipart/related`` (JSON metadata part + media part) and raw media."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from syncer.sandbox.drive import DriveError

_BOUNDARY = re.compile(r"""boundary=(?:"([^"]+)"|([^;\s]+))""", re.I)


@dataclass(frozen=True)
class Upload:
    """What an upload request carries."""

    metadata: dict[str, Any]
    content: bytes
    media_type: str | None


def _bad(message: str) -> DriveError:
    return DriveError(400, message, "badContent")


def _headers(head: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in head.decode("latin-1").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            out[name.strip().lower()] = value.strip()
    return out


def _metadata(data: bytes) -> dict[str, Any]:
    if not data.strip():
        return {}
    try:
        parsed = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise DriveError(
            400, "Invalid JSON payload received in the metadata part.", "parseError"
        ) from None
    if not isinstance(parsed, dict):
        raise DriveError(400, "The metadata part must be a JSON object.", "parseError")
    return parsed


def parse_multipart(content_type: str, body: bytes) -> Upload:
    """Split a ``multipart/related`` upload into its metadata and media parts."""
    found = _BOUNDARY.search(content_type)
    if not content_type.lower().startswith("multipart/") or found is None:
        raise _bad("Bad content type. Please use multipart/related with a boundary.")
    delimiter = b"--" + (found.group(1) or found.group(2)).encode("latin-1")
    parts: list[tuple[dict[str, str], bytes]] = []
    for raw in body.split(delimiter)[1:]:
        if raw.startswith(b"--"):
            break  # the closing delimiter
        raw = raw[2:] if raw.startswith(b"\r\n") else raw.removeprefix(b"\n")
        head, sep, data = raw.partition(b"\r\n\r\n")
        if not sep:
            head, sep, data = raw.partition(b"\n\n")
        if not sep:
            head, data = b"", raw
        if data.endswith(b"\r\n"):
            data = data[:-2]
        elif data.endswith(b"\n"):
            data = data[:-1]
        parts.append((_headers(head), data))
    if len(parts) != 2:
        raise _bad(
            f"Multipart upload must have exactly 2 parts (metadata, media), got {len(parts)}."
        )
    (_, meta), (media_headers, content) = parts
    return Upload(_metadata(meta), content, media_headers.get("content-type"))


def parse_upload(upload_type: str | None, content_type: str | None, body: bytes) -> Upload:
    """An upload request's content for ``uploadType=multipart`` or ``media``."""
    if upload_type == "multipart":
        return parse_multipart(content_type or "", body)
    if upload_type == "media":
        return Upload({}, body, content_type or None)
    raise DriveError(
        400,
        f"Invalid value for uploadType: {upload_type!r}; the sandbox supports "
        "'multipart' and 'media'.",
        "invalid",
        "uploadType",
    )
