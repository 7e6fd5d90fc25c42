"""`encore ledger reconcile`: recompute every balance from the journal and compare it with the stored
balances and with the budget spend counters; print any drift."""

from __future__ import annotations

import datetime as dt

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.counters.protocol import Counters
from exchange.ledger.service import campaign_spend, journal_balances, stored_balances
from exchange.models import LedgerEntry, LedgerTransaction


class Drift(msgspec.Struct):
    check: str  # unbalanced_transaction | balance | spend_today | spend_total
    subject: str
    expected: int  # what the journal says
    found: int


class Reconciliation(msgspec.Struct):
    transactions: int
    entries: int
    accounts: int
    campaigns_checked: int  # 0 when the counters live in another process (in-process counters)
    drift: list[Drift]


async def reconcile(session: AsyncSession, counters: Counters | None, now: dt.datetime) -> Reconciliation:
    drift: list[Drift] = []
    unbalanced = (
        select(LedgerTransaction.event_ref, func.sum(LedgerEntry.amount_minor))
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .group_by(LedgerTransaction.id, LedgerTransaction.event_ref)
        .having(func.sum(LedgerEntry.amount_minor) != 0)
    )
    drift += [Drift("unbalanced_transaction", ref, 0, int(total)) for ref, total in await session.execute(unbalanced)]
    journal = await journal_balances(session)
    stored = await stored_balances(session)
    for account, currency in sorted(journal.keys() | stored.keys()):
        expected, found = journal.get((account, currency), 0), stored.get((account, currency), 0)
        if expected != found:
            drift.append(Drift("balance", f"{account} {currency}", expected, found))
    campaigns = 0
    if counters is not None:
        midnight = dt.datetime.combine(now.date(), dt.time(), dt.UTC)
        totals, today = await campaign_spend(session), await campaign_spend(session, since=midnight)
        spent = await counters.spent_many(sorted(totals), now.date().isoformat())
        for campaign_id, (daily, total) in spent.items():
            campaigns += 1
            if daily != today.get(campaign_id, 0):
                drift.append(Drift("spend_today", campaign_id, today.get(campaign_id, 0), daily))
            if total != totals[campaign_id]:
                drift.append(Drift("spend_total", campaign_id, totals[campaign_id], total))
    transactions = int(await session.scalar(select(func.count(LedgerTransaction.id))) or 0)
    entries = int(await session.scalar(select(func.count(LedgerEntry.id))) or 0)
    return Reconciliation(transactions, entries, len(journal), campaigns, drift)
