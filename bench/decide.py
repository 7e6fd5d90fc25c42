"""`encore bench decide`: decisions through the HTTP API under open-loop load, from loopback.

Builds a partner network through the partner API (as `encore bench catalog` does), serves it with
`encore serve` in its own process, then offers POST /v1/orders at fixed rates, one step each.

`--workers 1,2,4` also measures the production topology (`encore serve --workers N` with `encore
worker`, PostgreSQL and Redis) for each N, under "workers": capacity_per_s, max_served_per_s (the
highest achieved rate with at most 1% errors), client p50/p99 there, and the steps.

Writes bench/results/decide.json with: catalog_products, rate_per_s, reported_step_rate,
server_p50_ms, server_p99_ms (from the Server-Timing header; null without it), client_p50_ms,
client_p99_ms (send to full response), errors, capacity_per_s (highest offered rate served in full
with no errors and client p99 <= 25 ms), server_timing_header, steps (per rate: offered_per_s,
achieved_per_s, requests, the same percentiles, errors, late_starts, error_kinds), encoder, database,
counters, cpu_count.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import numpy as np
from litestar.testing import AsyncTestClient

from bench.catalog import MODELS, _ingest, cpc_campaign
from exchange.app import create_app
from exchange.core.money import parse_price
from exchange.demo.catalog import DEMO_ORDERS, demo_network
from exchange.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
ADMIN_KEY = "adm"
SECRET = "s" * 40
ENCODER = "static"
CAPACITY_P99_MS = 25.0  # the latency budget a thank-you page can afford
STOP_P99_MS = 100.0  # past this, higher rates only measure a queue
STOP_ERROR_RATE = 0.01
LATE_MS = 10.0  # a request started this long after its scheduled time counts as a late start
WARMUP_REQUESTS = 200
REPORTED_RATE = 500
CONNECTIONS = 256
REQUEST_TIMEOUT_S = 10.0
SERVER_START_S = 600.0  # loading a 1.2M-product index takes minutes
WIDTHS = (8, 9, 8, 8, 8, 8, 7, 6)  # the summary table's columns
CATALOG_SAMPLE = 5000  # catalog titles the orders draw their line items from


@dataclass(frozen=True, slots=True)
class Sample:
    """One request's outcome."""

    ok: bool
    late: bool
    client_ms: float
    server_ms: float | None
    error: str = ""  # the status code, or the exception's name, with the start of the answer


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _line_items(network: list[Any], rng: random.Random) -> list[dict[str, Any]]:
    """What shoppers buy: the demo orders' items and a sample of the catalog's own products."""
    items = [item for order in DEMO_ORDERS for item in order["line_items"]]
    rows = [row for _, catalog in network for row in catalog]
    for row in rng.sample(rows, min(CATALOG_SAMPLE, len(rows))):
        items.append(
            {"title": row["title"], "price": parse_price(row["price"])[0], "quantity": 1, "brand": row["brand"]}
        )
    return items


def _order_bodies(items: list[dict[str, Any]], count: int, rng: random.Random) -> list[bytes]:
    """Orders with fresh ids: a repeated order_id would be answered from the record, not decided."""
    bodies = []
    for _ in range(count):
        lines = rng.sample(items, rng.randint(1, 3))
        order = {
            "order_id": f"bench-{uuid.uuid4().hex}",
            "currency": "USD",
            "country": "US",
            "total": sum(line["price"] * line["quantity"] for line in lines),
            "line_items": lines,
            "shopper_key": uuid.uuid4().hex,
        }
        bodies.append(msgspec.json.encode(order))
    return bodies


async def _build(settings: Settings, network: list[Any]) -> str:
    """Partners with their catalogs and a CPC campaign each, and one store; returns its secret key."""
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with AsyncTestClient(create_app(settings), base_url="http://bench.local", timeout=3600) as client:
        keys = await _ingest(client, network, admin)
        for key in keys:
            await cpc_campaign(client, key)
        r = await client.post("/v1/stores", json={"name": "Bench shop", "brand": "Bench"}, headers=admin)
        if r.status_code >= 400:
            raise SystemExit(f"store refused: {r.text}")
        secret_key: str = r.json()["secret_key"]
    return secret_key  # leaving the client closed the runtime, which saved the index to data_dir


def _start_server(settings: Settings, log: Path, workers: int = 0) -> list[subprocess.Popen[bytes]]:
    """`encore serve` as one process (workers=0), or `encore worker` plus `encore serve --workers N`."""
    env = os.environ | {
        "ENCORE_DATA_DIR": str(settings.data_dir),
        "ENCORE_DATABASE_URL": settings.database_url,
        "ENCORE_REDIS_URL": settings.redis_url,
        "ENCORE_REDIS_PREFIX": settings.redis_prefix,
        "ENCORE_PUBLIC_URL": settings.public_url,
        "ENCORE_ADMIN_KEY": ADMIN_KEY,
        "ENCORE_SECRET": SECRET,
        "ENCORE_ENCODER": ENCODER,
        "ENCORE_MODELS_DIR": str(MODELS),
        "HF_HUB_OFFLINE": "1",
    }
    cli = [sys.executable, "-m", "exchange.cli"]
    command = [*cli, "serve", "--host", settings.host, "--port", str(settings.port)]
    processes = []
    with log.open("wb") as out:
        if workers:
            background = subprocess.Popen([*cli, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
            processes.append(background)
            command += ["--workers", str(workers)]
        processes.append(subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT))  # noqa: S603
    return processes


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:]


async def _wait_healthy(client: httpx.AsyncClient, servers: list[subprocess.Popen[bytes]]) -> dict[str, Any]:
    """Ready and serving the catalog; with several workers, on a few answers in a row (any worker)."""
    deadline = time.monotonic() + SERVER_START_S
    good = 0
    while time.monotonic() < deadline:
        if any(server.poll() is not None for server in servers):
            raise SystemExit("a server process exited")
        try:
            r = await client.get("/healthz", headers={"Connection": "close"})
            good = good + 1 if r.status_code == 200 and r.json()["searchable_products"] > 0 else 0
            if good >= 8:
                health: dict[str, Any] = r.json()
                return health
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit(f"the server did not answer /healthz in {SERVER_START_S:.0f} s")


def _server_ms(header: str | None) -> float | None:
    """The decision's own time from `Server-Timing: decide;dur=<ms>` (else the first metric with a dur)."""
    if not header:
        return None
    durations: dict[str, float] = {}
    for metric in header.split(","):
        name, *params = (part.strip() for part in metric.split(";"))
        for param in params:
            if param.startswith("dur="):
                durations.setdefault(name, float(param[4:]))
    return durations.get("decide", next(iter(durations.values()), None))


async def _send(client: httpx.AsyncClient, headers: dict[str, str], body: bytes, due: float) -> Sample:
    started = time.perf_counter()
    late = (started - due) * 1000 > LATE_MS
    try:
        r = await client.post("/v1/orders", content=body, headers=headers)
    except httpx.HTTPError as exc:
        client_ms = (time.perf_counter() - started) * 1000
        return Sample(ok=False, late=late, client_ms=client_ms, server_ms=None, error=type(exc).__name__)
    client_ms = (time.perf_counter() - started) * 1000
    if r.status_code != 200:
        return Sample(ok=False, late=late, client_ms=client_ms, server_ms=None, error=f"{r.status_code} {r.text[:300]}")
    return Sample(ok=True, late=late, client_ms=client_ms, server_ms=_server_ms(r.headers.get("server-timing")))


async def _open_loop(
    client: httpx.AsyncClient, headers: dict[str, str], bodies: list[bytes], rate: float
) -> tuple[list[Sample], float]:
    """Send each body at its scheduled time, whatever earlier ones are doing; returns the samples and
    the seconds from the first scheduled send to the last response (or the scheduled end, if later)."""
    tasks: list[asyncio.Task[Sample]] = []
    start = time.perf_counter() + 0.05
    for n, body in enumerate(bodies):
        due = start + n / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(_send(client, headers, body, due)))
    samples = await asyncio.gather(*tasks)
    # A step lasts its scheduled length at least, so a short tail of answers cannot inflate the rate.
    return samples, max(time.perf_counter() - start, len(bodies) / rate)


def _percentiles(values: list[float], prefix: str) -> dict[str, float | None]:
    if not values:
        return {f"{prefix}_p50_ms": None, f"{prefix}_p99_ms": None}
    p50, p99 = np.percentile(values, [50, 99])
    return {f"{prefix}_p50_ms": round(float(p50), 2), f"{prefix}_p99_ms": round(float(p99), 2)}


def _step_figures(rate: int, samples: list[Sample], elapsed_s: float) -> dict[str, Any]:
    ok = [s for s in samples if s.ok]
    server = [s.server_ms for s in ok if s.server_ms is not None]
    return {
        "offered_per_s": rate,
        "achieved_per_s": round(len(ok) / elapsed_s, 1),
        "requests": len(samples),
        **_percentiles(server, "server"),
        **_percentiles([s.client_ms for s in ok], "client"),
        "errors": len(samples) - len(ok),
        "late_starts": sum(s.late for s in samples),
        "error_kinds": dict(Counter(s.error.split(" ", 1)[0] for s in samples if not s.ok)),
    }


def _sustained(step: dict[str, Any]) -> bool:
    return bool(
        step["achieved_per_s"] >= 0.95 * step["offered_per_s"]
        and step["errors"] == 0
        and step["client_p99_ms"] is not None
        and step["client_p99_ms"] <= CAPACITY_P99_MS
    )


def _overloaded(step: dict[str, Any]) -> bool:
    p99 = step["client_p99_ms"]
    return bool(p99 is None or p99 > STOP_P99_MS or step["errors"] > STOP_ERROR_RATE * step["requests"])


async def _load(
    base_url: str, store_key: str, items: list[dict[str, Any]], rates: list[int], seconds: float
) -> list[dict[str, Any]]:
    """Warm up, then one open-loop step per rate until the server falls behind; returns the steps."""
    rng = random.Random(11)
    headers = {"Authorization": f"Bearer {store_key}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    timeout = httpx.Timeout(REQUEST_TIMEOUT_S)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) as client:
        warmup_rate = min(rates[0], 100)
        print(f"warming up: {WARMUP_REQUESTS} decisions at {warmup_rate}/s...", flush=True)
        warmup, _ = await _open_loop(client, headers, _order_bodies(items, WARMUP_REQUESTS, rng), warmup_rate)
        if not any(s.ok for s in warmup):
            raise SystemExit(f"every warm-up decision failed; the first: {warmup[0].error}")
        steps: list[dict[str, Any]] = []
        for rate in rates:
            bodies = _order_bodies(items, max(1, round(rate * seconds)), rng)
            print(f"offering {rate}/s for {seconds:g} s ({len(bodies):,} decisions)...", flush=True)
            samples, elapsed = await _open_loop(client, headers, bodies, rate)
            steps.append(_step_figures(rate, samples, elapsed))
            print(f"  {_row(steps[-1])}", flush=True)
            if failed := next((s.error for s in samples if not s.ok), ""):
                print(f"  first error: {failed}", flush=True)
            if _overloaded(steps[-1]):
                print(f"  stopping: client p99 over {STOP_P99_MS:g} ms or errors over 1%", flush=True)
                break
    return steps


def _row(step: dict[str, Any]) -> str:
    def cell(value: object) -> str:
        return "-" if value is None else f"{value:.1f}" if isinstance(value, float) else str(value)

    keys = ("offered_per_s", "achieved_per_s", "server_p50_ms", "server_p99_ms", "client_p50_ms", "client_p99_ms")
    cells = [cell(step[key]) for key in (*keys, "errors", "late_starts")]
    return " ".join(f"{text:>{width}}" for text, width in zip(cells, WIDTHS, strict=True))


def _summary(result: dict[str, Any]) -> None:
    print(f"\ndecisions over HTTP on loopback, {result['catalog_products']:,} products, {result['cpu_count']} CPUs")
    names = ("offered", "achieved", "srv p50", "srv p99", "cli p50", "cli p99", "errors", "late")
    print(" ".join(f"{name:>{width}}" for name, width in zip(names, WIDTHS, strict=True)))
    for step in result["steps"]:
        print(_row(step))
    if not result["server_timing_header"]:
        print("(no Server-Timing header in the answers: server figures are null)")
    print(f"capacity: {result['capacity_per_s']}/s with client p99 <= {CAPACITY_P99_MS:g} ms")
    for shape in result.get("workers", []):
        print(
            f"serve --workers {shape['workers']} + worker: capacity {shape['capacity_per_s']}/s, served up to "
            f"{shape['max_served_per_s']}/s (client p50 {shape['client_p50_ms_at_max']} ms, "
            f"p99 {shape['client_p99_ms_at_max']} ms)"
        )


def _result(steps: list[dict[str, Any]], products: int, settings: Settings) -> dict[str, Any]:
    reported = next((s for s in steps if s["offered_per_s"] == REPORTED_RATE), None)
    reported = reported or max(steps, key=lambda s: s["offered_per_s"])
    keys = ("server_p50_ms", "server_p99_ms", "client_p50_ms", "client_p99_ms", "errors")
    return {
        "catalog_products": products,
        "rate_per_s": reported["achieved_per_s"],
        "reported_step_rate": reported["offered_per_s"],
        **{key: reported[key] for key in keys},
        "capacity_per_s": max((s["offered_per_s"] for s in steps if _sustained(s)), default=0),
        "server_timing_header": any(s["server_p50_ms"] is not None for s in steps),
        "steps": steps,
        "encoder": ENCODER,
        "database": "postgresql" if settings.database_url.startswith("postgresql") else "sqlite",
        "counters": "redis" if settings.redis_url else "in-process",
        "cpu_count": os.cpu_count(),
    }


async def run(
    products: int,
    brands: int,
    database_url: str,
    redis_url: str,
    rates: list[int],
    seconds: float,
    workers: list[int],
) -> dict[str, Any]:
    if not rates:
        raise SystemExit("--rates needs at least one rate")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request would load the generator
    print(f"generating {products:,} products from {brands:,} brands...", flush=True)
    network = demo_network(products=products, brands=brands)
    items = _line_items(network, random.Random(7))
    catalog_products = sum(len(rows) for _, rows in network)
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            database_url=database_url,
            redis_url=redis_url,
            redis_prefix=f"encore-bench-{uuid.uuid4().hex[:8]}:",  # never another run's counters
            admin_key=ADMIN_KEY,
            secret=SECRET,
            encoder=ENCODER,
            models_dir=MODELS,
            host="127.0.0.1",
            port=port,
            public_url=f"http://127.0.0.1:{port}",
        )
        print("uploading the catalog through the partner API...", flush=True)
        store_key = await _build(settings, network)
        del network  # the server needs the memory more than we do
        steps = await _measure(settings, store_key, items, rates, seconds, Path(tmp), 0)
        result = _result(steps, catalog_products, settings)
        if workers:
            result["workers"] = []
        for n in workers:
            worker_steps = await _measure(settings, store_key, items, rates, seconds, Path(tmp), n)
            result["workers"].append(_scaling(n, worker_steps))
    return result


def _scaling(workers: int, steps: list[dict[str, Any]]) -> dict[str, Any]:
    """One topology's figures: capacity (client p99 within budget), and the most it served in full."""
    served = [s for s in steps if s["errors"] <= 0.01 * max(1, s["requests"])]
    best = max(served, key=lambda s: s["achieved_per_s"], default=None)
    return {
        "workers": workers,
        "capacity_per_s": max((s["offered_per_s"] for s in steps if _sustained(s)), default=0),
        "max_served_per_s": best["achieved_per_s"] if best else 0,
        "client_p50_ms_at_max": best["client_p50_ms"] if best else None,
        "client_p99_ms_at_max": best["client_p99_ms"] if best else None,
        "steps": steps,
    }


async def _measure(
    settings: Settings,
    store_key: str,
    items: list[dict[str, Any]],
    rates: list[int],
    seconds: float,
    tmp: Path,
    workers: int,
) -> list[dict[str, Any]]:
    log = tmp / f"server-{workers}.log"
    shape = f"`encore serve --workers {workers}` and `encore worker`" if workers else "`encore serve`"
    print(f"starting {shape} on {settings.public_url}...", flush=True)
    servers = _start_server(settings, log, workers)
    try:
        async with httpx.AsyncClient(base_url=settings.public_url, timeout=5) as probe:
            health = await _wait_healthy(probe, servers)
        print(f"  serving {health['searchable_products']:,} searchable products", flush=True)
        steps = await _load(settings.public_url, store_key, items, rates, seconds)
        if any(kind.startswith("5") for step in steps for kind in step["error_kinds"]):
            print(f"the server's log ends:\n{_tail(log)}", flush=True)
    except SystemExit:  # the server's own account of why it could not start or answer
        print(f"the server's log ends:\n{_tail(log)}", flush=True)
        raise
    finally:
        for server in reversed(servers):
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    return steps


def main(
    products: int,
    brands: int,
    database_url: str,
    redis_url: str,
    rates: list[int],
    seconds: float,
    workers: list[int] | None = None,
) -> None:
    if workers and not (database_url.startswith("postgresql") and redis_url):
        raise SystemExit(
            "--workers runs the production topology: pass --database-url postgresql+asyncpg://... --redis-url"
        )
    if workers and database_url.startswith("postgresql"):
        from bench.ledger import _fresh_database

        asyncio.run(_fresh_database(database_url))
    result = asyncio.run(run(products, brands, database_url, redis_url, rates, seconds, workers or []))
    _summary(result)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "decide.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"wrote {path}")
