"""The demo store's thank-you page, served by the exchange itself."""

from __future__ import annotations

import html
import json
import uuid
from pathlib import Path
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.core.errors import InvalidInputError, NotFoundError
from exchange.core.money import format_minor
from exchange.decisions.service import decide
from exchange.runtime import Runtime
from exchange.tracking.service import verify_postback_signature
from partners.models import Partner
from publishers.schemas import OrderIn
from publishers.service import store_for_key

PAGE = Path(__file__).resolve().parents[2] / "publishers" / "static" / "demo-thank-you.html"
DEMO_FILE = "demo.json"
SHOPPER_COOKIE = "encore_demo_shopper"
DEMO_SHOPPER: dict[str, Any] = {
    "consent": True,
    "name": "Alex Morgan",  # as the page's delivery section shows
    "email": "alex.morgan@example.com",
    "shipping_address": {
        "line1": "1200 Market Street",
        "line2": "Apt 4B",
        "city": "San Francisco",
        "region": "CA",
        "postal_code": "94103",
        "country": "US",
    },
    "payment_token": {"provider": "stripe", "reference": "pm_card_visa"},
}
_DEMO_SHOP_ORDERS: dict[str, str] = {}  # Idempotency-Key -> the demo shop's order number


@get("/", include_in_schema=False)
async def home() -> Redirect:
    return Redirect("/demo/thank-you")


@get("/demo/thank-you", include_in_schema=False)
async def thank_you(
    request: Request[Any, Any, Any], runtime: Runtime, db: AsyncSession, basket: int = 0
) -> Response[str]:
    """A fresh order on every visit, so each visit runs a real decision. Like a real store, the page
    reports the order from its server (verified, with the secret key) before the widget asks for it;
    the shopper is a cookie, so a dismissed offer stays dismissed for this browser."""
    from exchange.demo.catalog import DEMO_ORDERS, DEMO_STORE_BRAND  # the generator loads only for the demo

    demo_file = runtime.settings.data_dir / DEMO_FILE
    if not demo_file.exists():
        raise NotFoundError("the demo network is not set up here", fix="start Encore with `./run demo`")
    demo = json.loads(demo_file.read_text())
    order: dict[str, Any] = dict(DEMO_ORDERS[basket % len(DEMO_ORDERS)])
    items = order["line_items"]
    order["order_id"] = f"demo-{uuid.uuid4().hex[:10]}"
    order["total"] = sum(item["price"] * item["quantity"] for item in items)
    shopper = request.cookies.get(SHOPPER_COOKIE) or uuid.uuid4().hex
    order["shopper_key"] = shopper
    page_order = dict(order)
    # The store's server reports the order with what the shopper agreed (at checkout) to share with
    # partners, for one-click offers; the page never carries it.
    order["shopper"] = DEMO_SHOPPER
    store = await store_for_key(db, demo["store_secret_key"])
    if store is None:
        raise NotFoundError("the demo store is missing", fix="delete .encore and start `./run demo` again")
    await decide(runtime, db, store, msgspec.convert(order, OrderIn), verified=True)
    rows = "".join(
        f"<li><span>{html.escape(item['title'])} &times; {item['quantity']}</span>"
        f"<span>{html.escape(format_minor(item['price'] * item['quantity'], order['currency']))}</span></li>"
        for item in items
    )
    page = (
        PAGE.read_text()
        .replace("{{STORE_NAME}}", html.escape(DEMO_STORE_BRAND))
        .replace("{{ORDER_ID}}", html.escape(order["order_id"]))
        .replace("{{ORDER_JSON}}", json.dumps(page_order).replace("<", "\\u003c"))
        .replace("{{LINE_ITEMS_HTML}}", rows)
        .replace("{{TOTAL_DISPLAY}}", html.escape(format_minor(order["total"], order["currency"])))
        .replace("{{PUBLISHABLE_KEY}}", html.escape(demo["publishable_key"]))
        .replace("{{NEXT_BASKET}}", str((basket + 1) % len(DEMO_ORDERS)))
    )
    response = Response(page, media_type="text/html; charset=utf-8")
    response.set_cookie(SHOPPER_COOKIE, shopper, max_age=365 * 86_400, httponly=True, samesite="lax")
    return response


@post("/demo/partners/{partner_id:str}/orders", include_in_schema=False, status_code=200)
async def demo_partner_shop(
    partner_id: str, request: Request[Any, Any, Any], runtime: Runtime, db: AsyncSession
) -> dict[str, str]:
    """A demo brand's shop taking one-click orders, as a real partner's order_url would: it checks
    the signature and answers a repeated Idempotency-Key with the order it already created."""
    body = await request.body()
    partner = await db.get(Partner, partner_id)
    if partner is None:
        raise NotFoundError(f"no demo partner {partner_id!r}", fix="use the order_url the demo set")
    verify_postback_signature(
        partner.signing_secret, request.headers.get("encore-signature"), body, runtime.settings.postback_tolerance_s
    )
    key = request.headers.get("idempotency-key", "")
    if not key:
        raise InvalidInputError("no Idempotency-Key header", fix="send the partner order's id as Idempotency-Key")
    number = _DEMO_SHOP_ORDERS.setdefault(key, f"DEMO-{len(_DEMO_SHOP_ORDERS) + 1001}")
    return {"order_id": number}


route_handlers = [home, thank_you, demo_partner_shop]
