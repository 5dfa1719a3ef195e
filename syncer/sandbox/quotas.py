"""Per-minute read/write quotas per user and per project, answering 429 like Sheets does."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

from syncer.sandbox.errors import ApiError

PROJECT_NUMBER = "123456789012"


@dataclass(frozen=True)
class QuotaConfig:
    """Sheets API per-minute limits (Google's defaults: 60 per user, 300 per project)."""

    enabled: bool = True
    read_per_user: int = 60
    write_per_user: int = 60
    read_per_project: int = 300
    write_per_project: int = 300


def quota_error(kind: Literal["read", "write"], scope: Literal["user", "project"]) -> ApiError:
    """The 429 Sheets answers when a per-minute quota is exhausted."""
    metric = "Read requests" if kind == "read" else "Write requests"
    limit = f"{metric} per minute" + (" per user" if scope == "user" else "")
    limit_name = (
        ("ReadRequestsPerMinutePerUser" if kind == "read" else "WriteRequestsPerMinutePerUser")
        if scope == "user"
        else (
            "ReadRequestsPerMinutePerProject"
            if kind == "read"
            else "WriteRequestsPerMinutePerProject"
        )
    )
    message = (
        f"Quota exceeded for quota metric '{metric}' and limit '{limit}' of service "
        f"'sheets.googleapis.com' for consumer 'project_number:{PROJECT_NUMBER}'."
    )
    return ApiError(
        429,
        message,
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "RATE_LIMIT_EXCEEDED",
                "domain": "googleapis.com",
                "metadata": {
                    "quota_location": "global",
                    "quota_metric": f"sheets.googleapis.com/{kind}_requests",
                    "quota_limit": limit_name,
                    "service": "sheets.googleapis.com",
                    "consumer": f"projects/{PROJECT_NUMBER}",
                    "quota_limit_value": "",
                },
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [
                    {
                        "description": "Request a higher quota limit.",
                        "url": "https://cloud.google.com/docs/quotas/help/request_increase",
                    }
                ],
            },
        ],
    )


class QuotaTracker:
    """Counts Sheets requests in fixed one-minute windows; not thread-safe (caller locks)."""

    def __init__(self, config: QuotaConfig | None) -> None:
        self.config = config or QuotaConfig(enabled=False)
        self._window = -1
        self._counts: Counter[tuple[str, str]] = Counter()

    def charge(self, kind: Literal["read", "write"], user: str, now: float) -> None:
        """Count one request, or raise the 429 ApiError if a limit is already reached."""
        cfg = self.config
        if not cfg.enabled:
            return
        window = int(now // 60)
        if window != self._window:
            self._window = window
            self._counts.clear()
        per_user = cfg.read_per_user if kind == "read" else cfg.write_per_user
        per_project = cfg.read_per_project if kind == "read" else cfg.write_per_project
        if self._counts[(kind, user)] >= per_user:
            raise quota_error(kind, "user")
        if self._counts[(kind, "*")] >= per_project:
            raise quota_error(kind, "project")
        self._counts[(kind, user)] += 1
        self._counts[(kind, "*")] += 1

    def reset(self) -> None:
        """Forget all counts."""
        self._counts.clear()
