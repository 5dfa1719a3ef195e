"""A local, stateful stand-in for Google Sheets API v4, Drive API v3 and the OAuth2 token
endpoint, spoken to by unmodified gspread + google-auth + requests over real HTTP.

See docs/sandbox.md for the supported surface and every known deviation from Google.
"""

from __future__ import annotations

from syncer.sandbox.faults import Fault, FaultInjector, FaultSpec
from syncer.sandbox.protection import ProtectedEdit
from syncer.sandbox.quotas import QuotaConfig
from syncer.sandbox.requestlog import JsonLinesLog, LoggedRequest
from syncer.sandbox.server import SandboxServer

__all__ = [
    "Fault",
    "FaultInjector",
    "FaultSpec",
    "JsonLinesLog",
    "LoggedRequest",
    "ProtectedEdit",
    "QuotaConfig",
    "SandboxServer",
]
