"""What a running exchange holds: settings, database, counters, encoder and the live index."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from embeddings.encoder import Encoder, minilm
from embeddings.index import VectorIndex
from exchange.core.db import make_engine, make_sessionmaker
from exchange.counters import Counters, open_counters
from exchange.ledger.service import campaign_spend
from exchange.migrate import upgrade
from exchange.settings import Settings
from partners.models import Product
from partners.service import embed_text

log = logging.getLogger("encore")


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[Any]
    counters: Counters
    encoder: Encoder
    index: VectorIndex
    _index_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def searchable_products(self) -> int:
        return self.index.size

    async def index_products(self, products: Sequence[tuple[int, str]]) -> int:
        """Embed products and swap them into the live index, then persist it (the ProductIndexer)."""
        if not products:
            return self.index.version
        ids = np.fromiter((pid for pid, _ in products), dtype=np.int64, count=len(products))
        texts = [text for _, text in products]
        async with self._index_lock:
            vectors = await asyncio.to_thread(self.encoder.encode, texts, progress=len(texts) > 2000)
            version = await asyncio.to_thread(self.index.upsert, ids, vectors)
            await asyncio.to_thread(self.index.save, self.settings.index_dir)
        return version

    async def close(self) -> None:
        await self.counters.close()
        await self.engine.dispose()


async def open_runtime(settings: Settings, encoder: Encoder | None = None) -> Runtime:
    """Upgrade the schema, connect the counters, load the model and the index (rebuilding it if stale)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.sqlalchemy_url)
    await upgrade(engine)
    counters = await open_counters(settings.redis_url, settings.redis_prefix)
    model: Encoder = encoder if encoder is not None else await asyncio.to_thread(minilm)
    index = VectorIndex.load(settings.index_dir, model.dim) or VectorIndex(model.dim)
    runtime = Runtime(settings, engine, make_sessionmaker(engine), counters, model, index)
    await _reindex_if_stale(runtime)
    await _seed_spend(runtime)
    return runtime


async def _reindex_if_stale(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        count = (await session.execute(select(func.count()).select_from(Product))).scalar_one()
        if count == runtime.index.size:
            return
        log.warning("index holds %d products, the catalog %d: re-embedding the catalog", runtime.index.size, count)
        rows = await session.execute(
            select(Product.id, Product.title, Product.brand, Product.product_type, Product.google_product_category)
        )
        products = [(pid, embed_text(title, brand, ptype or gpc)) for pid, title, brand, ptype, gpc in rows]
    runtime.index = VectorIndex(runtime.encoder.dim)
    await runtime.index_products(products)


async def _seed_spend(runtime: Runtime) -> None:
    """Counters start from the ledger, so a restart (or a flushed Redis) never resets a budget."""
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    async with runtime.sessions() as session:
        totals = await campaign_spend(session)
        daily = await campaign_spend(session, since=today)
    day = today.date().isoformat()
    for campaign_id, total in totals.items():
        await runtime.counters.seed_spend(campaign_id, day, daily.get(campaign_id, 0), total)
