"""Shopify's `orders/create` webhook: verified with X-Shopify-Hmac-Sha256, turned into an order, and
decided at once, so the thank-you page (a checkout UI extension or the widget) finds its offers ready."""

from __future__ import annotations

import base64
import hashlib
import hmac

import msgspec

from exchange.core.errors import AuthenticationError, InvalidInputError
from exchange.core.keys import hmac_hex, keys_equal
from exchange.core.money import AmountError, parse_amount
from publishers.schemas import LineItem, OrderIn

WEBHOOK_FIX = "set the store's shopify_webhook_secret (PATCH /v1/store) to the app's webhook signing secret"


class _Address(msgspec.Struct):
    country_code: str | None = None


class _Customer(msgspec.Struct):
    id: int | None = None


class _LineItem(msgspec.Struct):
    title: str
    price: str
    quantity: int = 1
    vendor: str | None = None
    sku: str | None = None
    variant_title: str | None = None


class ShopifyOrder(msgspec.Struct):
    """The fields of Shopify's order payload that Encore reads; the rest is ignored."""

    id: int
    currency: str
    total_price: str
    line_items: list[_LineItem]
    email: str | None = None
    customer: _Customer | None = None
    shipping_address: _Address | None = None
    billing_address: _Address | None = None


def verify(secret: str, header: str | None, body: bytes) -> None:
    """X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256 of the raw body with the webhook secret."""
    if not secret:
        raise AuthenticationError("this store has no Shopify webhook secret", fix=WEBHOOK_FIX)
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    if not header or not keys_equal(expected, header.strip()):
        raise AuthenticationError("X-Shopify-Hmac-Sha256 does not match the body", fix=WEBHOOK_FIX)


def to_order(body: bytes, shopper_secret: str) -> OrderIn:
    """Shopify's order as an Encore order. The shopper key is a keyed hash of the customer (never the
    email itself), so frequency caps and dismissals follow the shopper across orders."""
    try:
        shop = msgspec.json.decode(body, type=ShopifyOrder)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InvalidInputError(
            f"not a Shopify order payload: {exc}", fix="subscribe this URL to the orders/create topic (JSON)"
        ) from exc
    address = shop.shipping_address or shop.billing_address
    country = (address.country_code if address else None) or ""
    who = str(shop.customer.id) if shop.customer and shop.customer.id else (shop.email or "").casefold()
    try:
        items = [
            LineItem(
                title=" - ".join(t for t in (item.title, item.variant_title) if t)[:300] or "Item",
                price=parse_amount(item.price, shop.currency),
                quantity=max(1, item.quantity),
                brand=(item.vendor or "")[:70],
                sku=(item.sku or "")[:100],
            )
            for item in shop.line_items
        ]
        total = parse_amount(shop.total_price, shop.currency)
    except AmountError as exc:
        raise InvalidInputError(f"Shopify order {shop.id}: {exc}", fix="send Shopify's payload unchanged") from exc
    if not items:
        raise InvalidInputError(f"Shopify order {shop.id} has no line items", fix="nothing to offer against")
    return OrderIn(
        order_id=f"shopify-{shop.id}",
        currency=shop.currency.upper(),
        total=total,
        country=country.upper() if len(country) == 2 else "ZZ",
        line_items=items[:100],
        shopper_key=hmac_hex(shopper_secret, f"shopify:{who}".encode())[:32] if who else "",
    )
