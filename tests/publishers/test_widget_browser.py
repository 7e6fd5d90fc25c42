"""The widget in a real browser (Debian's headless Chromium, driven by Playwright) on the demo
store's thank-you page, served by a real exchange on loopback: what a shopper and a store see."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from exchange.app import create_app
from exchange.demo.setup import build_demo
from exchange.runtime import open_runtime
from exchange.settings import Settings

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (a dev dependency)")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("needs Debian's chromium: apt-get install chromium (.ci/run installs it)", allow_module_level=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "screenshots"
STORE_PARTS = ("header.site", ".hero", "section[aria-labelledby=summary-title]")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Exchange:
    def __init__(self, url: str, settings: Settings, demo: dict[str, Any]) -> None:
        self.url, self.settings, self.demo = url, settings, demo
        self.store = {"Authorization": f"Bearer {demo['store_secret_key']}"}
        self.operator = {"Authorization": f"Bearer {settings.admin_key}"}

    def get(self, path: str, headers: dict[str, str]) -> Any:
        r = httpx.get(self.url + path, headers=headers, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture(scope="module")
def exchange(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exchange]:
    """The demo network (small), served by uvicorn in a thread, as `./run demo` serves it."""
    import uvicorn

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(data_dir=tmp_path_factory.mktemp("encore"), admin_key="adm", secret="s" * 40, public_url=url)

    async def build() -> dict[str, Any]:
        runtime = await open_runtime(settings)
        try:
            return await build_demo(runtime, products=600, brands=30)
        finally:
            await runtime.close()

    asyncio.run(build())
    demo = json.loads((settings.data_dir / "demo.json").read_text())
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    yield Exchange(url, settings, demo)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(exchange: Exchange) -> Iterator[Any]:
    # Playwright's sync API runs an event loop on this thread: the exchange must be built before it.
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(params=[(1280, 900), (375, 812)], ids=["desktop", "mobile"])
def page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height})
    # Partner sites and images are not reachable from here: answer for them as they would.
    context.route(lambda url: not url.startswith("http://127.0.0.1"), lambda route: route.fulfill(body="partner"))
    page = context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    yield page
    context.close()


def _open(page: Any, exchange: Exchange, basket: int = 0) -> dict[str, Any]:
    """Load the thank-you page; the widget's decision as it received it."""
    with page.expect_response(lambda r: r.url.endswith("/v1/widget/offers")) as answer:
        page.goto(f"{exchange.url}/demo/thank-you?basket={basket}")
    decision: dict[str, Any] = answer.value.json()
    page.locator("#encore-offers article").first.wait_for()
    return decision


def _layout(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """parts => Object.fromEntries(parts.map(sel => {
             const el = document.querySelector(sel), r = el.getBoundingClientRect(), s = getComputedStyle(el);
             return [sel, [r.x, r.y, r.width, r.height, s.fontFamily, s.color, s.fontSize]];
           }))""",
        list(STORE_PARTS),
    )


def test_offers_render_and_the_store_page_keeps_its_layout(page: Any, exchange: Exchange) -> None:
    page.route("**/widget.js", lambda route: route.abort())
    page.goto(f"{exchange.url}/demo/thank-you?basket=0")
    without = _layout(page)
    page.unroute("**/widget.js")
    page.console_errors.clear()  # the blocked script's own error
    decision = _open(page, exchange)
    cards = page.locator("#encore-offers article")
    assert cards.count() == len(decision["offers"]) >= 1
    first = decision["offers"][0]
    assert cards.first.locator("h3").inner_text() == first["title"]
    assert page.locator("#encore-offers").get_by_text("Partner offer", exact=True).is_visible()  # labelled as an ad
    assert _layout(page) == without  # the store's own parts did not move or restyle
    assert page.evaluate("document.body.scrollWidth <= window.innerWidth")  # no sideways scrolling
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(SCREENSHOTS / f"thank-you-{width}px.png"), full_page=True)
    assert page.console_errors == []


def test_a_viewable_impression_is_counted_once_for_a_verified_order(page: Any, exchange: Exchange) -> None:
    with page.expect_response(lambda r: "/v/" in r.url) as beacon:
        decision = _open(page, exchange, basket=1)
        page.locator("#encore-offers article").first.scroll_into_view_if_needed()
    assert beacon.value.status == 204
    page.wait_for_timeout(1500)  # any second beacon for the same offer would have been sent by now
    record = exchange.get(f"/v1/decisions/{decision['decision_id']}", exchange.store)
    assert record["order_verified"] is True  # the page's server reported the order first
    viewed = [o for o in record["offers"] if o["viewable_impression_at"]]
    assert viewed and viewed[0]["offer_id"] == decision["offers"][0]["offer_id"]


def test_a_click_goes_through_the_signed_redirect(page: Any, exchange: Exchange) -> None:
    decision = _open(page, exchange, basket=2)
    offer = decision["offers"][0]
    before = _clicks(exchange)
    signed = page.context.expect_event("response", lambda r: "/c/" in r.url)
    # The partner's site is not reachable from here (routes do not see redirects): its request is enough.
    to_partner = page.context.expect_event("request", lambda r: "encore_click=" in r.url)
    with page.expect_popup(), signed as redirect, to_partner as landing_request:
        page.locator("#encore-offers article").first.get_by_role("link").click()
    assert redirect.value.status == 302
    landing = urlsplit(redirect.value.headers["location"])
    assert parse_qs(landing.query)["encore_click"][0].startswith("clk_")
    assert landing_request.value.url == redirect.value.headers["location"]
    assert _clicks(exchange) == before + 1, offer


def _clicks(exchange: Exchange) -> int:
    today = time.strftime("%Y-%m-%d", time.gmtime())
    report = exchange.get(f"/v1/reports/payouts?start={today}&end={today}", exchange.operator)
    return sum(row["clicks"] for row in report["rows"])


def test_a_dismissed_offer_disappears_and_is_not_shown_again(page: Any, exchange: Exchange) -> None:
    decision = _open(page, exchange, basket=3)
    title = decision["offers"][0]["title"]
    card = page.locator("#encore-offers article").filter(has_text=title)
    with page.expect_response(lambda r: "/d/" in r.url) as beacon:
        card.get_by_role("button", name=f"No thanks, hide {title}").click()
    assert beacon.value.status == 204
    assert card.count() == 0
    again = _open(page, exchange, basket=3)  # the same shopper (cookie), the same basket, a new order
    assert title not in [offer["title"] for offer in again["offers"]]
    assert page.locator("#encore-offers article").filter(has_text=title).count() == 0
