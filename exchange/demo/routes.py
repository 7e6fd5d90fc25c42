"""The demo store's thank-you page, served by the exchange itself."""

from __future__ import annotations

import html
import json
import uuid
from pathlib import Path
from typing import Any

from litestar import Response, get
from litestar.response import Redirect

from exchange.core.errors import NotFoundError
from exchange.core.money import format_minor
from exchange.runtime import Runtime

PAGE = Path(__file__).resolve().parents[2] / "publishers" / "static" / "demo-thank-you.html"
DEMO_FILE = "demo.json"


@get("/", include_in_schema=False)
async def home() -> Redirect:
    return Redirect("/demo/thank-you")


@get("/demo/thank-you", include_in_schema=False)
async def thank_you(runtime: Runtime, basket: int = 0) -> Response[str]:
    """A fresh order on every visit, so each visit runs a real decision."""
    from exchange.demo.catalog import DEMO_ORDERS, DEMO_STORE_BRAND  # the generator loads only for the demo

    demo_file = runtime.settings.data_dir / DEMO_FILE
    if not demo_file.exists():
        raise NotFoundError("the demo network is not set up here", fix="start Encore with `./run demo`")
    demo = json.loads(demo_file.read_text())
    order: dict[str, Any] = dict(DEMO_ORDERS[basket % len(DEMO_ORDERS)])
    items = order["line_items"]
    order["order_id"] = f"demo-{uuid.uuid4().hex[:10]}"
    order["total"] = sum(item["price"] * item["quantity"] for item in items)
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
    return Response(page, media_type="text/html; charset=utf-8")


route_handlers = [home, thank_you]
