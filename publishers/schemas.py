"""Request and response bodies of the store API."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

Origin = Annotated[str, Meta(pattern=r"^https?://[^/\s]+$", description="scheme://host[:port], no path")]


class StoreCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    brand: Annotated[str, Meta(min_length=1, max_length=70, description="the store's own brand, never offered")]
    allowed_origins: Annotated[list[Origin], Meta(max_length=20)] = []
    revenue_share_bps: Annotated[int, Meta(ge=0, le=10000)] | None = None
    max_offers: Annotated[int, Meta(ge=1, le=4)] = 2
    theme: dict[str, Any] = {}


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


class OrderIn(msgspec.Struct, forbid_unknown_fields=True):
    order_id: Annotated[str, Meta(min_length=1, max_length=100)]
    currency: Annotated[str, Meta(pattern="^[A-Za-z]{3}$", description="ISO 4217 code")]
    total: MinorAmount
    country: Annotated[str, Meta(pattern="^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2")]
    line_items: Annotated[list[LineItem], Meta(min_length=1, max_length=100)]
    shopper_key: Annotated[str, Meta(max_length=128, description="a keyed hash of the shopper, never raw PII")] = ""


class WidgetRequest(msgspec.Struct, forbid_unknown_fields=True):
    key: str
    order: OrderIn
