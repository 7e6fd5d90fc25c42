"""A FAISS index of product vectors by integer id: exact while small, IVF-SQ8 once large; filtered,
persisted, reloaded, and swapped atomically.

bench/index_choice.py chose the kinds (bench/results/index_choice.json): below `exact_limit` vectors
an exact `IndexIDMap2(IndexFlatIP)` is perfect and still fast; above it `IVF{4 sqrt N},SQ8` held
recall@10 >= 0.95 at 1.2M x 384-d in 0.48 GB with single-threaded p99 under 1 ms (1.7 ms with 5% of
the catalog excluded, on a shared 2-core machine), and, unlike HNSW, adds and removes ids in place.
"""

from __future__ import annotations

import json
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import faiss
import numpy as np
import numpy.typing as npt

from embeddings.encoder import Vectors

Ids = npt.NDArray[np.int64]
Scores = npt.NDArray[np.float32]
Kind = Literal["flat", "ivf-sq8"]

_INDEX_FILE = "products.faiss"
_MANIFEST = "manifest.json"

# Exact search is perfect but its cost grows with N: 20k x 384-d measured p50 0.8-1.0 / p99 1.2-1.5 ms
# on one thread (200k x 256-d: 7.5 / 8-11 ms), so past 20k vectors the index turns into IVF-SQ8.
DEFAULT_EXACT_LIMIT = 20_000
# k-means wants >= 39 points per centroid (171k at 1.2M vectors, nlist 4384); a 200k sample keeps
# that and trained plus filled 1.2M x 256-d in ~40 s on 2 cores, where all 1.2M would take minutes.
_MAX_TRAIN = 200_000
# An IVF index trained for N vectors gets slow lists at 4N (nlist grows with sqrt(N)): retrain then.
_RETRAIN_GROWTH = 2
# Excluding a brand empties the lists nearest its products, so the answers come from farther lists:
# at 1.2M the same recall took nprobe 96 instead of 64 for the queries that lost neighbours.
_FILTERED_PROBES = 1.5
# Below this many ids of range per excluded id, a bitmap selector is cheaper to build than a hash set.
_BITMAP_RANGE_PER_ID = 256


def nlist_for(count: int) -> int:
    """Inverted lists for `count` vectors: about 4 * sqrt(N), the usual balance between the cost of
    choosing lists (nlist centroids) and of scanning them (N / nlist vectors each)."""
    # k-means wants at least 39 training points per centroid; fewer gives poor lists (and a warning).
    return max(16, min(round(4 * math.sqrt(count) / 16), count // (39 * 16)) * 16)


def nprobe_for(nlist: int) -> int:
    """Lists searched per query: the smallest setting that reached recall@10 >= 0.95 in the benchmark,
    on held-out products, order line items and filtered queries alike, with some headroom."""
    return min(nlist, max(32, nlist // 64))


@dataclass(frozen=True)
class _Current:
    """What a reader needs, swapped as one reference so a search never mixes two versions."""

    index: faiss.Index
    kind: Kind
    nlist: int
    nprobe: int
    version: int


class VectorIndex:
    """Readers search whatever index object is current; writers build a copy and swap it in,
    so a search never sees a half-applied update and never waits for one."""

    def __init__(
        self,
        dim: int,
        index: faiss.Index | None = None,
        version: int = 0,
        *,
        exact_limit: int = DEFAULT_EXACT_LIMIT,
        nprobe: int | None = None,
    ) -> None:
        self.dim = dim
        self.exact_limit = exact_limit
        index = index if index is not None else _flat(dim)
        self._current = _current(index, version, nprobe)
        self._write_lock = threading.Lock()

    @classmethod
    def build(
        cls, dim: int, ids: Ids, vectors: Vectors, *, exact_limit: int = DEFAULT_EXACT_LIMIT, version: int = 0
    ) -> VectorIndex:
        """A whole catalog at once, in the kind its size calls for."""
        return cls(dim, _build(dim, _as_ids(ids), _as_vectors(vectors), exact_limit), version, exact_limit=exact_limit)

    @property
    def size(self) -> int:
        return int(self._current.index.ntotal)

    @property
    def version(self) -> int:
        return self._current.version

    @property
    def kind(self) -> Kind:
        return self._current.kind

    @property
    def nlist(self) -> int:
        """Inverted lists (0 while exact)."""
        return self._current.nlist

    @property
    def nprobe(self) -> int:
        """Lists searched per query (0 while exact); half as many again when ids are excluded."""
        return self._current.nprobe

    def memory_bytes(self) -> int:
        """Bytes of vectors or codes, ids and centroids: what `save` writes, give or take headers."""
        index = self._current.index
        ivf = faiss.try_extract_index_ivf(index)
        if ivf is not None:
            return int(index.ntotal) * (int(ivf.code_size) + 8) + int(ivf.nlist) * self.dim * 4
        return int(index.ntotal) * (self.dim * 4 + 8)

    def search(self, vectors: Vectors, k: int, exclude: Ids | None = None) -> tuple[Scores, Ids]:
        """The k best (scores, ids) per query row, never returning an id in `exclude`; rows run short
        (id -1) only when fewer than k vectors are left to return."""
        current = self._current  # one read: the whole search uses one version
        index = current.index
        if index.ntotal == 0 or k <= 0:
            empty = np.zeros((len(vectors), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        # The selector is checked inside the scan, so excluded ids never take a result slot: filtering
        # after the search would return short lists whenever a blocked brand fills the neighbourhood.
        selector = _excluding(_as_ids(exclude)) if exclude is not None and len(exclude) else None
        params = _params(current, selector, k)
        scores, ids = index.search(_as_vectors(vectors), min(k, int(index.ntotal)), params=params)
        return scores, ids

    def upsert(self, ids: Ids, vectors: Vectors, remove: Ids | None = None) -> int:
        """Replace the vectors of `ids` (and drop `remove`), then swap the new index in.

        Copy-on-write: the live index is cloned, changed and swapped, so readers never pause and never
        see half an update. The clone is the price: at 1.2M x 384-d IVF-SQ8 it copies ~0.48 GB (0.15 s
        measured; two copies live until the old one's readers finish), whatever the size of the change,
        so callers should batch their changes."""
        ids, vectors = _last_of_each(_as_ids(ids), _as_vectors(vectors))
        gone = np.concatenate([ids, _as_ids(remove)]) if remove is not None else ids
        with self._write_lock:
            current = self._current
            if not len(gone):
                return current.version
            fresh = self._next_index(current, ids, vectors, gone)
            self._current = _current(fresh, current.version + 1, _kept_nprobe(current, fresh))
            return current.version + 1

    def _next_index(self, current: _Current, ids: Ids, vectors: Vectors, gone: Ids) -> faiss.Index:
        if current.kind == "flat":
            old_ids = _flat_ids(current.index)
            kept = ~np.isin(old_ids, gone)
            if int(kept.sum()) + len(ids) >= self.exact_limit:
                # Crossing the limit: the flat index holds every vector exactly, so train the IVF on
                # them; read straight from the live index (reads never disturb readers), no clone.
                old_vectors = _flat_vectors(current.index)
                all_ids = np.concatenate([old_ids[kept], ids])
                all_vectors = np.concatenate([old_vectors[kept], vectors])
                return _build(self.dim, all_ids, all_vectors, self.exact_limit)
        fresh = faiss.clone_index(current.index)
        fresh.remove_ids(faiss.IDSelectorBatch(gone))
        if len(ids):
            fresh.add_with_ids(vectors, ids)
        ivf = faiss.try_extract_index_ivf(fresh)
        if ivf is not None and nlist_for(int(fresh.ntotal)) >= _RETRAIN_GROWTH * int(ivf.nlist):
            # Grown well past what it was trained for: lists are long and searches slow, so retrain on
            # the vectors decoded from it (SQ8 error is ~0.4% of each dimension's range; recall holds).
            all_ids, all_vectors = _ivf_contents(fresh)
            return _build(self.dim, all_ids, all_vectors, self.exact_limit)
        return fresh

    def save(self, directory: Path) -> None:
        """Write to temporary files and rename, so a crash leaves the last good index on disk."""
        directory.mkdir(parents=True, exist_ok=True)
        current = self._current
        tmp = directory / f".{_INDEX_FILE}.tmp"
        faiss.write_index(current.index, str(tmp))
        os.replace(tmp, directory / _INDEX_FILE)
        manifest = {
            "version": current.version,
            "dim": self.dim,
            "size": int(current.index.ntotal),
            "kind": current.kind,
            "nlist": current.nlist,
            "nprobe": current.nprobe,
            "filtered_nprobe": _filtered_nprobe(current),
        }
        tmp_manifest = directory / f".{_MANIFEST}.tmp"
        tmp_manifest.write_text(json.dumps(manifest))
        os.replace(tmp_manifest, directory / _MANIFEST)

    @classmethod
    def load(cls, directory: Path, dim: int, *, exact_limit: int = DEFAULT_EXACT_LIMIT) -> VectorIndex | None:
        """The index saved in `directory`, or None when there is none (or it is for another model)."""
        path, manifest_path = directory / _INDEX_FILE, directory / _MANIFEST
        if not path.exists() or not manifest_path.exists():
            return None
        manifest = json.loads(manifest_path.read_text())
        index = faiss.read_index(str(path))
        if index.d != dim:
            return None
        nprobe = int(manifest.get("nprobe") or 0)  # 0: saved while exact, or before nprobe was recorded
        return cls(
            dim,
            index,
            version=int(manifest["version"]),
            exact_limit=exact_limit,
            nprobe=nprobe or None,
        )


def _current(index: faiss.Index, version: int, nprobe: int | None) -> _Current:
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is None:
        return _Current(index, "flat", 0, 0, version)
    nlist = int(ivf.nlist)
    return _Current(index, "ivf-sq8", nlist, nprobe if nprobe is not None else nprobe_for(nlist), version)


def _kept_nprobe(current: _Current, fresh: faiss.Index) -> int | None:
    """An incremental change keeps the search setting (it may have come from a manifest); a rebuild
    with a different number of lists gets the one measured for its size."""
    ivf = faiss.try_extract_index_ivf(fresh)
    if ivf is not None and int(ivf.nlist) == current.nlist:
        return current.nprobe
    return None


def _filtered_nprobe(current: _Current) -> int:
    return min(round(_FILTERED_PROBES * current.nprobe), current.nlist)


def _excluding(ids: Ids) -> faiss.IDSelector:
    """Every id but `ids`. A bitmap over the id range costs ~0.1 ns per id of range to build, a hash
    set ~60 ns per id excluded (a 60k-id exclusion: 0.1 ms against 3.7 ms), so dense ranges get a bitmap."""
    top = int(ids.max())
    if int(ids.min()) >= 0 and top < _BITMAP_RANGE_PER_ID * len(ids):
        member = np.zeros(top + 1, dtype=bool)
        member[ids] = True
        # faiss reads bit (id & 7) of byte (id >> 3): little-endian bit order. Its Python wrapper takes
        # the array alone and keeps it alive with the selector; the stub knows only the C++ signature.
        bitmap = np.packbits(member, bitorder="little")
        inner: faiss.IDSelector = faiss.IDSelectorBitmap(bitmap)  # type: ignore[call-arg,arg-type]
    else:
        inner = faiss.IDSelectorBatch(ids)
    return faiss.IDSelectorNot(inner)


def _params(current: _Current, selector: faiss.IDSelector | None, k: int) -> faiss.SearchParameters | None:
    params: faiss.SearchParameters
    if current.kind == "ivf-sq8":
        ivf_params = faiss.SearchParametersIVF()
        base = current.nprobe if selector is None else _filtered_nprobe(current)
        # A deep search (k in the thousands) must probe enough lists to hold ~2k vectors, or it comes
        # back short and only from the query's own neighbourhood.
        deep = math.ceil(2 * k * current.nlist / max(int(current.index.ntotal), 1))
        ivf_params.nprobe = min(current.nlist, max(base, deep))
        params = ivf_params
    elif selector is not None:
        params = faiss.SearchParameters()
    else:
        return None
    if selector is not None:
        params.sel = selector  # faiss's wrapper keeps the selector alive as long as the params
    return params


def _flat(dim: int) -> faiss.Index:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def _build(dim: int, ids: Ids, vectors: Vectors, exact_limit: int) -> faiss.Index:
    if len(ids) < exact_limit:
        flat = _flat(dim)
        if len(ids):
            flat.add_with_ids(vectors, ids)
        return flat
    nlist = nlist_for(len(ids))
    # IVF lists store the ids themselves: add_with_ids and remove_ids work without an IDMap wrapper.
    index = faiss.index_factory(dim, f"IVF{nlist},SQ8", faiss.METRIC_INNER_PRODUCT)
    sample = vectors
    if len(vectors) > _MAX_TRAIN:
        rows = np.random.default_rng(0).choice(len(vectors), _MAX_TRAIN, replace=False)
        sample = vectors[np.sort(rows)]
    index.train(sample)
    index.add_with_ids(vectors, ids)
    return index


def _flat_ids(index: faiss.Index) -> Ids:
    if not isinstance(index, faiss.IndexIDMap2):
        raise TypeError(f"expected an IndexIDMap2, got {type(index).__name__}")
    return faiss.vector_to_array(index.id_map).astype(np.int64)


def _flat_vectors(index: faiss.Index) -> Vectors:
    """Row i is the vector of `_flat_ids(index)[i]`: IndexIDMap2 keeps ids in insertion order."""
    if not isinstance(index, faiss.IndexIDMap2):
        raise TypeError(f"expected an IndexIDMap2, got {type(index).__name__}")
    return np.ascontiguousarray(index.index.reconstruct_n(0, int(index.ntotal)), dtype=np.float32)


def _ivf_contents(index: faiss.Index) -> tuple[Ids, Vectors]:
    """Every id and its decoded vector. Only for an index no reader holds: it adds a direct map."""
    ivf = faiss.extract_index_ivf(index)
    invlists = ivf.invlists
    if invlists is None:
        raise ValueError("an IVF index without inverted lists")
    chunks = [np.zeros(0, dtype=np.int64)]
    for n in range(ivf.nlist):
        if size := invlists.list_size(n):
            chunks.append(np.array(faiss.rev_swig_ptr(invlists.get_ids(n), size), dtype=np.int64))
    ids = np.concatenate(chunks)
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]  # absent from faiss's stubs
    vectors = ivf.reconstruct_batch(ids)
    return ids, np.ascontiguousarray(vectors, dtype=np.float32)


def _last_of_each(ids: Ids, vectors: Vectors) -> tuple[Ids, Vectors]:
    """An id given twice in one change keeps its last vector: the index would otherwise hold both."""
    _, first_from_end = np.unique(ids[::-1], return_index=True)
    if len(first_from_end) == len(ids):
        return ids, vectors
    rows = np.sort(len(ids) - 1 - first_from_end)
    return ids[rows], vectors[rows]


def _as_ids(ids: Ids) -> Ids:
    return np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)


def _as_vectors(vectors: Vectors) -> Vectors:
    return np.ascontiguousarray(vectors, dtype=np.float32)
