"""A FAISS index of product vectors by integer id: persisted, reloaded, and swapped atomically."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import faiss
import numpy as np
import numpy.typing as npt

from embeddings.encoder import Vectors

_INDEX_FILE = "products.faiss"
_MANIFEST = "manifest.json"


class VectorIndex:
    """Readers search whatever index object is current; writers build a copy and swap it in,
    so a search never sees a half-applied update and never waits for one."""

    def __init__(self, dim: int, index: faiss.Index | None = None, version: int = 0) -> None:
        self.dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.version = version
        self._write_lock = threading.Lock()

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    def search(self, vectors: Vectors, k: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        index = self._index  # one read: the whole search uses one version
        if index.ntotal == 0:
            empty = np.zeros((len(vectors), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        scores, ids = index.search(vectors, min(k, index.ntotal))
        return scores, ids

    def upsert(self, ids: npt.NDArray[np.int64], vectors: Vectors, remove: npt.NDArray[np.int64] | None = None) -> int:
        """Replace the vectors of `ids` (and drop `remove`), then swap the new index in."""
        with self._write_lock:
            fresh = faiss.clone_index(self._index)
            gone = np.concatenate([ids, remove]) if remove is not None else ids
            if len(gone):
                fresh.remove_ids(faiss.IDSelectorBatch(np.ascontiguousarray(gone, dtype=np.int64)))
            if len(ids):
                fresh.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))
            self._index = fresh
            self.version += 1
            return self.version

    def save(self, directory: Path) -> None:
        """Write to temporary files and rename, so a crash leaves the last good index on disk."""
        directory.mkdir(parents=True, exist_ok=True)
        index, version = self._index, self.version
        tmp = directory / f".{_INDEX_FILE}.tmp"
        faiss.write_index(index, str(tmp))
        os.replace(tmp, directory / _INDEX_FILE)
        manifest = {"version": version, "dim": self.dim, "size": int(index.ntotal)}
        tmp_manifest = directory / f".{_MANIFEST}.tmp"
        tmp_manifest.write_text(json.dumps(manifest))
        os.replace(tmp_manifest, directory / _MANIFEST)

    @classmethod
    def load(cls, directory: Path, dim: int) -> VectorIndex | None:
        """The index saved in `directory`, or None when there is none (or it is for another model)."""
        path, manifest_path = directory / _INDEX_FILE, directory / _MANIFEST
        if not path.exists() or not manifest_path.exists():
            return None
        manifest = json.loads(manifest_path.read_text())
        index = faiss.read_index(str(path))
        if index.d != dim:
            return None
        return cls(dim, index, version=int(manifest["version"]))
