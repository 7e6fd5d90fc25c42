"""Finance reports computed from the ledger and the click log: payouts per store and currency,
account statements, and invalid traffic per store. Each as JSON or CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.ledger.service import EXCHANGE_REVENUE
from exchange.models import Click, LedgerEntry, LedgerTransaction, Offer
from exchange.tracking.ivt import INVALID
from publishers.models import Store


class PayoutRow(msgspec.Struct):
    store_id: str
    store_name: str
    currency: str
    clicks: int
    conversions: int  # CPA sales, one-click orders included
    reversals: int  # refunds and chargebacks, which reduce the gross
    gross_minor: int
    store_share_minor: int
    exchange_share_minor: int


class PayoutReport(msgspec.Struct):
    start: dt.date
    end: dt.date  # inclusive
    rows: list[PayoutRow]


async def payout_report(
    session: AsyncSession, start: dt.date, end: dt.date, store_id: str | None = None
) -> PayoutReport:
    """Billed activity from `start` to `end` inclusive (UTC days), read from the journal entries in
    one pass: events counted by their one revenue entry, gross by the partner's entries (reversals
    negative), shares by the store's and the exchange's. Payouts to stores are not billed activity."""
    since, until = _range(start, end)
    tx, entry = LedgerTransaction, LedgerEntry
    revenue = entry.account == EXCHANGE_REVENUE

    def events(kind: str) -> Any:
        return func.count(case((revenue & (tx.kind == kind), 1)))

    def total(condition: Any) -> Any:
        return func.sum(case((condition, entry.amount_minor), else_=0))

    stmt = (
        select(
            tx.store_id,
            Store.name,
            tx.currency,
            events("cpc"),
            events("cpa"),
            events("rev"),
            total(entry.account.like("partner:%")),
            -total(entry.account.like("store:%")),
            -total(revenue),
        )
        .join(entry, entry.transaction_id == tx.id)
        .join(Store, Store.id == tx.store_id)
        .where(tx.created_at >= since, tx.created_at < until, tx.kind != "pay")
        .group_by(tx.store_id, Store.name, tx.currency)
        .order_by(tx.store_id, tx.currency)
    )
    if store_id is not None:
        stmt = stmt.where(tx.store_id == store_id)
    rows = [
        PayoutRow(store, name, currency, *(int(n) for n in figures))
        for store, name, currency, *figures in await session.execute(stmt)
    ]
    return PayoutReport(start, end, rows)


def payout_csv(report: PayoutReport) -> str:
    return rows_csv(PayoutRow, report.rows)


def rows_csv(kind: type[msgspec.Struct], rows: Sequence[msgspec.Struct]) -> str:
    """A header of the struct's fields, then one line per row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f.name for f in msgspec.structs.fields(kind)])
    for row in rows:
        writer.writerow(msgspec.structs.astuple(row))
    return out.getvalue()


def _range(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return dt.datetime.combine(start, dt.time(), dt.UTC), dt.datetime.combine(
        end + dt.timedelta(days=1), dt.time(), dt.UTC
    )


class StatementLine(msgspec.Struct):
    at: dt.datetime
    event_ref: str
    kind: str  # cpc | cpa | rev | pay
    currency: str
    amount_minor: int  # debit positive, credit negative
    balance_minor: int  # the account's balance in this currency after this line


class Statement(msgspec.Struct):
    account: str
    start: dt.date
    end: dt.date
    opening: dict[str, int]  # per currency
    closing: dict[str, int]
    lines: list[StatementLine]


async def statement(session: AsyncSession, account: str, start: dt.date, end: dt.date) -> Statement:
    """Every entry of one account in the range, with the running balance per currency."""
    since, until = _range(start, end)
    entry, tx = LedgerEntry, LedgerTransaction
    before = (
        select(entry.currency, func.sum(entry.amount_minor))
        .join(tx, tx.id == entry.transaction_id)
        .where(entry.account == account, tx.created_at < since)
        .group_by(entry.currency)
    )
    opening = {currency: int(total) for currency, total in await session.execute(before)}
    balance = dict(opening)
    stmt = (
        select(tx.created_at, tx.event_ref, tx.kind, entry.currency, entry.amount_minor)
        .join(tx, tx.id == entry.transaction_id)
        .where(entry.account == account, tx.created_at >= since, tx.created_at < until)
        .order_by(tx.created_at, tx.id)
    )
    lines = []
    for at, event_ref, kind, currency, amount in await session.execute(stmt):
        balance[currency] = balance.get(currency, 0) + amount
        lines.append(StatementLine(at, event_ref, kind, currency, amount, balance[currency]))
    return Statement(account, start, end, opening, balance, lines)


class TrafficRow(msgspec.Struct):
    store_id: str
    store_name: str
    clicks: int
    valid: int
    bot_user_agent: int
    datacenter_ip: int
    no_impression: int
    click_flood: int


async def invalid_traffic(
    session: AsyncSession, start: dt.date, end: dt.date, store_id: str | None = None
) -> list[TrafficRow]:
    """Clicks per store, and how many each invalid-traffic rule filtered (recorded, never billed)."""
    since, until = _range(start, end)
    counts = [func.count(case((Click.not_billed_reason == reason, 1))) for reason in INVALID]
    stmt = (
        select(Offer.store_id, Store.name, func.count(Click.id), *counts)
        .join(Offer, Offer.id == Click.offer_id)
        .join(Store, Store.id == Offer.store_id)
        .where(Click.created_at >= since, Click.created_at < until)
        .group_by(Offer.store_id, Store.name)
        .order_by(Offer.store_id)
    )
    if store_id is not None:
        stmt = stmt.where(Offer.store_id == store_id)
    rows = []
    for sid, name, total, *filtered in await session.execute(stmt):
        by_rule = [int(n) for n in filtered]
        rows.append(TrafficRow(sid, name, int(total), int(total) - sum(by_rule), *by_rule))
    return rows
