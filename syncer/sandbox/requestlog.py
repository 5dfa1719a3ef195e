"""The request log tests assert on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["read", "write", "token", "drive"]
Api = Literal["sheets", "drive", "oauth"]


@dataclass(frozen=True)
class LoggedRequest:
    """One API request the sandbox answered (or dropped: status 0)."""

    method: str
    path: str
    query: str
    kind: Kind
    api: Api
    user: str | None
    spreadsheet_id: str | None
    bytes_in: int
    bytes_out: int
    status: int
