"""Partner brands, their keys, products and campaigns."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from exchange.core.db import Base, UTCDateTime, utcnow


class Partner(Base):
    __tablename__ = "partners"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Signs conversion postbacks both ways; kept in the clear because HMAC needs the secret itself.
    signing_secret: Mapped[str] = mapped_column(String(100))
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
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
