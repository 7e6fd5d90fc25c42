"""The offers a store gets back for an order."""

from __future__ import annotations

import datetime as dt

import msgspec


class Price(msgspec.Struct, gc=False):
    amount_minor: int
    currency: str
    display: str


class PartnerRef(msgspec.Struct, gc=False):
    id: str
    name: str


class OfferOut(msgspec.Struct, gc=False):
    offer_id: str
    product_id: str  # the partner's own product id
    title: str
    brand: str
    price: Price
    image_link: str
    partner: PartnerRef
    click_url: str
    accept_url: str
    dismiss_url: str  # POST: the shopper closed the offer; never shown to that shopper again
    impression_url: str  # POST once the offer was at least half visible for a second
    reason: str
    # POST accept_url buys it in one click: the partner takes orders and the store's server passed the
    # shopper's consented details. Otherwise the offer links to the partner's product page.
    one_click: bool = False
    ends_at: dt.datetime | None = None  # a time-limited offer; the widget shows a countdown


class DecisionOut(msgspec.Struct, gc=False):
    order_id: str
    decision_id: str
    offers: list[OfferOut]
    theme: dict[str, object] = {}
