"""Typed business errors; each maps once to an application/problem+json response."""

from __future__ import annotations

from typing import ClassVar


class EncoreError(Exception):
    """A failure the caller can act on: `detail` says what is wrong, `fix` how to put it right."""

    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, fix: str = "", **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fix = fix
        self.extra = extra


class InvalidInputError(EncoreError):
    status = 400
    title = "Invalid input"


class UnprocessableError(EncoreError):
    status = 422
    title = "Unprocessable request"


class AuthenticationError(EncoreError):
    status = 401
    title = "Not authenticated"


class ForbiddenError(EncoreError):
    status = 403
    title = "Forbidden"


class NotFoundError(EncoreError):
    status = 404
    title = "Not found"


class ConflictError(EncoreError):
    status = 409
    title = "Conflict"


class GoneError(EncoreError):
    status = 410
    title = "Gone"


class UpstreamError(EncoreError):
    """A partner's system, which Encore called for this request, failed."""

    status = 502
    title = "Partner unavailable"
