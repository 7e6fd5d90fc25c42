"""Test harness: a real app on a real database, real counters, the real model and a real FAISS index.

Every API test runs on the embedded default (SQLite file, in-process counters) and, when
ENCORE_TEST_DATABASE_URL and ENCORE_TEST_REDIS_URL are set (as .ci/run sets them), on PostgreSQL + Redis.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from embeddings.encoder import MiniLMEncoder, minilm
from exchange.app import create_app
from exchange.core.db import make_engine
from exchange.settings import Settings
from tests.support import Api

PG_URL = os.environ.get("ENCORE_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("ENCORE_TEST_REDIS_URL", "")
BACKENDS = ["embedded"] + (["postgres+redis"] if PG_URL and REDIS_URL else [])
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def encoder() -> MiniLMEncoder:
    return minilm()


async def reset_postgres(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def make_settings(tmp_path: Path, backend: str) -> Settings:
    on_servers = backend == "postgres+redis"
    return Settings(
        data_dir=tmp_path / "encore",
        database_url=PG_URL if on_servers else "",
        redis_url=REDIS_URL if on_servers else "",
        redis_prefix=f"encore-test:{uuid.uuid4().hex}:",
        admin_key="adm_test_operator",
        secret="test-link-secret-" + "x" * 32,
        public_url="http://testserver.local",
        # Every test client shares one IP; the flood rule has its own tests (test_ledger.py).
        click_flood_per_hour=100_000,
    )


@pytest.fixture(params=BACKENDS)
async def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "postgres+redis":
        await reset_postgres(PG_URL)
    return make_settings(tmp_path, request.param)


@pytest.fixture
async def api(settings: Settings, encoder: MiniLMEncoder) -> AsyncIterator[Api]:
    app = create_app(settings, encoder)
    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        yield Api(client, settings)
