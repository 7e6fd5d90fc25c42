"""A thin client over the HTTP API for tests: each method is one call a real user would make."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from httpx import Response
from litestar.testing import AsyncTestClient

from exchange.settings import Settings

BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    return b"\n".join(json.dumps(row).encode() for row in rows)


def product(
    pid: str, title: str, brand: str, price: str = "19.00 USD", category: str = "", **extra: str
) -> dict[str, Any]:
    slug = pid.lower()
    return {
        "id": pid,
        "title": title,
        "brand": brand,
        "price": price,
        "link": f"https://{brand.lower().replace(' ', '')}.example/p/{slug}",
        "product_type": category,
        **extra,
    }


def sign_postback(secret: str, body: bytes, at: int | None = None) -> str:
    t = str(at if at is not None else int(time.time()))
    return f"t={t},v1=" + hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()


class Api:
    def __init__(self, client: AsyncTestClient[Any], settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.operator = bearer(settings.admin_key)
        self.impressions: dict[str, str] = {}  # click or accept link -> the offer's on-screen beacon

    async def partner(self, name: str) -> dict[str, Any]:
        r = await self.client.post("/v1/partners", json={"name": name}, headers=self.operator)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def store(self, name: str = "Stride & Co", brand: str = "Stride", **extra: Any) -> dict[str, Any]:
        body = {"name": name, "brand": brand, "allowed_origins": ["https://shop.example"], **extra}
        r = await self.client.post("/v1/stores", json=body, headers=self.operator)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def upload(
        self, partner: dict[str, Any], body: bytes, content_type: str = "application/x-ndjson"
    ) -> Response:
        headers = bearer(partner["secret_key"]) | {"Content-Type": content_type}
        return await self.client.post("/v1/catalog", content=body, headers=headers)

    async def campaign(self, partner: dict[str, Any], **overrides: Any) -> dict[str, Any]:
        body = {
            "name": "thank-you offers",
            "pricing": "cpc",
            "currency": "USD",
            "max_bid_minor": 50,
            "daily_budget_minor": 10_000,
            "total_budget_minor": 100_000,
            **overrides,
        }
        r = await self.client.post("/v1/campaigns", json=body, headers=bearer(partner["secret_key"]))
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def order(self, store: dict[str, Any], order: dict[str, Any]) -> Response:
        r = await self.client.post("/v1/orders", json=order, headers=bearer(store["secret_key"]))
        for offer in r.json().get("offers", []) if r.status_code == 200 else []:
            self.impressions[offer["click_url"]] = self.impressions[offer["accept_url"]] = offer["impression_url"]
        return r

    async def click(self, url: str, user_agent: str = BROWSER_UA, *, seen: bool = True, **headers: str) -> Response:
        """A shopper's click; `seen`: the widget reported the offer on screen first, as it does."""
        if seen and url in self.impressions:
            await self.client.post(self.impressions[url].removeprefix(self.settings.public_url))
        path = url.removeprefix(self.settings.public_url)
        return await self.client.get(path, headers={"User-Agent": user_agent, **headers}, follow_redirects=False)

    async def postback(
        self, partner: dict[str, Any], body: dict[str, Any], signature: str | None = None, kind: str = "conversions"
    ) -> Response:
        """A signed partner postback: a conversion, or with kind="reversals" a refund or chargeback."""
        raw = json.dumps(body).encode()
        sig = signature if signature is not None else sign_postback(partner["signing_secret"], raw)
        return await self.client.post(
            f"/v1/partners/{partner['id']}/{kind}",
            content=raw,
            headers={"Encore-Signature": sig, "Content-Type": "application/json"},
        )

    async def payouts(self, key_headers: dict[str, str] | None = None, fmt: str = "json") -> Response:
        today = time.strftime("%Y-%m-%d", time.gmtime())
        return await self.client.get(
            "/v1/reports/payouts",
            params={"start": today, "end": today, "format": fmt},
            headers=key_headers or self.operator,
        )

    async def trial_balance(self) -> dict[str, int]:
        r = await self.client.get("/v1/ledger/trial-balance", headers=self.operator)
        assert r.status_code == 200, r.text
        return dict(r.json())


def order_body(order_id: str, *titles: str, currency: str = "USD", **extra: Any) -> dict[str, Any]:
    items = [{"title": t, "price": 9900, "quantity": 1} for t in titles]
    return {
        "order_id": order_id,
        "currency": currency,
        "total": 9900 * len(items),
        "country": "US",
        "line_items": items,
        **extra,
    }


class PartnerShop:
    """A partner's real order endpoint on loopback (a thread with an HTTP server): checks Encore's
    signature, creates one order per Idempotency-Key, and remembers every delivery. `answer` switches
    it to declining (422) or failing (503); `delay_s` slows it, so concurrent accepts overlap."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}  # partner id -> signing secret
        self.deliveries: list[dict[str, Any]] = []
        self.orders: dict[str, str] = {}  # Idempotency-Key -> the shop's order number
        self.answer = "ok"
        self.delay_s = 0.0
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                partner_id = self.path.rsplit("/", 1)[-1]
                fields = dict(p.split("=", 1) for p in self.headers.get("Encore-Signature", "").split(",") if "=" in p)
                secret = shop.secrets.get(partner_id, "")
                expected = hmac.new(secret.encode(), fields.get("t", "").encode() + b"." + body, hashlib.sha256)
                key = self.headers.get("Idempotency-Key", "")
                signed = bool(secret) and hmac.compare_digest(expected.hexdigest(), fields.get("v1", ""))
                shop.deliveries.append({"key": key, "signed": signed, "body": json.loads(body), "partner": partner_id})
                time.sleep(shop.delay_s)
                if not signed:
                    self._reply(401, {"detail": "bad signature"})
                elif shop.answer == "decline":
                    self._reply(422, {"detail": "out of stock"})
                elif shop.answer == "fail":
                    self._reply(503, {"detail": "maintenance"})
                else:
                    number = shop.orders.setdefault(key, f"PS-{len(shop.orders) + 1}")
                    self._reply(201, {"order_id": number})

            def _reply(self, status: int, body: dict[str, str]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/orders"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def order_url(self, partner: dict[str, Any]) -> str:
        """The URL this partner (as the API or demo.json gives it) should set as its order_url."""
        partner_id = partner.get("id") or partner["partner_id"]
        self.secrets[partner_id] = partner["signing_secret"]
        return f"{self.url}/{partner_id}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
