"""Stores: accounts, keys, allowed origins, and the orders they report."""

from __future__ import annotations

import hashlib
import re

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.core.db import new_id
from exchange.core.errors import AuthenticationError, ForbiddenError, InvalidInputError
from exchange.core.keys import hash_key, new_key
from exchange.core.validation import currency_field
from publishers.models import Store, StoreKey
from publishers.schemas import OrderIn, ShopperDetails, StoreControls, StoreCreate, StoreCreated, StoreOut, StoreUpdate

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
        store.shopify_shop,
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
    if body.shopify_shop is not None:
        store.shopify_shop = body.shopify_shop
    await session.commit()
    return store_out(store)


def order_digest(order: OrderIn) -> str:
    """Identifies an order's content: the same order id with other content is a different request.
    The shopper's details are not part of it: the page reports the order without them."""
    return hashlib.sha256(_encode(msgspec.structs.replace(order, shopper=None))).hexdigest()


def checked_order(order: OrderIn, *, from_server: bool) -> OrderIn:
    if order.shopper is not None:
        _check_shopper(order.shopper, from_server)
    return msgspec.structs.replace(order, currency=currency_field(order.currency), country=order.country.upper())


_DIGIT_RUN = re.compile(r"(?:\d[ -]?){13,19}")


def _check_shopper(shopper: ShopperDetails, from_server: bool) -> None:
    if not from_server:
        raise InvalidInputError(
            "shopper details can't come from the page: anyone can read and change what the page sends",
            fix="leave `shopper` out of the widget's order; report it from your server (POST /v1/orders, secret key)",
        )
    if not shopper.consent:
        raise InvalidInputError(
            "shopper details were sent without the shopper's consent",
            fix="send `shopper` only when the shopper agreed to share it with partners, with consent: true",
        )
    # A phone number (at most 15 digits, E.164) can pass the card check by chance.
    fields = msgspec.to_builtins(shopper)
    if len(re.sub(r"\D", "", shopper.phone)) <= 15:
        fields.pop("phone", None)
    for text in _texts(fields):
        if any(_luhn(re.sub(r"\D", "", run)) for run in _DIGIT_RUN.findall(text)):
            raise InvalidInputError(
                "the shopper's details contain what looks like a card number; Encore never takes card numbers",
                fix="send payment_token: the reference your payment provider gives (e.g. Stripe pm_...), or none",
            )


def _texts(value: object) -> list[str]:
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    return [value] if isinstance(value, str) else []


def _luhn(digits: str) -> bool:
    """The check every payment card number passes (ISO/IEC 7812)."""
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for n, char in enumerate(reversed(digits)):
        d = int(char) * (2 if n % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0
