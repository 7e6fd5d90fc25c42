"""Issue 3's path through the HTTP API: feed in, offer out, click billed, payout reported."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from exchange.core.money import split
from tests.exchange.catalog import SOCKS, coffee_brand, running_brand
from tests.support import Api, bearer, jsonl, order_body, product, sign_postback

SHOE_ORDER = ("Men's Road Running Shoe, Size 10",)


async def network(api: Api, **campaign: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A running brand and a coffee brand with live campaigns, and a store that sells other things."""
    runner, coffee = await api.partner("Trailwind"), await api.partner("Brewmaster")
    for partner, rows in ((runner, running_brand()), (coffee, coffee_brand())):
        r = await api.upload(partner, jsonl(rows))
        assert r.status_code == 200, r.text
        await api.campaign(partner, **campaign)
    return runner, coffee, await api.store()


async def test_order_for_running_shoes_is_offered_socks_not_more_shoes(api: Api) -> None:
    runner, _, store = await network(api)
    r = await api.order(store, order_body("1001", *SHOE_ORDER))
    assert r.status_code == 200, r.text
    offers = r.json()["offers"]
    assert 1 <= len(offers) <= 2
    first = offers[0]
    assert "Socks" in first["title"], offers
    assert first["partner"] == {"id": runner["id"], "name": "Trailwind"}
    assert first["price"] == {"amount_minor": 1800, "currency": "USD", "display": "18.00 USD"}
    assert "Running Shoe" in first["reason"] and first["reason"].count("\n") == 0
    assert first["click_url"].startswith("http://testserver.local/c/")
    assert first["accept_url"].startswith("http://testserver.local/a/")
    assert all("Shoe," not in offer["title"] for offer in offers)


async def test_same_order_asked_twice_gets_the_same_offers(api: Api) -> None:
    *_, store = await network(api)
    first = await api.order(store, order_body("1002", *SHOE_ORDER))
    again = await api.order(store, order_body("1002", *SHOE_ORDER))
    assert again.status_code == 200
    assert again.json() == first.json()
    changed = await api.order(store, order_body("1002", "Espresso Machine"))
    assert changed.status_code == 422
    assert changed.headers["content-type"].startswith("application/problem+json")
    assert "different content" in changed.json()["detail"]


async def test_store_never_sees_its_own_brand(api: Api) -> None:
    runner, *_ = await network(api)
    own_brand_store = await api.store(name="Trailwind Outlet", brand="trailwind")
    r = await api.order(own_brand_store, order_body("1003", *SHOE_ORDER))
    assert r.status_code == 200
    assert all(offer["partner"]["id"] != runner["id"] for offer in r.json()["offers"])


async def test_campaign_without_budget_left_is_never_offered(api: Api) -> None:
    runner = await api.partner("Trailwind")
    await api.upload(runner, jsonl(running_brand()))
    await api.campaign(runner, max_bid_minor=100, daily_budget_minor=100, total_budget_minor=100)
    store = await api.store()
    first = (await api.order(store, order_body("2001", *SHOE_ORDER))).json()["offers"]
    assert len(first) == 1
    assert (await api.click(first[0]["click_url"])).status_code == 302  # spends the whole budget
    later = await api.order(store, order_body("2002", *SHOE_ORDER))
    assert later.status_code == 200
    assert later.json()["offers"] == []


async def test_click_redirects_to_the_product_and_bills_once(api: Api) -> None:
    runner, _, store = await network(api, max_bid_minor=40)
    decision = (await api.order(store, order_body("3001", *SHOE_ORDER))).json()
    offer = decision["offers"][0]
    explained = await api.client.get(f"/v1/decisions/{decision['decision_id']}", headers=bearer(store["secret_key"]))
    price = next(c["price_minor"] for c in explained.json()["explain"]["candidates"] if c["position"] == 1)
    assert 1 <= price <= 40  # second price: never more than the bid
    r = await api.click(offer["click_url"])
    assert r.status_code == 302
    target = urlsplit(r.headers["location"])
    assert target.netloc == "trailwind.example"
    assert parse_qs(target.query)["encore_click"][0].startswith("clk_")
    assert (await api.click(offer["click_url"])).status_code == 302  # a repeat inside the window
    report = (await api.payouts()).json()
    assert report["rows"] == [
        {
            "store_id": store["id"],
            "store_name": "Stride & Co",
            "currency": "USD",
            "clicks": 1,
            "conversions": 0,
            "reversals": 0,
            "gross_minor": price,
            "store_share_minor": split(price, 7000)[0],  # largest remainder: 3.5 of 5 rounds up
            "exchange_share_minor": split(price, 7000)[1],
        }
    ]
    campaigns = (await api.client.get("/v1/campaigns", headers=bearer(runner["secret_key"]))).json()
    assert campaigns[0]["spent_total_minor"] == price
    assert await api.trial_balance() == {"USD": 0}


async def test_crawler_clicks_redirect_but_are_not_billed(api: Api) -> None:
    *_, store = await network(api)
    offer = (await api.order(store, order_body("3002", *SHOE_ORDER))).json()["offers"][0]
    r = await api.click(offer["click_url"], user_agent="Mozilla/5.0 (compatible; Googlebot/2.1)")
    assert r.status_code == 302
    assert (await api.payouts()).json()["rows"] == []


async def test_tampered_or_expired_links_never_redirect(api: Api) -> None:
    *_, store = await network(api)
    offer = (await api.order(store, order_body("3003", *SHOE_ORDER))).json()["offers"][0]
    payload, _, signature = offer["click_url"].rpartition("/")[2].partition(".")
    forged = f"/c/{payload}.{'0' * len(signature)}"
    r = await api.client.get(forged, follow_redirects=False)
    assert r.status_code == 403 and "location" not in r.headers
    assert r.headers["content-type"].startswith("application/problem+json")
    assert (await api.client.get("/c/garbage", follow_redirects=False)).status_code == 400
    accept_as_click = "/c/" + offer["accept_url"].rpartition("/")[2]
    assert (await api.client.get(accept_as_click, follow_redirects=False)).status_code == 403

    from exchange.tracking.links import LinkClaims, sign_link

    expired = sign_link(api.settings.secret, LinkClaims("c", "ofr_whatever", int(time.time()) - 1))
    assert (await api.client.get(f"/c/{expired}", follow_redirects=False)).status_code == 410
    assert (await api.payouts()).json()["rows"] == []


async def test_accept_redirects_and_shares_the_click_window(api: Api) -> None:
    *_, store = await network(api, max_bid_minor=40)
    offer = (await api.order(store, order_body("3004", *SHOE_ORDER))).json()["offers"][0]
    r = await api.click(offer["accept_url"])
    assert r.status_code == 302 and "encore_accept=1" in r.headers["location"]
    await api.click(offer["click_url"])
    assert (await api.payouts()).json()["rows"][0]["clicks"] == 1


async def test_conversion_postback_bills_a_cpa_campaign_once(api: Api) -> None:
    runner, _, store = await network(api, pricing="cpa", max_bid_minor=500)
    offer = (await api.order(store, order_body("4001", *SHOE_ORDER))).json()["offers"][0]
    location = (await api.click(offer["click_url"])).headers["location"]
    click_id = parse_qs(urlsplit(location).query)["encore_click"][0]
    assert (await api.payouts()).json()["rows"] == []  # a CPA campaign pays nothing per click
    sale = {"transaction_id": "T-77", "click_id": click_id}
    first = await api.postback(runner, sale)
    assert first.status_code == 200, first.text
    charged = first.json()["charged_minor"]
    assert first.json()["billed"] is True and 1 <= charged <= 500  # the second price, at most the bid
    retry = await api.postback(runner, sale)
    assert retry.json() == first.json()
    row = (await api.payouts()).json()["rows"][0]
    store_share = split(charged, 7000)[0]
    assert (row["conversions"], row["gross_minor"], row["store_share_minor"], row["exchange_share_minor"]) == (
        1,
        charged,
        store_share,
        charged - store_share,
    )
    other_body = await api.postback(runner, {"transaction_id": "T-77", "click_id": click_id + "x"})
    assert other_body.status_code == 422
    assert await api.trial_balance() == {"USD": 0}


async def test_postback_with_bad_signature_or_another_partners_click_is_refused(api: Api) -> None:
    runner, coffee, store = await network(api, pricing="cpa", max_bid_minor=500)
    offer = (await api.order(store, order_body("4002", *SHOE_ORDER))).json()["offers"][0]
    location = (await api.click(offer["click_url"])).headers["location"]
    click_id = parse_qs(urlsplit(location).query)["encore_click"][0]
    sale = {"transaction_id": "T-1", "click_id": click_id}
    assert (await api.postback(runner, sale, signature="t=1,v1=deadbeef")).status_code == 401
    stale = sign_postback(runner["signing_secret"], b"{}", at=int(time.time()) - 3600)
    assert (await api.postback(runner, sale, signature=stale)).status_code == 401
    wrong_key = await api.postback(runner, sale, signature=sign_postback(coffee["signing_secret"], b"x"))
    assert wrong_key.status_code == 401
    assert (await api.postback(coffee, sale)).status_code == 404  # the click belongs to Trailwind
    assert (await api.postback(runner, {"transaction_id": "T-2"})).status_code == 400
    assert (await api.payouts()).json()["rows"] == []


async def test_payout_report_as_csv_and_only_own_rows_for_a_store(api: Api) -> None:
    _, _, store = await network(api, max_bid_minor=40)
    other = await api.store(name="Other shop", brand="Other")
    for s, oid in ((store, "5001"), (other, "5002")):
        offer = (await api.order(s, order_body(oid, *SHOE_ORDER))).json()["offers"][0]
        await api.click(offer["click_url"])
    csv = await api.payouts(fmt="csv")
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert (
        lines[0] == "store_id,store_name,currency,clicks,conversions,reversals,"
        "gross_minor,store_share_minor,exchange_share_minor"
    )
    assert len(lines) == 3
    own = (await api.payouts(bearer(store["secret_key"]))).json()["rows"]
    assert [row["store_id"] for row in own] == [store["id"]]
    partner_key = await api.payouts(bearer((await api.partner("Nosy"))["secret_key"]))
    assert partner_key.status_code == 401


async def test_new_upload_is_searchable_without_a_restart(api: Api) -> None:
    coffee = await api.partner("Brewmaster")
    await api.upload(coffee, jsonl(coffee_brand()))
    await api.campaign(coffee)
    store = await api.store()
    before = (await api.order(store, order_body("6001", *SHOE_ORDER))).json()["offers"]
    assert all("Socks" not in offer["title"] for offer in before)
    runner = await api.partner("Trailwind")
    await api.upload(runner, jsonl(running_brand()))
    await api.campaign(runner)
    after = (await api.order(store, order_body("6002", *SHOE_ORDER))).json()["offers"]
    assert "Socks" in after[0]["title"]


async def test_index_is_persisted_and_reloaded_on_start(api: Api, encoder: Any) -> None:
    from litestar.testing import AsyncTestClient

    from exchange.app import create_app

    *_, store = await network(api)
    index_dir = api.settings.index_dir
    assert (index_dir / "products.faiss").exists()
    async with AsyncTestClient(create_app(api.settings, encoder), base_url="http://testserver.local") as again:
        health = (await again.get("/healthz")).json()
        assert health["searchable_products"] == len(running_brand()) + len(coffee_brand())
        r = await again.post("/v1/orders", json=order_body("7001", *SHOE_ORDER), headers=bearer(store["secret_key"]))
        assert "Socks" in r.json()["offers"][0]["title"]


async def test_offer_picks_from_a_different_category_than_the_purchase(api: Api) -> None:
    """A sanity check on the reason: it names what the offer is and what it goes with."""
    *_, store = await network(api)
    offer = (await api.order(store, order_body("8001", *SHOE_ORDER))).json()["offers"][0]
    assert offer["reason"] == f"{SOCKS.rsplit('>', 1)[-1].strip()} to go with your Men's Road Running Shoe."


async def test_orders_are_answered_in_the_partners_currency_with_integer_amounts(api: Api) -> None:
    euro = await api.partner("Eurorun")
    await api.upload(euro, jsonl([product("E1", "Eurorun Running Socks, 2-Pack", "Eurorun", "12.50 EUR", SOCKS)]))
    await api.campaign(euro, currency="EUR")
    store = await api.store()
    offer = (await api.order(store, order_body("9001", *SHOE_ORDER))).json()["offers"][0]
    assert offer["price"] == {"amount_minor": 1250, "currency": "EUR", "display": "12.50 EUR"}
