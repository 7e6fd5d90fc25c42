"""`encore eval baskets`: offers scored against real Instacart-format baskets.

The protocol of ../shared/data/README.md: orders split 80/20 by order_id (fixed seed) unless a
train and a test file are given. The exchange learns only from the training orders, through its
own paths: the product file is uploaded as partner catalogs (one partner per department) through
the feed API, the training orders are imported through POST /v1/order-history, and each training
order is then replayed as a live order whose simulated shopper accepts an offer when it is in
their real basket (POST /v1/orders, then the offer's accept link). Each held-out order with at
least two items is scored: the anchor (add_to_cart_order 1) is the order; its other items are the
targets.

- product_hit@k: one of the top k offers is a target product.
- complement_aisle_hit@5: one of the top 5 offers shares an aisle with a target and lies outside
  the anchor's aisle.

The matcher's top k is the exchange's ranking after its filters and auction scoring (a store shows
at most 4 of them). Writes bench/results/match.json: {"matcher", "popularity", "cooccurrence"},
each with product_hit@1/5/10, complement_aisle_hit@5 and orders_scored.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import random
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import msgspec
from litestar.testing import AsyncTestClient

from bench.catalog import MODELS, cpc_campaign
from exchange.app import create_app
from exchange.decisions.service import rank_for_evaluation
from exchange.runtime import Runtime
from exchange.settings import Settings
from publishers.schemas import LineItem, OrderIn

RESULTS = Path(__file__).resolve().parent / "results"
ADMIN = {"Authorization": "Bearer adm"}
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"}
HISTORY_BATCH = 5_000


class Product(msgspec.Struct, frozen=True):
    id: str
    name: str
    aisle: str
    department: str


Basket = list[str]  # product ids in add-to-cart order


def _read_products(path: Path) -> dict[str, Product]:
    folder = path.parent
    with open(folder / "aisles.csv", newline="") as f:
        aisles = {row["aisle_id"]: row["aisle"] for row in csv.DictReader(f)}
    with open(folder / "departments.csv", newline="") as f:
        departments = {row["department_id"]: row["department"] for row in csv.DictReader(f)}
    with open(path, newline="", encoding="utf-8") as f:
        return {
            row["product_id"]: Product(
                row["product_id"], row["product_name"], aisles[row["aisle_id"]], departments[row["department_id"]]
            )
            for row in csv.DictReader(f)
        }


def _read_orders(path: Path) -> dict[str, Basket]:
    lines: defaultdict[str, list[tuple[int, str]]] = defaultdict(list)
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            lines[row["order_id"]].append((int(row["add_to_cart_order"]), row["product_id"]))
    return {order: [pid for _, pid in sorted(items)] for order, items in lines.items()}


def split(orders: dict[str, Basket], seed: int) -> tuple[dict[str, Basket], dict[str, Basket]]:
    ids = sorted(orders, key=int)
    random.Random(seed).shuffle(ids)
    cut = int(len(ids) * 0.8)
    return {o: orders[o] for o in ids[:cut]}, {o: orders[o] for o in ids[cut:]}


class Scores:
    def __init__(self, products: dict[str, Product]) -> None:
        self.products = products
        self.n = 0
        self.hits = Counter[str]()

    def add(self, anchor: str, targets: set[str], offers: list[str]) -> None:
        self.n += 1
        for k in (1, 5, 10):
            self.hits[f"product_hit@{k}"] += bool(targets & set(offers[:k]))
        aisles = {self.products[t].aisle for t in targets}
        own = self.products[anchor].aisle
        self.hits["complement_aisle_hit@5"] += any(
            self.products[o].aisle in aisles and self.products[o].aisle != own for o in offers[:5]
        )

    def result(self) -> dict[str, float | int]:
        out: dict[str, float | int] = {
            key: round(self.hits[key] / max(self.n, 1), 4)
            for key in ("product_hit@1", "product_hit@5", "product_hit@10", "complement_aisle_hit@5")
        }
        out["orders_scored"] = self.n
        return out


def baselines(train: Iterable[Basket]) -> tuple[Callable[[str], list[str]], Callable[[str], list[str]]]:
    popularity: Counter[str] = Counter()
    together: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for basket in train:
        items = set(basket)
        popularity.update(items)
        for a in items:
            for b in items:
                if a != b:
                    together[a][b] += 1
    top = [pid for pid, _ in popularity.most_common(50)]

    def popular(anchor: str) -> list[str]:
        return [p for p in top if p != anchor][:10]

    def cooccurring(anchor: str) -> list[str]:
        ranked = [p for p, _ in sorted(together[anchor].items(), key=lambda kv: (-kv[1], -popularity[kv[0]]))]
        return (ranked + [p for p in top if p != anchor and p not in ranked])[:10]

    return popular, cooccurring


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")


def _feed_row(product: Product) -> dict[str, str]:
    return {
        "id": product.id,
        "title": product.name[:150],
        "link": f"https://{_slug(product.department)}.grocer.example/p/{product.id}",
        "price": "4.99 USD",  # the files carry no prices; the matcher does not read them
        "brand": f"{product.department.title()} Co",
        "product_type": f"{product.department} > {product.aisle}",
        "availability": "in stock",
    }


def _order(order_id: str, product: Product) -> OrderIn:
    item = LineItem(title=product.name[:300], price=499, category=f"{product.department} > {product.aisle}")
    return OrderIn(order_id, "USD", 499, "US", [item], shopper_key=f"shopper-{order_id}")


async def _network(client: AsyncTestClient[Any], products: dict[str, Product]) -> tuple[dict[str, str], str]:
    """One partner per department, each with its catalog and a CPC campaign; and one grocery store."""
    by_department: defaultdict[str, list[Product]] = defaultdict(list)
    for product in products.values():
        by_department[product.department].append(product)
    partner_of: dict[str, str] = {}
    for n, (department, items) in enumerate(sorted(by_department.items()), start=1):
        partner = (await client.post("/v1/partners", json={"name": f"{department.title()} Co"}, headers=ADMIN)).json()
        key = {"Authorization": f"Bearer {partner['secret_key']}"}
        body = b"\n".join(msgspec.json.encode(_feed_row(p)) for p in items)
        report = await client.post("/v1/catalog", content=body, headers=key | {"Content-Type": "application/x-ndjson"})
        if report.status_code != 200:
            raise SystemExit(f"catalog upload for {department} refused: {report.text[:500]}")
        await cpc_campaign(client, key, "grocery")
        for p in items:
            partner_of[p.id] = partner["id"]
        print(f"  catalog {n}/{len(by_department)}: {department} ({len(items):,} products)", flush=True)
    store = {
        "name": "Eval Grocer",
        "brand": "Eval Grocer",
        "max_offers": 4,
        "categories": ["grocery"],
        "controls": {"allowed_sensitive": ["alcohol"]},  # a grocer that sells beer and wine
    }
    created = (await client.post("/v1/stores", json=store, headers=ADMIN)).json()
    return partner_of, created["secret_key"]


async def _import_history(client: AsyncTestClient[Any], train: dict[str, Basket], partner_of: dict[str, str]) -> None:
    orders = list(train.items())
    for start in range(0, len(orders), HISTORY_BATCH):
        lines = [
            msgspec.json.encode(
                {"order_id": order_id, "items": [{"partner_id": partner_of[p], "product_id": p} for p in basket]}
            )
            for order_id, basket in orders[start : start + HISTORY_BATCH]
        ]
        r = await client.post("/v1/order-history", content=b"\n".join(lines), headers=ADMIN)
        if r.status_code != 200:
            raise SystemExit(f"order history refused: {r.text[:500]}")
        print(f"  order history: {r.json()}", flush=True)


async def _shoppers(
    client: AsyncTestClient[Any], store_key: str, train: dict[str, Basket], products: dict[str, Product]
) -> dict[str, int]:
    """Replay each training order live; its shopper accepts the offers that are in their basket."""
    auth = {"Authorization": f"Bearer {store_key}"}
    shown = accepted = 0
    started = time.perf_counter()
    for n, (order_id, basket) in enumerate(train.items(), start=1):
        if len(basket) < 2:
            continue
        order = msgspec.to_builtins(_order(f"train-{order_id}", products[basket[0]]))
        r = await client.post("/v1/orders", json=order, headers=auth)
        if r.status_code != 200:
            raise SystemExit(f"decision refused: {r.text[:500]}")
        wanted = set(basket[1:])
        for offer in r.json()["offers"]:
            shown += 1
            if offer["product_id"] in wanted:
                accepted += 1
                await client.get(offer["accept_url"], headers=BROWSER, follow_redirects=False)
        if n % 500 == 0:
            rate = n / (time.perf_counter() - started)
            print(f"  shoppers: {n:,}/{len(train):,} orders, {accepted}/{shown} offers accepted ({rate:.0f}/s)")
    return {"offers_shown": shown, "offers_accepted": accepted}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    products = _read_products(Path(args.products))
    if args.orders:
        train, test = split(_read_orders(Path(args.orders)), args.seed)
        protocol = f"80/20 split of {args.orders} by order_id, seed {args.seed}"
    elif args.train_orders and args.test_orders:
        train, test = _read_orders(Path(args.train_orders)), _read_orders(Path(args.test_orders))
        protocol = f"learn from {args.train_orders}, score {args.test_orders}"
    else:
        raise SystemExit("give --orders PATH, or both --train-orders PATH and --test-orders PATH")
    scored = [(o, b) for o, b in test.items() if len(b) >= 2 and all(p in products for p in b)]
    if args.limit:
        scored = scored[: args.limit]
    print(f"{len(products):,} products; {len(train):,} training orders; {len(scored):,} orders to score", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), admin_key="adm", secret="s" * 40, encoder="static", models_dir=MODELS)
        app = create_app(settings)
        async with AsyncTestClient(app, base_url="http://eval.local", timeout=600) as client:
            started = time.perf_counter()
            partner_of, store_key = await _network(client, products)
            catalog_s = time.perf_counter() - started
            await _import_history(client, train, partner_of)
            feedback = await _shoppers(client, store_key, train, products)
            learn_s = time.perf_counter() - started - catalog_s
            runtime: Runtime = app.state.runtime
            matcher = Scores(products)
            started = time.perf_counter()
            for n, (order_id, basket) in enumerate(scored, start=1):
                offers = await rank_for_evaluation(
                    runtime, store_key, _order(f"test-{order_id}", products[basket[0]]), 10
                )
                matcher.add(basket[0], set(basket[1:]), offers)
                if n % 250 == 0:
                    print(f"  scored {n:,}/{len(scored):,}: {matcher.result()}", flush=True)
            score_s = time.perf_counter() - started
    popular, cooccurring = baselines(train.values())
    pop_scores, co_scores = Scores(products), Scores(products)
    for _, basket in scored:
        pop_scores.add(basket[0], set(basket[1:]), popular(basket[0]))
        co_scores.add(basket[0], set(basket[1:]), cooccurring(basket[0]))
    result: dict[str, Any] = {
        "matcher": matcher.result(),
        "popularity": pop_scores.result(),
        "cooccurrence": co_scores.result(),
        "protocol": protocol,
        "training_orders": len(train),
        "feedback": feedback,
        "seconds": {"catalog": round(catalog_s, 1), "learning": round(learn_s, 1), "scoring": round(score_s, 1)},
    }
    best = {
        key: max(result["popularity"][key], result["cooccurrence"][key])
        for key in ("product_hit@5", "complement_aisle_hit@5")
    }
    result["ratio_to_better_baseline"] = {
        key: round(result["matcher"][key] / value, 3) if value else None for key, value in best.items()
    }
    return result


def main(args: argparse.Namespace) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would drown the progress
    result = asyncio.run(run(args))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "match.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\n{'':14s} hit@1  hit@5  hit@10  compl-aisle@5  (orders {result['matcher']['orders_scored']})")
    for name in ("matcher", "popularity", "cooccurrence"):
        r = result[name]
        print(
            f"{name:14s} {r['product_hit@1']:.3f}  {r['product_hit@5']:.3f}  {r['product_hit@10']:.3f}"
            f"   {r['complement_aisle_hit@5']:.3f}"
        )
    print(f"ratio to the better baseline: {result['ratio_to_better_baseline']}\nwrote {out}")
