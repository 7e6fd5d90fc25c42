"""Monthly period close: store payouts (above a threshold, else carried over) and partner invoices.

Closing a month is one database transaction: the period row, every payout with its ledger posting,
and every invoice. Closing it again (or twice at once) returns what the first close fixed."""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_CEILING, Decimal

import msgspec
from sqlalchemy import and_, case, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.core.db import new_id
from exchange.core.errors import ConflictError, InvalidInputError
from exchange.core.money import CURRENCY_EXPONENTS
from exchange.ledger.service import post_payout
from exchange.models import Invoice, LedgerEntry, LedgerTransaction, Payout, Period

PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
# A posting stamped just before midnight may commit just after: a month closes an hour after it ends.
CLOSE_GRACE = dt.timedelta(hours=1)
CLOSE_LOCK = 0x656E636F7265  # the advisory lock every close takes on PostgreSQL ("encore")


class PayoutOut(msgspec.Struct):
    id: str
    period: str
    store_id: str
    currency: str
    earned_minor: int
    payable_minor: int
    paid_minor: int
    status: str  # paid | carried_over
    created_at: dt.datetime


class InvoiceOut(msgspec.Struct):
    id: str
    period: str
    partner_id: str
    currency: str
    events: int
    amount_minor: int
    created_at: dt.datetime


class CloseOut(msgspec.Struct):
    period: str
    closed_at: dt.datetime
    payouts: list[PayoutOut]
    invoices: list[InvoiceOut]


def bounds(period: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a YYYY-MM month, in UTC."""
    match = PERIOD.match(period)
    if match is None:
        raise InvalidInputError(f"{period!r} is not a month", fix="name the period as YYYY-MM, e.g. 2026-10")
    year, month = int(match[1]), int(match[2])
    start = dt.datetime(year, month, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=dt.UTC)
    return start, end


def _previous(period: str) -> str:
    start, _ = bounds(period)
    return (start - dt.timedelta(days=1)).strftime("%Y-%m")


def threshold_minor(min_payout: str, currency: str) -> int:
    """The smallest payout, given in major units ("50", "0.10"), in the currency's minor units."""
    scaled = Decimal(min_payout).scaleb(CURRENCY_EXPONENTS.get(currency, 2))
    return int(scaled.to_integral_value(ROUND_CEILING))


async def close_period(session: AsyncSession, period: str, min_payout: str, now: dt.datetime) -> CloseOut:
    """Close a month that has ended. Each store's payable (its share of everything billed before the
    month's end, less what was already paid) is paid when it reaches the threshold, and carried over
    otherwise; each partner is invoiced what it was billed in the month, net of reversals."""
    start, end = bounds(period)
    if end + CLOSE_GRACE > now:
        raise ConflictError(
            f"{period} has not ended yet (or ended less than an hour ago, when a late posting could still land)",
            fix=f"close it after {(end + CLOSE_GRACE).isoformat()}",
        )
    if await session.get(Period, period) is not None:
        return await period_report(session, period)
    if session.get_bind().dialect.name == "postgresql":  # one close at a time, across every worker
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CLOSE_LOCK})
    session.add(Period(period=period, closed_at=now))
    try:
        await session.flush()  # a close of the same month that committed first wins: its figures stand
    except IntegrityError:
        await session.rollback()
        return await period_report(session, period)
    later = await session.scalar(select(func.max(Period.period)).where(Period.period > period))
    if later is not None:
        await session.rollback()
        raise ConflictError(f"{later} is already closed", fix="close months in order; a later month can't be reopened")
    previous = _previous(period)
    if await session.get(Period, previous) is None and await session.scalar(
        select(LedgerTransaction.id).where(LedgerTransaction.created_at < start).limit(1)
    ):
        await session.rollback()
        raise ConflictError(f"{previous} is not closed yet", fix=f"close {previous} first: months close in order")
    store_line = LedgerEntry.account.like("store:%")
    before_end = LedgerTransaction.created_at < end
    in_month = and_(LedgerTransaction.created_at >= start, before_end)
    # A payout posted by an earlier close counts against the payable; it was posted after that
    # month's end, so it is selected by kind, not by time.
    stmt = (
        select(
            LedgerTransaction.store_id,
            LedgerEntry.currency,
            -func.sum(LedgerEntry.amount_minor),
            -func.sum(case((in_month & (LedgerTransaction.kind != "pay"), LedgerEntry.amount_minor), else_=0)),
        )
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .where(store_line, before_end | (LedgerTransaction.kind == "pay"))
        .group_by(LedgerTransaction.store_id, LedgerEntry.currency)
        .order_by(LedgerTransaction.store_id, LedgerEntry.currency)
    )
    for store_id, currency, payable, earned in await session.execute(stmt):
        payable, earned = int(payable), int(earned)
        if payable == 0 and earned == 0:
            continue
        paid = payable if payable >= threshold_minor(min_payout, currency) else 0
        payout = Payout(
            id=new_id("pyt"),
            period=period,
            store_id=store_id,
            currency=currency,
            earned_minor=earned,
            payable_minor=payable,
            paid_minor=paid,
            status="paid" if paid else "carried_over",
            created_at=now,
        )
        session.add(payout)
        if paid:
            await post_payout(session, f"payout:{payout.id}", store_id, currency, paid)
    billed = (
        select(
            LedgerTransaction.partner_id,
            LedgerTransaction.currency,
            func.count(case((LedgerTransaction.kind != "rev", LedgerTransaction.id))),
            func.sum(LedgerTransaction.gross_minor),
        )
        .where(in_month, LedgerTransaction.partner_id.is_not(None))
        .group_by(LedgerTransaction.partner_id, LedgerTransaction.currency)
        .order_by(LedgerTransaction.partner_id, LedgerTransaction.currency)
    )
    for partner_id, currency, events, amount in await session.execute(billed):
        session.add(
            Invoice(
                id=new_id("inv"),
                period=period,
                partner_id=partner_id,
                currency=currency,
                events=int(events),
                amount_minor=int(amount),
                created_at=now,
            )
        )
    await session.commit()
    return await period_report(session, period)


async def period_report(session: AsyncSession, period: str) -> CloseOut:
    closed = await session.get(Period, period)
    if closed is None:
        raise ConflictError(f"{period} is not closed", fix=f"close it: POST /v1/periods/{period}/close")
    payouts = await list_payouts(session, period=period)
    invoices = await list_invoices(session, period=period)
    return CloseOut(period, closed.closed_at, payouts, invoices)


async def list_payouts(
    session: AsyncSession, *, period: str | None = None, store_id: str | None = None
) -> list[PayoutOut]:
    stmt = select(Payout).order_by(Payout.period, Payout.store_id, Payout.currency)
    if period is not None:
        stmt = stmt.where(Payout.period == period)
    if store_id is not None:
        stmt = stmt.where(Payout.store_id == store_id)
    return [
        PayoutOut(
            p.id,
            p.period,
            p.store_id,
            p.currency,
            p.earned_minor,
            p.payable_minor,
            p.paid_minor,
            p.status,
            p.created_at,
        )
        for p in (await session.execute(stmt)).scalars()
    ]


async def list_invoices(
    session: AsyncSession, *, period: str | None = None, partner_id: str | None = None
) -> list[InvoiceOut]:
    stmt = select(Invoice).order_by(Invoice.period, Invoice.partner_id, Invoice.currency)
    if period is not None:
        stmt = stmt.where(Invoice.period == period)
    if partner_id is not None:
        stmt = stmt.where(Invoice.partner_id == partner_id)
    return [
        InvoiceOut(i.id, i.period, i.partner_id, i.currency, i.events, i.amount_minor, i.created_at)
        for i in (await session.execute(stmt)).scalars()
    ]
