"""The static encoder: distilled once from MiniLM, then loaded from its folder; vectors that behave."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from embeddings.static import MANIFEST, STATIC_NAME, StaticEncoder, distill_static, encoder_named, static_encoder

SOCKS = "Trailwind Merino Running Socks, Low Cut, 3-Pack, Grey, Size M"


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Distilling takes about a minute, so the whole session shares one model."""
    cache = tmp_path_factory.mktemp("models")
    distill_static(cache / STATIC_NAME, progress=False)
    return cache


@pytest.fixture(scope="session")
def static(models_dir: Path) -> StaticEncoder:
    return static_encoder(models_dir)


def cosine(encoder: StaticEncoder, a: str, b: str) -> float:
    first, second = encoder.encode([a, b])
    return float(first @ second)


def test_vectors_are_unit_length_float32_of_256_dims(static: StaticEncoder) -> None:
    vectors = static.encode([SOCKS, "Espresso machine", "", "😀"])

    assert static.dim == 256
    assert vectors.shape == (4, 256)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_encoding_no_texts_gives_no_rows(static: StaticEncoder) -> None:
    assert static.encode([]).shape == (0, 256)


def test_identical_texts_get_identical_vectors(static: StaticEncoder) -> None:
    once, twice = static.encode([SOCKS, SOCKS])
    alone = static.encode([SOCKS])[0]

    np.testing.assert_array_equal(once, twice)
    np.testing.assert_allclose(once, alone, atol=1e-6)


def test_a_running_sock_is_closer_to_another_running_sock_than_to_an_espresso_machine(static: StaticEncoder) -> None:
    other_sock = "Northpeak Performance Running Sock, Cushioned, Black"
    espresso = "Brewmaster 15-Bar Espresso Machine with Milk Frother"

    assert cosine(static, SOCKS, other_sock) > cosine(static, SOCKS, espresso) + 0.2


def test_a_distilled_model_is_loaded_from_its_folder_not_distilled_again(models_dir: Path) -> None:
    manifest = models_dir / STATIC_NAME / MANIFEST
    before = manifest.read_text()

    assert distill_static(models_dir / STATIC_NAME, progress=False) == models_dir / STATIC_NAME
    loaded = StaticEncoder(models_dir / STATIC_NAME)

    assert manifest.read_text() == before
    assert json.loads(before)["dims"] == loaded.dim == 256


def test_the_encoder_is_shared_per_cache_folder(models_dir: Path, static: StaticEncoder) -> None:
    assert static_encoder(models_dir) is static
    assert encoder_named("static", models_dir) is static


def test_an_unknown_encoder_name_is_refused_with_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"nope.*minilm, static"):
        encoder_named("nope", tmp_path)
