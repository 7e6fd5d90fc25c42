"""The exchange's own records: decisions and their offers, clicks, conversions, the ledger."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.core.db import Base, UTCDateTime, utcnow


class Decision(Base):
    __tablename__ = "decisions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"))
    index_version: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)  # the answer, replayed for the same order
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Offer(Base):
    __tablename__ = "offers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id"), index=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    position: Mapped[int] = mapped_column(Integer)
    pricing: Mapped[str] = mapped_column(String(3))
    price_minor: Mapped[int] = mapped_column(BigInteger)  # what one billable event costs the partner
    currency: Mapped[str] = mapped_column(String(3))
    score: Mapped[float]
    reason: Mapped[str] = mapped_column(String(300))
    context: Mapped[str] = mapped_column(String(300), default="")  # what learning files this offer's outcome under
    shopper_key: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Click(Base):
    __tablename__ = "clicks"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    offer_id: Mapped[str] = mapped_column(ForeignKey("offers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(6))  # click | accept
    billed: Mapped[bool] = mapped_column(Boolean)
    not_billed_reason: Mapped[str] = mapped_column(String(40), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Conversion(Base):
    __tablename__ = "conversions"
    __table_args__ = (UniqueConstraint("partner_id", "transaction_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    transaction_id: Mapped[str] = mapped_column(String(100))
    click_id: Mapped[str] = mapped_column(ForeignKey("clicks.id"))
    body_hash: Mapped[str] = mapped_column(String(64))
    billed: Mapped[bool] = mapped_column(Boolean)
    not_billed_reason: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerTransaction(Base):
    """One billable event, posted once: `event_ref` is unique, so a retried posting is a no-op."""

    __tablename__ = "ledger_transactions"
    __table_args__ = (Index("ix_ledger_transactions_store_time", "store_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    event_ref: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(3))  # cpc | cpa
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    gross_minor: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    entries: Mapped[list[LedgerEntry]] = relationship(lazy="raise")


class LedgerEntry(Base):
    """Signed amounts: a debit is positive, a credit negative; each transaction's entries sum to 0."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account: Mapped[str] = mapped_column(String(80), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))


class ViewableImpression(Base):
    """An offer at least half visible for at least a second (the IAB rule), once per offer."""

    __tablename__ = "viewable_impressions"

    offer_id: Mapped[str] = mapped_column(ForeignKey("offers.id"), primary_key=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Dismissal(Base):
    """A shopper closed an offer: that product is never shown to that shopper again."""

    __tablename__ = "dismissals"

    offer_id: Mapped[str] = mapped_column(ForeignKey("offers.id"), primary_key=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"))
    shopper_key: Mapped[str] = mapped_column(String(128), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PurchaseHistory(Base):
    """One past order imported by a partner or a store (which catalog products were bought together),
    the co-purchase evidence the matcher learns complements from."""

    __tablename__ = "purchase_histories"
    __table_args__ = (UniqueConstraint("source", "order_ref"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(40))  # the partner or store that imported it
    order_ref: Mapped[str] = mapped_column(String(100))
    product_ids: Mapped[list[int]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PartnerOrder(Base):
    """A one-click accept: the order Encore sent the partner for the shopper, at most one per offer.
    `request` is the exact body sent, so a retry sends the same bytes under the same Idempotency-Key."""

    __tablename__ = "partner_orders"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # also the Idempotency-Key
    offer_id: Mapped[str] = mapped_column(ForeignKey("offers.id"), unique=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"))
    status: Mapped[str] = mapped_column(String(10))  # sending | confirmed | declined | failed
    request: Mapped[str] = mapped_column(Text)
    partner_order_ref: Mapped[str] = mapped_column(String(100), default="")  # the partner's own order id
    detail: Mapped[str] = mapped_column(String(300), default="")  # why the partner declined, or what failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    billed: Mapped[bool] = mapped_column(Boolean, default=False)
    not_billed_reason: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
