"""Finance reports computed from the ledger: payouts per store and currency."""

from __future__ import annotations

import csv
import datetime as dt
import io

import msgspec
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.ledger.service import EXCHANGE_REVENUE
from exchange.models import LedgerEntry, LedgerTransaction
from publishers.models import Store


class PayoutRow(msgspec.Struct):
    store_id: str
    store_name: str
    currency: str
    clicks: int
    conversions: int
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
    """Billed activity from `start` to `end` inclusive (UTC days), read from the journal entries."""
    since = dt.datetime.combine(start, dt.time(), dt.UTC)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC)
    tx = LedgerTransaction
    is_store = LedgerEntry.account.like("store:%")
    stmt = (
        select(
            tx.store_id,
            Store.name,
            tx.currency,
            func.count(func.distinct(case((tx.kind == "cpc", tx.id)))),
            func.count(func.distinct(case((tx.kind == "cpa", tx.id)))),
            func.sum(case((LedgerEntry.amount_minor > 0, LedgerEntry.amount_minor), else_=0)),
            -func.sum(case((is_store, LedgerEntry.amount_minor), else_=0)),
            -func.sum(case((LedgerEntry.account == EXCHANGE_REVENUE, LedgerEntry.amount_minor), else_=0)),
        )
        .join(LedgerEntry, LedgerEntry.transaction_id == tx.id)
        .join(Store, Store.id == tx.store_id)
        .where(tx.created_at >= since, tx.created_at < until)
        .group_by(tx.store_id, Store.name, tx.currency)
        .order_by(tx.store_id, tx.currency)
    )
    if store_id is not None:
        stmt = stmt.where(tx.store_id == store_id)
    rows = [
        PayoutRow(store, name, currency, int(clicks), int(conversions), int(gross), int(store_share), int(rest))
        for store, name, currency, clicks, conversions, gross, store_share, rest in await session.execute(stmt)
    ]
    return PayoutReport(start, end, rows)


def payout_csv(report: PayoutReport) -> str:
    out = io.StringIO()
    fields = [f.name for f in msgspec.structs.fields(PayoutRow)]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(fields)
    for row in report.rows:
        writer.writerow(msgspec.structs.astuple(row))
    return out.getvalue()
