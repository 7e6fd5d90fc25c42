"""The demo store's thank-you page, served by the exchange itself."""

from __future__ import annotations

import html
import json
import uuid
from pathlib import Path
from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.core.errors import NotFoundError
from exchange.core.money import format_minor
from exchange.decisions.service import decide
from exchange.runtime import Runtime
from publishers.schemas import OrderIn
from publishers.service import store_for_key

PAGE = Path(__file__).resolve().parents[2] / "publishers" / "static" / "demo-thank-you.html"
DEMO_FILE = "demo.json"
SHOPPER_COOKIE = "encore_demo_shopper"


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
        .replace("{{ORDER_JSON}}", json.dumps(order).replace("<", "\\u003c"))
        .replace("{{LINE_ITEMS_HTML}}", rows)
        .replace("{{TOTAL_DISPLAY}}", html.escape(format_minor(order["total"], order["currency"])))
        .replace("{{PUBLISHABLE_KEY}}", html.escape(demo["publishable_key"]))
        .replace("{{NEXT_BASKET}}", str((basket + 1) % len(DEMO_ORDERS)))
    )
    response = Response(page, media_type="text/html; charset=utf-8")
    response.set_cookie(SHOPPER_COOKIE, shopper, max_age=365 * 86_400, httponly=True, samesite="lax")
    return response


route_handlers = [home, thank_you]
