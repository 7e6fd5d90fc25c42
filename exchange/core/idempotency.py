"""Payment-grade retries: a write keyed by the caller (a postback's transaction id, a reversal id)
is done once. The same key with the same body gets the first answer again; with another body, 422;
while the first is still running, 409 (retry shortly).

The key is claimed in its own committed transaction before the work starts, so a concurrent retry on
another worker sees it at once; a claim whose work failed is released, so the retry can do it. All of
it runs on the request's one session, one transaction after another: a request never holds two
database connections, so a burst of requests can't starve the pool."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.core.db import utcnow
from exchange.core.errors import ConflictError, UnprocessableError
from exchange.models import IdempotencyKey

T = TypeVar("T", bound=msgspec.Struct)
Remember = Callable[[msgspec.Struct], Awaitable[None]]
# A claim older than this is from a worker that died mid-write; a retry may take it over.
STALE_RUNNING = dt.timedelta(seconds=15)


async def once(
    session: AsyncSession,
    scope: str,
    key: str,
    body: bytes,
    answer_type: type[T],
    work: Callable[[Remember], Awaitable[T]],
) -> T:
    """Run `work` once for (scope, key) and remember its answer. `work` calls `remember(answer)`
    before it commits, so the answer is stored in the same transaction as the work itself: a
    worker dying between the two can't leave a done write that a retry would run again."""
    digest = hashlib.sha256(body).hexdigest()
    await session.commit()  # what the request read so far ends here: the claim is its own transaction
    claimed = await _claim(session, scope, key, digest)
    if isinstance(claimed, dict):
        return msgspec.convert(claimed, answer_type)
    this_key = (IdempotencyKey.scope == scope, IdempotencyKey.key == key)

    async def remember(answer: msgspec.Struct) -> None:
        done = {"state": "done", "status_code": 200, "response": msgspec.to_builtins(answer)}
        await session.execute(update(IdempotencyKey).where(*this_key).values(**done))

    try:
        return await work(remember)
    except BaseException:
        await session.rollback()
        # Released only if still ours and unfinished: a takeover's claim, or a stored answer, stays.
        mine = (IdempotencyKey.state == "running", IdempotencyKey.created_at == claimed)
        await session.execute(delete(IdempotencyKey).where(*this_key, *mine))
        await session.commit()
        raise


async def _claim(session: AsyncSession, scope: str, key: str, digest: str) -> dict[str, Any] | dt.datetime:
    """When this request now holds the key, the claim's time; the stored answer when it was done."""
    claimed_at = utcnow()
    session.add(
        IdempotencyKey(scope=scope, key=key, request_hash=digest, state="running", response={}, created_at=claimed_at)
    )
    try:
        await session.commit()
        return claimed_at
    except IntegrityError:
        await session.rollback()
    row = await session.scalar(select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key))
    if row is None:  # released between our insert and this read: the caller may retry at once
        raise ConflictError(f"{key!r} is being processed", fix="retry in a second with the same body")
    if row.request_hash != digest:
        raise UnprocessableError(
            f"{key!r} was already sent with a different body",
            fix="retry with the exact same body, or use a new id for a new event",
        )
    if row.state == "done":
        return dict(row.response)
    if row.created_at > utcnow() - STALE_RUNNING:
        raise ConflictError(
            f"{key!r} is still being processed by an earlier request", fix="retry in a second with the same body"
        )
    # The earlier worker died: this request takes the key over, unless another retry just did.
    taken = await session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.scope == scope,
            IdempotencyKey.key == key,
            IdempotencyKey.created_at == row.created_at,
        )
        .values(created_at=claimed_at)
    )
    await session.commit()
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(f"{key!r} is being processed", fix="retry in a second with the same body")
    return claimed_at
