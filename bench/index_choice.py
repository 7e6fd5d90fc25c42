"""Which FAISS index should hold the partner catalog: recall, memory, latency and filtering, measured per candidate.

The issue's bar, at 1.2M products of unit-length vectors compared by inner product: recall@10 >= 0.95
against exact search, index <= 1 GB, single-threaded search p99 <= 2 ms, incremental add and remove,
and filtered search (a blocked brand's products excluded) that keeps its recall.

Vectors are realistic: demo-network product texts ("title | brand | product_type") through the static
encoder (256-d) when `embeddings/static.py` is there, and a MiniLM (384-d) check on a smaller sample.
Queries are 1,000 held-out products plus 1,000 "order line items" (the first 4 words of a title, embedded
alone, as the exchange embeds what a shopper bought).

Usage: .venv/bin/python bench/index_choice.py [--small 200000] [--large 1200000] [--minilm 50000]
Writes bench/results/index_choice.json. Vectors are cached under /tmp/encore-index-bench.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Idle OpenMP threads sleep instead of spinning: on a shared 2-core machine spinning threads starve
# the ones doing work (k-means ran 10x slower with the default policy).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import faiss
import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from embeddings.index import nlist_for  # noqa: E402
from exchange.demo.catalog import demo_network  # noqa: E402

RESULTS = ROOT / "bench" / "results"
CACHE = Path("/tmp/encore-index-bench")  # noqa: S108  (a cache of derived vectors, nothing secret)
K = 10
TARGET_RECALL = 0.95
HELD_OUT = 1_000
EXCLUDE_SHARE = 0.05
TARGET_BYTES = 1_000_000_000
TARGET_P99_MS = 2.0
THREADS = os.cpu_count() or 1
TRAIN_SAMPLE = 200_000  # rows k-means sees, as embeddings/index.py trains (>= 39 per centroid at 1.2M)
LATENCY_TIE = 1.25  # p99s closer than this are a tie on a shared machine
LATENCY_PASSES = 3  # the machine is shared: the quietest of a few passes is the index's own cost

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
_STARTED = time.perf_counter()


def say(message: str) -> None:
    print(f"[{time.perf_counter() - _STARTED:7.1f}s] {message}", flush=True)


# ---------------------------------------------------------------- vectors


@dataclass
class Corpus:
    encoder: str
    base: F32  # the indexed products; row i has id i
    brands: I64  # brand code of each base row
    queries: dict[str, F32]  # "product" (held out) and "line_item"
    query_brands: I64  # brand codes of the held-out products

    @property
    def dim(self) -> int:
        return int(self.base.shape[1])

    @property
    def all_queries(self) -> F32:
        return np.ascontiguousarray(np.concatenate(list(self.queries.values())))


def _encoder(name: str) -> Callable[[list[str]], F32]:
    if name == "static":
        from embeddings.static import static_encoder  # type: ignore[import-not-found,unused-ignore]

        static = static_encoder(ROOT / ".encore" / "models")
        return lambda texts: static.encode(texts)
    from embeddings.encoder import minilm

    model = minilm()
    return lambda texts: model.encode(texts, progress=len(texts) > 5_000)


def static_available() -> bool:
    return (ROOT / "embeddings" / "static.py").exists()


def corpus(products: int, encoder: str) -> Corpus:
    """`products` indexed rows plus held-out queries, embedded once and cached as .npy."""
    total = products + HELD_OUT
    network = demo_network(products=total, brands=max(60, total // 260))
    rows = [(row, b) for b, (_, catalog) in enumerate(network) for row in catalog]
    order = np.random.default_rng(11).permutation(len(rows))
    rows = [rows[i] for i in order]
    brands = np.array([b for _, b in rows], dtype=np.int64)
    vectors_path = CACHE / f"{encoder}-{products}.npy"
    if vectors_path.exists():
        vectors = np.load(vectors_path)
        say(f"{encoder} vectors for {products:,} products from {vectors_path}")
    else:
        texts = [f"{r['title']} | {r['brand']} | {r['product_type']}" for r, _ in rows]
        held = rows[products:]
        texts += [" ".join(r["title"].split()[:4]) for r, _ in held]
        say(f"embedding {len(texts):,} texts with {encoder}")
        started = time.perf_counter()
        encode = _encoder(encoder)
        vectors = np.concatenate([encode(texts[i : i + 50_000]) for i in range(0, len(texts), 50_000)])
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        say(f"embedded {len(texts) / (time.perf_counter() - started):,.0f} texts/s")
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(vectors_path, vectors)
    return Corpus(
        encoder=encoder,
        base=vectors[:products],
        brands=brands[:products],
        queries={"product": vectors[products:total], "line_item": vectors[total:]},
        query_brands=brands[products:total],
    )


# ---------------------------------------------------------------- candidates


@dataclass(frozen=True)
class Candidate:
    name: str
    factory: str
    knob: str  # the search-time setting swept: "nprobe", "efSearch" or "" (exact)
    sweep: tuple[int, ...] = ()
    train_sample: int | None = None  # rows the IVF is trained on (None: all)

    def params(self, value: int, sel: faiss.IDSelector | None = None) -> faiss.SearchParameters:
        params: faiss.SearchParameters
        if self.knob == "nprobe":
            ivf = faiss.SearchParametersIVF()
            ivf.nprobe = value
            params = ivf
        elif self.knob == "efSearch":
            params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]  # absent from faiss's stubs
            params.efSearch = value  # type: ignore[attr-defined]
        else:
            params = faiss.SearchParameters()
        if sel is not None:
            params.sel = sel
        if "Refine" in self.factory:
            # The refine stage re-ranks k_factor * k candidates of the base index with the finer codes.
            refine = faiss.IndexRefineSearchParameters()
            refine.k_factor = 4
            refine.base_index_params = params
            return refine
        return params


NPROBES = (1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
EFS = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)


def candidates(n: int, dim: int) -> list[Candidate]:
    """Named by shape, not size, so that a candidate picked at one N is found again at another."""
    usual = nlist_for(n)  # ~4 sqrt(N), what embeddings/index.py uses
    fewer, more = max(64, usual // 4), 2 * usual
    sample = min(n, TRAIN_SAMPLE)
    return [
        Candidate("Flat", "Flat", ""),
        Candidate("HNSW32", "HNSW32,Flat", "efSearch", EFS),
        Candidate("HNSW32,SQ8", "HNSW32,SQ8", "efSearch", EFS),
        Candidate("IVF(4sqrtN),SQ8", f"IVF{usual},SQ8", "nprobe", NPROBES, sample),
        Candidate("IVF(sqrtN),SQ8", f"IVF{fewer},SQ8", "nprobe", NPROBES, sample),
        Candidate("IVF(8sqrtN),SQ8", f"IVF{more},SQ8", "nprobe", NPROBES, sample),
        Candidate(f"IVF(4sqrtN),PQ{dim // 4}", f"IVF{usual},PQ{dim // 4}x8", "nprobe", NPROBES, sample),
        Candidate(
            f"IVF(4sqrtN),PQ{dim // 8}+SQ8 refine",
            f"IVF{usual},PQ{dim // 8}x8,Refine(SQ8)",
            "nprobe",
            NPROBES,
            sample,
        ),
    ]


def shape(name: str) -> str:
    """A candidate's name with the dimension-dependent PQ size left out."""
    return re.sub(r"PQ\d+", "PQ", name)


# ---------------------------------------------------------------- measurements


@dataclass
class Truth:
    ids: I64  # exact top-K of every query
    filtered_ids: I64  # exact top-K with the excluded ids left out
    exclude: I64
    affected: npt.NDArray[np.bool_]  # queries whose exact top-K held an excluded id
    sets: dict[str, npt.NDArray[np.bool_]]  # rows of each query set


def exact_truth(c: Corpus) -> Truth:
    flat = faiss.IndexFlatIP(c.dim)
    flat.add(c.base)
    queries = c.all_queries
    _, ids = flat.search(queries, K)
    # Exclude whole brands, as a store blocking a competitor does, picking the brands of the held-out
    # products so that many queries lose their nearest neighbours (the hard case for IVF).
    rng = np.random.default_rng(5)
    counts = np.bincount(c.brands)
    chosen: list[int] = []
    for brand in rng.permutation(np.unique(c.query_brands)):
        if counts[chosen].sum() >= EXCLUDE_SHARE * len(c.base):
            break
        chosen.append(int(brand))
    exclude = np.flatnonzero(np.isin(c.brands, chosen)).astype(np.int64)
    sel = faiss.IDSelectorNot(faiss.IDSelectorBatch(exclude))
    params = faiss.SearchParameters()
    params.sel = sel
    _, filtered = flat.search(queries, K, params=params)
    affected = np.asarray(np.isin(ids, exclude).any(axis=1), dtype=bool)
    sets, at = {}, 0
    for name, rows in c.queries.items():
        sets[name] = np.zeros(len(queries), dtype=bool)
        sets[name][at : at + len(rows)] = True
        at += len(rows)
    return Truth(ids, filtered, exclude, affected, sets)


def recall(found: I64, truth: I64) -> float:
    return float((found[:, :, None] == truth[:, None, :]).any(axis=2).sum() / truth.size)


def build(c: Corpus, cand: Candidate) -> tuple[faiss.Index, float]:
    faiss.omp_set_num_threads(THREADS)
    index = faiss.index_factory(c.dim, cand.factory, faiss.METRIC_INNER_PRODUCT)
    started = time.perf_counter()
    if not index.is_trained:
        sample = c.base
        if cand.train_sample and cand.train_sample < len(c.base):
            rows = np.random.default_rng(3).choice(len(c.base), cand.train_sample, replace=False)
            sample = c.base[np.sort(rows)]
        index.train(sample)
    for start in range(0, len(c.base), 100_000):
        index.add(c.base[start : start + 100_000])
    return index, time.perf_counter() - started


def removable(c: Corpus, cand: Candidate) -> bool:
    """Whether the kind supports remove_ids, tried on a small copy of it."""
    factory = re.sub(r"IVF\d+", "IVF16", cand.factory)
    index = faiss.index_factory(c.dim, factory, faiss.METRIC_INNER_PRODUCT)
    sample = c.base[:20_000]
    index.train(sample)
    index.add(sample)
    try:
        index.remove_ids(faiss.IDSelectorBatch(np.arange(10, dtype=np.int64)))
    except RuntimeError:
        return False
    return bool(index.ntotal == len(sample) - 10)


def search(index: faiss.Index, cand: Candidate, queries: F32, value: int, exclude: I64 | None = None) -> I64:
    sel = faiss.IDSelectorNot(faiss.IDSelectorBatch(exclude)) if exclude is not None else None
    params = cand.params(value, sel)
    _, ids = index.search(queries, K, params=params)
    return np.asarray(ids)


def latencies_ms(
    index: faiss.Index, cand: Candidate, queries: F32, value: int, exclude: I64 | None = None
) -> tuple[float, float]:
    """p50 and p99 of one query at a time on one thread, as a serving worker calls it; of several
    passes, the one with the lowest p99 (other processes on a shared machine only ever add time)."""
    faiss.omp_set_num_threads(1)
    sel = faiss.IDSelectorNot(faiss.IDSelectorBatch(exclude)) if exclude is not None else None
    params = cand.params(value, sel)
    passes = []
    for _ in range(LATENCY_PASSES):
        times = []
        for i in range(len(queries)):
            started = time.perf_counter()
            index.search(queries[i : i + 1], K, params=params)
            times.append((time.perf_counter() - started) * 1000)
        ordered = sorted(times)
        passes.append((ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]))
    faiss.omp_set_num_threads(THREADS)
    return min(passes, key=lambda p: p[1])


def recall_by_set(found: I64, truth: I64, sets: dict[str, npt.NDArray[np.bool_]]) -> dict[str, float]:
    return {name: round(recall(found[rows], truth[rows]), 4) for name, rows in sets.items()}


def smallest_setting(
    index: faiss.Index,
    cand: Candidate,
    queries: F32,
    truth: I64,
    sets: dict[str, npt.NDArray[np.bool_]],
    exclude: I64 | None = None,
) -> tuple[int | None, dict[int, dict[str, float]]]:
    """The smallest knob value at which every query set reaches the target recall, and the curve.
    Stops early once recall has stopped rising (a quantiser's ceiling below the target)."""
    curve: dict[int, dict[str, float]] = {}
    worst: list[float] = []
    for value in cand.sweep or (0,):
        curve[value] = recall_by_set(search(index, cand, queries, value, exclude), truth, sets)
        worst.append(min(curve[value].values()))
        if worst[-1] >= TARGET_RECALL:
            return value, curve
        if len(worst) >= 4 and worst[-1] - worst[-4] < 0.003:
            break
    return None, curve


def measure(c: Corpus, cand: Candidate, truth: Truth) -> dict[str, Any]:
    say(f"{cand.name}: building on {len(c.base):,} x {c.dim}")
    index, build_s = build(c, cand)
    size = len(faiss.serialize_index(index))
    say(f"{cand.name}: built in {build_s:.1f}s, {size / 1e6:.0f} MB; sweeping {cand.knob or 'exact'}")
    queries = c.all_queries
    sets = truth.sets
    value, curve = smallest_setting(index, cand, queries, truth.ids, sets)
    used = value if value is not None else max(curve)
    row: dict[str, Any] = {
        "kind": cand.name,
        "factory": cand.factory,
        "n": len(c.base),
        "dim": c.dim,
        "encoder": c.encoder,
        "build_s": round(build_s, 1),
        "train_sample": cand.train_sample,
        "bytes": size,
        "bytes_per_vector": round(size / len(c.base), 1),
        "knob": cand.knob,
        "setting": value,
        "sweep": {str(v): r for v, r in curve.items()},
        "sweep_max": max(curve),
        "recall_at_setting": curve[used],
        "removable": removable(c, cand),
    }
    timed = queries if cand.knob else queries[:300]  # exact search is slow one query at a time
    row["p50_ms"], row["p99_ms"] = (round(v, 3) for v in latencies_ms(index, cand, timed, used))
    # Filtered: the same queries with ~5% of the catalog (whole brands) excluded. "affected" are the
    # queries whose exact top-10 held an excluded product: their answers come from farther lists.
    fsets = {"all": np.ones(len(queries), dtype=bool), "affected": truth.affected} | sets
    found = search(index, cand, queries, used, truth.exclude)
    row["excluded_ids"] = len(truth.exclude)
    row["affected_queries"] = int(truth.affected.sum())
    row["filtered_leaks"] = int(np.isin(found, truth.exclude).sum())
    row["filtered_at_setting"] = recall_by_set(found, truth.filtered_ids, fsets)
    fvalue, fcurve = smallest_setting(index, cand, queries, truth.filtered_ids, fsets, truth.exclude)
    row["filtered_setting"] = fvalue if cand.knob else None
    row["filtered_sweep"] = {str(v): r for v, r in fcurve.items()}
    fused = fvalue if fvalue is not None else max(fcurve)
    row["filtered_recall"] = fcurve[fused]
    p50, p99 = latencies_ms(index, cand, timed, fused, truth.exclude)
    row["filtered_p50_ms"], row["filtered_p99_ms"] = round(p50, 3), round(p99, 3)
    say(
        f"{cand.name}: {cand.knob or 'exact'}={value} recall={curve[used]} p50={row['p50_ms']}ms "
        f"p99={row['p99_ms']}ms; filtered at it {row['filtered_at_setting']}, "
        f"{cand.knob or 'exact'}={fvalue} for {row['filtered_recall']} p99={row['filtered_p99_ms']}ms"
    )
    return row


# ---------------------------------------------------------------- choosing


def projected_bytes(row: dict[str, Any], n: int = 1_200_000, dim: int = 384) -> int:
    """Size at the issue's scale, per-vector bytes scaled to n and (for the codes) to the MiniLM dim."""
    per = row["bytes_per_vector"]
    return int(n * (8 + (per - 8) * dim / row["dim"]))


def verdict(row: dict[str, Any]) -> dict[str, bool]:
    return {
        "recall": row["setting"] is not None or row["knob"] == "",
        "memory": projected_bytes(row) <= TARGET_BYTES,
        "latency": row["p99_ms"] <= TARGET_P99_MS,
        "remove": row["removable"],
        "filtered": row["filtered_setting"] is not None or row["knob"] == "",
        "filtered_latency": row["filtered_p99_ms"] <= TARGET_P99_MS,
    }


def rank(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Candidates meeting the most requirements first. Among those, speed is the slower of plain and
    filtered p99 (every decision excludes the store's and the items' own brands); any candidate within
    LATENCY_TIE of the fastest counts as fast (passes on this shared machine vary by ~30%), and the fast
    ones are ordered by build time, since a rebuild (crossing the exact limit, outgrowing nlist, a full
    reindex) holds up every other write."""

    def met(r: dict[str, Any]) -> int:
        return sum(verdict(r).values())

    def slowest(r: dict[str, Any]) -> float:
        return float(max(r["p99_ms"], r["filtered_p99_ms"]))

    most = max(met(r) for r in rows)
    fastest = min(slowest(r) for r in rows if met(r) == most)

    def key(r: dict[str, Any]) -> tuple[int, bool, float]:
        fast = slowest(r) <= LATENCY_TIE * fastest
        return -met(r), not fast, r["build_s"] if fast else slowest(r)

    return sorted(rows, key=key)


@dataclass
class Report:
    runs: list[dict[str, Any]] = field(default_factory=list)
    shipped: list[dict[str, Any]] = field(default_factory=list)

    @staticmethod
    def setting(row: dict[str, Any], value: int | None) -> str:
        if not row["knob"]:
            return "exact"
        return f"{row['knob']}={value}" if value is not None else f"{row['knob']}>{row['sweep_max']}"

    def table(self) -> str:
        head = (
            f"{'kind':<30}{'n':>9}{'dim':>5}{'build s':>9}{'MB':>8}{'MB@1.2M/384':>12}{'setting':>15}"
            f"{'recall prod/line':>18}{'p50 ms':>8}{'p99 ms':>8}{'filtered: setting':>19}{'all/affected':>14}"
            f"{'p99 ms':>8}{'remove':>7}"
        )
        lines = [head, "-" * len(head)]
        for r in self.runs:
            rec = r["recall_at_setting"]
            setting, fsetting = (self.setting(r, r[key]) for key in ("setting", "filtered_setting"))
            fr = r["filtered_recall"]
            lines.append(
                f"{r['factory']:<30}{r['n']:>9,}{r['dim']:>5}{r['build_s']:>9.1f}{r['bytes'] / 1e6:>8.0f}"
                f"{projected_bytes(r) / 1e6:>12.0f}{setting:>15}"
                f"{rec['product']:>9.3f}/{rec['line_item']:.3f}{r['p50_ms']:>8.3f}{r['p99_ms']:>8.3f}"
                f"{fsetting:>19}{fr['all']:>8.3f}/{fr['affected']:.3f}{r['filtered_p99_ms']:>8.3f}"
                f"{'yes' if r['removable'] else 'no':>7}"
            )
        return "\n".join(lines)


def selector_build_ms(exclude: I64) -> dict[str, float]:
    """Building the exclusion per request: a hash set (IDSelectorBatch) or a bitmap over the id range."""

    def batch() -> object:
        return faiss.IDSelectorNot(faiss.IDSelectorBatch(exclude))

    def bitmap() -> object:
        member = np.zeros(int(exclude.max()) + 1, dtype=bool)
        member[exclude] = True
        bits = np.packbits(member, bitorder="little")
        return faiss.IDSelectorNot(faiss.IDSelectorBitmap(bits))  # type: ignore[call-arg,arg-type]

    timings = {}
    for name, make in (("batch", batch), ("bitmap", bitmap)):
        started = time.perf_counter()
        for _ in range(20):
            make()
        timings[name] = round((time.perf_counter() - started) / 20 * 1000, 3)
    return timings


def run_all(c: Corpus, chosen: list[Candidate], report: Report) -> tuple[list[dict[str, Any]], Truth]:
    say(f"exact ground truth for {len(c.all_queries):,} queries over {len(c.base):,}")
    truth = exact_truth(c)
    selector_ms = selector_build_ms(truth.exclude)
    say(
        f"excluding {len(truth.exclude):,} ids (selector built in {selector_ms} ms); "
        f"{int(truth.affected.sum())} queries lose a neighbour"
    )
    rows = []
    for cand in chosen:
        rows.append(measure(c, cand, truth) | {"selector_build_ms": selector_ms})
        report.runs.append(rows[-1])
        # A long run that dies late still leaves what it measured.
        (CACHE / "partial.json").write_text(json.dumps(report.runs, indent=2))
    return rows, truth


def shipped(c: Corpus, truth: Truth, dim: int) -> dict[str, Any]:
    """embeddings.index.VectorIndex as the exchange runs it: its own kind, nlist, nprobe and selectors
    (built per call, as each decision excludes its own brands), on `dim`-dimensional vectors."""
    from embeddings.index import VectorIndex

    base, queries = c.base, c.all_queries
    if dim != c.dim:
        # An orthonormal map into `dim` dimensions keeps every inner product, so the exact answers stay
        # the same while memory and scan cost become those of dim-d vectors (MiniLM's 384).
        q, _ = np.linalg.qr(np.random.default_rng(9).standard_normal((dim, c.dim)))
        basis = np.ascontiguousarray(q.T, dtype=np.float32)
        base, queries = base @ basis, np.ascontiguousarray(queries @ basis)
    say(f"VectorIndex.build on {len(base):,} x {dim}")
    faiss.omp_set_num_threads(THREADS)
    ids = np.arange(len(base), dtype=np.int64)
    started = time.perf_counter()
    index = VectorIndex.build(dim, ids, base)
    row: dict[str, Any] = {"n": len(base), "dim": dim, "build_s": round(time.perf_counter() - started, 1)}
    row |= {"kind": index.kind, "nlist": index.nlist, "nprobe": index.nprobe, "memory_bytes": index.memory_bytes()}
    fsets = {"all": np.ones(len(queries), dtype=bool), "affected": truth.affected} | truth.sets
    row["recall"] = recall_by_set(index.search(queries, K)[1], truth.ids, truth.sets)
    filtered = index.search(queries, K, exclude=truth.exclude)[1]
    row["filtered_recall"] = recall_by_set(filtered, truth.filtered_ids, fsets)
    row["filtered_leaks"] = int(np.isin(filtered, truth.exclude).sum())
    faiss.omp_set_num_threads(1)
    for name, exclude in (("", None), ("filtered_", truth.exclude)):
        passes = []
        for _ in range(LATENCY_PASSES):
            times = []
            for i in range(len(queries)):
                started = time.perf_counter()
                index.search(queries[i : i + 1], K, exclude=exclude)
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            passes.append((times[len(times) // 2], times[int(0.99 * len(times))]))
        p50, p99 = min(passes, key=lambda p: p[1])
        row[f"{name}p50_ms"], row[f"{name}p99_ms"] = round(p50, 3), round(p99, 3)
    faiss.omp_set_num_threads(THREADS)
    # One partner's feed update: 1,000 products changed, 100 removed. The cost is the clone.
    started = time.perf_counter()
    index.upsert(ids[:1000], base[:1000], remove=ids[1000:1100])
    row["upsert_1000_s"] = round(time.perf_counter() - started, 2)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        started = time.perf_counter()
        index.save(Path(tmp))
        row["save_s"] = round(time.perf_counter() - started, 2)
        row["saved_bytes"] = sum(f.stat().st_size for f in Path(tmp).iterdir())
    say(f"VectorIndex {dim}-d: {row}")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=200_000)
    parser.add_argument("--large", type=int, default=1_200_000)
    parser.add_argument("--minilm", type=int, default=20_000, help="MiniLM (384-d) check size; 0 skips it")
    parser.add_argument("--skip", default="", help="semicolon-separated candidate names to leave out at --small")
    args = parser.parse_args()
    report = Report()
    encoder = "static" if static_available() else "minilm"
    small_n = args.small if encoder == "static" else min(args.small, args.minilm)
    c = corpus(small_n, encoder)
    skip = {s for s in args.skip.split(";") if s}
    rows, _ = run_all(c, [x for x in candidates(small_n, c.dim) if x.name not in skip], report)
    best = [r for r in rank([r for r in rows if r["knob"]])][:2]
    say("best at the small size: " + ", ".join(r["kind"] for r in best))
    large_rows: list[dict[str, Any]] = []
    if encoder == "static" and args.large:
        del c
        big = corpus(args.large, "static")
        pick = {shape(r["kind"]) for r in best}
        chosen = [x for x in candidates(args.large, big.dim) if shape(x.name) in pick]
        large_rows, truth = run_all(big, chosen, report)
        report.shipped = [shipped(big, truth, big.dim), shipped(big, truth, 384)]
        del big
    if args.minilm:
        m = corpus(args.minilm, "minilm")
        pick = {shape(r["kind"]) for r in best} | {"Flat"}
        run_all(m, [x for x in candidates(args.minilm, m.dim) if shape(x.name) in pick], report)
    final = rank(large_rows or rows)[0]
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "faiss": faiss.__version__},
        "targets": {
            "recall_at_10": TARGET_RECALL,
            "bytes_at_1_2m": TARGET_BYTES,
            "p99_ms": TARGET_P99_MS,
            "exclude_share": EXCLUDE_SHARE,
        },
        "runs": report.runs,
        "shipped": report.shipped,
        "choice": {
            "kind": final["kind"],
            "factory": final["factory"],
            "n": final["n"],
            "setting": {final["knob"]: final["setting"]},
            "filtered_setting": final.get("filtered_setting"),
            "meets": verdict(final),
            "projected_bytes_1_2m_384d": projected_bytes(final),
            "ranked": [r["factory"] for r in rank(large_rows or rows)],
            "why": (
                "IVF-SQ8 alone meets every requirement: recall@10 >= 0.95 on products and line items, "
                "filtered or not; a quarter of Flat's memory; sub-ms p99 at 1.2M; native add_with_ids and "
                "remove_ids. HNSW cannot remove ids and never reached 0.95 on line-item queries (0.82 at "
                "efSearch 512); PQ64 tops out near 0.8 and PQ32+SQ8 refine near 0.93 and cannot remove. "
                "Among nlists, 8 sqrt(N) answers unfiltered queries faster but needs more lists when ids "
                "are excluded, so the two tie on filtered p99, and 4 sqrt(N) builds in about half the time; "
                "sqrt(N) is already 2.4x slower at 200k. embeddings/index.py ships IVF(4 sqrt N),SQ8 with "
                "nprobe = max(32, nlist // 64), 1.5x that when ids are excluded; 'shipped' measures that "
                "class itself, at 256-d and (through an inner-product-preserving map) 384-d."
            ),
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "index_choice.json").write_text(json.dumps(result, indent=2) + "\n")
    print(report.table())
    for r in report.shipped:
        print(
            f"VectorIndex at {r['n']:,} x {r['dim']}: {r['kind']} nlist={r['nlist']} nprobe={r['nprobe']}, "
            f"{r['memory_bytes'] / 1e6:.0f} MB, built {r['build_s']}s, recall {r['recall']}, "
            f"p50/p99 {r['p50_ms']}/{r['p99_ms']} ms; filtered {r['filtered_recall']} "
            f"p50/p99 {r['filtered_p50_ms']}/{r['filtered_p99_ms']} ms; upsert of 1,000 {r['upsert_1000_s']}s"
        )
    print(f"choice: {final['kind']} ({final['knob']}={final['setting']}); meets {verdict(final)}")


if __name__ == "__main__":
    main()
