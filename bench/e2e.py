"""End-to-end benchmark of issue 3's path through the HTTP API, in one process (ASGI, no network).

Uploads the demo network's catalogs the way partners do, then times decisions and clicks.
Usage: .venv/bin/python bench/e2e.py [--products 20000] [--brands 60] [--orders 300]
Writes bench/results/e2e.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from litestar.testing import AsyncTestClient

from bench.catalog import cpc_campaign
from exchange.app import create_app
from exchange.demo.catalog import DEMO_ORDERS, demo_network
from exchange.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
UA = {"User-Agent": "Mozilla/5.0 (bench) Chrome/126.0"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(products: int, brands: int, orders: int, database_url: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            database_url=database_url,
            admin_key="adm",
            secret="s" * 40,
            public_url="http://bench.local",
        )
        async with AsyncTestClient(create_app(settings), base_url="http://bench.local", timeout=600) as client:
            admin = {"Authorization": "Bearer adm"}
            network = demo_network(products=products, brands=brands)
            started = time.perf_counter()
            rows = 0
            for n, (brand, catalog) in enumerate(network, start=1):
                partner = (await client.post("/v1/partners", json={"name": brand.name}, headers=admin)).json()
                key = {"Authorization": f"Bearer {partner['secret_key']}"}
                body = b"\n".join(json.dumps(row).encode() for row in catalog)
                report = (
                    await client.post(
                        "/v1/catalog", content=body, headers=key | {"Content-Type": "application/x-ndjson"}
                    )
                ).json()
                rows += report["accepted"]
                await cpc_campaign(client, key)
                if n % 10 == 0:
                    print(f"uploaded {n}/{len(network)} catalogs, {rows:,} products searchable", flush=True)
            searchable_s = time.perf_counter() - started
            store = (
                await client.post("/v1/stores", headers=admin, json={"name": "Bench shop", "brand": "Bench"})
            ).json()
            store_key = {"Authorization": f"Bearer {store['secret_key']}"}
            decide_ms, click_ms, filled, clicks = [], [], 0, []
            for i in range(orders):
                basket = DEMO_ORDERS[i % len(DEMO_ORDERS)]
                order = dict(basket, order_id=f"bench-{i}", total=sum(x["price"] for x in basket["line_items"]))
                t = time.perf_counter()
                offers = (await client.post("/v1/orders", json=order, headers=store_key)).json()["offers"]
                decide_ms.append((time.perf_counter() - t) * 1000)
                filled += bool(offers)
                clicks += [offer["click_url"] for offer in offers[:1]]
            for url in clicks[:200]:
                t = time.perf_counter()
                r = await client.get(url.removeprefix("http://bench.local"), headers=UA, follow_redirects=False)
                click_ms.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 302
            balance = (await client.get("/v1/ledger/trial-balance", headers=admin)).json()
    return {
        "products": rows,
        "brands": len(network),
        "searchable_s": round(searchable_s, 1),
        "ingest_and_embed_rows_per_s": round(rows / searchable_s, 1),
        "decisions": orders,
        "fill_rate": round(filled / orders, 3),
        "decide_p50_ms": round(statistics.median(decide_ms), 2),
        "decide_p99_ms": round(percentile(decide_ms, 0.99), 2),
        "click_p50_ms": round(statistics.median(click_ms), 2),
        "click_p99_ms": round(percentile(click_ms, 0.99), 2),
        "ledger_trial_balance": balance,
        "database": "postgresql" if database_url.startswith("postgresql") else "sqlite",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--brands", type=int, default=60)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    result = asyncio.run(run(args.products, args.brands, args.orders, args.database_url))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "e2e.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
