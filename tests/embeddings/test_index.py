"""The product vector index: exact while small, IVF-SQ8 once large, filtered, persisted and hot-swapped."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from embeddings.index import VectorIndex, nprobe_for

DIM = 64
LIMIT = 10_000  # passed explicitly: the tests cross it with 60k vectors, whatever the default
CATALOG = 60_000
BRANDS = 600

Ids = npt.NDArray[np.int64]
Vectors = npt.NDArray[np.float32]


def clustered(n: int, seed: int) -> tuple[Vectors, Ids]:
    """Unit vectors around one centre per brand, brands around one centre per vertical: a brand's
    products sit close in embedding space, and near its competitors' in the same vertical."""
    shape = np.random.default_rng(0)
    verticals = shape.standard_normal((BRANDS // 30, DIM)).astype(np.float32)
    centres = (
        np.repeat(verticals, 30, axis=0) + shape.standard_normal((BRANDS, DIM)).astype(np.float32) * 0.7
    ) / np.sqrt(DIM)
    rng = np.random.default_rng(seed)
    brands = rng.integers(0, BRANDS, n)
    vectors = centres[brands] + rng.standard_normal((n, DIM)).astype(np.float32) * 0.12
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32), brands.astype(np.int64)


def exact_top(queries: Vectors, ids: Ids, vectors: Vectors, k: int = 10, exclude: Ids | None = None) -> Ids:
    scores = queries @ vectors.T
    if exclude is not None:
        scores[:, np.isin(ids, exclude)] = -np.inf
    return ids[np.argsort(-scores, axis=1)[:, :k]]


def recall(found: Ids, truth: Ids) -> float:
    return float((found[:, :, None] == truth[:, None, :]).any(axis=2).mean())


@pytest.fixture(scope="module")
def catalog() -> tuple[Ids, Vectors, Ids]:
    vectors, brands = clustered(CATALOG, seed=1)
    ids = np.arange(CATALOG, dtype=np.int64) * 7 + 1_000  # sparse, as database ids are
    return ids, vectors, brands


@pytest.fixture(scope="module")
def queries() -> Vectors:
    return clustered(400, seed=2)[0]


@pytest.fixture(scope="module")
def grown(catalog: tuple[Ids, Vectors, Ids]) -> VectorIndex:
    """An index that started exact and crossed the limit through upserts, as a live exchange's does."""
    ids, vectors, _ = catalog
    index = VectorIndex(DIM, exact_limit=LIMIT)
    index.upsert(ids[: LIMIT // 2], vectors[: LIMIT // 2])
    assert index.kind == "flat"
    index.upsert(ids[LIMIT // 2 :], vectors[LIMIT // 2 :])
    return index


@pytest.fixture
def copy(grown: VectorIndex, tmp_path: Path) -> VectorIndex:
    """A private copy of the grown index, for tests that change it."""
    grown.save(tmp_path)
    loaded = VectorIndex.load(tmp_path, DIM, exact_limit=LIMIT)
    assert loaded is not None
    return loaded


def test_a_small_catalog_is_searched_exactly(catalog: tuple[Ids, Vectors, Ids], queries: Vectors) -> None:
    ids, vectors, _ = catalog
    index = VectorIndex.build(DIM, ids[:5_000], vectors[:5_000], exact_limit=LIMIT)

    _, found = index.search(queries, 10)

    assert index.kind == "flat"
    assert np.array_equal(found, exact_top(queries, ids[:5_000], vectors[:5_000]))


def test_crossing_the_limit_rebuilds_into_ivf_and_keeps_recall(
    grown: VectorIndex, catalog: tuple[Ids, Vectors, Ids], queries: Vectors
) -> None:
    ids, vectors, _ = catalog

    _, found = grown.search(queries, 10)

    assert (grown.kind, grown.size, grown.version) == ("ivf-sq8", CATALOG, 2)
    assert recall(found, exact_top(queries, ids, vectors)) >= 0.95
    assert grown.memory_bytes() < CATALOG * DIM * 4 / 3  # SQ8: a byte per dimension, not four


def test_a_bulk_build_chooses_the_kind_by_size(catalog: tuple[Ids, Vectors, Ids], queries: Vectors) -> None:
    ids, vectors, _ = catalog
    index = VectorIndex.build(DIM, ids[:30_000], vectors[:30_000], exact_limit=LIMIT)

    _, found = index.search(queries, 10)

    assert index.kind == "ivf-sq8"
    assert recall(found, exact_top(queries, ids[:30_000], vectors[:30_000])) >= 0.95


def test_removed_ids_never_come_back(copy: VectorIndex, catalog: tuple[Ids, Vectors, Ids]) -> None:
    ids, vectors, _ = catalog
    removed = ids[::10]
    new_ids = np.array([ids[1]], dtype=np.int64)  # replaced in the same change: its old vector goes too

    copy.upsert(new_ids, -vectors[1:2], remove=removed)

    _, found = copy.search(vectors[::10], 10)  # each removed product's own vector as the query
    assert not np.isin(found, removed).any()
    assert copy.size == CATALOG - len(removed)
    _, replaced = copy.search(-vectors[1:2], 1)
    assert replaced[0, 0] == ids[1]


def test_excluded_ids_never_come_back_and_the_rest_keeps_recall(
    grown: VectorIndex, catalog: tuple[Ids, Vectors, Ids], queries: Vectors
) -> None:
    ids, vectors, brands = catalog
    # Block the brands the queries are nearest to, ~5% of the catalog: the case where the nearest
    # lists are mostly excluded and the answers must come from farther ones.
    _, nearest = grown.search(queries, 1)
    blocked_brands = np.unique(brands[np.isin(ids, nearest[:, 0])])[: BRANDS // 20]
    excluded = ids[np.isin(brands, blocked_brands)]
    affected = np.isin(exact_top(queries, ids, vectors), excluded).any(axis=1)

    _, found = grown.search(queries, 10, exclude=excluded)

    assert not np.isin(found, excluded).any()
    truth = exact_top(queries, ids, vectors, exclude=excluded)
    assert recall(found, truth) >= 0.95
    assert affected.sum() >= 20
    assert recall(found[affected], truth[affected]) >= 0.95


def test_exclusion_also_filters_an_exact_index(catalog: tuple[Ids, Vectors, Ids], queries: Vectors) -> None:
    ids, vectors, _ = catalog
    index = VectorIndex.build(DIM, ids[:5_000], vectors[:5_000], exact_limit=LIMIT)
    excluded = exact_top(queries[:5], ids[:5_000], vectors[:5_000], k=3).ravel()

    _, found = index.search(queries[:5], 10, exclude=excluded)

    assert np.array_equal(found, exact_top(queries[:5], ids[:5_000], vectors[:5_000], exclude=excluded))


def test_save_then_load_gives_the_same_results_and_kind(grown: VectorIndex, queries: Vectors, tmp_path: Path) -> None:
    grown.save(tmp_path)

    loaded = VectorIndex.load(tmp_path, DIM, exact_limit=LIMIT)

    assert loaded is not None
    assert (loaded.kind, loaded.nprobe, loaded.version, loaded.size) == (
        grown.kind,
        grown.nprobe,
        grown.version,
        grown.size,
    )
    (scores, found), (grown_scores, grown_found) = loaded.search(queries, 10), grown.search(queries, 10)
    assert np.array_equal(found, grown_found)
    assert np.array_equal(scores, grown_scores)
    assert VectorIndex.load(tmp_path, DIM + 1) is None  # another model's index is not reused


def test_an_index_saved_without_search_settings_loads_with_the_measured_ones(
    grown: VectorIndex, tmp_path: Path
) -> None:
    grown.save(tmp_path)
    manifest = tmp_path / "manifest.json"
    older = {k: v for k, v in json.loads(manifest.read_text()).items() if k in ("version", "dim", "size")}
    manifest.write_text(json.dumps(older))

    loaded = VectorIndex.load(tmp_path, DIM, exact_limit=LIMIT)

    assert loaded is not None
    assert (loaded.kind, loaded.nprobe) == ("ivf-sq8", nprobe_for(grown.nlist))


def test_a_search_during_an_upsert_sees_the_old_or_the_new_version(
    copy: VectorIndex, catalog: tuple[Ids, Vectors, Ids], queries: Vectors
) -> None:
    ids, vectors, _ = catalog
    _, before = copy.search(queries, 10)
    moved = np.unique(before[:, :3])  # the queries' best matches move far away
    seen: list[Ids] = []
    errors: list[BaseException] = []
    writing = threading.Event()

    def read() -> None:
        try:
            while writing.is_set() or len(seen) < 5:
                seen.append(copy.search(queries, 10)[1])
        except BaseException as error:  # any failure in the reader fails the test
            errors.append(error)

    writing.set()
    reader = threading.Thread(target=read)
    reader.start()
    row = np.searchsorted(ids, moved)
    copy.upsert(moved, -vectors[row])
    writing.clear()
    reader.join()
    _, after = copy.search(queries, 10)

    assert not errors
    assert not np.array_equal(before, after)
    assert all(np.array_equal(s, before) or np.array_equal(s, after) for s in seen)


def test_searches_go_on_while_crossing_the_limit_rebuilds_the_index(
    catalog: tuple[Ids, Vectors, Ids], queries: Vectors
) -> None:
    ids, vectors, _ = catalog
    index = VectorIndex.build(DIM, ids[:5_000], vectors[:5_000], exact_limit=LIMIT)
    _, before = index.search(queries, 10)
    writer = threading.Thread(target=index.upsert, args=(ids[5_000:], vectors[5_000:]))
    seen: list[Ids] = []

    writer.start()
    while writer.is_alive():
        seen.append(index.search(queries, 10)[1])
    writer.join()
    _, after = index.search(queries, 10)

    assert index.kind == "ivf-sq8"
    assert len(seen) >= 10  # the rebuild (training k-means) never held readers up
    assert all(np.array_equal(s, before) or np.array_equal(s, after) for s in seen)


def test_an_upsert_with_nothing_to_change_keeps_the_version(copy: VectorIndex) -> None:
    version = copy.version
    nothing = np.zeros(0, dtype=np.int64)

    assert copy.upsert(nothing, np.zeros((0, DIM), dtype=np.float32)) == version
    assert copy.upsert(nothing, np.zeros((0, DIM), dtype=np.float32), remove=nothing) == version
    assert copy.version == version


def test_an_index_grown_far_past_its_training_is_retrained(catalog: tuple[Ids, Vectors, Ids], queries: Vectors) -> None:
    ids, vectors, _ = catalog
    index = VectorIndex.build(DIM, ids[:3_000], vectors[:3_000], exact_limit=2_000)
    first_nprobe = index.nprobe

    index.upsert(ids[3_000:], vectors[3_000:])

    _, found = index.search(queries, 10)
    assert index.kind == "ivf-sq8"
    assert index.size == CATALOG
    assert index.nprobe >= first_nprobe
    assert recall(found, exact_top(queries, ids, vectors)) >= 0.95


def test_an_id_given_twice_in_one_change_keeps_its_last_vector(catalog: tuple[Ids, Vectors, Ids]) -> None:
    _, vectors, _ = catalog
    index = VectorIndex(DIM, exact_limit=LIMIT)

    index.upsert(np.array([5, 5], dtype=np.int64), vectors[:2])

    scores, found = index.search(vectors[1:2], 1)
    assert index.size == 1
    assert found[0, 0] == 5
    assert scores[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_a_deep_search_returns_k_results_from_a_compressed_index() -> None:
    """Retrieval asks for thousands of candidates when the nearest are all substitutes."""
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((30_000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex.build(32, np.arange(30_000, dtype=np.int64), vectors, exact_limit=1_000)
    assert index.kind == "ivf-sq8"
    _, ids = index.search(vectors[:3], 5_000)
    assert (ids >= 0).all()
