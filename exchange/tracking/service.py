"""Engagement: clicks and accepts through signed links, and partners' conversion postbacks."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.core.db import new_id, utcnow
from exchange.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    UnprocessableError,
)
from exchange.core.idempotency import Remember, once
from exchange.core.keys import hmac_hex, keys_equal
from exchange.ledger.service import post_billable, post_reversal
from exchange.models import Click, Conversion, Decision, Dismissal, Offer, PartnerOrder, Reversal, ViewableImpression
from exchange.observability import CLICKS, CONVERSIONS, SPEND
from exchange.runtime import Runtime
from exchange.tracking.ivt import INVALID
from exchange.tracking.links import LinkKind, verify_link
from partners.models import Campaign, Partner, Product
from partners.schemas import ConversionIn, ConversionOut, ReversalIn, ReversalOut
from publishers.models import Order, Store

S = TypeVar("S", bound=msgspec.Struct)


def today() -> str:
    return time.strftime("%Y-%m-%d", time.gmtime())


def with_click_id(link: str, click_id: str) -> str:
    """The catalog link with `encore_click` added, which the partner echoes in its postback."""
    parts = urlsplit(link)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("encore_click", click_id)]
    return urlunsplit(parts._replace(query=urlencode(query)))


async def engage(runtime: Runtime, session: AsyncSession, token: str, kind: LinkKind, user_agent: str, ip: str) -> str:
    """Record a click or an accept, bill it once if the campaign is CPC and the click is valid
    traffic, and return where to send the shopper (invalid traffic is redirected too, never billed)."""
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
    # Order matters: invalid traffic must not use up the de-duplication window, nor a repeat the
    # budget. The first valid engagement in the window is what is billed (CPC) and learned from.

    async def seen() -> bool:
        return await session.get(ViewableImpression, offer.id) is not None

    invalid = await runtime.traffic.judge(
        runtime.counters, user_agent=user_agent, ip=ip, shopper_key=offer.shopper_key, seen=seen
    )
    first = not invalid and await runtime.counters.claim(f"engage:{offer.id}", settings.click_dedup_s)
    if invalid:
        click.not_billed_reason = invalid
    elif offer.pricing != "cpc":
        click.not_billed_reason = "cpa_campaign"
    elif not first:
        click.not_billed_reason = "repeat_click"
    else:
        click.billed = await charge(runtime, session, offer, f"click:{click.id}", day)
        click.not_billed_reason = "" if click.billed else "budget_exhausted"
    session.add(click)
    await commit_or_refund(runtime, session, offer, day, click.billed)
    CLICKS.labels(outcome="billed" if click.billed else click.not_billed_reason).inc()
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
    earlier = await session.get(ViewableImpression, offer_id)
    if earlier is not None:
        if earlier.counted or not row.verified:
            return False
        earlier.counted = True  # seen before the store's server vouched for the order; it has now
        await session.commit()
        return True
    # Recorded for every order (a later click then had an impression before it), counted toward the
    # store's figures only for verified ones.
    session.add(ViewableImpression(offer_id=offer_id, store_id=row.store_id, counted=row.verified))
    try:
        await session.commit()
    except IntegrityError:  # the same beacon raced us
        await session.rollback()
        return False
    return bool(row.verified)


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
    try:
        await post_billable(
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
    except BaseException:
        await runtime.counters.refund(campaign.id, day, offer.price_minor)  # nothing was posted
        raise
    SPEND.labels(currency=offer.currency).inc(offer.price_minor)
    return True


async def commit_or_refund(runtime: Runtime, session: AsyncSession, offer: Offer, day: str, spent: bool) -> None:
    try:
        await session.commit()
    except Exception:
        if spent:  # nothing was billed, so the reserved budget goes back
            await runtime.counters.refund(offer.campaign_id, day, offer.price_minor)
        raise


def postback_signature(secret: str, body: bytes, at: int | None = None) -> str:
    """The `Encore-Signature` header for `body`: what partners send, and what Encore sends them."""
    stamp = str(int(time.time()) if at is None else at)
    return f"t={stamp},v1={hmac_hex(secret, stamp.encode() + b'.' + body)}"


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
    """A partner's conversion postback: bills a CPA campaign once per transaction id, attributed to
    the last valid click on the offer inside the campaign's attribution window."""
    partner = await _signed_by(runtime, session, partner_id, body, signature)
    postback = _decode(body, ConversionIn, '{"transaction_id": "...", "click_id": "clk_..."}')
    return await once(
        session,
        f"conversion:{partner.id}",
        postback.transaction_id,
        body,
        ConversionOut,
        lambda remember: _convert(runtime, session, partner.id, postback, hashlib.sha256(body).hexdigest(), remember),
    )


async def _convert(
    runtime: Runtime, session: AsyncSession, partner_id: str, postback: ConversionIn, digest: str, remember: Remember
) -> ConversionOut:
    click = await session.get(Click, postback.click_id)
    offer = await session.get(Offer, click.offer_id) if click is not None else None
    if click is None or offer is None or offer.partner_id != partner_id:
        raise NotFoundError(
            f"no click {postback.click_id!r} on this partner's offers",
            fix="send the encore_click value from the landing URL's query string",
        )
    campaign = await session.get(Campaign, offer.campaign_id)
    assert campaign is not None
    attributed, why_not = await _attribute(session, offer, campaign.attribution_window_days)
    conversion = Conversion(
        id=new_id("cnv"),
        partner_id=partner_id,
        transaction_id=postback.transaction_id,
        click_id=attributed.id if attributed is not None else click.id,
        body_hash=digest,
        billed=False,
    )
    day = today()
    one_click = (
        await session.scalar(select(PartnerOrder).where(PartnerOrder.offer_id == offer.id))
        if offer.pricing == "cpa"
        else None
    )
    if offer.pricing != "cpa":
        conversion.not_billed_reason = "cpc_campaign"
    elif why_not:
        conversion.not_billed_reason = why_not
    elif one_click is not None and one_click.status == "sending":
        raise ConflictError(
            "a one-click order for this offer is being placed right now", fix="retry in a second with the same body"
        )
    elif one_click is not None and one_click.billed:
        conversion.not_billed_reason = "billed_at_accept"  # the one-click order was this sale
    else:
        conversion.billed = await charge(runtime, session, offer, f"conversion:{conversion.id}", day)
        conversion.not_billed_reason = "" if conversion.billed else "budget_exhausted"
    session.add(conversion)
    answer = ConversionOut(
        id=conversion.id,
        transaction_id=conversion.transaction_id,
        click_id=conversion.click_id,
        billed=conversion.billed,
        not_billed_reason=conversion.not_billed_reason,
        charged_minor=offer.price_minor if conversion.billed else 0,
        currency=offer.currency,
    )
    await remember(answer)
    CONVERSIONS.labels(outcome="billed" if conversion.billed else conversion.not_billed_reason).inc()
    try:
        await commit_or_refund(runtime, session, offer, day, conversion.billed)
    except IntegrityError as exc:  # the transaction id was recorded before idempotency keys existed
        raise UnprocessableError(
            f"transaction {postback.transaction_id!r} was already posted", fix="use a new transaction_id for a new sale"
        ) from exc
    return answer


async def _attribute(session: AsyncSession, offer: Offer, window_days: int) -> tuple[Click | None, str]:
    """The last valid click or accept on the offer inside the window, or why there is none."""
    since = utcnow() - dt.timedelta(days=window_days)
    valid = Click.offer_id == offer.id, Click.not_billed_reason.not_in(INVALID)
    stmt = select(Click).where(*valid, Click.created_at >= since).order_by(Click.created_at.desc()).limit(1)
    last = await session.scalar(stmt)
    if last is not None:
        return last, ""
    older = await session.scalar(select(Click.id).where(*valid).limit(1))
    return None, "outside_attribution_window" if older is not None else "invalid_click"


async def reverse(
    runtime: Runtime, session: AsyncSession, partner_id: str, body: bytes, signature: str | None
) -> ReversalOut:
    """A refund or chargeback of a sale this partner was billed for: the sale's ledger transaction is
    negated exactly (store and exchange shares included) and the budget given back. Once per sale."""
    partner = await _signed_by(runtime, session, partner_id, body, signature)
    reversal = _decode(body, ReversalIn, '{"reversal_id": "...", "transaction_id": "...", "kind": "refund"}')
    return await once(
        session,
        f"reversal:{partner.id}",
        reversal.reversal_id,
        body,
        ReversalOut,
        lambda remember: _reverse(runtime, session, partner.id, reversal, remember),
    )


async def _reverse(
    runtime: Runtime, session: AsyncSession, partner_id: str, call: ReversalIn, remember: Remember
) -> ReversalOut:
    sale = await _billed_sale(session, partner_id, call.transaction_id)
    if sale is None:
        out = ReversalOut(call.reversal_id, call.transaction_id, call.kind, 0, "", "not_billed")
        await remember(out)
        await session.commit()
        return out
    event_ref, offer = sale
    done = await session.scalar(select(Reversal).where(Reversal.reverses == event_ref))
    if done is not None:
        raise ConflictError(
            f"transaction {call.transaction_id!r} was already reversed ({done.reversal_id!r})",
            fix="a sale is reversed once; nothing more to do",
        )
    record = Reversal(id=new_id("rev"), partner_id=partner_id, reversal_id=call.reversal_id, reverses=event_ref)
    posted = await post_reversal(session, f"reversal:{record.id}", event_ref)
    assert posted is not None
    record.kind, record.amount_minor, record.currency = call.kind, -posted.gross_minor, posted.currency
    session.add(record)
    out = ReversalOut(call.reversal_id, call.transaction_id, call.kind, record.amount_minor, record.currency, "")
    await remember(out)
    await session.commit()
    await runtime.counters.refund(offer.campaign_id, today(), record.amount_minor)
    return out


async def _billed_sale(session: AsyncSession, partner_id: str, transaction_id: str) -> tuple[str, Offer] | None:
    """(ledger event_ref, offer) of a billed conversion or one-click order; None if it was not billed."""
    placed = await session.get(PartnerOrder, transaction_id) if transaction_id.startswith("po_") else None
    if placed is not None and placed.partner_id == partner_id:
        offer = await session.get(Offer, placed.offer_id)
        assert offer is not None
        return (f"accept:{placed.id}", offer) if placed.billed else None
    stmt = (
        select(Conversion, Offer).join(Click, Click.id == Conversion.click_id).join(Offer, Offer.id == Click.offer_id)
    )
    row = (
        await session.execute(
            stmt.where(Conversion.partner_id == partner_id, Conversion.transaction_id == transaction_id)
        )
    ).first()
    if row is None:
        raise NotFoundError(
            f"no sale {transaction_id!r} for this partner",
            fix="send the transaction_id of a conversion you posted, or the po_... id of a one-click order",
        )
    conversion, offer = row
    return (f"conversion:{conversion.id}", offer) if conversion.billed else None


async def _signed_by(
    runtime: Runtime, session: AsyncSession, partner_id: str, body: bytes, signature: str | None
) -> Partner:
    partner = await session.get(Partner, partner_id)
    if partner is None:
        raise NotFoundError(f"no partner {partner_id!r}", fix="post to /v1/partners/<your partner id>/...")
    verify_postback_signature(partner.signing_secret, signature, body, runtime.settings.postback_tolerance_s)
    return partner


def _decode(body: bytes, kind: type[S], example: str) -> S:
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        raise InvalidInputError(f"invalid body: {exc}", fix=f"send {example}") from exc
    except msgspec.DecodeError as exc:
        raise InvalidInputError("the body is not JSON", fix=f"send {example}") from exc
