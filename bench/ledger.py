"""`encore bench ledger`: billing exactly once under concurrent retries, and reports at scale, on
PostgreSQL with Redis.

1. Through the HTTP API (uvicorn on loopback, in a thread of this process, on PostgreSQL and
   Redis): one CPA offer is clicked, then `--conversions` sales are each posted twice at once (a
   partner retrying), up to `--concurrency` in flight. Answers of 409 (the first is still running)
   are retried until answered.
   double_bills: ledger transactions beyond one per sale; lost_acknowledged: sales answered "billed"
   with no ledger transaction; drift: what `encore ledger reconcile` finds (journal, stored balances,
   Redis spend).
2. The journal is filled to `--entries` entries (synthetic sales over 30 days, 200 stores, written
   with SQL in bulk), then the payout report over all of it is timed: report_s is the median of 3.

Writes bench/results/ledger.json. The database named by --database-url is emptied first.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bench.live import free_port, serving
from exchange.core.db import make_engine, utcnow
from exchange.counters import open_counters
from exchange.ledger.reconcile import reconcile
from exchange.reports import payout_report
from exchange.settings import Settings
from exchange.tracking.service import postback_signature

RESULTS = Path(__file__).resolve().parent / "results"
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
PRODUCTS = [
    {"id": f"SK-{n}", "title": f"Trailwind Merino Running Socks, {size}", "brand": "Trailwind", "price": "18.00 USD"}
    | {"link": f"https://trailwind.example/p/sk-{n}", "product_type": "Apparel > Socks"}
    for n, size in enumerate(("S", "M", "L", "XL"))
]
SYNTHETIC_BASE = 10**12  # ids of the synthetic transactions, far above the sequence's
STORES, PARTNERS = 200, 50


async def _fresh_database(url: str) -> None:
    """Create the bench database if needed and empty it."""
    name = url.rsplit("/", 1)[-1]
    admin = make_engine(url.rsplit("/", 1)[0] + "/postgres").execution_options(isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        exists = await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def _double_posts(settings: Settings, url: str, conversions: int, concurrency: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        operator = {"Authorization": f"Bearer {settings.admin_key}"}
        partner = (await client.post("/v1/partners", json={"name": "Trailwind"}, headers=operator)).json()
        key = {"Authorization": f"Bearer {partner['secret_key']}"}
        feed = "\n".join(json.dumps(row) for row in PRODUCTS)
        r = await client.post("/v1/catalog", content=feed, headers=key | {"Content-Type": "application/x-ndjson"})
        assert r.status_code == 200, r.text
        campaign = {"name": "cpa", "pricing": "cpa", "currency": "USD", "max_bid_minor": 500}
        campaign |= {"daily_budget_minor": 10**12, "total_budget_minor": 10**12}
        assert (await client.post("/v1/campaigns", json=campaign, headers=key)).status_code == 201
        store = (await client.post("/v1/stores", json={"name": "Bench", "brand": "Bench"}, headers=operator)).json()
        order = {"order_id": "bench-1", "currency": "USD", "total": 12900, "country": "US"}
        order["line_items"] = [{"title": "Men's Road Running Shoe, Size 10", "price": 12900}]
        decision = await client.post(
            "/v1/orders", json=order, headers={"Authorization": f"Bearer {store['secret_key']}"}
        )
        offer = decision.json()["offers"][0]
        await client.post(httpx.URL(offer["impression_url"]).path)  # the widget saw it on screen
        clicked = await client.get(
            httpx.URL(offer["click_url"]).path, headers={"User-Agent": BROWSER_UA}, follow_redirects=False
        )
        click_id = httpx.URL(clicked.headers["location"]).params["encore_click"]
        secret = partner["signing_secret"]

        async def postback(sale: dict[str, str]) -> httpx.Response:
            raw = json.dumps(sale).encode()
            signature = postback_signature(secret, raw)
            return await client.post(
                f"/v1/partners/{partner['id']}/conversions", content=raw, headers={"Encore-Signature": signature}
            )

        gate = asyncio.Semaphore(concurrency)
        answers: dict[str, list[dict[str, Any]]] = {}
        conflicts = 0

        async def post(n: int) -> None:
            nonlocal conflicts
            sale = {"transaction_id": f"sale-{n}", "click_id": click_id}
            while True:
                async with gate:
                    r = await postback(sale)
                if r.status_code != 409:
                    break
                conflicts += 1
                await asyncio.sleep(0.05)
            assert r.status_code == 200, r.text
            answers.setdefault(sale["transaction_id"], []).append(r.json())

        started = time.perf_counter()
        tasks = [asyncio.create_task(post(n)) for n in range(conversions) for _ in range(2)]
        for done, task in enumerate(asyncio.as_completed(tasks), start=1):
            await task
            if done % 2000 == 0:
                print(f"  {done:,}/{len(tasks):,} postbacks answered", flush=True)
        elapsed = time.perf_counter() - started
        acknowledged = {t for t, pair in answers.items() if any(a["billed"] for a in pair)}
        disagreeing = sum(1 for pair in answers.values() if pair[0] != pair[1])
    # The server runs on its own thread and event loop: check from this one, with its own connections.
    engine = make_engine(settings.sqlalchemy_url)
    counters = await open_counters(settings.redis_url, settings.redis_prefix)
    async with AsyncSession(engine) as session:
        rows = await session.execute(
            text(
                "SELECT c.transaction_id, count(t.id) FROM conversions c "
                "LEFT JOIN ledger_transactions t ON t.event_ref = 'conversion:' || c.id GROUP BY c.transaction_id"
            )
        )
        posted = {t: int(n) for t, n in rows}
        billed_transactions = int(await session.scalar(text("SELECT count(*) FROM ledger_transactions")) or 0)
        check = await reconcile(session, counters if settings.redis_url else None, utcnow())
    await counters.close()
    await engine.dispose()
    return {
        "conversions": conversions,
        "postbacks": 2 * conversions,
        "postbacks_per_s": round(2 * conversions / elapsed, 1),
        "answered_409_then_retried": conflicts,
        "acknowledged_billed": len(acknowledged),
        "ledger_transactions": billed_transactions,
        "double_bills": sum(n - 1 for n in posted.values() if n > 1) + max(0, billed_transactions - len(posted)),
        "lost_acknowledged": sum(1 for t in acknowledged if posted.get(t, 0) == 0),
        "retries_answered_differently": disagreeing,
        "drift": len(check.drift),
    }


async def _fill_and_report(url: str, entries: int) -> dict[str, Any]:
    """Synthetic sales straight into the journal (balanced, with balances), then the payout report."""
    engine = make_engine(url)
    transactions = entries // 3
    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO stores (id, name, brand, publishable_key, allowed_origins, revenue_share_bps, max_offers,"
                " theme, categories, controls, shopify_webhook_secret, shopify_shop, created_at) "
                "SELECT 'bst_' || g, 'Store ' || g, 'Brand ' || g, 'pk_bench_' || g, '[]', 7000, 1, '{}', '[]', '{}',"
                " '', '', now() FROM generate_series(1, :n) g"
            ),
            {"n": STORES},
        )
        await conn.execute(
            text(
                "INSERT INTO partners (id, name, signing_secret, order_url, created_at) "
                "SELECT 'bpt_' || g, 'Partner ' || g, 'whsec', '', now() FROM generate_series(1, :n) g"
            ),
            {"n": PARTNERS},
        )
        await conn.execute(
            text(
                "INSERT INTO ledger_transactions (id, event_ref, kind, store_id, partner_id, campaign_id, currency,"
                " gross_minor, created_at) "
                "SELECT CAST(:base AS bigint) + g, 'bench:' || g, CASE WHEN g % 5 = 0 THEN 'cpa' ELSE 'cpc' END,"
                " 'bst_' || (1 + g % :stores), 'bpt_' || (1 + g % :partners), NULL, 'USD', 5 + g % 400,"
                " now() - (g % 2592000) * interval '1 second' FROM generate_series(1, :n) g"
            ),
            {"base": SYNTHETIC_BASE, "stores": STORES, "partners": PARTNERS, "n": transactions},
        )
        print(f"  {transactions:,} transactions written ({time.perf_counter() - started:.0f} s)", flush=True)
        await conn.execute(
            text(
                "INSERT INTO ledger_entries (transaction_id, account, amount_minor, currency) "
                "SELECT id, 'partner:' || partner_id || '\\:receivable', gross_minor, currency FROM ledger_transactions"
                " WHERE id > CAST(:base AS bigint) UNION ALL "
                "SELECT id, 'store:' || store_id || '\\:payable', -(gross_minor * 7000 / 10000), currency"
                " FROM ledger_transactions WHERE id > CAST(:base AS bigint) UNION ALL "
                "SELECT id, 'exchange:revenue', -(gross_minor - gross_minor * 7000 / 10000), currency"
                " FROM ledger_transactions WHERE id > CAST(:base AS bigint)"
            ),
            {"base": SYNTHETIC_BASE},
        )
        print(f"  {3 * transactions:,} entries written ({time.perf_counter() - started:.0f} s)", flush=True)
        await conn.execute(
            text(
                "INSERT INTO ledger_balances (account, currency, balance_minor) "
                "SELECT e.account, e.currency, sum(e.amount_minor) FROM ledger_entries e"
                " WHERE e.transaction_id > CAST(:base AS bigint) GROUP BY e.account, e.currency "
                "ON CONFLICT (account, currency) DO UPDATE"
                " SET balance_minor = ledger_balances.balance_minor + excluded.balance_minor"
            ),
            {"base": SYNTHETIC_BASE},
        )
    async with engine.connect() as conn:
        await conn.execute(text("ANALYZE"))
        total = int(await conn.scalar(text("SELECT count(*) FROM ledger_entries")) or 0)
    fill_s = time.perf_counter() - started
    today = utcnow().date()
    times = []
    rows = 0
    for _ in range(3):
        t0 = time.perf_counter()
        async with AsyncSession(engine) as session:
            report = await payout_report(session, today - dt.timedelta(days=31), today)
        times.append(time.perf_counter() - t0)
        rows = len(report.rows)
        print(f"  payout report over {total:,} entries: {times[-1]:.2f} s, {rows} rows", flush=True)
    t0 = time.perf_counter()
    async with AsyncSession(engine) as session:
        check = await reconcile(session, None, utcnow())
    reconcile_s = time.perf_counter() - t0
    await engine.dispose()
    return {
        "entries": total,
        "fill_s": round(fill_s, 1),
        "report_s": round(statistics.median(times), 2),
        "report_runs_s": [round(t, 2) for t in times],
        "report_rows": rows,
        "reconcile_s": round(reconcile_s, 2),
        "drift_after_fill": len(check.drift),
    }


def main(database_url: str, redis_url: str, conversions: int, concurrency: int, entries: int) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per postback would drown the progress
    if not database_url.startswith("postgresql"):
        raise SystemExit("the ledger bench runs on PostgreSQL: pass --database-url postgresql+asyncpg://...")
    asyncio.run(_fresh_database(database_url))
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            database_url=database_url,
            redis_url=redis_url,
            redis_prefix=f"encore-bench:{uuid.uuid4().hex}:",
            admin_key="adm",
            secret="s" * 40,
            public_url="http://bench.local",
            encoder="minilm",
        )
        print(f"posting {conversions:,} sales twice each, {concurrency} in flight...", flush=True)
        port = free_port()
        settings = msgspec.structs.replace(settings, public_url=f"http://127.0.0.1:{port}")
        with serving(settings, port) as url:
            money = asyncio.run(_double_posts(settings, url, conversions, concurrency))
    print(json.dumps(money, indent=2), flush=True)
    print(f"filling the journal to {entries:,} entries...", flush=True)
    scale = asyncio.run(_fill_and_report(database_url, entries))
    result = {**money, **scale, "drift": money["drift"] + scale["drift_after_fill"], "database": "postgresql"}
    result["counters"] = "redis" if redis_url else "in-process"
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "ledger.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"wrote {out}")
    asyncio.run(_fresh_database(database_url))  # give the disk back
