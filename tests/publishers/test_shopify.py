"""Shopify's orders/create webhook with Shopify's own test payload: verified, decided ahead of the page."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import Api, bearer, jsonl, product

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


async def jewellery_store(api: Api) -> dict[str, Any]:
    partner = await api.partner("Lustre")
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
