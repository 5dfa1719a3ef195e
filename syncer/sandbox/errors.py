"""Google-shaped API errors: ``{"error": {"code", "message", "status", "details"?}}``."""

from __future__ import annotations

from typing import Any

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}

NOT_FOUND_MESSAGE = "Requested entity was not found."
PERMISSION_MESSAGE = "The caller does not have permission"
MISSING_CREDENTIALS_MESSAGE = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
UNAUTHENTICATED_MESSAGE = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)


class ApiError(Exception):
    """An error answered to the client in Google's JSON error format."""

    def __init__(
        self,
        code: int,
        message: str,
        status: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or _STATUS_NAMES.get(code, "UNKNOWN")
        self.details = details

    def body(self) -> dict[str, Any]:
        """The JSON body Google sends for this error."""
        error: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "status": self.status,
        }
        if self.details:
            error["details"] = self.details
        return {"error": error}


#: Google's front end refuses a request body above 10 MiB, whatever the method (the
#: answer quoted in client issue threads, e.g. googleworkspace/dotnet-samples#23).
MAX_REQUEST_BYTES = 10_485_760


def payload_too_large(limit: int = MAX_REQUEST_BYTES) -> ApiError:
    """The 400 a request body over ``limit`` bytes gets (nothing of it is applied)."""
    return ApiError(400, f"Request payload size exceeds the limit: {limit} bytes.")


def bad_request(message: str) -> ApiError:
    """A 400 INVALID_ARGUMENT error."""
    return ApiError(400, message)


def not_found() -> ApiError:
    """A 404 for a spreadsheet or file that does not exist."""
    return ApiError(404, NOT_FOUND_MESSAGE)


def permission_denied() -> ApiError:
    """A 403 for a caller the file is not shared with (or a reader who writes)."""
    return ApiError(403, PERMISSION_MESSAGE)


def unauthenticated(missing: bool = False) -> ApiError:
    """A 401 for a missing, unknown or expired bearer token."""
    return ApiError(
        401,
        MISSING_CREDENTIALS_MESSAGE if missing else UNAUTHENTICATED_MESSAGE,
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "CREDENTIALS_MISSING" if missing else "ACCESS_TOKEN_EXPIRED",
                "domain": "googleapis.com",
            }
        ],
    )
