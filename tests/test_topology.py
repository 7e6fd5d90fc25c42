"""The production shape as real processes on loopback: `encore serve --workers 2` and `encore worker`
on PostgreSQL and Redis. A catalog uploaded to any serving worker is built by the background worker
and served by every worker; sales are posted twice each while one serving worker is killed with
SIGKILL; no acknowledged sale is lost, none is billed twice, and the exchange keeps answering.

Runs when ENCORE_TEST_DATABASE_URL and ENCORE_TEST_REDIS_URL are set (`.ci/run` sets them)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from bench.live import free_port
from exchange.core.db import make_engine
from tests.conftest import PG_URL, REDIS_URL, reset_postgres
from tests.exchange.catalog import coffee_brand, running_brand
from tests.support import BROWSER_UA, jsonl, order_body, sign_postback

pytestmark = pytest.mark.skipif(
    not (PG_URL and REDIS_URL), reason="needs ENCORE_TEST_DATABASE_URL and ENCORE_TEST_REDIS_URL (.ci/run sets them)"
)
ADMIN = "adm_topology"
SERVE_ARGS = ["serve", "--workers", "2"]  # docker/compose.yaml runs these same commands
WORKER_ARGS = ["worker"]


class Topology:
    def __init__(self, url: str, serve: subprocess.Popen[bytes], worker: subprocess.Popen[bytes]) -> None:
        self.url, self.serve, self.worker = url, serve, worker

    def serving_workers(self) -> list[int]:
        """The pids of uvicorn's worker processes (children of `encore serve`)."""
        children = Path(f"/proc/{self.serve.pid}/task/{self.serve.pid}/children").read_text().split()
        return [int(pid) for pid in children]


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"`encore serve` exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"not ready within {timeout_s} s: {log.read_text()[-3000:]}")


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    asyncio.run(reset_postgres(PG_URL))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "ENCORE_DATA_DIR": str(tmp_path / "encore"),
        "ENCORE_DATABASE_URL": PG_URL,
        "ENCORE_REDIS_URL": REDIS_URL,
        "ENCORE_REDIS_PREFIX": f"encore-topology:{uuid.uuid4().hex}:",
        "ENCORE_ADMIN_KEY": ADMIN,
        "ENCORE_SECRET": "topology-secret-" + "x" * 32,
        "ENCORE_PUBLIC_URL": url,
        "ENCORE_PORT": str(port),
        "ENCORE_INDEX_POLL_S": "0.5",
        "ENCORE_CLICK_FLOOD_PER_HOUR": "100000",
        "HF_HUB_OFFLINE": "1",
    }
    logs = tmp_path / "worker.log", tmp_path / "serve.log"
    cli = [sys.executable, "-m", "exchange.cli"]
    worker = subprocess.Popen([*cli, *WORKER_ARGS], env=env, stdout=logs[0].open("wb"), stderr=subprocess.STDOUT)  # noqa: S603
    serve = subprocess.Popen(  # noqa: S603 (our own CLI)
        [*cli, *SERVE_ARGS], env=env, stdout=logs[1].open("wb"), stderr=subprocess.STDOUT
    )
    try:
        _wait_ready(url, serve, logs[1])
        yield Topology(url, serve, worker)
    finally:
        for process in (serve, worker):
            process.send_signal(signal.SIGTERM)  # a graceful stop: in-flight requests finish
        for process in (serve, worker):
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


def test_two_workers_and_a_background_worker_lose_nothing_when_one_is_killed(topology: Topology) -> None:
    operator = {"Authorization": f"Bearer {ADMIN}"}
    with httpx.Client(base_url=topology.url, timeout=120) as client:
        runner = client.post("/v1/partners", json={"name": "Trailwind"}, headers=operator).json()
        brewer = client.post("/v1/partners", json={"name": "Brewmaster"}, headers=operator).json()
        for partner, rows in ((runner, running_brand()), (brewer, coffee_brand())):
            key = {"Authorization": f"Bearer {partner['secret_key']}", "Content-Type": "application/x-ndjson"}
            # Uploaded to a serving worker, built and published by the background worker.
            r = client.post("/v1/catalog", content=jsonl(rows), headers=key)
            assert r.status_code == 200 and r.json()["accepted"] == len(rows), r.text
            campaign = {"name": "cpa", "pricing": "cpa", "currency": "USD", "max_bid_minor": 500}
            campaign |= {"daily_budget_minor": 10**9, "total_budget_minor": 10**9, "frequency_cap": 2}
            assert client.post("/v1/campaigns", json=campaign, headers=key).status_code == 201
        store = client.post("/v1/stores", json={"name": "Shop", "brand": "Shop"}, headers=operator).json()
        store_key = {"Authorization": f"Bearer {store['secret_key']}"}
        # Every serving worker answers from the published index: ask each connection afresh.
        for n in range(6):
            with httpx.Client(base_url=topology.url, timeout=60) as fresh:
                r = fresh.post("/v1/orders", json=order_body(f"warm-{n}", "Men's Road Running Shoe"), headers=store_key)
                assert r.status_code == 200 and r.json()["offers"], r.text
        # A frequency cap of 2 offers per shopper a day holds whichever worker answers (Redis).
        capped = []
        for n in range(6):
            with httpx.Client(base_url=topology.url, timeout=60) as fresh:
                body = order_body(f"cap-{n}", "Men's Road Running Shoe", shopper_key="same-shopper")
                capped += fresh.post("/v1/orders", json=body, headers=store_key).json()["offers"]
        by_partner = [o["partner"]["id"] for o in capped]
        assert by_partner.count(runner["id"]) == 2 and by_partner.count(brewer["id"]) <= 2, by_partner
        offer = client.post("/v1/orders", json=order_body("o-1", "Men's Road Running Shoe"), headers=store_key)
        offer_json = offer.json()["offers"][0]
        client.post(httpx.URL(offer_json["impression_url"]).path)
        click = client.get(httpx.URL(offer_json["click_url"]).path, headers={"User-Agent": BROWSER_UA})
        click_id = httpx.URL(click.headers["location"]).params["encore_click"]
        partner = runner if offer_json["partner"]["id"] == runner["id"] else brewer

    answers = asyncio.run(_post_sales_killing_a_worker(topology, partner, click_id, sales=150))
    billed = {t for t, a in answers.items() if a["billed"]}
    assert len(billed) == 150  # every sale acknowledged as billed, despite the kill

    async def ledger() -> dict[str, int]:
        engine = make_engine(PG_URL)
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT c.transaction_id, count(t.id) FROM conversions c LEFT JOIN ledger_transactions t "
                    "ON t.event_ref = 'conversion:' || c.id GROUP BY c.transaction_id"
                )
            )
            counts = {t: int(n) for t, n in rows}
        await engine.dispose()
        return counts

    counts = asyncio.run(ledger())
    assert all(counts.get(t) == 1 for t in billed), {t: counts.get(t) for t in billed if counts.get(t) != 1}
    assert sum(counts.values()) == 150  # nothing lost, nothing billed twice
    balance = httpx.get(f"{topology.url}/v1/ledger/trial-balance", headers=operator).json()
    assert balance == {"USD": 0}
    # Whichever worker answers the scrape reports every worker's figures (multiprocess metrics).
    metrics = httpx.get(f"{topology.url}/metrics").text
    assert 'encore_conversions_total{outcome="billed"}' in metrics and "encore_index_published_version" in metrics


async def _post_sales_killing_a_worker(
    topology: Topology, partner: dict[str, Any], click_id: str, sales: int
) -> dict[str, dict[str, Any]]:
    """Each sale posted twice at once, retried on a dropped connection or a 409, as a partner does;
    one serving worker is killed with SIGKILL a third of the way in."""
    answers: dict[str, dict[str, Any]] = {}
    killed: list[int] = []

    async def post(client: httpx.AsyncClient, n: int) -> None:
        body = json.dumps({"transaction_id": f"sale-{n}", "click_id": click_id}).encode()
        for _ in range(120):
            try:
                r = await client.post(
                    f"/v1/partners/{partner['id']}/conversions",
                    content=body,
                    headers={"Encore-Signature": sign_postback(partner["signing_secret"], body)},
                )
            except httpx.TransportError:  # the worker holding this connection died
                await asyncio.sleep(0.5)
                continue
            if r.status_code == 409:  # the first copy is still being processed (or its worker died)
                await asyncio.sleep(0.5)
                continue
            assert r.status_code == 200, r.text
            answer = r.json()
            earlier = answers.setdefault(f"sale-{n}", answer)
            assert earlier == answer  # both copies get the same answer
            return
        raise AssertionError(f"sale-{n} was never answered")

    async def kill_one_later() -> None:
        while len(answers) < sales // 3:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        victim = topology.serving_workers()[0]
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)

    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(base_url=topology.url, timeout=30, limits=limits) as client:
        await asyncio.gather(kill_one_later(), *(post(client, n) for n in range(sales) for _ in range(2)))
        assert killed, "no worker was killed"
        r = await client.get("/readyz")  # the others (and the one uvicorn restarts) still answer
        assert r.status_code == 200
    return answers


def test_sigterm_lets_in_flight_requests_finish(topology: Topology) -> None:
    """A rolling restart: SIGTERM stops new connections, every request being answered gets its whole
    answer, and nothing is half-written (each order has its whole decision, or was never taken)."""
    operator = {"Authorization": f"Bearer {ADMIN}"}
    with httpx.Client(base_url=topology.url, timeout=60) as client:
        store = client.post("/v1/stores", json={"name": "Shop", "brand": "Shop"}, headers=operator).json()
    store_key = {"Authorization": f"Bearer {store['secret_key']}"}

    async def order(client: httpx.AsyncClient, n: int) -> str:
        try:
            r = await client.post("/v1/orders", json=order_body(f"drain-{n}", "Espresso Machine"), headers=store_key)
        except httpx.TransportError:
            return "unanswered"  # not taken before the shutdown, or a closing idle connection: a client retries
        return "answered" if r.status_code == 200 else f"HTTP {r.status_code}"

    async def load() -> list[str]:
        async with httpx.AsyncClient(base_url=topology.url, timeout=60) as client:
            await client.get("/healthz")
            tasks = [asyncio.create_task(order(client, n)) for n in range(200)]
            await asyncio.sleep(0.05)
            topology.serve.send_signal(signal.SIGTERM)
            return list(await asyncio.gather(*tasks))

    outcomes = asyncio.run(load())
    assert set(outcomes) <= {"answered", "unanswered"}, outcomes
    assert "answered" in outcomes
    assert topology.serve.wait(timeout=60) == 0

    async def recorded() -> tuple[set[str], set[str]]:
        engine = make_engine(PG_URL)
        async with engine.connect() as conn:
            orders = {r for (r,) in await conn.execute(text("SELECT order_ref FROM orders"))}
            decided = {
                r
                for (r,) in await conn.execute(
                    text("SELECT o.order_ref FROM orders o JOIN decisions d ON d.order_id = o.id")
                )
            }
        await engine.dispose()
        return orders, decided

    orders, decided = asyncio.run(recorded())
    assert orders == decided  # no order without its decision
    answered = {f"drain-{n}" for n, outcome in enumerate(outcomes) if outcome == "answered"}
    assert answered <= decided  # every answer given was recorded
