"""One-click accept: the shopper confirms once; Encore sends the partner a signed, idempotent order
built from the details the store's server passed with the shopper's consent, and bills it once.

At most one partner order exists per offer (a unique key), and it is sent under one Idempotency-Key
with the same bytes every time, so a double click, a retried request or a second worker can't buy
twice: the partner sees one order id however often it is asked."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
import time
from typing import Any, Literal

import httpx
import msgspec
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.core.db import new_id, utcnow
from exchange.core.errors import ForbiddenError, GoneError, NotFoundError, UnprocessableError, UpstreamError
from exchange.models import Decision, Offer, PartnerOrder
from exchange.runtime import Runtime
from exchange.tracking.links import verify_link
from exchange.tracking.service import charge, commit_or_refund, postback_signature, today
from partners.models import Campaign, Partner, Product
from publishers.models import Order, Store

log = logging.getLogger("encore")
SEND_ATTEMPTS = 3
SEND_TIMEOUT_S = 4.0
# A order still 'sending' after this long was left by a request that died; the next accept resends it
# (same Idempotency-Key, same body), so the partner still sees one order.
STALE_SENDING = dt.timedelta(seconds=30)
RETRYABLE = frozenset({408, 409, 425, 429})
NOT_ONE_CLICK_FIX = "open the offer's click_url to buy it on the partner's site"


class AcceptOut(msgspec.Struct):
    status: Literal["confirmed", "pending"]  # pending: another request is placing it; ask again shortly
    partner_order_id: str  # Encore's id for it, and the Idempotency-Key the partner saw
    partner_order_ref: str  # the partner's own order number
    message: str  # for the shopper


class Money(msgspec.Struct):
    amount_minor: int
    currency: str


class StoreRef(msgspec.Struct):
    id: str
    name: str


class PartnerOrderBody(msgspec.Struct):
    """What the partner's order_url receives (docs/api.md, "One-click orders")."""

    id: str
    offer_id: str
    product_id: str  # the partner's own product id, from its feed
    title: str
    quantity: int
    price: Money
    store: StoreRef
    shopper: dict[str, Any]  # publishers.schemas.ShopperDetails: name, email, shipping_address, ...
    created_at: dt.datetime


class Sent(msgspec.Struct):
    status: Literal["confirmed", "declined", "failed"]
    partner_order_ref: str = ""
    detail: str = ""


async def accept(runtime: Runtime, session: AsyncSession, token: str, user_agent: str) -> AcceptOut:
    """Place the partner order for a one-click offer, or report the one already placed."""
    offer_id = verify_link(runtime.settings.secret, token, "a", int(time.time()))
    if runtime.traffic.is_bot(user_agent):
        raise ForbiddenError("automated clients can't place orders", fix="the shopper's own browser sends this")
    stmt = (
        select(Offer, Order.shopper, Partner, Campaign.ends_at)
        .join(Decision, Decision.id == Offer.decision_id)
        .join(Order, Order.id == Decision.order_id)
        .join(Partner, Partner.id == Offer.partner_id)
        .join(Campaign, Campaign.id == Offer.campaign_id)
        .where(Offer.id == offer_id)
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        raise NotFoundError("this offer no longer exists", fix="ask the store's page for a fresh offer")
    offer, shopper, partner, ends_at = row
    placed = await session.scalar(select(PartnerOrder).where(PartnerOrder.offer_id == offer.id))
    owned = False
    if placed is None:
        if not partner.order_url or shopper is None:
            raise UnprocessableError(
                "this offer can't be bought in one click: "
                + ("the partner takes no direct orders" if not partner.order_url else "the store shared no details"),
                fix=NOT_ONE_CLICK_FIX,
            )
        if ends_at is not None and ends_at <= utcnow():
            raise GoneError("this offer has ended", fix="nothing was ordered or charged")
        placed, owned = await _open(session, offer, partner, shopper)
    if placed.status == "confirmed":
        return _confirmed(placed, partner)
    if placed.status == "declined":
        raise _declined(placed, partner)
    if not owned and not await _take_over(session, placed):
        return AcceptOut("pending", placed.id, "", f"Placing your order with {partner.name}...")
    refused = await unsafe_target(partner.order_url, allow_loopback=runtime.settings.role == "all")
    if refused:
        log.warning("partner %s: one-click order not sent: %s", partner.id, refused)
        sent = Sent("declined", detail=refused)
    else:
        body = placed.request.encode()
        sent = await send_order(runtime.http, partner.order_url, partner.signing_secret, placed.id, body)
    placed.status, placed.partner_order_ref, placed.detail = sent.status, sent.partner_order_ref, sent.detail[:300]
    placed.updated_at = utcnow()
    if sent.status == "declined":
        await session.commit()
        raise _declined(placed, partner)
    if sent.status == "failed":
        await session.commit()
        raise UpstreamError(
            f"{partner.name}'s shop did not confirm the order ({sent.detail}); nothing was charged",
            fix="try again in a minute: the partner still sees one order however often it is sent",
        )
    return await _bill(runtime, session, offer, placed, partner)


async def _open(
    session: AsyncSession, offer: Offer, partner: Partner, shopper: dict[str, Any]
) -> tuple[PartnerOrder, bool]:
    """The offer's partner order, created now (True: this request sends it) or by a racing request."""
    product = await session.get(Product, offer.product_id)
    store = await session.get(Store, offer.store_id)
    assert product is not None and store is not None
    placed = PartnerOrder(
        id=new_id("po"), offer_id=offer.id, partner_id=partner.id, store_id=offer.store_id, status="sending"
    )
    placed.attempts = 1
    body = PartnerOrderBody(
        id=placed.id,
        offer_id=offer.id,
        product_id=product.external_id,
        title=product.title,
        quantity=1,
        price=Money(product.price_minor, product.currency),
        store=StoreRef(store.id, store.name),
        shopper={k: v for k, v in shopper.items() if k != "consent"},
        created_at=utcnow(),
    )
    placed.request = msgspec.json.encode(body).decode()
    session.add(placed)
    try:
        await session.commit()
    except IntegrityError:  # a second click raced this one: its order is the order
        await session.rollback()
        earlier = await session.scalar(select(PartnerOrder).where(PartnerOrder.offer_id == offer.id))
        assert earlier is not None
        return earlier, False
    return placed, True


async def _take_over(session: AsyncSession, placed: PartnerOrder) -> bool:
    """Claim a failed (or abandoned) order for sending again; False while another request sends it."""
    now = utcnow()
    stmt = (
        update(PartnerOrder)
        .where(
            PartnerOrder.id == placed.id,
            or_(
                PartnerOrder.status == "failed",
                (PartnerOrder.status == "sending") & (PartnerOrder.updated_at < now - STALE_SENDING),
            ),
        )
        .values(status="sending", attempts=PartnerOrder.attempts + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    taken: bool = (await session.execute(stmt)).rowcount == 1  # type: ignore[attr-defined]
    await session.commit()
    if taken:
        await session.refresh(placed)
    return taken


async def _bill(
    runtime: Runtime, session: AsyncSession, offer: Offer, placed: PartnerOrder, partner: Partner
) -> AcceptOut:
    """A confirmed order bills a CPA campaign its price; on a CPC campaign it is the engagement
    (billed unless a click on this offer already was). One ledger transaction: `accept:<id>`."""
    day = today()
    first = await runtime.counters.claim(f"engage:{offer.id}", runtime.settings.click_dedup_s)
    if offer.pricing == "cpa" or first:
        placed.billed = await charge(runtime, session, offer, f"accept:{placed.id}", day)
        placed.not_billed_reason = "" if placed.billed else "budget_exhausted"
    else:
        placed.not_billed_reason = "repeat_click"
    await commit_or_refund(runtime, session, offer, day, placed.billed)
    if first:
        runtime.learner.feedback.engaged(offer.context, offer.product_id)
    return _confirmed(placed, partner)


def _confirmed(placed: PartnerOrder, partner: Partner) -> AcceptOut:
    number = f" (order {placed.partner_order_ref})" if placed.partner_order_ref else ""
    message = f"Ordered from {partner.name}{number}. They will email you a confirmation."
    return AcceptOut("confirmed", placed.id, placed.partner_order_ref, message)


def _declined(placed: PartnerOrder, partner: Partner) -> UnprocessableError:
    return UnprocessableError(
        f"{partner.name} could not take this order: {placed.detail or 'no reason given'}",
        fix="nothing was ordered or charged; the shopper can choose another offer",
    )


async def unsafe_target(url: str, *, allow_loopback: bool) -> str:
    """Why the exchange must not call `url`, or "". A partner sets its own order_url, so it must not
    point the exchange at its private network (cloud metadata, databases, admin ports). Loopback is
    allowed only to a single-process exchange (development and the demo). The name is checked when
    the order is sent, as it resolves then."""
    host = httpx.URL(url).host
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None)
    except OSError:
        return f"{host} does not resolve"
    for address in {str(info[4][0]) for info in infos}:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if ip.is_loopback and allow_loopback:
            continue
        if not ip.is_global:  # private, loopback, link-local, shared (100.64/10: some clouds' metadata)
            return f"{host} resolves to a private address ({ip}); order_url must be reachable on the internet"
    return ""


async def send_order(client: httpx.AsyncClient, url: str, secret: str, key: str, body: bytes) -> Sent:
    """POST the order, signed like postbacks (`Encore-Signature: t=...,v1=...`), under `Idempotency-Key`.
    Timeouts, 5xx and 408/409/425/429 are retried with the same key and body; another 4xx is the
    partner declining (out of stock, cannot ship there), and its message is kept."""
    detail = ""
    for attempt in range(SEND_ATTEMPTS):
        if attempt:
            await asyncio.sleep(0.25 * 3**attempt)
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            "Encore-Signature": postback_signature(secret, body),
            "User-Agent": "Encore-Orders/1",
        }
        try:
            response = await client.post(url, content=body, headers=headers, timeout=SEND_TIMEOUT_S)
        except httpx.HTTPError as exc:
            detail = f"{type(exc).__name__} calling {url}"
            continue
        if response.is_success:
            return Sent("confirmed", partner_order_ref=_field(response, "order_id")[:100])
        detail = (
            f"HTTP {response.status_code}: {_field(response, 'detail', 'message', 'error') or response.reason_phrase}"
        )
        if response.status_code < 500 and response.status_code not in RETRYABLE:
            return Sent("declined", detail=detail)
    return Sent("failed", detail=detail)


def _field(response: httpx.Response, *names: str) -> str:
    """The first of `names` in a JSON object answer, as text; empty when there is none."""
    try:
        data = response.json()
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    return next((str(data[name]) for name in names if data.get(name) not in (None, "")), "")
