"""One-click accept through the HTTP API: the store's server passes the shopper's consented details,
the shopper accepts once, the partner's own endpoint (a real HTTP server on loopback) gets one signed
order, and the ledger bills it once."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from tests.exchange.catalog import running_brand
from tests.support import BROWSER_UA, Api, PartnerShop, bearer, jsonl, order_body

SHOE_ORDER = ("Men's Road Running Shoe, Size 10",)
SHOPPER = {
    "consent": True,
    "name": "Dana Ortiz",
    "email": "dana@example.com",
    "phone": "+1 207 555 0142",
    "shipping_address": {"line1": "4 Pier Lane", "city": "Portland", "postal_code": "04101", "country": "US"},
    "payment_token": {"provider": "stripe", "reference": "pm_1QabcDEF"},
}


@pytest.fixture
def shop() -> Iterator[PartnerShop]:
    shop = PartnerShop()
    yield shop
    shop.close()


async def runner_network(api: Api, shop: PartnerShop | None, **campaign: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    runner = await api.partner("Trailwind")
    assert (await api.upload(runner, jsonl(running_brand()))).status_code == 200
    await api.campaign(runner, **campaign)
    if shop is not None:
        r = await api.client.patch(
            "/v1/partner", json={"order_url": shop.order_url(runner)}, headers=bearer(runner["secret_key"])
        )
        assert r.status_code == 200 and r.json()["order_url"].startswith("http://127.0.0.1"), r.text
    return runner, await api.store()


async def accept(api: Api, offer: dict[str, Any]) -> Any:
    path = offer["accept_url"].removeprefix(api.settings.public_url)
    return await api.client.post(path, headers={"User-Agent": BROWSER_UA, "Origin": "https://shop.example"})


async def ledger_refs(api: Api, runner: dict[str, Any]) -> list[dict[str, Any]]:
    r = await api.client.get("/v1/partner/orders", headers=bearer(runner["secret_key"]))
    assert r.status_code == 200, r.text
    return list(r.json())


async def test_accept_places_one_signed_order_and_bills_it_once(api: Api, shop: PartnerShop) -> None:
    runner, store = await runner_network(api, shop, pricing="cpa", max_bid_minor=900)
    r = await api.order(store, order_body("2001", *SHOE_ORDER, shopper=SHOPPER))
    assert r.status_code == 200, r.text
    offer = r.json()["offers"][0]
    assert offer["one_click"] is True
    shop.delay_s = 0.3  # three accepts in flight at once: a double click and a retried request
    answers = await asyncio.gather(*(accept(api, offer) for _ in range(3)))
    codes = {a.status_code for a in answers}
    assert codes <= {200, 202} and 200 in codes, [a.text for a in answers]  # 202: another one was placing it
    assert all(a.headers["access-control-allow-origin"] == "*" for a in answers)
    confirmed = next(a.json() for a in answers if a.status_code == 200)
    assert confirmed["message"].startswith("Ordered from Trailwind (order PS-1)")
    again = await accept(api, offer)  # a later click gets the same order back
    assert again.status_code == 200 and again.json() == confirmed
    assert len(shop.orders) == 1 and all(d["signed"] for d in shop.deliveries)
    sent = shop.deliveries[0]["body"]
    assert sent["id"] == confirmed["partner_order_id"] == shop.deliveries[0]["key"]
    assert sent["shopper"]["shipping_address"]["line1"] == "4 Pier Lane" and "consent" not in sent["shopper"]
    assert sent["shopper"]["payment_token"] == {"provider": "stripe", "reference": "pm_1QabcDEF"}
    assert sent["product_id"] == offer["product_id"] and sent["price"]["currency"] == "USD"
    orders = await ledger_refs(api, runner)
    assert [(o["status"], o["billed"], o["partner_order_ref"]) for o in orders] == [("confirmed", True, "PS-1")]
    [row] = (await api.payouts()).json()["rows"]  # one billed sale, split between store and exchange
    assert (row["conversions"], row["clicks"]) == (1, 0) and 0 < row["gross_minor"] <= 900
    assert row["store_share_minor"] + row["exchange_share_minor"] == row["gross_minor"]
    assert await api.trial_balance() == {"USD": 0}


async def test_shopper_details_need_the_server_consent_and_no_card_numbers(api: Api, shop: PartnerShop) -> None:
    _, store = await runner_network(api, shop)
    widget = {"key": store["publishable_key"], "order": order_body("2002", *SHOE_ORDER, shopper=SHOPPER)}
    r = await api.client.post("/v1/widget/offers", json=widget, headers={"Origin": "https://shop.example"})
    assert r.status_code == 400 and "from your server" in r.json()["fix"]
    r = await api.order(store, order_body("2003", *SHOE_ORDER, shopper=SHOPPER | {"consent": False}))
    assert r.status_code == 400 and "consent" in r.json()["detail"]
    card = SHOPPER | {"shipping_address": SHOPPER["shipping_address"] | {"line2": "4242 4242 4242 4242"}}
    r = await api.order(store, order_body("2004", *SHOE_ORDER, shopper=card))
    assert r.status_code == 400 and "card number" in r.json()["detail"] and "payment_token" in r.json()["fix"]
    assert r.headers["content-type"].startswith("application/problem+json")
    # The page asked first without details; the store's server adds them: the same order, now one-click.
    page = {"key": store["publishable_key"], "order": order_body("2005", *SHOE_ORDER)}
    first = await api.client.post("/v1/widget/offers", json=page, headers={"Origin": "https://shop.example"})
    assert first.status_code == 200 and first.json()["offers"][0]["one_click"] is False
    server = await api.order(store, order_body("2005", *SHOE_ORDER, shopper=SHOPPER))
    assert server.status_code == 200 and server.json()["offers"][0]["one_click"] is True
    assert server.json()["decision_id"] == first.json()["decision_id"]


async def test_a_declining_or_failing_partner_charges_nothing(api: Api, shop: PartnerShop) -> None:
    runner, store = await runner_network(api, shop)
    declined = (await api.order(store, order_body("2010", *SHOE_ORDER, shopper=SHOPPER))).json()["offers"][0]
    shop.answer = "decline"
    r = await accept(api, declined)
    assert r.status_code == 422 and "out of stock" in r.json()["detail"] and "nothing" in r.json()["fix"]
    assert r.headers["access-control-allow-origin"] == "*"  # the widget can read why
    failing = (await api.order(store, order_body("2011", *SHOE_ORDER, shopper=SHOPPER))).json()["offers"][0]
    shop.answer = "fail"
    r = await accept(api, failing)
    assert r.status_code == 502 and "nothing was charged" in r.json()["detail"]
    assert len({d["key"] for d in shop.deliveries if d["body"]["offer_id"] == failing["offer_id"]}) == 1
    shop.answer = "ok"  # the shop is back: trying again places the same order, once
    r = await accept(api, failing)
    assert r.status_code == 200, r.text
    orders = {o["offer_id"]: o for o in await ledger_refs(api, runner)}
    assert orders[declined["offer_id"]]["status"] == "declined" and not orders[declined["offer_id"]]["billed"]
    assert orders[failing["offer_id"]]["status"] == "confirmed" and orders[failing["offer_id"]]["attempts"] == 2
    assert len(shop.orders) == 1
    assert await api.trial_balance() == {"USD": 0}


async def test_offers_of_partners_without_an_order_endpoint_are_click_through(api: Api) -> None:
    _, store = await runner_network(api, None)
    offer = (await api.order(store, order_body("2020", *SHOE_ORDER, shopper=SHOPPER))).json()["offers"][0]
    assert offer["one_click"] is False
    r = await accept(api, offer)
    assert r.status_code == 422 and "click_url" in r.json()["fix"]
    other = await api.partner("Elsewhere")
    r = await api.client.patch(
        "/v1/partner", json={"order_url": "ftp://elsewhere.example/orders"}, headers=bearer(other["secret_key"])
    )
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")


async def test_an_order_url_on_a_private_network_is_never_called(api: Api) -> None:
    runner, store = await runner_network(api, None)
    inside = {"order_url": "https://10.0.0.7/admin/orders"}  # e.g. a service behind the exchange's firewall
    assert (await api.client.patch("/v1/partner", json=inside, headers=bearer(runner["secret_key"]))).is_success
    offer = (await api.order(store, order_body("2050", *SHOE_ORDER, shopper=SHOPPER))).json()["offers"][0]
    r = await accept(api, offer)
    assert r.status_code == 422 and "private address" in r.json()["detail"]
    assert [(o["status"], o["billed"]) for o in await ledger_refs(api, runner)] == [("declined", False)]


async def test_a_time_limited_offer_carries_its_end_and_cannot_be_taken_after(api: Api, shop: PartnerShop) -> None:
    ends = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    _, store = await runner_network(api, shop, ends_at=ends.isoformat())
    offer = (await api.order(store, order_body("2030", *SHOE_ORDER, shopper=SHOPPER))).json()["offers"][0]
    assert abs(dt.datetime.fromisoformat(offer["ends_at"]) - ends) < dt.timedelta(milliseconds=1)
    await asyncio.sleep(2.5)
    r = await accept(api, offer)
    assert r.status_code == 410 and shop.deliveries == []
    later = (await api.order(store, order_body("2031", *SHOE_ORDER))).json()
    assert later["offers"] == []  # an ended campaign is not served
    r = await api.client.post(
        "/v1/campaigns",
        json={"name": "late", "pricing": "cpc", "currency": "USD", "max_bid_minor": 50, "daily_budget_minor": 100}
        | {"total_budget_minor": 100, "ends_at": "2020-01-01T00:00:00Z"},
        headers=bearer((await api.partner("Late"))["secret_key"]),
    )
    assert r.status_code == 400 and "future" in r.json()["detail"]


async def test_a_partner_sees_only_its_own_one_click_orders(api: Api, shop: PartnerShop) -> None:
    runner, store = await runner_network(api, shop)
    offer = (await api.order(store, order_body("2040", *SHOE_ORDER, shopper=SHOPPER))).json()["offers"][0]
    assert (await accept(api, offer)).status_code == 200
    other = await api.partner("Elsewhere")
    r = await api.client.get("/v1/partner/orders", headers=bearer(other["secret_key"]))
    assert r.status_code == 200 and r.json() == []
    assert len(await ledger_refs(api, runner)) == 1
