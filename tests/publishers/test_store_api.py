"""Stores: accounts, keys, order intake validation, and the widget's publishable-key call."""

from __future__ import annotations

from tests.exchange.catalog import running_brand
from tests.support import Api, bearer, jsonl, order_body


async def test_store_keys_are_shown_once_and_only_work_for_their_store(api: Api) -> None:
    store = await api.store()
    assert store["secret_key"].startswith("sk_store_") and store["publishable_key"].startswith("pk_store_")
    assert store["revenue_share_bps"] == 7000
    r = await api.order({"secret_key": store["publishable_key"]}, order_body("1", "Running Shoe"))
    assert r.status_code == 401  # a publishable key is not a secret key
    r = await api.client.post("/v1/stores", json={"name": "x", "brand": "x"}, headers=bearer(store["secret_key"]))
    assert r.status_code == 401  # only the operator creates stores


async def test_order_bad_input_gets_a_clear_4xx(api: Api) -> None:
    store = await api.store()
    cases = {
        "unknown currency": order_body("1", "Shoe", currency="XYZ"),
        "no line items": order_body("2") | {"line_items": []},
        "negative price": order_body("3") | {"line_items": [{"title": "Shoe", "price": -1, "quantity": 1}]},
        "unknown field": order_body("4", "Shoe") | {"coupon": "X"},
        "missing total": {k: v for k, v in order_body("5", "Shoe").items() if k != "total"},
        "bad country": order_body("6", "Shoe") | {"country": "USA"},
    }
    for name, body in cases.items():
        r = await api.order(store, body)
        assert r.status_code == 400, (name, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), name
    r = await api.client.post("/v1/orders", content=b"{not json", headers=bearer(store["secret_key"]))
    assert r.status_code == 400


async def test_widget_call_works_only_from_the_stores_registered_origin(api: Api) -> None:
    partner = await api.partner("Trailwind")
    await api.upload(partner, jsonl(running_brand()))
    await api.campaign(partner)
    store = await api.store()
    call = {"key": store["publishable_key"], "order": order_body("w1", "Men's Road Running Shoe")}
    ok = await api.client.post("/v1/widget/offers", json=call, headers={"Origin": "https://shop.example"})
    assert ok.status_code == 200, ok.text
    assert ok.headers["access-control-allow-origin"] == "https://shop.example"
    assert ok.json()["offers"]
    for origin in ({"Origin": "https://evil.example"}, {}):
        r = await api.client.post("/v1/widget/offers", json=call, headers=origin)
        assert r.status_code == 403
    wrong_key = await api.client.post(
        "/v1/widget/offers", json=call | {"key": "pk_store_nope"}, headers={"Origin": "https://shop.example"}
    )
    assert wrong_key.status_code == 401


async def test_widget_script_is_served(api: Api) -> None:
    r = await api.client.get("/widget.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert "/v1/widget/offers" in r.text


async def test_openapi_document_lists_the_api(api: Api) -> None:
    r = await api.client.get("/schema/openapi.json")
    paths = r.json()["paths"]
    assert {"/v1/catalog", "/v1/orders", "/v1/campaigns", "/v1/reports/payouts"} <= set(paths)


async def test_operator_endpoints_refuse_bad_input_and_wrong_keys(api: Api) -> None:
    bad_stores = {
        "origin with a path": {"name": "s", "brand": "b", "allowed_origins": ["https://shop.example/thanks"]},
        "share over 100%": {"name": "s", "brand": "b", "revenue_share_bps": 12000},
        "five offers": {"name": "s", "brand": "b", "max_offers": 5},
        "missing brand": {"name": "s"},
    }
    for name, body in bad_stores.items():
        r = await api.client.post("/v1/stores", json=body, headers=api.operator)
        assert r.status_code == 400, (name, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), name
    assert (await api.client.post("/v1/partners", json={"name": ""}, headers=api.operator)).status_code == 400
    assert (await api.client.post("/v1/partners", json={"name": "x"}, headers=bearer("adm_wrong"))).status_code == 401
    assert (await api.client.post("/v1/partners", json={"name": "x"})).status_code == 401


async def test_viewable_impressions_count_once_and_only_for_orders_the_store_reported(api: Api) -> None:
    partner = await api.partner("Trailwind")
    await api.upload(partner, jsonl(running_brand()))
    await api.campaign(partner)
    store = await api.store()
    order = order_body("v1", "Men's Road Running Shoe")
    call = {"key": store["publishable_key"], "order": order}
    seen = await api.client.post("/v1/widget/offers", json=call, headers={"Origin": "https://shop.example"})
    offer = seen.json()["offers"][0]
    beacon = offer["impression_url"].removeprefix(api.settings.public_url)

    async def viewed() -> str | None:
        r = await api.client.get(f"/v1/decisions/{seen.json()['decision_id']}", headers=bearer(store["secret_key"]))
        return r.json()["offers"][0]["viewable_impression_at"]

    assert (await api.client.post(beacon)).status_code == 204
    assert await viewed() is None  # only a browser has vouched for this order so far
    assert (await api.order(store, order)).json()["offers"] == seen.json()["offers"]  # the server reports it
    assert (await api.client.post(beacon)).status_code == 204
    first = await viewed()
    assert first is not None
    assert (await api.client.post(beacon)).status_code == 204  # a repeat changes nothing
    assert await viewed() == first
    assert (await api.client.post(beacon[:-3] + "abc")).status_code == 403
