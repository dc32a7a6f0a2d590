"""Fivetran's response envelope, its error codes, and cursor pagination."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

MAX_PAGE = 1000
DEFAULT_PAGE = 100


class ApiError(Exception):
    """Raised anywhere in a handler; rendered as Fivetran's error envelope."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def connection_not_found(connection_id: str) -> ApiError:
    return ApiError(404, "NotFound_Integration", f"Cannot find entity 'Integration' with id '{connection_id}'")


def envelope(data: Any = None, *, message: str | None = None, status: int = 200, code: str = "Success") -> JSONResponse:
    body: dict[str, Any] = {"code": code}
    if message is not None:
        body["message"] = message
    if data is not None:
        body["data"] = data
    return JSONResponse(body, status_code=status)


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse({"code": error.code, "message": error.message}, status_code=error.status, headers=error.headers)


def encode_cursor(skip: int) -> str:
    raw = json.dumps({"skip": skip}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        skip = json.loads(base64.urlsafe_b64decode(padded.encode()))["skip"]
    except (ValueError, KeyError, TypeError) as exc:
        raise bad_request(f"Invalid cursor '{cursor}'") from exc
    if not isinstance(skip, int) or skip < 0:
        raise bad_request(f"Invalid cursor '{cursor}'")
    return skip


def page(request: Request, items: Sequence[Any]) -> dict[str, Any]:
    """One page of `items` per the request's `cursor`/`limit`; `next_cursor` is absent on the last page."""
    raw_limit = request.query_params.get("limit")
    try:
        limit = DEFAULT_PAGE if raw_limit is None else int(raw_limit)
    except ValueError as exc:
        raise bad_request("limit must be an integer between 1 and 1000") from exc
    if not 1 <= limit <= MAX_PAGE:
        raise bad_request("limit must be an integer between 1 and 1000")
    cursor = request.query_params.get("cursor")
    skip = decode_cursor(cursor) if cursor else 0
    data: dict[str, Any] = {"items": list(items[skip : skip + limit])}
    if skip + limit < len(items):
        data["next_cursor"] = encode_cursor(skip + limit)
    return data


async def json_body(request: Request, *, required: bool = False) -> dict[str, Any]:
    """The request's JSON object; an empty body is {} unless `required`."""
    raw = await request.body()
    if not raw.strip():
        if required:
            raise bad_request("Request body is required")
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise bad_request("Request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object")
    return body
