"""Order in, offers out: run the pipeline, record the decision, sign the links."""

from __future__ import annotations

import asyncio
import math
import random
import time
from typing import Any

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.core.db import new_id, utcnow
from exchange.core.errors import NotFoundError, UnprocessableError
from exchange.core.money import format_minor
from exchange.decisions import pipeline
from exchange.decisions.schemas import DecisionOut, OfferOut, PartnerRef, Price
from exchange.matching.catalog import ProductInfo
from exchange.matching.controls import Blocks, targets
from exchange.matching.learning import PAIR_EVIDENCE, Context, position_factor, prior_strength
from exchange.models import Decision, Dismissal, Offer, ViewableImpression
from exchange.observability import DECISION_SECONDS, DECISIONS
from exchange.runtime import Runtime
from exchange.tracking.links import LinkClaims, sign_link
from partners.models import Campaign, Partner, Product
from publishers.models import Order, Store
from publishers.schemas import OrderIn
from publishers.service import checked_order, controls_of, order_digest, store_for_key

EXPLAINED_CANDIDATES = 25
SEMANTIC_SCORED = 300  # semantic-only candidates scored per decision, the closest first
SAMPLED_CANDIDATES = 100  # Thompson draws per decision, for the most promising candidates
DEEPEN_BELOW = 20  # candidates left after filtering
MAX_DEPTH = 5000


async def decide(
    runtime: Runtime, session: AsyncSession, store: Store, order: OrderIn, *, verified: bool
) -> DecisionOut:
    """The offers for a confirmed order; the same order asked again gets the same answer. `verified`:
    reported with the store's secret key, not only by a browser holding its public key."""
    with DECISION_SECONDS.time():
        return await _decide(runtime, session, store, order, verified)


async def _decide(runtime: Runtime, session: AsyncSession, store: Store, order: OrderIn, verified: bool) -> DecisionOut:
    order = checked_order(order, from_server=verified)
    digest = order_digest(order)
    shopper = msgspec.to_builtins(order.shopper) if order.shopper is not None else None
    replay = await _recorded(session, store.id, order.order_id, digest, verified, shopper)
    if replay is not None:
        return replay
    outcome = await _run_pipeline(runtime, session, store, order)
    record = Order(
        store_id=store.id,
        order_ref=order.order_id,
        body_hash=digest,
        payload=msgspec.to_builtins(msgspec.structs.replace(order, shopper=None)),
        verified=verified,
        shopper=shopper,
    )
    session.add(record)
    try:
        await session.flush()
    except IntegrityError:  # the same order arrived twice at once: answer with the first one's offers
        await session.rollback()
        replay = await _recorded(session, store.id, order.order_id, digest, verified, shopper)
        assert replay is not None
        return replay
    decision = Decision(id=new_id("dec"), order_id=record.id, store_id=store.id, index_version=runtime.index.version)
    decision.response = {}
    out = await _offers(runtime, session, store, order, decision, outcome.winners, one_click=shopper is not None)
    # Kept beside the answer so a decision can be explained later: what was considered, what each
    # filter removed, the scores, and the prices.
    decision.response = msgspec.to_builtins(out) | {"explain": _explain(runtime, outcome)}
    session.add(decision)
    await session.commit()
    for entry, _ in outcome.winners:
        runtime.learner.feedback.shown(entry.context, entry.candidate.product.id)
    DECISIONS.labels(filled="true" if out.offers else "false").inc()
    return out


def _explain(runtime: Runtime, outcome: Outcome) -> dict[str, Any]:
    def ref(pid: int) -> str:
        product = runtime.catalog.get(pid)
        return f"{product.partner_id}/{product.external_id}" if product else str(pid)

    prices = {id(entry): price for entry, price in outcome.winners}
    positions = {id(entry): n for n, (entry, _) in enumerate(outcome.winners, start=1)}
    candidates = [
        {
            "product": ref(s.candidate.product.id),
            "title": s.candidate.product.title,
            "category": s.candidate.product.category,
            "campaign_id": s.campaign.id,
            "pricing": s.campaign.pricing,
            "bid_minor": s.campaign.bid_minor,
            "similarity": round(s.candidate.similarity, 4),
            "goes_with_item": s.candidate.anchor,
            "prior_engagement": round(s.prior, 6),
            "posterior_mean": round(s.mean, 6),
            "sampled_engagement": round(s.sample, 6),
            "expected_value": round(s.expected_value, 6),
            "position": positions.get(id(s)),
            "price_minor": prices.get(id(s)),
        }
        for s in outcome.ranked[:EXPLAINED_CANDIDATES]
    ]
    return {
        "candidates": candidates,
        "candidates_scored": len(outcome.ranked),
        "removed": {rule: len(ids) for rule, ids in sorted(outcome.removed.items())},
        "removed_examples": {rule: [ref(p) for p in ids[:5]] for rule, ids in sorted(outcome.removed.items())},
        "bought_categories": outcome.bought,
        "purchase_contexts": [c.category.removeprefix("c:") for c in outcome.contexts],
        "pricing": "second price: the lowest price that keeps each winner above the best other partner below it",
        "learning": runtime.learner.stats(),
    }


async def _recorded(
    session: AsyncSession,
    store_id: str,
    order_ref: str,
    digest: str,
    verified: bool,
    shopper: dict[str, Any] | None,
) -> DecisionOut | None:
    row = await _lookup(session, store_id, order_ref)
    if row is None:
        return None
    record, decision = row
    if record.body_hash != digest:
        raise UnprocessableError(
            f"order {order_ref!r} was already reported with different content",
            fix="send the same order exactly as before, or use a new order_id for a different order",
        )
    if verified and (not record.verified or (shopper is not None and shopper != record.shopper)):
        # The widget asked first; the store's server confirms it now, with what the shopper shares.
        record.verified = True
        if shopper is not None and record.shopper is None:  # the offers become one-click from now on
            decision.response = await _with_one_click(session, decision.response)
        record.shopper = shopper if shopper is not None else record.shopper
        await session.commit()
    return msgspec.convert(decision.response, DecisionOut)


async def recorded_decision(session: AsyncSession, store_id: str, order_ref: str) -> tuple[Order, DecisionOut] | None:
    """The offers already decided for a store's order (a Shopify webhook's, for its extension)."""
    row = await _lookup(session, store_id, order_ref)
    if row is None:
        return None
    return row[0], msgspec.convert(row[1].response, DecisionOut)


async def _lookup(session: AsyncSession, store_id: str, order_ref: str) -> tuple[Order, Decision] | None:
    stmt = (
        select(Order, Decision)
        .join(Decision, Decision.order_id == Order.id)
        .where(Order.store_id == store_id, Order.order_ref == order_ref)
    )
    row = (await session.execute(stmt)).first()
    return (row[0], row[1]) if row is not None else None


async def _with_one_click(session: AsyncSession, response: dict[str, Any]) -> dict[str, Any]:
    """The recorded answer with `one_click` set on the offers of partners that take orders."""
    offers = response.get("offers", [])
    partner_ids = {o["partner"]["id"] for o in offers}
    stmt = select(Partner.id).where(Partner.id.in_(partner_ids), Partner.order_url != "")
    takes_orders = set((await session.execute(stmt)).scalars()) if partner_ids else set()
    return response | {"offers": [o | {"one_click": o["partner"]["id"] in takes_orders} for o in offers]}


class Outcome(msgspec.Struct, gc=False):
    """What the pipeline decided, and what it looked at on the way, for the decision record."""

    winners: list[tuple[pipeline.Scored, int]]  # (entry, price per billable event)
    ranked: list[pipeline.Scored]
    removed: dict[str, list[int]]  # rule -> product ids it removed
    bought: list[str]
    contexts: list[Context]


async def _run_pipeline(runtime: Runtime, session: AsyncSession, store: Store, order: OrderIn) -> Outcome:
    learned = runtime.learner.copurchases
    controls = controls_of(store)
    vectors = await asyncio.to_thread(runtime.encoder.encode, [item.title for item in order.line_items])
    blocks = Blocks.of(store.brand, (item.brand for item in order.line_items), controls)
    dismissed = await _dismissed(session, store.id, order.shopper_key)
    depth = runtime.settings.candidates
    scores, ids = runtime.index.search(vectors, depth)
    # The nearest neighbours say what each purchase is (its category) and seed the cold start; the
    # co-purchase model adds what is bought with it.
    neighbours = pipeline.neighbour_categories(scores, ids, runtime.catalog.products)
    contexts = [
        Context.of(item.title, item.category or (found[0] if found else ""))
        for item, found in zip(order.line_items, neighbours, strict=True)
    ]
    bought = {item.category for item in order.line_items if item.category}
    bought.update(category for found in neighbours for category in found)
    learned_pool = learned.candidates(contexts) if learned.orders else set()
    best = pipeline.retrieve(scores, ids)
    pool = [*learned_pool, *best]
    seen: set[int] = set()
    kept: list[pipeline.Candidate] = []
    removed: dict[str, list[int]] = {}
    campaigns: dict[str, pipeline.CampaignInfo] = {}
    sitting_out: dict[str, str] = {}
    filters = _Filters(runtime, contexts, bought, blocks, dismissed, learned_pool)
    while True:
        # Each pass examines only products, and reads only partners' campaigns, not seen before.
        fresh = filters.apply(pool, best, seen, removed)
        partners = {c.product.partner_id for c in fresh} - campaigns.keys() - sitting_out.keys()
        live, out = await _live_campaigns(runtime, session, partners, store, order)
        campaigns |= live
        sitting_out |= out
        for candidate in fresh:
            partner = candidate.product.partner_id
            if partner in campaigns:
                kept.append(candidate)
            else:
                removed.setdefault(sitting_out[partner], []).append(candidate.product.id)
        if len(kept) >= DEEPEN_BELOW or depth >= runtime.index.size or depth >= MAX_DEPTH:
            break
        # The nearest neighbours of a purchase are mostly substitutes; when too few others survive
        # the filters, look deeper (up to MAX_DEPTH) rather than show nothing.
        depth = min(depth * 10, MAX_DEPTH)
        best = pipeline.retrieve(*runtime.index.search(vectors, depth))
        pool = list(best)
    ranked = _score(runtime, kept, campaigns, contexts, bought, controls.min_quality, removed, order)
    winners = await _fill_slots(runtime, ranked, store.max_offers, order.shopper_key)
    return Outcome(winners, ranked, removed, sorted(bought), contexts)


class _Filters:
    """Drop what must never be offered here, recording which rule removed each product. Cheap rules
    come first; semantic candidates are examined most similar first, and only until SEMANTIC_SCORED
    of them pass (only the closest can win on a relevance prior); every co-purchase candidate is
    examined."""

    def __init__(
        self,
        runtime: Runtime,
        contexts: list[Context],
        bought: set[str],
        blocks: Blocks,
        dismissed: set[int],
        learned_pool: set[int],
    ) -> None:
        self.catalog, self.learned = runtime.catalog, runtime.learner.copurchases
        self.contexts, self.bought, self.blocks, self.dismissed = contexts, bought, blocks, dismissed
        self.learned_pool = learned_pool
        self.semantic_room = SEMANTIC_SCORED

    def apply(
        self, pool: list[int], best: dict[int, tuple[float, int]], seen: set[int], removed: dict[str, list[int]]
    ) -> list[pipeline.Candidate]:
        kept: list[pipeline.Candidate] = []
        for pid in pool:
            semantic_only = pid not in self.learned_pool
            if pid in seen or (semantic_only and self.semantic_room <= 0):
                continue
            seen.add(pid)
            product = self.catalog.get(pid)
            if product is None:
                continue  # retired since the index was searched
            similarity, anchor = best.get(pid, (0.0, 0))
            rule = self._rule(product, similarity)
            if rule is not None:
                removed.setdefault(rule, []).append(pid)
                continue
            kept.append(pipeline.Candidate(product, similarity, anchor))
            self.semantic_room -= semantic_only
        return kept

    def _rule(self, product: ProductInfo, similarity: float) -> str | None:
        if not product.in_stock:
            return "out_of_stock"
        if similarity >= pipeline.SAME_PRODUCT_SIMILARITY or (
            # Same category as a purchase is a substitute, unless shoppers really buy the two together.
            product.category in self.bought
            and not (
                self.learned.orders
                and any(self.learned.together(c, product.id) >= PAIR_EVIDENCE for c in self.contexts)
            )
        ):
            return "substitute"
        if (blocked := self.blocks.reason(product)) is not None:
            return blocked
        if product.id in self.dismissed:
            return "dismissed_by_shopper"
        return None


def _score(
    runtime: Runtime,
    kept: list[pipeline.Candidate],
    campaigns: dict[str, pipeline.CampaignInfo],
    contexts: list[Context],
    bought: set[str],
    min_quality: float,
    removed: dict[str, list[int]],
    order: OrderIn,
) -> list[pipeline.Scored]:
    """Predicted engagement x bid, with engagement drawn from each product's posterior (Thompson).
    Only the entries whose optimistic value could reach the top are drawn; the rest keep their mean."""
    learner = runtime.learner
    departments = {pipeline.department(category) for category in bought}
    scored: list[tuple[float, pipeline.Scored, float, float]] = []  # (optimistic value, entry, alpha, beta)
    for candidate in kept:
        product = candidate.product
        prior = pipeline.semantic_engagement(candidate.similarity, product.category, departments)
        if learner.copurchases.orders:
            by_item = [learner.copurchases.probability(c, product.id, prior) for c in contexts]
            candidate.anchor = max(range(len(by_item)), key=by_item.__getitem__)
            prior = by_item[candidate.anchor]
        context = contexts[candidate.anchor]
        strength = prior_strength(learner.copurchases.evidence(context))
        alpha, beta = learner.feedback.posterior(context.category, product.id, prior, strength)
        mean = alpha / (alpha + beta)
        if mean < min_quality:
            removed.setdefault("below_quality_floor", []).append(product.id)
            continue
        campaign = campaigns[product.partner_id]
        spread = 3 * math.sqrt(mean * (1 - mean) / (alpha + beta + 1))
        entry = pipeline.Scored(
            candidate, campaign, prior, mean, mean, pipeline.expected_value(mean, campaign), context.category
        )
        scored.append((pipeline.expected_value(mean + spread, campaign), entry, alpha, beta))
    scored.sort(key=lambda s: (-s[0], s[1].candidate.product.id))
    rng = random.Random(f"{order.order_id}|{order.shopper_key}")  # the same order draws the same samples
    for _, entry, alpha, beta in scored[:SAMPLED_CANDIDATES]:
        entry.sample = rng.betavariate(alpha, beta)
        entry.expected_value = pipeline.expected_value(entry.sample, entry.campaign)
    return pipeline.rank([entry for _, entry, _, _ in scored])


async def _fill_slots(
    runtime: Runtime, ranked: list[pipeline.Scored], slots: int, shopper_key: str
) -> list[tuple[pipeline.Scored, int]]:
    """Fill the slots in order of expected value, one offer per partner and per category (two slots
    never show the same brand twice or two near-identical products), within each campaign's
    frequency cap for this shopper; each winner pays the second price."""
    winners: list[tuple[pipeline.Scored, int]] = []
    partners: set[str] = set()
    categories: set[str] = set()
    day = time.strftime("%Y-%m-%d", time.gmtime())
    for position, entry in enumerate(ranked):
        product = entry.candidate.product
        if product.partner_id in partners or (product.category and product.category in categories):
            continue
        cap = entry.campaign.frequency_cap
        capped = cap and shopper_key
        if capped and not await runtime.counters.take(f"freq:{entry.campaign.id}:{shopper_key}:{day}", cap, 86_400):
            continue
        winners.append((entry, pipeline.second_price(entry, ranked[position + 1 :])))
        partners.add(product.partner_id)
        categories.add(product.category)
        if len(winners) == slots:
            break
    return winners


async def _dismissed(session: AsyncSession, store_id: str, shopper_key: str) -> set[int]:
    if not shopper_key:
        return set()
    stmt = select(Dismissal.product_id).where(Dismissal.store_id == store_id, Dismissal.shopper_key == shopper_key)
    return set((await session.execute(stmt)).scalars())


async def _live_campaigns(
    runtime: Runtime, session: AsyncSession, partner_ids: set[str], store: Store, order: OrderIn
) -> tuple[dict[str, pipeline.CampaignInfo], dict[str, str]]:
    """Each partner's best-paying active campaign that targets this order and can afford one more
    billable event within its budgets and its pacing; and, for partners without one, why."""
    if not partner_ids:
        return {}, {}
    stmt = (
        select(Campaign)
        .where(
            Campaign.partner_id.in_(partner_ids),
            Campaign.active.is_(True),
            or_(Campaign.ends_at.is_(None), Campaign.ends_at > utcnow()),
        )
        .order_by(Campaign.max_bid_minor.desc(), Campaign.id)
    )
    found = list((await session.execute(stmt)).scalars())
    now = time.time()
    day = time.strftime("%Y-%m-%d", time.gmtime(now))
    spend = await runtime.counters.spent_many([c.id for c in found], day)
    live: dict[str, pipeline.CampaignInfo] = {}
    why: dict[str, str] = dict.fromkeys(partner_ids, "no_campaign")
    for campaign in found:
        partner = campaign.partner_id
        if partner in live:
            continue
        daily, total = spend[campaign.id]
        bid = campaign.max_bid_minor
        if not targets(campaign.targeting, store.id, store.categories or [], order.country, order.total):
            why[partner] = "not_targeted" if why[partner] == "no_campaign" else why[partner]
        elif daily + bid > campaign.daily_budget_minor or total + bid > campaign.total_budget_minor:
            why[partner] = "budget_exhausted"
        elif daily + bid > pipeline.pacing_allowance(campaign.daily_budget_minor, bid, now % 86_400):
            why[partner] = "paced"
        else:
            live[partner] = pipeline.CampaignInfo(
                campaign.id, partner, campaign.pricing, campaign.currency, bid, campaign.frequency_cap, campaign.ends_at
            )
    return live, {p: r for p, r in why.items() if p not in live}


async def _offers(
    runtime: Runtime,
    session: AsyncSession,
    store: Store,
    order: OrderIn,
    decision: Decision,
    winners: list[tuple[pipeline.Scored, int]],
    *,
    one_click: bool,
) -> DecisionOut:
    settings = runtime.settings
    expires = int(time.time()) + settings.link_ttl_s
    details = await _details(session, [w.candidate.product.id for w, _ in winners])
    offers: list[OfferOut] = []
    session.add(decision)
    await session.flush()
    for position, (winner, price) in enumerate(winners, start=1):
        product, partner = details[winner.candidate.product.id]
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
            price_minor=price,
            currency=winner.campaign.currency,
            score=winner.expected_value * position_factor(position),
            reason=why,
            context=winner.context,
            shopper_key=order.shopper_key,
        )
        session.add(offer)
        click = sign_link(settings.secret, LinkClaims("c", offer.id, expires))
        accept = sign_link(settings.secret, LinkClaims("a", offer.id, expires))
        dismiss = sign_link(settings.secret, LinkClaims("d", offer.id, expires))
        viewed = sign_link(settings.secret, LinkClaims("v", offer.id, expires))
        offers.append(
            OfferOut(
                offer_id=offer.id,
                product_id=product.external_id,
                title=product.title,
                brand=product.brand,
                price=Price(product.price_minor, product.currency, format_minor(product.price_minor, product.currency)),
                image_link=product.image_link,
                partner=PartnerRef(product.partner_id, partner.name),
                click_url=f"{settings.public_url}/c/{click}",
                accept_url=f"{settings.public_url}/a/{accept}",
                dismiss_url=f"{settings.public_url}/d/{dismiss}",
                impression_url=f"{settings.public_url}/v/{viewed}",
                reason=why,
                one_click=one_click and bool(partner.order_url),
                ends_at=winner.campaign.ends_at,
            )
        )
    return DecisionOut(order.order_id, decision.id, offers, dict(store.theme or {}))


async def _details(session: AsyncSession, ids: list[int]) -> dict[int, tuple[Product, Partner]]:
    if not ids:
        return {}
    stmt = select(Product, Partner).join(Partner, Partner.id == Product.partner_id).where(Product.id.in_(ids))
    return {product.id: (product, partner) for product, partner in await session.execute(stmt)}


async def decision_record(session: AsyncSession, decision_id: str, store_id: str | None) -> dict[str, Any]:
    """A recorded decision with its explanation; another store's decision is reported as missing."""
    stmt = select(Decision, Order).join(Order, Order.id == Decision.order_id).where(Decision.id == decision_id)
    row = (await session.execute(stmt)).first()
    if row is None or (store_id is not None and row[0].store_id != store_id):
        raise NotFoundError(f"no decision {decision_id!r} for this store", fix="use a decision_id from POST /v1/orders")
    decision, order = row
    response = dict(decision.response)
    seen = (
        select(ViewableImpression.offer_id, ViewableImpression.created_at)
        .where(ViewableImpression.counted.is_(True))
        .join(Offer, Offer.id == ViewableImpression.offer_id)
    )
    viewed = {oid: at.isoformat() for oid, at in await session.execute(seen.where(Offer.decision_id == decision.id))}
    offers = [o | {"viewable_impression_at": viewed.get(o["offer_id"])} for o in response.get("offers", [])]
    return {
        "decision_id": decision.id,
        "order_id": order.order_ref,
        "order_verified": order.verified,
        "store_id": decision.store_id,
        "created_at": decision.created_at.isoformat(),
        "index_version": decision.index_version,
        "offers": offers,
        "explain": response.get("explain", {}),
    }


async def rank_for_evaluation(runtime: Runtime, store_key: str, order: OrderIn, k: int) -> list[str]:
    """The partner product ids of the top `k` entries of the auction's ranking for an order, with
    nothing recorded: what `encore eval baskets` scores (a store shows at most 4 of them)."""
    async with runtime.sessions() as session:
        store = await store_for_key(session, store_key)
        if store is None:
            raise NotFoundError("no store with this key", fix="pass the store's secret key")
        outcome = await _run_pipeline(runtime, session, store, checked_order(order, from_server=True))
    return [entry.candidate.product.external_id for entry in outcome.ranked[:k]]
