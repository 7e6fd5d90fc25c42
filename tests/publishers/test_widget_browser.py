"""The widget in a real browser (Debian's headless Chromium, driven by Playwright) on the demo
store's thank-you page, served by a real exchange on loopback: what a shopper and a store see."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bench.live import LiveDemo, live_demo
from tests.support import BROWSER_UA, PartnerShop, bearer

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (a dev dependency)")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("needs Debian's chromium: apt-get install chromium (.ci/run installs it)", allow_module_level=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "screenshots"
MOBILE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"
)
STORE_PARTS = ("header.site", ".hero", "section[aria-labelledby=summary-title]")


@pytest.fixture(scope="module")
def exchange(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDemo]:
    with live_demo(tmp_path_factory.mktemp("encore")) as demo:
        yield demo


@pytest.fixture(scope="module")
def partner_shop(exchange: LiveDemo) -> Iterator[PartnerShop]:
    """Every demo brand takes one-click orders at a real HTTP endpoint of its own, here on loopback."""
    shop = PartnerShop()
    shop.delay_s = 0.3  # slow enough that a double click's second request would overlap the first
    for partner in exchange.demo["partners"]:
        headers = bearer(partner["secret_key"])
        r = httpx.patch(f"{exchange.url}/v1/partner", json={"order_url": shop.order_url(partner)}, headers=headers)
        r.raise_for_status()
    yield shop
    shop.close()


@pytest.fixture(scope="module")
def browser(exchange: LiveDemo) -> Iterator[Any]:
    # Playwright's sync API runs an event loop on this thread: the exchange must be built before it.
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(params=[(1280, 900), (375, 812)], ids=["desktop", "mobile"])
def page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    width, height = request.param
    # Headless Chromium says "HeadlessChrome", which the invalid-traffic rules filter as a bot: present
    # as the browser a shopper would use.
    agent = MOBILE_UA if width < 500 else BROWSER_UA
    context = browser.new_context(viewport={"width": width, "height": height}, user_agent=agent)
    # Partner sites and images are not reachable from here: answer for them as they would.
    context.route(lambda url: not url.startswith("http://127.0.0.1"), lambda route: route.fulfill(body="partner"))
    page = context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    yield page
    context.close()


def _open(page: Any, exchange: LiveDemo, basket: int = 0) -> dict[str, Any]:
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


def test_offers_render_and_the_store_page_keeps_its_layout(page: Any, exchange: LiveDemo) -> None:
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


def test_a_viewable_impression_is_counted_once_for_a_verified_order(page: Any, exchange: LiveDemo) -> None:
    with page.expect_response(lambda r: "/v/" in r.url) as beacon:
        decision = _open(page, exchange, basket=1)
        page.locator("#encore-offers article").first.scroll_into_view_if_needed()
    assert beacon.value.status == 204
    page.wait_for_timeout(1500)  # any second beacon for the same offer would have been sent by now
    record = exchange.get(f"/v1/decisions/{decision['decision_id']}", exchange.store)
    assert record["order_verified"] is True  # the page's server reported the order first
    viewed = [o for o in record["offers"] if o["viewable_impression_at"]]
    assert viewed and viewed[0]["offer_id"] == decision["offers"][0]["offer_id"]


def test_a_click_goes_through_the_signed_redirect(page: Any, exchange: LiveDemo) -> None:
    decision = _open(page, exchange, basket=2)
    offer = decision["offers"][0]
    before = _clicks(exchange)
    with page.expect_response(lambda r: r.url == offer["impression_url"]):  # a shopper looks before clicking
        page.locator("#encore-offers article").first.scroll_into_view_if_needed()
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


def _clicks(exchange: LiveDemo) -> int:
    today = time.strftime("%Y-%m-%d", time.gmtime())
    report = exchange.get(f"/v1/reports/payouts?start={today}&end={today}", exchange.operator)
    return sum(row["clicks"] for row in report["rows"])


def test_a_dismissed_offer_disappears_and_is_not_shown_again(page: Any, exchange: LiveDemo) -> None:
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


def _billed_events(exchange: LiveDemo) -> int:
    today = time.strftime("%Y-%m-%d", time.gmtime())
    report = exchange.get(f"/v1/reports/payouts?start={today}&end={today}", exchange.operator)
    return sum(row["clicks"] + row["conversions"] for row in report["rows"])


def test_accept_creates_one_partner_order_and_one_ledger_entry(
    page: Any, exchange: LiveDemo, partner_shop: PartnerShop
) -> None:
    decision = _open(page, exchange, basket=1)
    offer = decision["offers"][0]
    assert offer["one_click"] is True  # the store's server passed the shopper's consented details
    billed = _billed_events(exchange)
    buy = page.locator("#encore-offers article").first.get_by_role("button", name=re.compile("^Add .* to my order"))
    with page.expect_response(lambda r: "/a/" in r.url) as placed:
        buy.dblclick()  # an impatient shopper
    assert placed.value.status == 200
    confirmation = page.locator("#encore-offers").get_by_role("status")
    confirmation.wait_for()
    assert confirmation.inner_text().startswith("\u2713 Ordered from " + offer["partner"]["name"])
    # The same accept sent again (a retried request) is answered with the same order.
    again = page.evaluate("url => fetch(url, {method: 'POST'}).then(r => r.json())", offer["accept_url"])
    assert again["partner_order_id"] == placed.value.json()["partner_order_id"]
    deliveries = [d for d in partner_shop.deliveries if d["body"]["offer_id"] == offer["offer_id"]]
    assert len({d["key"] for d in deliveries}) == 1 and all(d["signed"] for d in deliveries)
    assert deliveries[0]["body"]["shopper"]["name"] == "Alex Morgan"  # the demo store's consenting shopper
    assert _billed_events(exchange) == billed + 1  # one ledger transaction for the sale
    partner = next(p for p in exchange.demo["partners"] if p["partner_id"] == offer["partner"]["id"])
    orders = exchange.get("/v1/partner/orders", bearer(partner["secret_key"]))
    mine = [o for o in orders if o["offer_id"] == offer["offer_id"]]
    assert [(o["status"], o["billed"]) for o in mine] == [("confirmed", True)], str(mine)
    assert page.console_errors == []


def test_the_keyboard_reaches_every_control_in_reading_order(page: Any, exchange: LiveDemo) -> None:
    decision = _open(page, exchange, basket=2)
    assert decision["offers"] and page.get_by_role("region", name="Partner offers").is_visible()
    expected = []
    for offer in decision["offers"]:
        title = offer["title"]
        if offer["one_click"]:
            expected += [f"Add {title} to my order, {offer['price']['display']}", f"Details of {title}"]
        else:
            expected += [f"View offer: {title}"]
        expected.append(f"No thanks, hide {title}")
    focused = """() => { const root = document.querySelector('#encore-offers').shadowRoot, el = root.activeElement;
        return el ? [el.getAttribute('aria-label'), getComputedStyle(el).outlineStyle] : null }"""
    seen: list[str] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        at = page.evaluate(focused)
        if at is None and seen:
            break
        if at is not None:
            seen.append(at[0])
            assert at[1] == "solid", at  # a visible focus ring
    assert seen == expected
    # Closing an offer with the keyboard hides it and keeps the focus in the widget.
    page.keyboard.press("Shift+Tab")
    while page.evaluate(focused) is not None and not page.evaluate(focused)[0].startswith("No thanks"):
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    assert page.locator("#encore-offers article").count() == len(decision["offers"]) - 1
    if len(decision["offers"]) > 1:
        assert page.evaluate(focused) is not None


def test_a_time_limited_offer_counts_down(page: Any, exchange: LiveDemo) -> None:
    ends = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=90)
    changed = []
    for partner in exchange.demo["partners"]:
        headers = bearer(partner["secret_key"])
        for campaign in exchange.get("/v1/campaigns", headers):
            path = f"{exchange.url}/v1/campaigns/{campaign['id']}"
            httpx.patch(path, json={"ends_at": ends.isoformat()}, headers=headers).raise_for_status()
            changed.append((path, headers))
    try:
        decision = _open(page, exchange, basket=0)
        assert decision["offers"][0]["ends_at"]
        countdown = page.locator("#encore-offers article").first.get_by_text(re.compile("^Offer ends in"))
        assert countdown.inner_text() in ("Offer ends in 1h 30m", "Offer ends in 1h 29m")
    finally:
        for path, headers in changed:
            httpx.patch(path, json={"ends_at": None}, headers=headers).raise_for_status()
