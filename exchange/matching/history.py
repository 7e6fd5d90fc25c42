"""Order histories imported by partners (or the operator): the co-purchase evidence of the matcher."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated, Any

import msgspec
from msgspec import Meta
from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exchange.core.errors import InvalidInputError
from exchange.matching.catalog import CatalogTable
from exchange.matching.learning import Learner
from exchange.models import Click, Dismissal, Offer, PurchaseHistory
from exchange.tracking.ivt import INVALID
from partners.models import Product

log = logging.getLogger("encore.learning")

MAX_ORDERS_PER_CALL = 50_000
FORMAT_FIX = (
    'send JSON lines, one past order each: {"order_id": "o-1", "items": [{"product_id": "sku-1"}, '
    '{"product_id": "sku-2"}]} (the operator adds "partner_id" to each item)'
)


class HistoryItem(msgspec.Struct, forbid_unknown_fields=True):
    product_id: Annotated[str, Meta(min_length=1, max_length=50)]
    partner_id: str = ""


class HistoryOrder(msgspec.Struct, forbid_unknown_fields=True):
    order_id: Annotated[str, Meta(min_length=1, max_length=100)]
    items: Annotated[list[HistoryItem], Meta(max_length=500)]


class HistoryReport(msgspec.Struct):
    orders: int  # lines read
    imported: int  # new orders learned from
    duplicates: int  # already imported earlier (a retried upload changes nothing)
    skipped: int  # fewer than two known products: nothing to learn
    unknown_items: int  # product ids not in the live catalog
    orders_learned: int  # the matcher's total after this import


def _orders(body: bytes) -> Iterator[tuple[int, HistoryOrder]]:
    decoder = msgspec.json.Decoder(HistoryOrder)
    for line_no, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield line_no, decoder.decode(line)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise InvalidInputError(
                f"line {line_no}: {exc}; nothing from this upload was imported", fix=FORMAT_FIX, line=line_no
            ) from exc


async def import_history(
    session: AsyncSession, learner: Learner, catalog: CatalogTable, body: bytes, *, source: str, partner_id: str | None
) -> HistoryReport:
    """Import past orders. A partner names its own products; the operator (partner_id None) names
    each item's partner. Orders are keyed by (source, order_id), so a retry imports nothing twice."""
    parsed = list(_orders(body))
    if len(parsed) > MAX_ORDERS_PER_CALL:
        raise InvalidInputError(
            f"{len(parsed)} orders in one call; the limit is {MAX_ORDERS_PER_CALL}",
            fix="split the history into several uploads; each is idempotent",
        )
    wanted: set[tuple[str, str]] = set()
    for line_no, order in parsed:
        for item in order.items:
            owner = partner_id or item.partner_id
            if not owner:
                raise InvalidInputError(
                    f"line {line_no}: item {item.product_id!r} has no partner_id",
                    fix="the operator names each item's partner_id; a partner key imports its own products",
                    line=line_no,
                )
            if partner_id and item.partner_id and item.partner_id != partner_id:
                raise InvalidInputError(
                    f"line {line_no}: a partner can import only its own products",
                    fix="leave partner_id out of the items, or ask the operator to import cross-partner orders",
                    line=line_no,
                )
            wanted.add((owner, item.product_id))
    ids = await _product_ids(session, wanted)
    refs = [order.order_id for _, order in parsed]
    known_refs = await _known_refs(session, source, refs)
    report = HistoryReport(len(parsed), 0, 0, 0, 0, 0)
    fresh: list[PurchaseHistory] = []
    for _, order in parsed:
        if order.order_id in known_refs:
            report.duplicates += 1
            continue
        known_refs.add(order.order_id)
        products = [ids.get((partner_id or item.partner_id, item.product_id)) for item in order.items]
        report.unknown_items += sum(1 for pid in products if pid is None)
        basket = sorted({pid for pid in products if pid is not None})
        if len(basket) < 2:
            report.skipped += 1
            continue
        fresh.append(PurchaseHistory(source=source, order_ref=order.order_id, product_ids=basket))
    session.add_all(fresh)
    await session.commit()
    for record in fresh:
        learner.copurchases.add(p for pid in record.product_ids if (p := catalog.get(pid)) is not None)
    report.imported = len(fresh)
    report.orders_learned = learner.copurchases.orders
    return report


async def _product_ids(session: AsyncSession, wanted: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    pairs = sorted(wanted)
    for start in range(0, len(pairs), 500):
        batch = pairs[start : start + 500]
        stmt = select(Product.partner_id, Product.external_id, Product.id).where(
            tuple_(Product.partner_id, Product.external_id).in_(batch), Product.active.is_(True)
        )
        found |= {(partner, external): pid for partner, external, pid in await session.execute(stmt)}
    return found


async def _known_refs(session: AsyncSession, source: str, refs: list[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(refs), 1000):
        stmt = select(PurchaseHistory.order_ref).where(
            PurchaseHistory.source == source, PurchaseHistory.order_ref.in_(refs[start : start + 1000])
        )
        known |= set((await session.execute(stmt)).scalars())
    return known


async def load_learning(sessions: async_sessionmaker[Any], catalog: CatalogTable) -> Learner:
    """Rebuild what was learned from the database: imported orders, then every offer's outcome."""
    learner = Learner()
    async with sessions() as session:
        for (product_ids,) in await session.execute(select(PurchaseHistory.product_ids)):
            learner.copurchases.add(p for pid in product_ids if (p := catalog.get(pid)) is not None)
        shown = select(Offer.context, Offer.product_id, func.count()).group_by(Offer.context, Offer.product_id)
        for context, pid, count in await session.execute(shown):
            learner.feedback.shown(context, pid, count)
        engaged = (
            select(Offer.context, Offer.product_id, func.count(func.distinct(Click.offer_id)))
            .join(Click, Click.offer_id == Offer.id)
            .where(Click.not_billed_reason.not_in(INVALID))  # invalid traffic teaches nothing
            .group_by(Offer.context, Offer.product_id)
        )
        for context, pid, count in await session.execute(engaged):
            learner.feedback.engaged(context, pid, count)
        dismissed = (
            select(Offer.context, Offer.product_id, func.count())
            .join(Dismissal, Dismissal.offer_id == Offer.id)
            .group_by(Offer.context, Offer.product_id)
        )
        for context, pid, count in await session.execute(dismissed):
            learner.feedback.dismissed(context, pid, count)
    if learner.copurchases.orders or learner.feedback.events:
        log.info("learning restored: %s", learner.stats())
    return learner
