"""What a running exchange holds: settings, database, counters, encoder and the live index."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from embeddings.encoder import Encoder
from embeddings.index import VectorIndex
from embeddings.static import encoder_named
from exchange.core.db import make_engine, make_sessionmaker
from exchange.counters import Counters, open_counters
from exchange.indexing import IndexWriter
from exchange.ledger.service import campaign_spend
from exchange.matching.catalog import CatalogTable
from exchange.matching.history import load_learning
from exchange.matching.learning import Learner
from exchange.migrate import upgrade
from exchange.observability import forget_dead_processes, index_served
from exchange.settings import Settings
from exchange.tracking.ivt import TrafficRules
from partners.ingest import run_job
from partners.models import CatalogJob, Product
from partners.service import embed_text

log = logging.getLogger("encore")


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[Any]
    counters: Counters
    encoder: Encoder
    writer: IndexWriter
    catalog: CatalogTable = field(default_factory=CatalogTable)
    learner: Learner = field(default_factory=Learner)
    traffic: TrafficRules = field(default_factory=TrafficRules)
    jobs: set[asyncio.Task[Any]] = field(default_factory=set)
    # Calls partners' systems (one-click orders); one pool of connections for the process.
    http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(follow_redirects=False))

    @property
    def index(self) -> VectorIndex:
        return self.writer.index

    @property
    def searchable_products(self) -> int:
        return self.index.size

    @property
    def queues_jobs(self) -> bool:
        """A serving worker leaves catalog jobs to the background worker (exchange/topology.py)."""
        return self.settings.role == "serve"

    async def run_catalog_job(self, job_id: str, feed: Path) -> CatalogJob:
        """Run a stored feed's job here, or, on a serving worker, wait for the background worker."""
        if self.queues_jobs:
            from exchange.topology import wait_for_job

            return await wait_for_job(self, job_id)
        return await run_job(self.sessions, self, job_id, feed)

    async def index_products(self, products: Sequence[tuple[int, str]], remove: Sequence[int] = ()) -> int:
        """Embed products and swap them into the live index (the partners' ProductIndexer). On a
        serving worker only removals come here (a DELETE): they leave its catalog at once, and the
        index when the background worker next publishes."""
        if self.queues_jobs:
            async with self.sessions() as session:
                await self.catalog.refresh(session, [], remove)
            return self.index.version
        ids = np.fromiter((pid for pid, _ in products), dtype=np.int64, count=len(products))
        texts = [text for _, text in products]
        # Identical texts (size variants, re-listed items) are embedded once.
        unique = list(dict.fromkeys(texts))
        encoded = await asyncio.to_thread(self.encoder.encode, unique, progress=len(unique) > 20_000)
        position = {text: row for row, text in enumerate(unique)}
        vectors = encoded[[position[text] for text in texts]] if texts else encoded
        version = await self.writer.apply(ids, vectors, np.asarray(remove, dtype=np.int64))
        async with self.sessions() as session:  # the rows are committed before they are indexed
            await self.catalog.refresh(session, ids.tolist(), remove)
        index_served(version, self.index.size)
        return version

    def spawn(self, job: Any) -> None:
        """Run a background job, keeping a reference so it is not garbage-collected mid-way."""
        task = asyncio.create_task(job)
        self.jobs.add(task)
        task.add_done_callback(self.jobs.discard)

    async def close(self) -> None:
        for task in list(self.jobs):
            task.cancel()
        await asyncio.gather(*self.jobs, return_exceptions=True)
        await self.writer.close()
        await self.http.aclose()
        await self.counters.close()
        await self.engine.dispose()


async def open_runtime(settings: Settings, encoder: Encoder | None = None) -> Runtime:
    """Upgrade the schema, connect the counters, load the model and the index (rebuilding it if stale)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.sqlalchemy_url)
    await upgrade(engine)
    counters = await open_counters(settings.redis_url, settings.redis_prefix)
    model: Encoder = (
        encoder
        if encoder is not None
        else await asyncio.to_thread(encoder_named, settings.encoder, settings.model_cache)
    )
    sessions = make_sessionmaker(engine)
    from exchange.topology import published_version_in  # topology builds on this module

    if settings.role == "serve":
        return await _open_serving(settings, engine, sessions, counters, model)
    await _recover_jobs(sessions, settings)
    index = VectorIndex.load(settings.index_dir, model.dim)
    if index is None or index.size != await _live_products(sessions):
        index = None  # rebuilt below from the catalog
    # A rebuilt index continues the version numbers already published, so serving workers take it.
    floor = await published_version_in(sessions, settings.encoder) if settings.role == "worker" else 0
    writer = IndexWriter(index or VectorIndex(model.dim, version=floor), settings.index_dir)
    writer.start()
    runtime = Runtime(settings, engine, sessions, counters, model, writer, traffic=TrafficRules.load(settings))
    if index is None:
        await _reindex(runtime)  # fills the catalog table as it indexes
    else:
        async with sessions() as session:
            await runtime.catalog.load(session)
    runtime.learner = await load_learning(sessions, runtime.catalog)
    await _seed_spend(runtime)
    index_served(runtime.index.version, runtime.index.size)
    return runtime


async def _open_serving(
    settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[Any], counters: Counters, model: Encoder
) -> Runtime:
    """A serving worker: the last published index (or an empty one until the background worker
    publishes), the catalog, learning; then it follows every newly published version."""
    from exchange.topology import follow_index, published_dir, published_version

    since = dt.datetime.now(dt.UTC)  # products changed from here on are refreshed by follow_index
    forget_dead_processes()
    writer = IndexWriter(VectorIndex(model.dim), settings.index_dir)  # never started: not the writer here
    runtime = Runtime(settings, engine, sessions, counters, model, writer, traffic=TrafficRules.load(settings))
    version = await published_version(runtime)
    if version:
        index = await asyncio.to_thread(VectorIndex.load, published_dir(settings, version), model.dim)
        if index is not None:
            writer.index = index
    async with sessions() as session:
        await runtime.catalog.load(session)
    runtime.learner = await load_learning(sessions, runtime.catalog)
    await _seed_spend(runtime)
    index_served(runtime.index.version, runtime.index.size)
    runtime.spawn(follow_index(runtime, since))
    return runtime


async def _live_products(sessions: async_sessionmaker[Any]) -> int:
    async with sessions() as session:
        stmt = select(func.count()).select_from(Product).where(Product.active.is_(True))
        return int((await session.execute(stmt)).scalar_one())


async def _reindex(runtime: Runtime) -> None:
    """Embed the whole live catalog: the index on disk is missing, for another model, or stale."""
    async with runtime.sessions() as session:
        rows = await session.execute(
            select(
                Product.id, Product.title, Product.brand, Product.product_type, Product.google_product_category
            ).where(Product.active.is_(True))
        )
        products = [(pid, embed_text(title, brand, ptype or gpc)) for pid, title, brand, ptype, gpc in rows]
    if products:
        log.warning("re-embedding %d live products: the index on disk is missing or stale", len(products))
        await runtime.index_products(products)
        await runtime.writer.save()


async def _recover_jobs(sessions: async_sessionmaker[Any], settings: Settings) -> None:
    """Jobs a previous run of this process left unfinished. One process ("all") ran them in memory:
    they failed. The background worker takes them from the queue: queued ones wait for it, and a
    running one whose feed is still stored runs again (its rows are upserted, so a second pass
    changes nothing it already did)."""
    async with sessions() as session:
        if settings.role != "worker":
            await session.execute(
                update(CatalogJob)
                .where(CatalogJob.status.in_(("queued", "running")))
                .values(status="failed", error="interrupted by a restart; upload the feed again")
            )
        else:
            running = (await session.scalars(select(CatalogJob).where(CatalogJob.status == "running"))).all()
            for job in running:
                stored = (settings.data_dir / "uploads" / f"{job.id}.feed").exists()
                job.status = "queued" if stored else "failed"
                job.error = "" if stored else "interrupted by a restart; upload the feed again"
        await session.commit()


async def _seed_spend(runtime: Runtime) -> None:
    """Counters start from the ledger, so a restart (or a flushed Redis) never resets a budget."""
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    async with runtime.sessions() as session:
        totals = await campaign_spend(session)
        daily = await campaign_spend(session, since=today)
    day = today.date().isoformat()
    for campaign_id, total in totals.items():
        await runtime.counters.seed_spend(campaign_id, day, daily.get(campaign_id, 0), total)
