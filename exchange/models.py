"""The exchange's own records: decisions and their offers, clicks, conversions, the ledger."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, true
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
    __table_args__ = (Index("ix_clicks_created_at", "created_at"),)

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
    # click_id: the click the partner named; the sale is attributed to the last valid click or
    # accept on the same offer inside the campaign's attribution window.

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
    kind: Mapped[str] = mapped_column(String(3))  # cpc | cpa | rev (a reversal) | pay (a payout)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"))
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id"), nullable=True)
    campaign_id: Mapped[str | None] = mapped_column(ForeignKey("campaigns.id"), index=True, nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    gross_minor: Mapped[int] = mapped_column(BigInteger)  # what the partner is billed; negative for a reversal
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
    # Counted toward the store's figures only for verified orders; every beacon still proves the
    # offer was on screen before a click (the invalid-traffic rule "no prior impression").
    counted: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
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


class IndexState(Base):
    """The index version the background worker last published, per encoder: every serving worker
    loads it from `index/<encoder>/published/v<version>` and swaps it in."""

    __tablename__ = "index_state"

    encoder: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerBalance(Base):
    """Each account's running balance, moved in the same transaction as the entries it sums, so
    `encore ledger reconcile` can check it against the journal."""

    __tablename__ = "ledger_balances"

    account: Mapped[str] = mapped_column(String(80), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    balance_minor: Mapped[int] = mapped_column(BigInteger, default=0)


class IdempotencyKey(Base):
    """A retried write's first answer: the same key and body get it again, another body 422, and a
    retry while the first is still running 409."""

    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(80), primary_key=True)  # e.g. conversion:<partner id>
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(10))  # running | done
    status_code: Mapped[int] = mapped_column(Integer, default=0)
    response: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reversal(Base):
    """A refund or chargeback of a billed sale: negating entries, once per sale."""

    __tablename__ = "reversals"
    __table_args__ = (UniqueConstraint("partner_id", "reversal_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    reversal_id: Mapped[str] = mapped_column(String(100))  # the partner's own id for it
    reverses: Mapped[str] = mapped_column(String(80), unique=True)  # the event_ref of the sale
    kind: Mapped[str] = mapped_column(String(12))  # refund | chargeback
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Period(Base):
    """A closed month: its payouts and invoices are fixed; closing it again changes nothing."""

    __tablename__ = "periods"

    period: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    closed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Payout(Base):
    """What a store is paid at a period close, or carried over when below the threshold."""

    __tablename__ = "payouts"
    __table_args__ = (UniqueConstraint("period", "store_id", "currency"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    period: Mapped[str] = mapped_column(ForeignKey("periods.period"))
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    earned_minor: Mapped[int] = mapped_column(BigInteger)  # the store's share billed in the period
    payable_minor: Mapped[int] = mapped_column(BigInteger)  # owed at the period's end, carry-over included
    paid_minor: Mapped[int] = mapped_column(BigInteger)  # 0 when carried over
    status: Mapped[str] = mapped_column(String(12))  # paid | carried_over
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Invoice(Base):
    """What a partner was billed in a period, per currency, net of reversals."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("period", "partner_id", "currency"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    period: Mapped[str] = mapped_column(ForeignKey("periods.period"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    events: Mapped[int] = mapped_column(Integer)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
