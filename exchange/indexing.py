"""The one writer of the live vector index: coalesces changes, swaps them in, persists the index."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

from embeddings.encoder import Vectors
from embeddings.index import VectorIndex

log = logging.getLogger("encore.index")
Ids = npt.NDArray[np.int64]


class _Change:
    def __init__(self, ids: Ids, vectors: Vectors, remove: Ids) -> None:
        self.ids, self.vectors, self.remove = ids, vectors, remove
        self.done: asyncio.Future[int] = asyncio.get_running_loop().create_future()


def merge(changes: list[_Change], dim: int) -> tuple[Ids, Vectors, Ids]:
    """One change equivalent to applying `changes` in order: the last word on each id wins."""
    final: dict[int, tuple[int, int] | None] = {}  # id -> (change index, row) or None for removed
    for n, change in enumerate(changes):
        for row, pid in enumerate(change.ids.tolist()):
            final[pid] = (n, row)
        for pid in change.remove.tolist():
            final[pid] = None
    kept = [(pid, where) for pid, where in final.items() if where is not None]
    ids = np.fromiter((pid for pid, _ in kept), dtype=np.int64, count=len(kept))
    vectors = np.empty((len(kept), dim), dtype=np.float32)
    for i, (_, (n, row)) in enumerate(kept):
        vectors[i] = changes[n].vectors[row]
    removed = np.fromiter((pid for pid, where in final.items() if where is None), dtype=np.int64)
    return ids, vectors, removed


class IndexWriter:
    """Many uploads at once become one copy-on-write swap: at 1.2M products a swap copies the whole
    index, so doing it per upload would cost minutes; batching keeps it to one copy per round."""

    def __init__(self, index: VectorIndex, directory: Path, save_every_s: float = 30.0) -> None:
        self.index = index
        self._directory = directory
        self._save_every_s = save_every_s
        self._queue: asyncio.Queue[_Change] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._last_save = 0.0
        self._dirty = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="index-writer")

    async def apply(self, ids: Ids, vectors: Vectors, remove: Ids) -> int:
        """Queue a change; returns the index version that holds it, once it is searchable."""
        if not len(ids) and not len(remove):
            return self.index.version
        change = _Change(ids, vectors, remove)
        await self._queue.put(change)
        return await change.done

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                ids, vectors, remove = merge(batch, self.index.dim)
                version = await asyncio.to_thread(self.index.upsert, ids, vectors, remove)
            except Exception as exc:
                log.exception("index update failed")
                for change in batch:
                    change.done.set_exception(exc)
                continue
            for change in batch:
                change.done.set_result(version)
            self._dirty = True
            if time.monotonic() - self._last_save >= self._save_every_s:
                await self.save()

    async def save(self) -> None:
        if self._dirty:
            self._dirty = False
            self._last_save = time.monotonic()
            await asyncio.to_thread(self.index.save, self._directory)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.save()
