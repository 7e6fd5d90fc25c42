"""Engagement: clicks and accepts through signed links, and partners' conversion postbacks."""

from __future__ import annotations

import hashlib
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.core.db import new_id
from exchange.core.errors import AuthenticationError, InvalidInputError, NotFoundError, UnprocessableError
from exchange.core.keys import hmac_hex, keys_equal
from exchange.ledger.service import post_billable
from exchange.models import Click, Conversion, Decision, Dismissal, Offer, ViewableImpression
from exchange.runtime import Runtime
from exchange.tracking.links import LinkKind, verify_link
from partners.models import Campaign, Partner, Product
from partners.schemas import ConversionIn, ConversionOut
from publishers.models import Order, Store

# Link previewers and crawlers follow every link they see; none of them is a shopper.
# Issue 7 makes this list pluggable and adds data-centre ranges and click floods.
BOT_USER_AGENT_MARKERS = ("bot", "crawler", "spider", "slurp", "facebookexternalhit", "preview")


def is_bot(user_agent: str) -> bool:
    ua = user_agent.lower()
    return not ua or any(marker in ua for marker in BOT_USER_AGENT_MARKERS)


def today() -> str:
    return time.strftime("%Y-%m-%d", time.gmtime())


def with_click_id(link: str, click_id: str) -> str:
    """The catalog link with `encore_click` added, which the partner echoes in its postback."""
    parts = urlsplit(link)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("encore_click", click_id)]
    return urlunsplit(parts._replace(query=urlencode(query)))


async def engage(runtime: Runtime, session: AsyncSession, token: str, kind: LinkKind, user_agent: str) -> str:
    """Record a click or an accept, bill it once if the campaign is CPC, and return where to send the shopper."""
    settings = runtime.settings
    offer_id = verify_link(settings.secret, token, kind, int(time.time()))
    offer = await session.get(Offer, offer_id)
    if offer is None:
        raise NotFoundError("this offer no longer exists", fix="ask the store's page for a fresh offer")
    product = await session.get(Product, offer.product_id)
    assert product is not None
    click = Click(id=new_id("clk"), offer_id=offer.id, kind="accept" if kind == "a" else "click", billed=False)
    click.user_agent = user_agent[:300]
    day = today()
    # Order matters: a bot must not use up the de-duplication window, nor a repeat the budget. The
    # first engagement in the window is what is billed (CPC) and what the matcher learns from.
    bot = is_bot(user_agent)
    first = not bot and await runtime.counters.claim(f"engage:{offer.id}", settings.click_dedup_s)
    if bot:
        click.not_billed_reason = "bot_user_agent"
    elif offer.pricing != "cpc":
        click.not_billed_reason = "cpa_campaign"
    elif not first:
        click.not_billed_reason = "repeat_click"
    else:
        click.billed = await charge(runtime, session, offer, f"click:{click.id}", day)
        click.not_billed_reason = "" if click.billed else "budget_exhausted"
    session.add(click)
    await commit_or_refund(runtime, session, offer, day, click.billed)
    if first:
        runtime.learner.feedback.engaged(offer.context, offer.product_id)
    return with_click_id(product.link, click.id)


async def viewed(runtime: Runtime, session: AsyncSession, token: str) -> bool:
    """A viewable impression (at least half the offer on screen for a second), counted once per
    offer and only when the order was verified by the store's server; True when it counted."""
    offer_id = verify_link(runtime.settings.secret, token, "v", int(time.time()))
    stmt = (
        select(Offer.store_id, Order.verified)
        .join(Decision, Decision.id == Offer.decision_id)
        .join(Order, Order.id == Decision.order_id)
        .where(Offer.id == offer_id)
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        raise NotFoundError("this offer no longer exists", fix="nothing to do")
    if not row.verified or await session.get(ViewableImpression, offer_id) is not None:
        return False
    session.add(ViewableImpression(offer_id=offer_id, store_id=row.store_id))
    try:
        await session.commit()
    except IntegrityError:  # the same beacon raced us
        await session.rollback()
        return False
    return True


async def dismiss(runtime: Runtime, session: AsyncSession, token: str) -> None:
    """The shopper closed the offer: that product is not shown to that shopper again, and the
    matcher learns the product was unwelcome after that purchase. Repeating it changes nothing."""
    offer_id = verify_link(runtime.settings.secret, token, "d", int(time.time()))
    offer = await session.get(Offer, offer_id)
    if offer is None:
        raise NotFoundError("this offer no longer exists", fix="nothing to do: it will not be shown again")
    if await session.get(Dismissal, offer.id) is not None:
        return
    session.add(
        Dismissal(
            offer_id=offer.id, store_id=offer.store_id, shopper_key=offer.shopper_key, product_id=offer.product_id
        )
    )
    try:
        await session.commit()
    except IntegrityError:  # the same dismissal raced us
        await session.rollback()
        return
    runtime.learner.feedback.dismissed(offer.context, offer.product_id)


async def charge(runtime: Runtime, session: AsyncSession, offer: Offer, event_ref: str, day: str) -> bool:
    """Reserve the offer's price from the campaign's budgets and add the ledger transaction to the
    session; False, with nothing added, when the budget cannot cover it."""
    campaign = await session.get(Campaign, offer.campaign_id)
    store = await session.get(Store, offer.store_id)
    assert campaign is not None and store is not None
    if not await runtime.counters.try_spend(
        campaign.id, day, offer.price_minor, campaign.daily_budget_minor, campaign.total_budget_minor
    ):
        return False
    post_billable(
        session,
        event_ref=event_ref,
        kind=offer.pricing,
        store_id=store.id,
        share_bps=store.revenue_share_bps,
        partner_id=offer.partner_id,
        campaign_id=offer.campaign_id,
        currency=offer.currency,
        gross_minor=offer.price_minor,
    )
    return True


async def commit_or_refund(runtime: Runtime, session: AsyncSession, offer: Offer, day: str, spent: bool) -> None:
    try:
        await session.commit()
    except Exception:
        if spent:  # nothing was billed, so the reserved budget goes back
            await runtime.counters.refund(offer.campaign_id, day, offer.price_minor)
        raise


def verify_postback_signature(secret: str, header: str | None, body: bytes, tolerance_s: int) -> None:
    """`Encore-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>` (Stripe's scheme)."""
    fix = 'send Encore-Signature: t=<unix time>,v1=<hex HMAC-SHA256(signing_secret, "<t>." + raw body)>'
    fields = dict(part.strip().partition("=")[::2] for part in (header or "").split(",") if "=" in part)
    if "t" not in fields or "v1" not in fields or not fields["t"].isdigit():
        raise AuthenticationError("missing or malformed Encore-Signature header", fix=fix)
    if abs(time.time() - int(fields["t"])) > tolerance_s:
        raise AuthenticationError("Encore-Signature timestamp is too old or in the future", fix=fix)
    expected = hmac_hex(secret, fields["t"].encode() + b"." + body)
    if not keys_equal(expected, fields["v1"]):
        raise AuthenticationError("Encore-Signature does not match the body", fix=fix)


async def convert(
    runtime: Runtime, session: AsyncSession, partner_id: str, body: bytes, signature: str | None
) -> ConversionOut:
    """A partner's conversion postback: bills a CPA campaign once per transaction id."""
    partner = await session.get(Partner, partner_id)
    if partner is None:
        raise NotFoundError(f"no partner {partner_id!r}", fix="post to /v1/partners/<your partner id>/conversions")
    verify_postback_signature(partner.signing_secret, signature, body, runtime.settings.postback_tolerance_s)
    try:
        postback = msgspec.json.decode(body, type=ConversionIn)
    except msgspec.ValidationError as exc:
        raise InvalidInputError(
            f"invalid conversion: {exc}", fix='send {"transaction_id": "...", "click_id": "clk_..."}'
        ) from exc
    except msgspec.DecodeError as exc:
        raise InvalidInputError(
            "the body is not JSON", fix='send {"transaction_id": "...", "click_id": "clk_..."}'
        ) from exc
    digest = hashlib.sha256(body).hexdigest()
    earlier = await _conversion_reply(session, partner_id, postback.transaction_id, digest)
    if earlier is not None:
        return earlier
    click = await session.get(Click, postback.click_id)
    offer = await session.get(Offer, click.offer_id) if click is not None else None
    if click is None or offer is None or offer.partner_id != partner_id:
        raise NotFoundError(
            f"no click {postback.click_id!r} on this partner's offers",
            fix="send the encore_click value from the landing URL's query string",
        )
    conversion = Conversion(
        id=new_id("cnv"),
        partner_id=partner_id,
        transaction_id=postback.transaction_id,
        click_id=click.id,
        body_hash=digest,
        billed=False,
    )
    day = today()
    if offer.pricing != "cpa":
        conversion.not_billed_reason = "cpc_campaign"
    else:
        conversion.billed = await charge(runtime, session, offer, f"conversion:{conversion.id}", day)
        conversion.not_billed_reason = "" if conversion.billed else "budget_exhausted"
    session.add(conversion)
    try:
        await commit_or_refund(runtime, session, offer, day, conversion.billed)
    except IntegrityError:  # the same postback raced us: the first one's answer stands
        await session.rollback()
        earlier = await _conversion_reply(session, partner_id, postback.transaction_id, digest)
        assert earlier is not None
        return earlier
    return _conversion_out(conversion, offer)


async def _conversion_reply(
    session: AsyncSession, partner_id: str, transaction_id: str, digest: str
) -> ConversionOut | None:
    stmt = (
        select(Conversion, Offer)
        .join(Click, Click.id == Conversion.click_id)
        .join(Offer, Offer.id == Click.offer_id)
        .where(Conversion.partner_id == partner_id, Conversion.transaction_id == transaction_id)
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        return None
    conversion, offer = row
    if conversion.body_hash != digest:
        raise UnprocessableError(
            f"transaction {transaction_id!r} was already posted with a different body",
            fix="retry with the exact same body, or use a new transaction_id for a new sale",
        )
    return _conversion_out(conversion, offer)


def _conversion_out(conversion: Conversion, offer: Offer) -> ConversionOut:
    return ConversionOut(
        id=conversion.id,
        transaction_id=conversion.transaction_id,
        click_id=conversion.click_id,
        billed=conversion.billed,
        not_billed_reason=conversion.not_billed_reason,
        charged_minor=offer.price_minor if conversion.billed else 0,
        currency=offer.currency,
    )
