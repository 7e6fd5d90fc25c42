"""Shopify's orders/create webhook with Shopify's own test payload: verified, decided ahead of the page."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import BROWSER_UA, Api, PartnerShop, bearer, jsonl, product

PAYLOAD = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "formats"
PAYLOAD = PAYLOAD / "shopify_order_webhook_test_payload_2022.json"
SECRET = "shpss_test_webhook_secret"


def shopify_signature(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
def payload() -> bytes:
    if not PAYLOAD.exists():
        pytest.skip(f"Shopify's test payload is not at {PAYLOAD}")
    return PAYLOAD.read_bytes()


async def jewellery_store(api: Api, shop: PartnerShop | None = None) -> dict[str, Any]:
    partner = await api.partner("Lustre")
    if shop is not None:
        order_url = {"order_url": shop.order_url(partner)}
        assert (await api.client.patch("/v1/partner", json=order_url, headers=bearer(partner["secret_key"]))).is_success
    care = [
        product("JC-1", "Lustre Jewellery Cleaning Cloth for Gold and Silver", "Lustre", "9.00 USD", "Jewelry Care"),
        product("JB-1", "Lustre Velvet Jewellery Box with Earring Holder", "Lustre", "35.00 USD", "Jewelry Storage"),
    ]
    assert (await api.upload(partner, jsonl(care))).status_code == 200
    await api.campaign(partner)
    store = await api.store(name="Gold Shop", brand="Gold Shop")
    r = await api.client.patch(
        "/v1/store", json={"shopify_webhook_secret": SECRET}, headers=bearer(store["secret_key"])
    )
    assert r.status_code == 200 and r.json()["shopify_webhook"] is True and SECRET not in r.text
    return store


async def test_a_verified_shopify_order_is_decided_ahead_of_the_page(api: Api, payload: bytes) -> None:
    store = await jewellery_store(api)
    url = f"/v1/shopify/{store['id']}/orders-create"
    headers = {"X-Shopify-Hmac-Sha256": shopify_signature(payload), "Content-Type": "application/json"}
    r = await api.client.post(url, content=payload, headers=headers)
    assert r.status_code == 200, r.text
    answer = r.json()
    order_id = f"shopify-{json.loads(payload)['id']}"
    assert answer["order_id"] == order_id and answer["offers"] == 1
    assert (await api.client.post(url, content=payload, headers=headers)).json() == answer  # Shopify retries
    record = (
        await api.client.get(f"/v1/decisions/{answer['decision_id']}", headers=bearer(store["secret_key"]))
    ).json()
    assert record["order_verified"] is True and record["order_id"] == order_id
    assert record["offers"][0]["brand"] == "Lustre"


async def test_a_shopify_webhook_with_a_wrong_signature_is_refused(api: Api, payload: bytes) -> None:
    store = await jewellery_store(api)
    url = f"/v1/shopify/{store['id']}/orders-create"
    forged = {"X-Shopify-Hmac-Sha256": shopify_signature(payload, "not-the-secret")}
    r = await api.client.post(url, content=payload, headers=forged)
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    assert "shopify_webhook_secret" in r.json()["fix"]
    tampered = payload.replace(b'"4810.00"', b'"1.00"')
    r = await api.client.post(url, content=tampered, headers={"X-Shopify-Hmac-Sha256": shopify_signature(payload)})
    assert r.status_code == 401
    not_an_order = b'{"hello": "world"}'
    r = await api.client.post(
        url, content=not_an_order, headers={"X-Shopify-Hmac-Sha256": shopify_signature(not_an_order)}
    )
    assert r.status_code == 400 and "orders/create" in r.json()["fix"]


def session_token(claims: dict[str, Any], secret: str = SECRET) -> str:
    """A checkout UI extension's session token, as Shopify signs it (HS256 JWT, the app's secret)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    head = part({"alg": "HS256", "typ": "JWT"}) + "." + part(claims)
    signature = hmac.new(secret.encode(), head.encode(), hashlib.sha256).digest()
    return head + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


async def test_the_thank_you_extension_gets_the_webhooks_offers_with_a_session_token(api: Api, payload: bytes) -> None:
    store = await jewellery_store(api)
    r = await api.client.patch(
        "/v1/store", json={"shopify_shop": "gold-shop.myshopify.com"}, headers=bearer(store["secret_key"])
    )
    assert r.status_code == 200 and r.json()["shopify_shop"] == "gold-shop.myshopify.com"
    order = json.loads(payload)
    # The shopper ticked the checkout's consent box: Shopify copies the cart attribute into the order.
    order["note_attributes"] = [{"name": "encore_consent", "value": "yes"}]
    body = json.dumps(order).encode()
    now = int(time.time())
    claims = {"dest": "https://gold-shop.myshopify.com", "exp": now + 60, "nbf": now - 1}
    claims["sub"] = f"gid://shopify/Customer/{order['customer']['id']}"
    call = {"session_token": session_token(claims), "order_id": f"gid://shopify/OrderIdentity/{order['id']}"}
    url = f"/v1/shopify/{store['id']}/offers"
    early = await api.client.post(url, content=json.dumps(call))
    assert early.status_code == 404 and "retry" in early.json()["fix"]  # the webhook has not arrived yet
    assert early.headers["access-control-allow-origin"] == "*"
    hook = {"X-Shopify-Hmac-Sha256": shopify_signature(body), "X-Shopify-Shop-Domain": "gold-shop.myshopify.com"}
    assert (await api.client.post(f"/v1/shopify/{store['id']}/orders-create", content=body, headers=hook)).is_success
    r = await api.client.post(url, content=json.dumps(call))
    assert r.status_code == 200, r.text
    assert r.json()["order_id"] == f"shopify-{order['id']}" and r.json()["offers"][0]["brand"] == "Lustre"
    forged = call | {"session_token": session_token(claims, "another-apps-secret")}
    assert (await api.client.post(url, content=json.dumps(forged))).status_code == 401
    expired = call | {"session_token": session_token(claims | {"exp": now - 120})}
    assert (await api.client.post(url, content=json.dumps(expired))).status_code == 401
    elsewhere = call | {"session_token": session_token(claims | {"dest": "https://other.myshopify.com"})}
    assert (await api.client.post(url, content=json.dumps(elsewhere))).status_code == 403
    someone_else = call | {"session_token": session_token(claims | {"sub": "gid://shopify/Customer/999"})}
    assert (await api.client.post(url, content=json.dumps(someone_else))).status_code == 404
    other_shop = hook | {"X-Shopify-Shop-Domain": "other.myshopify.com"}
    r = await api.client.post(f"/v1/shopify/{store['id']}/orders-create", content=body, headers=other_shop)
    assert r.status_code == 403


async def test_a_consenting_shopify_order_can_be_taken_in_one_click(api: Api, payload: bytes) -> None:
    shop = PartnerShop()
    try:
        store = await jewellery_store(api, shop)
        order = json.loads(payload)
        offers = {}
        for consent, order_id in (("no", 1), ("yes", 2)):
            order |= {"id": order_id, "note_attributes": [{"name": "encore_consent", "value": consent}]}
            body = json.dumps(order).encode()
            hook = {"X-Shopify-Hmac-Sha256": shopify_signature(body)}
            assert (
                await api.client.post(f"/v1/shopify/{store['id']}/orders-create", content=body, headers=hook)
            ).is_success
            token = session_token({"exp": int(time.time()) + 60, "dest": "gold-shop.myshopify.com"})
            call = {"session_token": token, "order_id": str(order_id)}
            r = await api.client.post(f"/v1/shopify/{store['id']}/offers", content=json.dumps(call))
            offers[consent] = r.json()["offers"][0]
        assert offers["no"]["one_click"] is False and offers["yes"]["one_click"] is True
        r = await api.client.post(
            offers["yes"]["accept_url"].removeprefix(api.settings.public_url), headers={"User-Agent": BROWSER_UA}
        )
        assert r.status_code == 200, r.text
        [delivery] = shop.deliveries
        sent = delivery["body"]["shopper"]
        assert sent["name"] == "Steve Shipper" and sent["email"] == order["email"] and "payment_token" not in sent
        assert sent["shipping_address"] == {
            "line1": "123 Shipping Street",
            "city": "Shippington",
            "postal_code": "40003",
            "country": "US",
            "region": "Kentucky",
        }
    finally:
        shop.close()
