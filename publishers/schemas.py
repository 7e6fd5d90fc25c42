"""Request and response bodies of the store API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

Origin = Annotated[str, Meta(pattern=r"^https?://[^/\s]+$", description="scheme://host[:port], no path")]


Term = Annotated[str, Meta(min_length=1, max_length=300)]
Terms = Annotated[list[Term], Meta(max_length=500)]
SENSITIVE_GROUPS = ("alcohol", "tobacco", "weapons", "adult", "gambling", "medicine", "weight_loss")
SensitiveGroup = Literal["alcohol", "tobacco", "weapons", "adult", "gambling", "medicine", "weight_loss"]
MaxOffers = Annotated[int, Meta(ge=1, le=4, description="offers shown per order")]


class StoreControls(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """What a store never wants on its thank-you page. Matching is case-insensitive; a category
    term blocks every category path that contains it (\"Apparel > Shoes\" blocks its subcategories)."""

    blocked_brands: Terms = []
    blocked_domains: Annotated[list[Term], Meta(max_length=500, description="example.com blocks its subdomains")] = []
    blocked_categories: Terms = []
    competitors: Annotated[list[Term], Meta(max_length=500, description="brand names or domains of competitors")] = []
    # Sensitive categories are off unless the store opts in to a group.
    allowed_sensitive: list[SensitiveGroup] = []
    min_quality: Annotated[float, Meta(ge=0.0, le=1.0, description="lowest predicted engagement worth showing")] = 0.0


class StoreCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    brand: Annotated[str, Meta(min_length=1, max_length=70, description="the store's own brand, never offered")]
    allowed_origins: Annotated[list[Origin], Meta(max_length=20)] = []
    revenue_share_bps: Annotated[int, Meta(ge=0, le=10000)] | None = None
    max_offers: MaxOffers = 1
    theme: dict[str, Any] = {}
    categories: Annotated[list[Term], Meta(max_length=50, description="what the store sells, for targeting")] = []
    controls: StoreControls = msgspec.field(default_factory=StoreControls)


class StoreUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent change."""

    allowed_origins: Annotated[list[Origin], Meta(max_length=20)] | None = None
    max_offers: MaxOffers | None = None
    theme: dict[str, Any] | None = None
    categories: Annotated[list[Term], Meta(max_length=50)] | None = None
    controls: StoreControls | None = None
    shopify_webhook_secret: Annotated[str, Meta(max_length=200, description="write-only")] | None = None
    shopify_shop: Annotated[str, Meta(pattern=r"^([a-z0-9][a-z0-9-]*\.myshopify\.com)?$")] | None = None


class StoreOut(msgspec.Struct):
    id: str
    name: str
    brand: str
    allowed_origins: list[str]
    revenue_share_bps: int
    max_offers: int
    theme: dict[str, Any]
    categories: list[str]
    controls: StoreControls
    shopify_webhook: bool = False  # a Shopify webhook secret is set
    shopify_shop: str = ""


class StoreCreated(msgspec.Struct):
    id: str
    name: str
    secret_key: str  # shown once; Encore keeps only its digest
    publishable_key: str  # goes in the thank-you page; accepted only from allowed_origins
    allowed_origins: list[str]
    revenue_share_bps: int
    max_offers: int


Quantity = Annotated[int, Meta(ge=1, le=10_000)]
MinorAmount = Annotated[int, Meta(ge=0, le=10**12, description="minor units of the order's currency")]


class LineItem(msgspec.Struct, forbid_unknown_fields=True):
    title: Annotated[str, Meta(min_length=1, max_length=300)]
    price: MinorAmount
    quantity: Quantity = 1
    brand: Annotated[str, Meta(max_length=70)] = ""
    sku: Annotated[str, Meta(max_length=100)] = ""
    category: Annotated[str, Meta(max_length=300, description="the store's category path (product_type)")] = ""


Line = Annotated[str, Meta(max_length=200)]


class Address(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    line1: Annotated[str, Meta(min_length=1, max_length=200)]
    city: Annotated[str, Meta(min_length=1, max_length=100)]
    postal_code: Annotated[str, Meta(max_length=20)]
    country: Annotated[str, Meta(pattern="^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2")]
    line2: Line = ""
    region: Annotated[str, Meta(max_length=100, description="state, province or county")] = ""


class PaymentToken(msgspec.Struct, forbid_unknown_fields=True):
    """A reference to a payment method the store's payment provider keeps (Stripe pm_..., Adyen
    storedPaymentMethodId, Braintree nonce): never a card number."""

    provider: Annotated[str, Meta(min_length=1, max_length=40, description="e.g. stripe, adyen, braintree")]
    reference: Annotated[str, Meta(min_length=1, max_length=200)]


class ShopperDetails(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """What the shopper agreed to share with a partner for one-click offers; sent only from the
    store's server (secret key), never from the page."""

    consent: Annotated[bool, Meta(description="true: the shopper agreed to share these details with partners")]
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    email: Annotated[str, Meta(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)]
    shipping_address: Address
    phone: Annotated[str, Meta(max_length=40)] = ""
    payment_token: PaymentToken | None = None


class OrderIn(msgspec.Struct, forbid_unknown_fields=True):
    order_id: Annotated[str, Meta(min_length=1, max_length=100)]
    currency: Annotated[str, Meta(pattern="^[A-Za-z]{3}$", description="ISO 4217 code")]
    total: MinorAmount
    country: Annotated[str, Meta(pattern="^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2")]
    line_items: Annotated[list[LineItem], Meta(min_length=1, max_length=100)]
    shopper_key: Annotated[str, Meta(max_length=128, description="a keyed hash of the shopper, never raw PII")] = ""
    shopper: ShopperDetails | None = None  # for one-click accept; server-side reports only


class WidgetRequest(msgspec.Struct, forbid_unknown_fields=True):
    key: str
    order: OrderIn
