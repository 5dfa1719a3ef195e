"""JSON in and out of the sandbox: request bodies parsed like Google, answers encoded."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

from syncer.sandbox.errors import bad_request

JSON_TYPE = "application/json; charset=UTF-8"


def parse_json(body: bytes) -> Any:
    """A request body as JSON (an empty body is ``{}``), or Google's 400."""
    if not body:
        return {}
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("Invalid JSON payload received. Unexpected token.") from None


def json_object(body: bytes) -> dict[str, Any]:
    """A request body that must be a JSON object, or Google's 400."""
    data = parse_json(body)
    if not isinstance(data, dict):
        raise bad_request("Invalid JSON payload received. Expected an object.")
    return data


def json_response(data: Any, status: int) -> Response:
    """``data`` as a compact UTF-8 JSON response."""
    try:
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates sent by a client: escape them instead
        payload = json.dumps(data, separators=(",", ":")).encode("ascii")
    return Response(payload, status=status, content_type=JSON_TYPE)
