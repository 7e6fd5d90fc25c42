"""What the static encoder costs in relevance: kNN label agreement on real catalogs, MiniLM beside static.

For each catalog in ../shared/data that labels its products with a category, a fixed-seed sample is
embedded by both encoders. agreement@10 is the mean, over the sample, of the share of a product's 10
nearest neighbours (exact inner product, the product itself left out) that carry its label.
A random ranking scores the label's share of the catalog; both models see the same texts.

Usage: .venv/bin/python bench/relevance.py [--sample 10000] [--seed 7] [--models-dir DIR]
Writes bench/results/relevance.json, and bench/results/static_throughput.json (20,000 product titles).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import faiss
import numpy as np

from embeddings.encoder import Encoder, Vectors
from embeddings.static import encoder_named
from exchange.settings import get_settings

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CATALOGS = DATA / "catalogs"
RESULTS = Path(__file__).resolve().parent / "results"
K = 10


class Labelled(NamedTuple):
    text: str
    label: str


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))


def instacart() -> list[Labelled]:
    """Product names labelled by aisle; the 1,258 products in aisle "missing" have no aisle at all."""
    aisles = {row["aisle_id"]: row["aisle"] for row in _rows(CATALOGS / "instacart" / "aisles.csv")}
    products = _rows(CATALOGS / "instacart" / "products.csv")
    return [
        Labelled(row["product_name"], aisles[row["aisle_id"]])
        for row in products
        if aisles[row["aisle_id"]] != "missing"
    ]


def bigbasket() -> list[Labelled]:
    """Product and brand, labelled by sub-category (90 of them)."""
    return [
        Labelled(f"{row['product'].strip()} {row['brand'].strip()}".strip(), row["sub_category"])
        for row in _rows(CATALOGS / "bigbasket" / "bigbasket_products.csv")
        if row["product"].strip()
    ]


def completejourney() -> list[Labelled]:
    """This catalog has no product names: its items are the distinct product types (e.g. "STRING CHEESE"),
    each labelled by its category ("CHEESE"). A type filed under several categories appears once per category."""
    pairs = {
        (row["product_type"].strip(), row["product_category"].strip())
        for row in _rows(CATALOGS / "completejourney" / "products.csv")
    }
    return [Labelled(text, label) for text, label in sorted(pairs) if text and label]


# Myntra has no category column: only brand, gender and colour, none of which says what a product is.
SKIPPED = {"myntra": "no category label (only brand, gender, colour)"}
LOADERS: dict[str, Callable[[], list[Labelled]]] = {
    "instacart": instacart,
    "bigbasket": bigbasket,
    "completejourney": completejourney,
}


def agreement_at_k(vectors: Vectors, labels: Sequence[str], k: int = K) -> float:
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    _, found = index.search(vectors, k + 1)
    # Leave the product itself out; with exact duplicates it may not come first, or at all.
    itself = found == np.arange(len(found))[:, None]
    neighbours = np.take_along_axis(found, np.argsort(itself, axis=1, kind="stable")[:, :k], axis=1)
    codes = np.unique(np.asarray(labels), return_inverse=True)[1]
    return float((codes[neighbours] == codes[:, None]).mean())


def timed_encode(encoder: Encoder, texts: list[str]) -> tuple[Vectors, float]:
    started = time.perf_counter()
    vectors = encoder.encode(texts)
    return vectors, len(texts) / (time.perf_counter() - started)


def measure(name: str, items: list[Labelled], encoders: dict[str, Encoder]) -> dict[str, Any]:
    texts = [item.text for item in items]
    labels = [item.label for item in items]
    result: dict[str, Any] = {"products": len(items)}
    for key, encoder in encoders.items():
        print(f"  {name}: {key} encoding {len(texts):,} texts ...", flush=True)
        vectors, rate = timed_encode(encoder, texts)
        result[key] = {"agreement_at_10": round(agreement_at_k(vectors, labels), 4), "texts_per_s": round(rate, 1)}
    result["agreement_ratio"] = round(result["static"]["agreement_at_10"] / result["minilm"]["agreement_at_10"], 3)
    return result


def product_titles(n: int, seed: int) -> list[str]:
    """Titles the way partner feeds write them: brand, product, then attributes after commas."""
    rng = random.Random(seed)
    brands = ["Trailwind", "Northpeak", "Lumen & Co", "Bramble", "Kestrel", "Oakhaven", "Vireo", "Harbor Goods"]
    things = [
        "Merino Running Socks", "Espresso Machine", "Trail Running Shoes", "Insulated Water Bottle", "Yoga Mat",
        "Cast Iron Skillet", "Wireless Earbuds", "Down Jacket", "Ceramic Mug Set", "Chef's Knife", "Rain Shell",
        "Hiking Backpack", "Organic Cotton T-Shirt", "Bamboo Cutting Board", "LED Headlamp", "Dog Harness",
    ]  # fmt: skip
    details = ["Low Cut", "Stainless Steel", "Waterproof", "Lightweight", "Non-Slip", "Noise Cancelling", "Packable"]
    packs = ["3-Pack", "2-Pack", "Set of 4", "1 L", "750 ml", "12 oz", "10 in"]
    colours = ["Grey", "Black", "Navy", "Olive", "Red", "White", "Sand"]
    sizes = ["Size S", "Size M", "Size L", "Size XL", "One Size", "Women's 8", "Men's 10"]
    return [
        f"{rng.choice(brands)} {rng.choice(things)}, {rng.choice(details)}, {rng.choice(packs)}, "
        f"{rng.choice(colours)}, {rng.choice(sizes)}"
        for _ in range(n)
    ]


def bulk_throughput(encoder: Encoder, n: int = 20_000, runs: int = 3) -> float:
    titles = product_titles(n, seed=1)
    encoder.encode(titles[:1000])  # the first call pays for allocations that a long-running process keeps
    return max(timed_encode(encoder, titles)[1] for _ in range(runs))


def main(sample: int, seed: int, models_dir: Path) -> None:
    if not CATALOGS.is_dir():
        sys.exit(f"No catalogs at {CATALOGS}: this benchmark reads the shared data beside the project.")
    import torch

    print(f"torch threads: {torch.get_num_threads()}; static model cache: {models_dir}", flush=True)
    encoders = {"minilm": encoder_named("minilm", models_dir), "static": encoder_named("static", models_dir)}
    rate = bulk_throughput(encoders["static"])
    print(f"static encoder, 20,000 product titles: {rate:,.0f} texts/s", flush=True)

    results: dict[str, Any] = {}
    for name, load in LOADERS.items():
        items = load()
        chosen = random.Random(seed).sample(items, sample) if len(items) > sample else items
        print(f"{name}: {len(items):,} labelled products, measuring {len(chosen):,}", flush=True)
        results[name] = measure(name, chosen, encoders)
    for name, reason in SKIPPED.items():
        print(f"{name}: skipped, {reason}")

    print_table(results)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "relevance.json").write_text(json.dumps(results, indent=2) + "\n")
    throughput = {"texts": 20_000, "encoder": encoders["static"].name, "texts_per_s": round(rate, 1)}
    (RESULTS / "static_throughput.json").write_text(json.dumps(throughput, indent=2) + "\n")


def print_table(results: dict[str, Any]) -> None:
    print(
        f"\n{'catalog':<16}{'products':>9}{'MiniLM@10':>11}{'static@10':>11}{'ratio':>7}{'MiniLM/s':>10}{'static/s':>10}"
    )
    for name, row in results.items():
        print(
            f"{name:<16}{row['products']:>9,}{row['minilm']['agreement_at_10']:>11.3f}"
            f"{row['static']['agreement_at_10']:>11.3f}{row['agreement_ratio']:>7.3f}"
            f"{row['minilm']['texts_per_s']:>10,.0f}{row['static']['texts_per_s']:>10,.0f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=10_000, help="products per catalog (MiniLM is slow)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--models-dir", type=Path, default=None, help="default: the settings' model cache")
    args = parser.parse_args()
    main(args.sample, args.seed, args.models_dir or get_settings().model_cache)
