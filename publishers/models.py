"""Stores (publishers), their keys and settings, and the orders they report."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from exchange.core.db import Base, UTCDateTime, utcnow


class Store(Base):
    __tablename__ = "stores"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    brand: Mapped[str] = mapped_column(String(70))  # the store's own brand: never offered on its page
    # Publishable keys are public by design (they sit in page source), so they are kept in the clear.
    publishable_key: Mapped[str] = mapped_column(String(64), unique=True)
    allowed_origins: Mapped[list[str]] = mapped_column(JSON)
    revenue_share_bps: Mapped[int] = mapped_column(Integer)
    max_offers: Mapped[int] = mapped_column(Integer)
    theme: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What the store sells (its own categories), for partners' targeting, and what it refuses to show:
    # see publishers.schemas.StoreControls.
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    controls: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Signs Shopify's orders/create webhooks (the Shopify app's secret); write-only through the API.
    shopify_webhook_secret: Mapped[str] = mapped_column(String(200), default="")
    # The shop's myshopify.com domain: webhooks and extension session tokens must come from it.
    shopify_shop: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class StoreKey(Base):
    __tablename__ = "store_keys"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("store_id", "order_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"))
    order_ref: Mapped[str] = mapped_column(String(100))  # the store's own order id
    body_hash: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Reported with the store's secret key (or a verified webhook), not only by a browser holding the
    # public key: impressions count only against verified orders.
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # The details the shopper agreed to share with a partner (publishers.schemas.ShopperDetails), from
    # the store's server only: what a one-click accept sends. Never part of the page.
    shopper: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
