"""Order in, offers out: run the pipeline, record the decision, sign the links."""

from __future__ import annotations

import asyncio
import time

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.core.db import new_id
from exchange.core.errors import UnprocessableError
from exchange.core.money import format_minor
from exchange.decisions import pipeline
from exchange.decisions.schemas import DecisionOut, OfferOut, PartnerRef, Price
from exchange.models import Decision, Offer
from exchange.runtime import Runtime
from exchange.tracking.links import LinkClaims, sign_link
from partners.models import Campaign, Partner, Product
from publishers.models import Order, Store
from publishers.schemas import OrderIn
from publishers.service import checked_order, order_digest

DEEPEN_BELOW = 20  # candidates left after filtering
MAX_DEPTH = 5000


async def decide(runtime: Runtime, session: AsyncSession, store: Store, order: OrderIn) -> DecisionOut:
    """The offers for a confirmed order; the same order asked again gets the same answer."""
    order = checked_order(order)
    digest = order_digest(order)
    replay = await _recorded(session, store.id, order.order_id, digest)
    if replay is not None:
        return replay
    winners, removed, bought = await _run_pipeline(runtime, session, store, order)
    record = Order(store_id=store.id, order_ref=order.order_id, body_hash=digest, payload=msgspec.to_builtins(order))
    session.add(record)
    try:
        await session.flush()
    except IntegrityError:  # the same order arrived twice at once: answer with the first one's offers
        await session.rollback()
        replay = await _recorded(session, store.id, order.order_id, digest)
        assert replay is not None
        return replay
    decision = Decision(id=new_id("dec"), order_id=record.id, store_id=store.id, index_version=runtime.index.version)
    decision.response = {}
    out = await _offers(runtime, session, store, order, decision, winners)
    # Kept beside the answer so a decision can be explained later: what was filtered, and why.
    decision.response = msgspec.to_builtins(out) | {"removed": removed, "bought_categories": sorted(bought)}
    session.add(decision)
    await session.commit()
    return out


async def _recorded(session: AsyncSession, store_id: str, order_ref: str, digest: str) -> DecisionOut | None:
    stmt = (
        select(Order.body_hash, Decision.response)
        .join(Decision, Decision.order_id == Order.id)
        .where(Order.store_id == store_id, Order.order_ref == order_ref)
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        return None
    if row.body_hash != digest:
        raise UnprocessableError(
            f"order {order_ref!r} was already reported with different content",
            fix="send the same order exactly as before, or use a new order_id for a different order",
        )
    return msgspec.convert(row.response, DecisionOut)


async def _run_pipeline(
    runtime: Runtime, session: AsyncSession, store: Store, order: OrderIn
) -> tuple[list[pipeline.Scored], dict[str, int], set[str]]:
    titles = [item.title for item in order.line_items]
    vectors = await asyncio.to_thread(runtime.encoder.encode, titles)
    blocked = {store.brand.casefold()} | {item.brand.casefold() for item in order.line_items if item.brand}
    depth = runtime.settings.candidates
    products: dict[int, pipeline.ProductInfo] = {}
    campaigns: dict[str, pipeline.CampaignInfo] = {}
    partners_seen: set[str] = set()
    while True:
        # The nearest neighbours of a purchase are mostly substitutes; when too few others survive
        # the filters, look deeper (up to MAX_DEPTH) rather than show nothing. A deeper pass reads
        # only the products and partners the shallower ones did not.
        scores, ids = runtime.index.search(vectors, depth)
        best = pipeline.retrieve(scores, ids)
        products |= await _products(session, [pid for pid in best if pid not in products])
        new_partners = {p.partner_id for p in products.values()} - partners_seen
        campaigns |= await _live_campaigns(runtime, session, new_partners)
        partners_seen |= new_partners
        bought = pipeline.substitute_categories(scores, ids, products)
        candidates = (
            pipeline.Candidate(products[pid], similarity, anchor)
            for pid, (similarity, anchor) in best.items()
            if pid in products
        )
        kept, removed = pipeline.filter_candidates(
            candidates, blocked_brands=blocked, substitutes=bought, live_partners=set(campaigns)
        )
        if len(kept) >= DEEPEN_BELOW or depth >= runtime.index.size or depth >= MAX_DEPTH:
            break
        depth = min(depth * 10, MAX_DEPTH)
    winners = pipeline.auction(pipeline.score(kept, campaigns, bought), store.max_offers)
    return winners, removed, bought


async def _products(session: AsyncSession, ids: list[int]) -> dict[int, pipeline.ProductInfo]:
    if not ids:
        return {}
    stmt = select(
        Product.id,
        Product.partner_id,
        Product.brand,
        Product.product_type,
        Product.google_product_category,
        Product.title,
        Product.availability,
    ).where(Product.id.in_(ids), Product.active.is_(True))
    return {
        pid: pipeline.ProductInfo(pid, partner, brand, ptype or gpc, title, availability == "in_stock")
        for pid, partner, brand, ptype, gpc, title, availability in await session.execute(stmt)
    }


async def _live_campaigns(
    runtime: Runtime, session: AsyncSession, partner_ids: set[str]
) -> dict[str, pipeline.CampaignInfo]:
    """Each partner's best-paying active campaign that can still afford one more billable event."""
    if not partner_ids:
        return {}
    stmt = (
        select(Campaign)
        .where(Campaign.partner_id.in_(partner_ids), Campaign.active.is_(True))
        .order_by(Campaign.max_bid_minor.desc(), Campaign.id)
    )
    day = time.strftime("%Y-%m-%d", time.gmtime())
    live: dict[str, pipeline.CampaignInfo] = {}
    for campaign in (await session.execute(stmt)).scalars():
        if campaign.partner_id in live:
            continue
        daily, total = await runtime.counters.spent(campaign.id, day)
        bid = campaign.max_bid_minor
        if daily + bid <= campaign.daily_budget_minor and total + bid <= campaign.total_budget_minor:
            live[campaign.partner_id] = pipeline.CampaignInfo(
                campaign.id, campaign.partner_id, campaign.pricing, campaign.currency, bid
            )
    return live


async def _offers(
    runtime: Runtime,
    session: AsyncSession,
    store: Store,
    order: OrderIn,
    decision: Decision,
    winners: list[pipeline.Scored],
) -> DecisionOut:
    settings = runtime.settings
    expires = int(time.time()) + settings.link_ttl_s
    details = await _details(session, [w.candidate.product.id for w in winners])
    offers: list[OfferOut] = []
    session.add(decision)
    await session.flush()
    for position, winner in enumerate(winners, start=1):
        product, partner_name = details[winner.candidate.product.id]
        why = pipeline.reason(order.line_items[winner.candidate.anchor].title, winner.candidate.product)
        offer = Offer(
            id=new_id("ofr"),
            decision_id=decision.id,
            store_id=store.id,
            partner_id=product.partner_id,
            campaign_id=winner.campaign.id,
            product_id=product.id,
            position=position,
            pricing=winner.campaign.pricing,
            price_minor=winner.campaign.bid_minor,
            currency=winner.campaign.currency,
            score=winner.expected_value,
            reason=why,
        )
        session.add(offer)
        click = sign_link(settings.secret, LinkClaims("c", offer.id, expires))
        accept = sign_link(settings.secret, LinkClaims("a", offer.id, expires))
        offers.append(
            OfferOut(
                offer_id=offer.id,
                product_id=product.external_id,
                title=product.title,
                brand=product.brand,
                price=Price(product.price_minor, product.currency, format_minor(product.price_minor, product.currency)),
                image_link=product.image_link,
                partner=PartnerRef(product.partner_id, partner_name),
                click_url=f"{settings.public_url}/c/{click}",
                accept_url=f"{settings.public_url}/a/{accept}",
                reason=why,
            )
        )
    return DecisionOut(order.order_id, decision.id, offers, dict(store.theme or {}))


async def _details(session: AsyncSession, ids: list[int]) -> dict[int, tuple[Product, str]]:
    if not ids:
        return {}
    stmt = select(Product, Partner.name).join(Partner, Partner.id == Product.partner_id).where(Product.id.in_(ids))
    return {product.id: (product, name) for product, name in await session.execute(stmt)}
