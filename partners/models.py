"""Partner brands, their keys, products and campaigns."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from exchange.core.db import Base, UTCDateTime, utcnow


class Partner(Base):
    __tablename__ = "partners"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Signs conversion postbacks both ways; kept in the clear because HMAC needs the secret itself.
    signing_secret: Mapped[str] = mapped_column(String(100))
    # Where one-click accepts are sent as signed orders; empty: offers link to the product page only.
    order_url: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PartnerKey(Base):
    __tablename__ = "partner_keys"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("partner_id", "external_id"),)

    # The integer id is the product's id in the vector index.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(150))
    link: Mapped[str] = mapped_column(String(2000))
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    brand: Mapped[str] = mapped_column(String(70))
    description: Mapped[str] = mapped_column(Text, default="")
    image_link: Mapped[str] = mapped_column(String(2000), default="")
    google_product_category: Mapped[str] = mapped_column(String(300), default="")
    product_type: Mapped[str] = mapped_column(String(300), default="")
    availability: Mapped[str] = mapped_column(String(20), default="in_stock")
    gtin: Mapped[str] = mapped_column(String(14), default="")
    content_hash: Mapped[str] = mapped_column(String(32))
    # Retired products (gone from a full-replace feed, or deleted) stay for the ledger's history.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_partner_active", "partner_id", "active"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    name: Mapped[str] = mapped_column(String(200))
    pricing: Mapped[str] = mapped_column(String(3))  # cpc | cpa
    currency: Mapped[str] = mapped_column(String(3))
    max_bid_minor: Mapped[int] = mapped_column(BigInteger)
    daily_budget_minor: Mapped[int] = mapped_column(BigInteger)
    total_budget_minor: Mapped[int] = mapped_column(BigInteger)
    targeting: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # see partners.schemas.Targeting
    frequency_cap: Mapped[int] = mapped_column(Integer, default=0)  # offers per shopper per day; 0: no cap
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)  # a time-limited offer
    # A conversion is billed only this long after the click or accept it is attributed to.
    attribution_window_days: Mapped[int] = mapped_column(Integer, default=14, server_default="14")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CatalogJob(Base):
    """One feed upload: stored on disk first, then processed in chunks with visible progress."""

    __tablename__ = "catalog_jobs"
    __table_args__ = (Index("ix_catalog_jobs_partner_created", "partner_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    mode: Mapped[str] = mapped_column(String(10))  # upsert | replace | delete
    format: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12))  # queued | running | succeeded | failed
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    retired: Mapped[int] = mapped_column(Integer, default=0)
    index_version: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
