"""Stores: accounts, keys, allowed origins, and the orders they report."""

from __future__ import annotations

import hashlib

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.core.db import new_id
from exchange.core.errors import AuthenticationError, ForbiddenError
from exchange.core.keys import hash_key, new_key
from exchange.core.validation import currency_field
from publishers.models import Store, StoreKey
from publishers.schemas import OrderIn, StoreControls, StoreCreate, StoreCreated, StoreOut, StoreUpdate

_encode = msgspec.json.Encoder(order="deterministic").encode


async def create_store(session: AsyncSession, body: StoreCreate, default_share_bps: int) -> StoreCreated:
    share = default_share_bps if body.revenue_share_bps is None else body.revenue_share_bps
    store = Store(
        id=new_id("sto"),
        name=body.name,
        brand=body.brand,
        publishable_key=new_key("pk_store"),
        allowed_origins=[origin.lower() for origin in body.allowed_origins],
        revenue_share_bps=share,
        max_offers=body.max_offers,
        theme=body.theme,
        categories=body.categories,
        controls=msgspec.to_builtins(body.controls),
    )
    secret_key = new_key("sk_store")
    session.add(store)
    await session.flush()
    session.add(StoreKey(key_hash=hash_key(secret_key), store_id=store.id))
    await session.commit()
    return StoreCreated(
        store.id, store.name, secret_key, store.publishable_key, store.allowed_origins, share, store.max_offers
    )


async def store_for_key(session: AsyncSession, key: str) -> Store | None:
    stmt = select(Store).join(StoreKey).where(StoreKey.key_hash == hash_key(key))
    return (await session.execute(stmt)).scalar_one_or_none()


async def store_for_publishable_key(session: AsyncSession, key: str, origin: str | None) -> Store:
    """The store whose widget may call from `origin`: a publishable key is public, the origin is the check."""
    store = (await session.execute(select(Store).where(Store.publishable_key == key))).scalar_one_or_none()
    if store is None:
        raise AuthenticationError(
            "unknown publishable key", fix="copy the pk_store_... key shown when the store was created"
        )
    if not origin or origin.lower() not in store.allowed_origins:
        raise ForbiddenError(
            f"origin {origin!r} is not allowed for this store's publishable key",
            fix="register the thank-you page's origin (scheme://host[:port]) in the store's allowed_origins",
        )
    return store


def store_out(store: Store) -> StoreOut:
    return StoreOut(
        store.id,
        store.name,
        store.brand,
        store.allowed_origins,
        store.revenue_share_bps,
        store.max_offers,
        dict(store.theme or {}),
        list(store.categories or []),
        controls_of(store),
        bool(store.shopify_webhook_secret),
    )


def controls_of(store: Store) -> StoreControls:
    return msgspec.convert(store.controls or {}, StoreControls)


async def update_store(session: AsyncSession, store: Store, body: StoreUpdate) -> StoreOut:
    """Change only what the body names; the next decision uses the new settings."""
    if body.allowed_origins is not None:
        store.allowed_origins = [origin.lower() for origin in body.allowed_origins]
    if body.max_offers is not None:
        store.max_offers = body.max_offers
    if body.theme is not None:
        store.theme = body.theme
    if body.categories is not None:
        store.categories = body.categories
    if body.controls is not None:
        store.controls = msgspec.to_builtins(body.controls)
    if body.shopify_webhook_secret is not None:
        store.shopify_webhook_secret = body.shopify_webhook_secret
    await session.commit()
    return store_out(store)


def order_digest(order: OrderIn) -> str:
    """Identifies an order's content: the same order id with other content is a different request."""
    return hashlib.sha256(_encode(order)).hexdigest()


def checked_order(order: OrderIn) -> OrderIn:
    return msgspec.structs.replace(order, currency=currency_field(order.currency), country=order.country.upper())
