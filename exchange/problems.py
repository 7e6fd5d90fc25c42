"""Every error leaves as application/problem+json (RFC 9457) saying what is wrong and how to fix it."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from exchange.core.errors import EncoreError

PROBLEM = "application/problem+json"
log = logging.getLogger("encore")


def _problem(status: int, title: str, detail: str, fix: str = "", **extra: Any) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if fix:
        body["fix"] = fix
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(body, status_code=status, media_type=PROBLEM)


# The widget reads these answers from the store's page: any origin may, since the signed token in the
# path is the credential and no cookie is sent.
SHOPPER_PATHS = ("/a/", "/c/", "/d/", "/v/", "/v1/shopify/")


def encore_error(request: Request[Any, Any, Any], exc: EncoreError) -> Response[dict[str, Any]]:
    response = _problem(exc.status, exc.title, exc.detail, exc.fix, **exc.extra)
    if request.url.path.startswith(SHOPPER_PATHS):
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    errors = exc.extra if isinstance(exc.extra, list) else None
    detail = "; ".join(f"{e.get('message')} (at {e.get('key') or e.get('source')})" for e in errors or []) or str(
        exc.detail
    )
    return _problem(
        400,
        "Invalid input",
        detail,
        "correct the fields named above; see /schema for the request's shape",
        errors=errors,
    )


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if exc.status_code >= 500:
        return unexpected_error(request, exc)
    fix = "see /schema/swagger for the API" if exc.status_code in (404, 405) else ""
    return _problem(exc.status_code, exc.__class__.__name__, str(exc.detail), fix)


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return _problem(
        500,
        "Internal error",
        "the exchange failed on this request; it has been logged",
        "retry; if it persists, report it with the time of the request",
    )


handlers = {
    EncoreError: encore_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}
__all__ = ["PROBLEM", "MediaType", "handlers"]
