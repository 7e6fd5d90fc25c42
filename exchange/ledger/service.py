"""The double-entry ledger: every billable event debits the partner and credits store and exchange."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.core.money import split
from exchange.models import LedgerEntry, LedgerTransaction

EXCHANGE_REVENUE = "exchange:revenue"


def partner_account(partner_id: str) -> str:
    return f"partner:{partner_id}:receivable"


def store_account(store_id: str) -> str:
    return f"store:{store_id}:payable"


def post_billable(
    session: AsyncSession,
    *,
    event_ref: str,
    kind: str,
    store_id: str,
    share_bps: int,
    partner_id: str,
    campaign_id: str,
    currency: str,
    gross_minor: int,
) -> None:
    """Add one balanced transaction to the session; the caller commits it with the event it bills."""
    store_share, exchange_share = split(gross_minor, share_bps)
    transaction = LedgerTransaction(
        event_ref=event_ref,
        kind=kind,
        store_id=store_id,
        partner_id=partner_id,
        campaign_id=campaign_id,
        currency=currency,
        gross_minor=gross_minor,
    )
    transaction.entries = [
        LedgerEntry(account=partner_account(partner_id), amount_minor=gross_minor, currency=currency),
        LedgerEntry(account=store_account(store_id), amount_minor=-store_share, currency=currency),
        LedgerEntry(account=EXCHANGE_REVENUE, amount_minor=-exchange_share, currency=currency),
    ]
    session.add(transaction)


async def trial_balance(session: AsyncSession) -> dict[str, int]:
    """Sum of every entry per currency: zero for each, or the ledger is broken."""
    stmt = select(LedgerEntry.currency, func.sum(LedgerEntry.amount_minor)).group_by(LedgerEntry.currency)
    return {currency: int(total) for currency, total in await session.execute(stmt)}


async def campaign_spend(session: AsyncSession, since: dt.datetime | None = None) -> dict[str, int]:
    """Billed gross per campaign, from the journal (the truth budget counters are rebuilt from)."""
    stmt = select(LedgerTransaction.campaign_id, func.sum(LedgerTransaction.gross_minor)).group_by(
        LedgerTransaction.campaign_id
    )
    if since is not None:
        stmt = stmt.where(LedgerTransaction.created_at >= since)
    return {campaign_id: int(total) for campaign_id, total in await session.execute(stmt)}
