"""Who is calling: the operator, a partner, or a store, each from its bearer key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import msgspec
from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.core.errors import AuthenticationError
from exchange.core.keys import bearer_token, keys_equal
from exchange.runtime import Runtime
from partners.models import Partner
from partners.service import partner_for_key
from publishers.models import Store
from publishers.service import store_for_key

T = TypeVar("T")
_FIX = "send 'Authorization: Bearer <key>' with the key shown when the account was created"


def _token(request: Request[Any, Any, Any]) -> str:
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise AuthenticationError("missing API key", fix=_FIX)
    return token


async def provide_operator(request: Request[Any, Any, Any], runtime: Runtime) -> None:
    if not keys_equal(_token(request), runtime.settings.admin_key):
        raise AuthenticationError(
            "this endpoint needs the operator key", fix="use ENCORE_ADMIN_KEY (or .encore/admin_key)"
        )


async def provide_partner(request: Request[Any, Any, Any], db: AsyncSession) -> Partner:
    partner = await partner_for_key(db, _token(request))
    if partner is None:
        raise AuthenticationError("this endpoint needs a partner secret key (sk_partner_...)", fix=_FIX)
    return partner


async def provide_store(request: Request[Any, Any, Any], db: AsyncSession) -> Store:
    store = await store_for_key(db, _token(request))
    if store is None:
        raise AuthenticationError("this endpoint needs a store secret key (sk_store_...)", fix=_FIX)
    return store


async def _operator_or(
    request: Request[Any, Any, Any], runtime: Runtime, find: Callable[[str], Awaitable[T | None]], needs: str
) -> T | None:
    """None for the operator key; otherwise the account `find` resolves the key to, or 401."""
    token = _token(request)
    if keys_equal(token, runtime.settings.admin_key):
        return None
    account = await find(token)
    if account is None:
        raise AuthenticationError(f"{needs} need the operator key or {_ONE_OF[needs]}", fix=_FIX)
    return account


_ONE_OF = {"order histories": "a partner secret key", "reports": "a store secret key"}


async def provide_importer(request: Request[Any, Any, Any], runtime: Runtime, db: AsyncSession) -> Partner | None:
    """Order histories: a partner imports its own products' orders, the operator any partner's."""
    return await _operator_or(request, runtime, lambda key: partner_for_key(db, key), "order histories")


class Account(msgspec.Struct, frozen=True):
    """Who reads finance data: the operator (everything), a store or a partner (its own)."""

    kind: Literal["operator", "store", "partner"]
    id: str = ""


async def provide_account(request: Request[Any, Any, Any], runtime: Runtime, db: AsyncSession) -> Account:
    token = _token(request)
    if keys_equal(token, runtime.settings.admin_key):
        return Account("operator")
    store = await store_for_key(db, token)
    if store is not None:
        return Account("store", store.id)
    partner = await partner_for_key(db, token)
    if partner is not None:
        return Account("partner", partner.id)
    raise AuthenticationError("finance data needs the operator key, a store's or a partner's secret key", fix=_FIX)


async def provide_reader(request: Request[Any, Any, Any], runtime: Runtime, db: AsyncSession) -> Store | None:
    """Finance reports: the operator sees every store, a store only itself."""
    return await _operator_or(request, runtime, lambda key: store_for_key(db, key), "reports")
