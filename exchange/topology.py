"""Many serving workers and one background worker on PostgreSQL and Redis (docs/deploy.md).

- The background worker (`encore worker`, role "worker") is the index's only writer. It runs queued
  catalog jobs, removes retired products from the index, publishes each new index version (files in
  `index/<encoder>/published/v<N>`, then one row in `index_state`), and closes each month an hour
  after it ends.
- Serving workers (`encore serve --workers N`, role "serve") answer requests. An upload stores its
  feed and queues a job for the background worker. Each serving worker polls `index_state` and
  swaps in a newly published version (loaded beside the live one, then one reference swap: no
  restart, no pause), refreshing its catalog table from the products changed since.
- Role "all" (the embedded default) is one process doing both, with nothing to publish."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import shutil
import signal
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import async_sessionmaker

from embeddings.index import VectorIndex
from exchange.core.db import utcnow
from exchange.core.errors import EncoreError
from exchange.ledger.periods import CLOSE_GRACE, bounds, close_period
from exchange.matching.history import load_learning
from exchange.models import IndexState
from exchange.observability import index_served
from exchange.runtime import Runtime, open_runtime
from exchange.settings import Settings
from partners.ingest import run_job
from partners.models import CatalogJob, Product

log = logging.getLogger("encore.topology")
KEEP_PUBLISHED = 3  # versions kept on disk, so a worker loading one never sees it deleted
LEARNING_REFRESH_S = 300.0  # a serving worker relearns from every worker's events this often
JOB_WAIT_S = 1800.0  # how long a serving worker's synchronous upload waits for the background worker


def published_dir(settings: Settings, version: int) -> Path:
    return settings.index_dir / "published" / f"v{version}"


async def publish(runtime: Runtime) -> int:
    """Write the live index as a new published version (if it is not already) and announce it."""
    index = runtime.index
    version, directory = index.version, published_dir(runtime.settings, index.version)
    announced = await published_version(runtime)
    if version <= announced:
        return announced
    # A directory for a version never announced is a crash's leftover: write it afresh.
    shutil.rmtree(directory, ignore_errors=True)
    tmp = directory.with_name(f".{directory.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    await asyncio.to_thread(index.save, tmp)
    tmp.rename(directory)  # readers see a whole version or none
    async with runtime.sessions() as session:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        values = {"encoder": runtime.settings.encoder, "version": version, "size": index.size, "published_at": utcnow()}
        stmt = insert(IndexState).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["encoder"],
            set_={k: stmt.excluded[k] for k in ("version", "size", "published_at")},
            where=IndexState.version < stmt.excluded.version,
        )
        await session.execute(stmt)
        await session.commit()
    for old in sorted(directory.parent.glob("v*"), key=lambda p: int(p.name[1:]))[:-KEEP_PUBLISHED]:
        shutil.rmtree(old, ignore_errors=True)
    return version


async def published_version(runtime: Runtime) -> int:
    return await published_version_in(runtime.sessions, runtime.settings.encoder)


async def published_version_in(sessions: async_sessionmaker[Any], encoder: str) -> int:
    """The index version the background worker last announced for `encoder` (0: none yet)."""
    async with sessions() as session:
        state = await session.get(IndexState, encoder)
        return state.version if state is not None else 0


async def follow_index(runtime: Runtime, since: dt.datetime) -> None:
    """A serving worker's loop: swap in each newly published index version, and every few minutes
    relearn from the database what the other workers saw (impressions, clicks, dismissals, order
    histories imported through them). `since`: when this worker began loading its catalog."""
    since -= dt.timedelta(seconds=5)
    loop = asyncio.get_running_loop()
    relearn_at = loop.time() + LEARNING_REFRESH_S
    while True:
        try:
            version = await published_version(runtime)
            if version > runtime.index.version:
                since = await _swap_in(runtime, version, since)
            if loop.time() >= relearn_at:
                runtime.learner = await load_learning(runtime.sessions, runtime.catalog)
                relearn_at = loop.time() + LEARNING_REFRESH_S
        except Exception:
            log.exception("following the published index failed; retrying in %.0f s", runtime.settings.index_poll_s)
        await asyncio.sleep(runtime.settings.index_poll_s)


async def _swap_in(runtime: Runtime, version: int, since: dt.datetime) -> dt.datetime:
    directory = published_dir(runtime.settings, version)
    index = await asyncio.to_thread(VectorIndex.load, directory, runtime.encoder.dim)
    if index is None:
        raise RuntimeError(f"published index v{version} is missing from {directory}: is the volume shared?")
    checked = utcnow()
    async with runtime.sessions() as session:  # the catalog first, so every id the index returns is known
        rows = await session.execute(select(Product.id, Product.active).where(Product.updated_at >= since))
        changed = list(rows)
        await runtime.catalog.refresh(
            session, [pid for pid, active in changed if active], [p for p, a in changed if not a]
        )
    runtime.writer.index = index
    index_served(version, index.size)
    log.info("serving index v%d (%d products)", version, index.size)
    return checked - dt.timedelta(seconds=5)  # overlap: a row committed late is refreshed twice, never missed


async def wait_for_job(runtime: Runtime, job_id: str) -> CatalogJob:
    """A serving worker's synchronous upload: wait for the background worker to run the job, then
    for this worker to serve an index that holds it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + JOB_WAIT_S
    while loop.time() < deadline:
        async with runtime.sessions() as session:
            job = await session.get(CatalogJob, job_id)
            assert job is not None
            if job.status in ("succeeded", "failed"):
                break
        await asyncio.sleep(0.2)
    else:
        raise EncoreError(
            f"job {job_id} is still queued or running",
            fix=f"poll GET /v1/catalog/jobs/{job_id}; is `encore worker` up?",
        )
    while runtime.index.version < job.index_version and loop.time() < deadline:  # noqa: ASYNC110 (swapped by follow_index)
        await asyncio.sleep(0.1)
    return job  # type: ignore[no-any-return]


async def _claim_job(runtime: Runtime) -> CatalogJob | None:
    async with runtime.sessions() as session:
        queued = select(CatalogJob.id).where(CatalogJob.status == "queued").order_by(CatalogJob.created_at).limit(1)
        job_id = await session.scalar(queued)
        if job_id is None:
            return None
        claimed = await session.execute(
            update(CatalogJob).where(CatalogJob.id == job_id, CatalogJob.status == "queued").values(status="running")
        )
        await session.commit()
        return await session.get(CatalogJob, job_id) if claimed.rowcount == 1 else None


async def _retire_from_index(runtime: Runtime, since: dt.datetime) -> dt.datetime:
    """Products retired by a serving worker (DELETE) leave the index here, the one writer."""
    checked = utcnow()
    async with runtime.sessions() as session:
        gone = list(
            await session.scalars(select(Product.id).where(Product.active.is_(False), Product.updated_at >= since))
        )
    present = [pid for pid in gone if runtime.catalog.get(pid) is not None]
    if present:
        await runtime.index_products([], remove=present)
    return checked - dt.timedelta(seconds=5)


async def _close_last_month(runtime: Runtime) -> None:
    now = utcnow()
    last = (now.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    _, end = bounds(last)
    if now < end + CLOSE_GRACE:
        return
    async with runtime.sessions() as session:
        try:
            await close_period(session, last, runtime.settings.min_payout, now)
        except EncoreError as exc:  # e.g. an earlier month is still open: the operator decides
            log.warning("month %s not closed: %s (%s)", last, exc.detail, exc.fix)


async def background_worker(settings: Settings) -> None:
    """`encore worker`: run until SIGTERM or SIGINT, finishing the job in hand first."""
    since = utcnow()  # before start-up: products retired while it loads still leave the index
    runtime = await open_runtime(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await publish(runtime)
    log.info("background worker up: index v%d published, waiting for jobs", runtime.index.version)
    next_close = 0.0
    try:
        while not stop.is_set():
            job = await _claim_job(runtime)
            if job is not None:
                feed = runtime.settings.data_dir / "uploads" / f"{job.id}.feed"
                done = await run_job(runtime.sessions, runtime, job.id, feed)
                feed.unlink(missing_ok=True)
                log.info("job %s %s: %d rows, index v%d", done.id, done.status, done.rows, done.index_version)
            since = await _retire_from_index(runtime, since)
            if runtime.index.version > await published_version(runtime):
                await runtime.writer.save()
                await publish(runtime)
            if loop.time() >= next_close:
                await _close_last_month(runtime)
                next_close = loop.time() + 3600
            if job is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=0.5)
    finally:
        await runtime.close()
        log.info("background worker stopped")
