"""The `encore` command: serve, migrate, demo, bench, eval."""

from __future__ import annotations

import argparse
import asyncio
import logging
import logging.config
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.observability import log_config
from exchange.settings import Settings, settings_from_env


def _settings(args: argparse.Namespace) -> Settings:
    settings = settings_from_env(host=args.host, port=args.port)
    if not _env_has("ENCORE_PUBLIC_URL"):
        wildcard = settings.host in ("0.0.0.0", "::")  # noqa: S104 (a comparison, not a bind)
        host = "127.0.0.1" if wildcard else settings.host
        settings = settings_from_env(host=args.host, port=args.port, public_url=f"http://{host}:{settings.port}")
    return settings


def _env_has(name: str) -> bool:
    return bool(os.environ.get(name))


def serve(settings: Settings, workers: int = 1) -> None:
    """One process (role "all"), or `workers` serving processes (role "serve") beside `encore worker`."""
    import uvicorn

    from exchange.app import create_app

    options: dict[str, Any] = {"host": settings.host, "port": settings.port, "timeout_graceful_shutdown": 30}
    options["log_config"] = log_config(settings.log_format)
    if workers <= 1 and settings.role != "serve":
        uvicorn.run(create_app(settings), log_level="info", **options)
        return
    if not settings.database_url.startswith("postgresql") or not settings.redis_url:
        raise SystemExit(
            "several workers share PostgreSQL and Redis: set ENCORE_DATABASE_URL=postgresql+asyncpg://... and "
            "ENCORE_REDIS_URL=redis://..., and run `encore worker` beside them (docs/deploy.md)"
        )
    # Every worker process builds its settings from the environment: hand them exactly these.
    for field in msgspec.structs.fields(Settings):
        value = getattr(settings, field.name)
        if value is not None:
            os.environ[f"ENCORE_{field.name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    os.environ["ENCORE_ROLE"] = "serve"
    # /metrics sums every worker process's figures from files here (prometheus_client multiprocess):
    # local to this host or container, never on the shared data volume.
    metrics_dir = Path(tempfile.gettempdir()) / f"encore-metrics-{settings.port}"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir.resolve())
    uvicorn.run("exchange.app:create_app", factory=True, workers=workers, log_level="info", **options)


def worker(settings: Settings) -> None:
    """The background worker: catalog jobs, index builds and publishing, month closes."""
    from exchange.topology import background_worker

    asyncio.run(background_worker(msgspec.structs.replace(settings, role="worker")))


def migrate(settings: Settings) -> None:
    from exchange.core.db import make_engine
    from exchange.migrate import upgrade

    async def run() -> None:
        engine = make_engine(settings.sqlalchemy_url)
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(run())
    print(f"schema is up to date on {settings.sqlalchemy_url.split('@')[-1]}")


def demo(settings: Settings, products: int, brands: int) -> None:
    from exchange.demo.setup import build_demo
    from exchange.runtime import open_runtime

    async def run() -> dict[str, object]:
        print(f"Encore demo: data in {settings.data_dir.resolve()}", flush=True)
        runtime = await open_runtime(settings)
        try:
            return await build_demo(runtime, products, brands)
        finally:
            await runtime.close()

    info = asyncio.run(run())
    print(
        f"\nDemo network ready: {len(info['partners'])} partner brands, {info['products']:,} products."  # type: ignore[arg-type]
        f"\n  Thank-you page:  {settings.public_url}/demo/thank-you"
        f"\n  API docs:        {settings.public_url}/schema/swagger"
        f"\n  Keys (operator, demo store, partners): {settings.data_dir.resolve()}/admin_key and demo.json\n",
        flush=True,
    )
    serve(settings)


def _bench(args: argparse.Namespace) -> None:
    if args.bench == "widget":
        from bench import widget as widget_bench

        widget_bench.main(args.loads)
        return
    if args.bench == "ledger":
        from bench import ledger as ledger_bench

        ledger_bench.main(args.database_url, args.redis_url, args.conversions, args.concurrency, args.entries)
        return
    if args.bench == "decide":
        from bench import decide as decide_bench

        rates = [int(rate) for rate in args.rates.split(",") if rate.strip()]
        workers = [int(n) for n in args.workers.split(",") if n.strip()]
        decide_bench.main(args.products, args.brands, args.database_url, args.redis_url, rates, args.seconds, workers)
        return
    from bench import catalog as catalog_bench

    catalog_bench.main(args.products, args.brands, args.database_url, args.encoder)


def reconcile(settings: Settings) -> int:
    """Print every drift between the journal, the stored balances and the spend counters; exit 1 if any."""
    from exchange.core.db import make_engine, utcnow
    from exchange.counters import open_counters
    from exchange.ledger.reconcile import reconcile as check
    from exchange.migrate import upgrade

    async def run() -> int:
        engine = make_engine(settings.sqlalchemy_url)
        await upgrade(engine)
        counters = await open_counters(settings.redis_url, settings.redis_prefix) if settings.redis_url else None
        try:
            async with AsyncSession(engine) as session:
                result = await check(session, counters, utcnow())
        finally:
            if counters is not None:
                await counters.close()
            await engine.dispose()
        print(
            f"journal: {result.transactions:,} transactions, {result.entries:,} entries, {result.accounts:,} accounts; "
            + (
                f"spend of {result.campaigns_checked:,} campaigns compared with Redis"
                if counters is not None
                else "spend counters are in-process (no ENCORE_REDIS_URL): the server seeds them from the journal"
            )
        )
        for d in result.drift:
            print(f"DRIFT {d.check}: {d.subject}: journal {d.expected}, found {d.found}")
        print("no drift" if not result.drift else f"{len(result.drift)} drift(s): investigate before the next close")
        return 1 if result.drift else 0

    return asyncio.run(run())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="encore", description="Encore, the open post-checkout offer exchange")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("serve", "run the exchange"),
        ("worker", "run the background worker beside `serve --workers N` (jobs, index, month close)"),
        ("migrate", "upgrade the database schema"),
        ("demo", "build the demo network (first run) and serve it"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--host", default=None)
        cmd.add_argument("--port", type=int, default=None)
        if name == "serve":
            cmd.add_argument("--workers", type=int, default=1, help="serving processes (2+ need PostgreSQL and Redis)")
        if name == "demo":
            cmd.add_argument("--products", type=int, default=20_000)
            cmd.add_argument("--brands", type=int, default=60)
    ledger = sub.add_parser("ledger", help="the ledger: reconcile")
    ledger_sub = ledger.add_subparsers(dest="ledger", required=True)
    ledger_sub.add_parser(
        "reconcile", help="recompute balances from the journal; compare with stored balances and spend"
    )
    bench = sub.add_parser("bench", help="benchmarks; results go to bench/results/")
    bench_sub = bench.add_subparsers(dest="bench", required=True)
    catalog = bench_sub.add_parser("catalog", help="a partner network uploaded through the API, at scale")
    catalog.add_argument("--products", type=int, default=1_200_000)
    catalog.add_argument("--brands", type=int, default=4_600)
    catalog.add_argument("--database-url", default="", help="default: a SQLite file in a temporary folder")
    catalog.add_argument("--encoder", default="static", choices=["static", "minilm"])
    decide = bench_sub.add_parser("decide", help="decisions through the HTTP API under load, on loopback")
    decide.add_argument("--products", type=int, default=1_200_000)
    decide.add_argument("--brands", type=int, default=4_600)
    decide.add_argument("--database-url", default="", help="default: a SQLite file in a temporary folder")
    decide.add_argument("--redis-url", default="", help="default: in-process counters")
    decide.add_argument("--rates", default="100,250,500,750,1000", help="offered decisions/s, one step each")
    decide.add_argument("--seconds", type=float, default=20.0, help="length of each rate step")
    decide.add_argument(
        "--workers", default="", help="also measure `serve --workers N` + `worker` for each N, e.g. 1,2,4 (PostgreSQL)"
    )
    ledger_bench = bench_sub.add_parser("ledger", help="billing once under concurrent retries; reports at 10M entries")
    ledger_bench.add_argument("--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/encore_bench")
    ledger_bench.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    ledger_bench.add_argument("--conversions", type=int, default=10_000, help="sales, each posted twice at once")
    ledger_bench.add_argument("--concurrency", type=int, default=32, help="postbacks in flight")
    ledger_bench.add_argument("--entries", type=int, default=10_000_000, help="journal entries for the report")
    widget = bench_sub.add_parser("widget", help="the widget in headless Chromium: size, time to first offer")
    widget.add_argument("--loads", type=int, default=30, help="thank-you page loads to time")
    evaluate = sub.add_parser("eval", help="match quality on real data; results go to bench/results/")
    eval_sub = evaluate.add_subparsers(dest="eval", required=True)
    baskets = eval_sub.add_parser("baskets", help="offers scored against real Instacart-format baskets")
    baskets.add_argument("--products", required=True, help="products.csv (with aisles.csv, departments.csv beside it)")
    baskets.add_argument("--orders", help="one order file, split 80/20 by order_id")
    baskets.add_argument("--train-orders", help="learn from this order file ...")
    baskets.add_argument("--test-orders", help="... and score this one")
    baskets.add_argument("--seed", type=int, default=7, help="seed of the 80/20 split")
    baskets.add_argument("--limit", type=int, default=0, help="score at most this many held-out orders (0: all)")
    args = parser.parse_args(argv)
    if args.command == "bench":
        _bench(args)
        return
    if args.command == "ledger":
        sys.exit(reconcile(settings_from_env()))
    if args.command == "eval":
        from bench import baskets as baskets_eval

        baskets_eval.main(args)
        return
    settings = _settings(args)
    if args.command == "demo":  # a person reads the demo's output in a terminal
        settings = msgspec.structs.replace(settings, log_format="text")
    logging.config.dictConfig(log_config(settings.log_format))
    if args.command == "serve":
        serve(settings, args.workers)
    elif args.command == "worker":
        worker(settings)
    elif args.command == "migrate":
        migrate(settings)
    else:
        demo(settings, args.products, args.brands)


if __name__ == "__main__":
    main(sys.argv[1:])
