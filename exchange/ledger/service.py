"""The double-entry ledger. Every billable event debits the partner and credits the store and the
exchange; a reversal posts the exact negation of what it undoes; a payout moves a store's payable to
cash. Entries are never edited (the database refuses it); each account's running balance moves in
the same transaction as its entries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.core.money import split
from exchange.models import LedgerBalance, LedgerEntry, LedgerTransaction

EXCHANGE_REVENUE = "exchange:revenue"
EXCHANGE_CASH = "exchange:cash"  # money that left the exchange's bank account (payouts to stores)


def partner_account(partner_id: str) -> str:
    return f"partner:{partner_id}:receivable"


def store_account(store_id: str) -> str:
    return f"store:{store_id}:payable"


async def post_billable(
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
    """Add one balanced transaction to the session; the caller commits it with the event it bills.
    The split is by largest remainder, so the store's and the exchange's shares sum to the gross."""
    store_share, exchange_share = split(gross_minor, share_bps)
    await _post(
        session,
        LedgerTransaction(
            event_ref=event_ref,
            kind=kind,
            store_id=store_id,
            partner_id=partner_id,
            campaign_id=campaign_id,
            currency=currency,
            gross_minor=gross_minor,
        ),
        [
            (partner_account(partner_id), gross_minor),
            (store_account(store_id), -store_share),
            (EXCHANGE_REVENUE, -exchange_share),
        ],
    )


async def post_reversal(session: AsyncSession, event_ref: str, reverses: str) -> LedgerTransaction | None:
    """The exact negation of the transaction `reverses` (a refund or chargeback); None when there is
    no such transaction. The original stays untouched."""
    original = await session.scalar(select(LedgerTransaction).where(LedgerTransaction.event_ref == reverses))
    if original is None:
        return None
    lines = (await session.execute(select(LedgerEntry).where(LedgerEntry.transaction_id == original.id))).scalars()
    reversal = LedgerTransaction(
        event_ref=event_ref,
        kind="rev",
        store_id=original.store_id,
        partner_id=original.partner_id,
        campaign_id=original.campaign_id,
        currency=original.currency,
        gross_minor=-original.gross_minor,
    )
    await _post(session, reversal, [(line.account, -line.amount_minor) for line in lines])
    return reversal


async def post_payout(session: AsyncSession, event_ref: str, store_id: str, currency: str, amount_minor: int) -> None:
    """Pay a store: its payable goes down by the amount, and so does cash."""
    transaction = LedgerTransaction(
        event_ref=event_ref,
        kind="pay",
        store_id=store_id,
        partner_id=None,
        campaign_id=None,
        currency=currency,
        gross_minor=0,
    )
    await _post(session, transaction, [(store_account(store_id), amount_minor), (EXCHANGE_CASH, -amount_minor)])


async def _post(session: AsyncSession, transaction: LedgerTransaction, lines: list[tuple[str, int]]) -> None:
    if sum(amount for _, amount in lines) != 0:
        raise ValueError(f"unbalanced posting {transaction.event_ref}: {lines}")
    transaction.entries = [
        LedgerEntry(account=account, amount_minor=amount, currency=transaction.currency) for account, amount in lines
    ]
    session.add(transaction)
    await _move_balances(session, transaction.currency, lines)


async def _move_balances(session: AsyncSession, currency: str, lines: Iterable[tuple[str, int]]) -> None:
    """Add each amount to its account's balance row, in account order (so concurrent postings lock
    rows in the same order and never deadlock)."""
    moves: dict[str, int] = defaultdict(int)
    for account, amount in lines:
        moves[account] += amount
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    for account in sorted(moves):
        stmt = insert(LedgerBalance).values(account=account, currency=currency, balance_minor=moves[account])
        stmt = stmt.on_conflict_do_update(
            index_elements=["account", "currency"],
            set_={"balance_minor": LedgerBalance.balance_minor + stmt.excluded.balance_minor},
        )
        await session.execute(stmt)


async def trial_balance(session: AsyncSession) -> dict[str, int]:
    """Sum of every entry per currency: zero for each, or the ledger is broken."""
    stmt = select(LedgerEntry.currency, func.sum(LedgerEntry.amount_minor)).group_by(LedgerEntry.currency)
    return {currency: int(total) for currency, total in await session.execute(stmt)}


async def journal_balances(session: AsyncSession) -> dict[tuple[str, str], int]:
    """Every account's balance recomputed from the journal."""
    stmt = select(LedgerEntry.account, LedgerEntry.currency, func.sum(LedgerEntry.amount_minor)).group_by(
        LedgerEntry.account, LedgerEntry.currency
    )
    return {(account, currency): int(total) for account, currency, total in await session.execute(stmt)}


async def stored_balances(session: AsyncSession) -> dict[tuple[str, str], int]:
    rows = (await session.execute(select(LedgerBalance))).scalars()
    return {(row.account, row.currency): row.balance_minor for row in rows}


async def campaign_spend(session: AsyncSession, since: dt.datetime | None = None) -> dict[str, int]:
    """Billed gross per campaign, net of reversals, from the journal (the truth budget counters are
    rebuilt from)."""
    stmt = (
        select(LedgerTransaction.campaign_id, func.sum(LedgerTransaction.gross_minor))
        .where(LedgerTransaction.campaign_id.is_not(None))
        .group_by(LedgerTransaction.campaign_id)
    )
    if since is not None:
        stmt = stmt.where(LedgerTransaction.created_at >= since)
    return {str(campaign_id): int(total) for campaign_id, total in await session.execute(stmt)}
