"""Shopify's `orders/create` webhook: verified with X-Shopify-Hmac-Sha256, turned into an order, and
decided at once, so the thank-you page (a checkout UI extension or the widget) finds its offers ready."""

from __future__ import annotations

import base64
import hashlib
import hmac

import msgspec

from exchange.core.errors import AuthenticationError, ForbiddenError, InvalidInputError
from exchange.core.keys import hmac_hex, keys_equal, unb64url
from exchange.core.money import AmountError, parse_amount
from publishers.schemas import LineItem, OrderIn, ShopperDetails

CONSENT_ATTRIBUTE = "encore_consent"
WEBHOOK_FIX = "set the store's shopify_webhook_secret (PATCH /v1/store) to the app's webhook signing secret"


class _Address(msgspec.Struct):
    country_code: str | None = None
    name: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province: str | None = None
    zip: str | None = None
    phone: str | None = None


class _Attribute(msgspec.Struct):
    name: str
    value: str | None = None


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
    note_attributes: list[_Attribute] = []


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
        shopper=_consented_shopper(shop),
    )


def _consented_shopper(shop: ShopifyOrder) -> ShopperDetails | None:
    """The shopper's name, email and shipping address, when the checkout's consent box (the example
    extension's `encore_consent` attribute, which Shopify copies into note_attributes) says yes.
    Shopify passes no payment token, so a partner collects payment itself."""
    consent = any(a.name == CONSENT_ATTRIBUTE and (a.value or "").lower() == "yes" for a in shop.note_attributes)
    address = shop.shipping_address
    if not consent or address is None or not shop.email:
        return None
    try:
        return msgspec.convert(
            {
                "consent": True,
                "name": (address.name or "").strip()[:200],
                "email": shop.email,
                "phone": (address.phone or "")[:40],
                "shipping_address": {
                    "line1": (address.address1 or "")[:200],
                    "line2": (address.address2 or "")[:200],
                    "city": (address.city or "")[:100],
                    "region": (address.province or "")[:100],
                    "postal_code": (address.zip or "")[:20],
                    "country": address.country_code or "",
                },
            },
            ShopperDetails,
        )
    except msgspec.ValidationError:  # an incomplete address: the offers stay click-through
        return None


SESSION_FIX = "send the token from the extension's `api.sessionToken.get()`, signed with the app's client secret"
LEEWAY_S = 10


class ExtensionRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The thank-you extension's call: its session token and the order's id (a GID or a number)."""

    session_token: str
    order_id: str


def session_claims(secret: str, token: str, shop: str, now: float) -> dict[str, object]:
    """The claims of a checkout UI extension's session token: a JWT signed HS256 with the app's
    client secret, for this shop, and current."""
    if not secret:
        raise AuthenticationError("this store has no Shopify secret", fix=WEBHOOK_FIX)
    head, _, rest = token.partition(".")
    payload, _, signature = rest.partition(".")
    expected = base64.urlsafe_b64encode(
        hmac.new(secret.encode(), f"{head}.{payload}".encode(), hashlib.sha256).digest()
    ).rstrip(b"=")
    if not signature or not keys_equal(expected.decode(), signature):
        raise AuthenticationError("the Shopify session token's signature does not match", fix=SESSION_FIX)
    try:
        header = msgspec.json.decode(unb64url(head))
        claims = msgspec.json.decode(unb64url(payload))
    except (msgspec.DecodeError, ValueError) as exc:
        raise AuthenticationError("malformed Shopify session token", fix=SESSION_FIX) from exc
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        raise AuthenticationError("the Shopify session token is not an HS256 JWT", fix=SESSION_FIX)
    exp, nbf = claims.get("exp"), claims.get("nbf", 0)
    if not isinstance(exp, int | float) or not isinstance(nbf, int | float):
        raise AuthenticationError("the Shopify session token has no expiry", fix=SESSION_FIX)
    if exp < now - LEEWAY_S or nbf > now + LEEWAY_S:
        raise AuthenticationError("the Shopify session token has expired", fix="get a fresh one and call again")
    dest = str(claims.get("dest", "")).removeprefix("https://").rstrip("/").lower()
    if shop and dest != shop:
        raise ForbiddenError(f"this session token is for {dest!r}, not this store's shop", fix=SESSION_FIX)
    return claims


def order_ref(order_id: str) -> str:
    """`gid://shopify/OrderIdentity/123`, `gid://shopify/Order/123` or `123`: Encore's `shopify-123`."""
    number = order_id.rsplit("/", 1)[-1]
    if not number.isdigit():
        raise InvalidInputError(
            f"{order_id!r} is not a Shopify order id", fix="send orderConfirmation's order.id as given"
        )
    return f"shopify-{number}"


def customer_key(shopper_secret: str, subject: object) -> str:
    """The shopper key the webhook gave this session token's customer (`sub`), or empty for a guest."""
    number = str(subject or "").rsplit("/", 1)[-1]
    return hmac_hex(shopper_secret, f"shopify:{number}".encode())[:32] if number.isdigit() else ""
