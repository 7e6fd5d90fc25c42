"""`encore bench catalog`: a realistic partner network uploaded through the partner API, timed.

Writes bench/results/catalog.json with: products, brands, searchable_s (upload start to searchable),
ingest_rows_per_s, embed_texts_per_s, search_p50_ms, search_p99_ms (single-threaded), recall_at_10,
index_bytes, peak_rss_bytes, feed_update_visible_s (one partner's 10k-product update).
"""

from __future__ import annotations

import asyncio
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import faiss
import msgspec
import numpy as np
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from exchange.app import create_app
from exchange.demo.catalog import demo_network
from exchange.runtime import Runtime
from exchange.settings import Settings
from partners.models import Partner, Product
from partners.service import embed_text

RESULTS = Path(__file__).resolve().parent / "results"
IN_FLIGHT = 16  # partners uploading at once: the index writer swaps in all their chunks together
MODELS = Path(__file__).resolve().parents[1] / ".encore" / "models"  # the distilled model is kept between runs


def _rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


async def _wait(client: AsyncTestClient[Any], key: dict[str, str], job_id: str) -> dict[str, Any]:
    while True:
        job: dict[str, Any] = (await client.get(f"/v1/catalog/jobs/{job_id}", headers=key)).json()
        if job["status"] in ("succeeded", "failed"):
            if job["status"] == "failed":
                raise SystemExit(f"upload job failed: {job['error']}")
            return job
        await asyncio.sleep(0.05)


async def cpc_campaign(client: AsyncTestClient[Any], key: dict[str, str], name: str = "bench") -> None:
    """A CPC campaign at 50 cents with budgets no benchmark exhausts."""
    body = {
        "name": name,
        "pricing": "cpc",
        "currency": "USD",
        "max_bid_minor": 50,
        "daily_budget_minor": 10**10,
        "total_budget_minor": 10**11,
    }
    r = await client.post("/v1/campaigns", json=body, headers=key)
    if r.status_code != 201:
        raise SystemExit(f"campaign refused: {r.text}")


async def _upload(client: AsyncTestClient[Any], key: dict[str, str], rows: list[dict[str, str]]) -> dict[str, Any]:
    body = b"\n".join(msgspec.json.encode(row) for row in rows)
    r = await client.post("/v1/catalog/jobs", content=body, headers=key | {"Content-Type": "application/x-ndjson"})
    if r.status_code != 202:
        raise SystemExit(f"upload refused: {r.text}")
    return await _wait(client, key, r.json()["id"])


async def _ingest(client: AsyncTestClient[Any], network: list[Any], admin: dict[str, str]) -> list[dict[str, str]]:
    keys: list[dict[str, str]] = []
    queue: asyncio.Queue[tuple[dict[str, str], list[dict[str, str]]]] = asyncio.Queue()
    for brand, rows in network:
        partner = (await client.post("/v1/partners", json={"name": brand.name}, headers=admin)).json()
        key = {"Authorization": f"Bearer {partner['secret_key']}"}
        keys.append(key)
        queue.put_nowait((key, rows))
    done = 0
    total = sum(len(rows) for _, rows in network)

    async def uploader() -> None:
        nonlocal done
        while not queue.empty():
            key, rows = queue.get_nowait()
            await _upload(client, key, rows)
            done += len(rows)
            if done * 20 // total != (done - len(rows)) * 20 // total:
                print(f"  searchable {done:,}/{total:,} products", flush=True)

    await asyncio.gather(*(uploader() for _ in range(IN_FLIGHT)))
    return keys


def _search_figures(runtime: Runtime, rows: list[dict[str, str]], id_of: list[int]) -> dict[str, float]:
    """Single-threaded latency and recall@10 of the live index against exact search on the same vectors."""
    rng = np.random.default_rng(7)
    picks = rng.choice(len(rows), size=min(1000, len(rows)), replace=False)
    # Queries are what a store sends: a line item's title, not a catalog entry's full text.
    queries = runtime.encoder.encode([rows[i]["title"].split(",")[0] for i in picks])
    faiss.omp_set_num_threads(1)
    times, found = [], []
    for q in queries:
        t = time.perf_counter()
        _, ids = runtime.index.search(q[None, :], 10)
        times.append((time.perf_counter() - t) * 1000)
        found.append(ids[0])
    faiss.omp_set_num_threads(2)
    print("  exact search for recall: embedding the catalog once more for ground truth...", flush=True)
    exact = faiss.IndexFlatIP(runtime.encoder.dim)
    for start in range(0, len(rows), 100_000):
        batch = rows[start : start + 100_000]
        exact.add(runtime.encoder.encode([embed_text(r["title"], r["brand"], r["product_type"]) for r in batch]))
    _, truth = exact.search(queries, 10)
    hits = sum(len(set(f.tolist()) & {id_of[int(i)] for i in t}) for f, t in zip(found, truth, strict=True))
    return {
        "search_p50_ms": round(statistics.median(times), 3),
        "search_p99_ms": round(float(np.percentile(times, 99)), 3),
        "recall_at_10": round(hits / (10 * len(queries)), 4),
    }


async def _db_ids(runtime: Runtime, rows: list[dict[str, str]]) -> list[int]:
    """The index's ids (database ids) of the generated rows, in order."""
    async with runtime.sessions() as session:
        stmt = select(Partner.name, Product.external_id, Product.id).join(Partner)
        mapping = {(name, ext): pid for name, ext, pid in await session.execute(stmt)}
    return [mapping[(row["brand"], row["id"])] for row in rows]


async def run(products: int, brands: int, database_url: str, encoder: str) -> dict[str, Any]:
    print(f"generating {products:,} products from {brands:,} brands...", flush=True)
    network = demo_network(products=products, brands=brands)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            database_url=database_url,
            admin_key="adm",
            secret="s" * 40,
            encoder=encoder,
            models_dir=MODELS,
        )
        app = create_app(settings)
        async with AsyncTestClient(app, base_url="http://bench.local", timeout=3600) as client:
            runtime: Runtime = app.state.runtime
            sample = [embed_text(r["title"], r["brand"], r["product_type"]) for r in network[0][1][:2000]] * 10
            t = time.perf_counter()
            runtime.encoder.encode(sample)
            embed_rate = len(sample) / (time.perf_counter() - t)
            admin = {"Authorization": "Bearer adm"}
            print(f"uploading through POST /v1/catalog/jobs, {IN_FLIGHT} partners at a time...", flush=True)
            started = time.perf_counter()
            keys = await _ingest(client, network, admin)
            searchable_s = time.perf_counter() - started
            peak_rss = _rss_bytes()
            update_rows = [dict(row, title=row["title"] + " (2026 edition)") for row in network[0][1]][:10_000]
            extra = demo_network(products=10_000, brands=1, seed=99)[0][1]
            update_rows += [dict(row, id=f"NEW-{i}", brand=network[0][0].name) for i, row in enumerate(extra)]
            update_rows = update_rows[:10_000]
            t = time.perf_counter()
            await _upload(client, keys[0], update_rows)
            update_s = time.perf_counter() - t
            rows = [row for _, catalog in network for row in catalog]
            figures = await asyncio.to_thread(_search_figures, runtime, rows, await _db_ids(runtime, rows))
            index_bytes = runtime.index.memory_bytes()
    return {
        "products": sum(len(rows) for _, rows in network),
        "brands": len(network),
        "encoder": encoder,
        "database": "postgresql" if database_url.startswith("postgresql") else "sqlite",
        "searchable_s": round(searchable_s, 1),
        "ingest_rows_per_s": round(products / searchable_s, 1),
        "embed_texts_per_s": round(embed_rate, 1),
        **figures,
        "index_bytes": index_bytes,
        "peak_rss_bytes": peak_rss,
        "feed_update_visible_s": round(update_s, 2),
    }


def main(products: int, brands: int, database_url: str, encoder: str) -> None:
    result = asyncio.run(run(products, brands, database_url, encoder))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "catalog.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
