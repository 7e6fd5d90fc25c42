"""Catalog ingestion jobs: a stored feed is read in chunks, upserted, embedded and indexed.

Bounded memory: the feed is streamed from disk, CHUNK rows at a time. A job that fails on a
malformed feed changes nothing further, and a full replace retires products only after the whole
feed was read: what was live stays live until a complete feed says otherwise.
"""

from __future__ import annotations

import asyncio
import csv
import enum
import hashlib
import itertools
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import msgspec
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exchange.core.db import utcnow
from exchange.observability import JOBS
from partners.feeds import FeedFormat, FeedFormatError, FeedProduct, FeedRow, iter_feed, open_feed
from partners.models import CatalogJob, Product
from partners.service import ProductIndexer, embed_text

CHUNK = 2000
log = logging.getLogger("encore.ingest")
_encode = msgspec.json.Encoder().encode


class Mode(enum.StrEnum):
    UPSERT = "upsert"  # add and update the rows sent; leave the rest alone
    REPLACE = "replace"  # the feed is the whole catalog: products missing from it are retired
    DELETE = "delete"  # retire the ids sent


def content_hash(product: FeedProduct) -> str:
    return hashlib.blake2b(_encode(product), digest_size=16).hexdigest()


def _row(product: FeedProduct) -> dict[str, object]:
    row = msgspec.structs.asdict(product)
    row["external_id"] = row.pop("id")
    row["content_hash"] = content_hash(product)
    row["active"] = True
    return row


def _text(row: dict[str, object]) -> str:
    return embed_text(str(row["title"]), str(row["brand"]), str(row["product_type"] or row["google_product_category"]))


class ChunkResult(msgspec.Struct):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    to_index: list[tuple[int, str]] = []


async def upsert_chunk(session: AsyncSession, partner_id: str, products: Sequence[FeedProduct]) -> ChunkResult:
    """Insert new products, update changed ones (and revive retired ones); unchanged rows are not touched."""
    if not products:
        return ChunkResult()
    stmt = select(Product.external_id, Product.id, Product.content_hash, Product.active).where(
        Product.partner_id == partner_id, Product.external_id.in_([p.id for p in products])
    )
    known = {external_id: (pid, digest, active) for external_id, pid, digest, active in await session.execute(stmt)}
    new_rows, changed_rows, result = [], [], ChunkResult()
    for product in products:
        row = _row(product)
        seen = known.get(product.id)
        if seen is None:
            new_rows.append(row | {"partner_id": partner_id})
        elif seen[1] != row["content_hash"] or not seen[2]:
            changed_rows.append(row | {"id": seen[0]})
        else:
            result.unchanged += 1
    if new_rows:
        ids = (await session.execute(insert(Product).returning(Product.id), new_rows)).scalars().all()
        result.to_index += [(pid, _text(row)) for pid, row in zip(ids, new_rows, strict=True)]
    if changed_rows:
        await session.execute(update(Product), changed_rows)
        result.to_index += [(int(str(row["id"])), _text(row)) for row in changed_rows]
    await session.commit()
    result.created, result.updated = len(new_rows), len(changed_rows)
    return result


async def retire(session: AsyncSession, partner_id: str, external_ids: Sequence[str]) -> list[int]:
    """Mark products retired; returns the vector ids to drop from the index."""
    gone: list[int] = []
    for start in range(0, len(external_ids), CHUNK):
        batch = external_ids[start : start + CHUNK]
        stmt = select(Product.id).where(
            Product.partner_id == partner_id, Product.external_id.in_(batch), Product.active.is_(True)
        )
        ids = list((await session.execute(stmt)).scalars())
        if ids:
            await session.execute(update(Product).where(Product.id.in_(ids)).values(active=False))
        gone += ids
    await session.commit()
    return gone


async def live_ids(session: AsyncSession, partner_id: str) -> set[str]:
    stmt = select(Product.external_id).where(Product.partner_id == partner_id, Product.active.is_(True))
    return set((await session.execute(stmt)).scalars())


def _chunks(rows: Iterator[FeedRow]) -> Iterator[list[FeedRow]]:
    while chunk := list(itertools.islice(rows, CHUNK)):
        yield chunk


class ErrorReport:
    """Rejected rows go to a CSV beside the upload, so a feed of any size reports every one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self._writer.writerow(["row", "id", "field", "reason"])
        self.first: list[tuple[int, str, str, str]] = []  # kept in memory for small synchronous uploads

    def add(self, row: FeedRow) -> None:
        for error in row.errors:
            record = (error.row, row.id, error.field, error.reason)
            self._writer.writerow(record)
            if len(self.first) < 10_000:
                self.first.append(record)

    def close(self) -> None:
        self._file.close()


async def run_job(
    sessions: async_sessionmaker[AsyncSession], indexer: ProductIndexer, job_id: str, feed_path: Path
) -> CatalogJob:
    """Process a stored feed; the job row shows progress after every chunk and the outcome at the end."""
    async with sessions() as session:
        job = await session.get(CatalogJob, job_id)
        assert job is not None
        job.status, job.started_at = "running", utcnow()
        await session.commit()
        report = ErrorReport(feed_path.with_suffix(".errors.csv"))
        try:
            await _process(session, indexer, job, feed_path, report)
            job.status = "succeeded"
        except FeedFormatError as exc:
            await session.rollback()
            job.status, job.error = "failed", f"{exc}. Nothing more was changed; fix the feed and upload it again."
        except Exception as exc:
            log.exception("catalog job %s failed", job_id)
            await session.rollback()
            job.status, job.error = "failed", f"internal error ({type(exc).__name__}); upload the feed again"
        finally:
            report.close()
        job.finished_at = utcnow()
        await session.commit()
        JOBS.labels(status=job.status).inc()
        return job


async def _process(
    session: AsyncSession, indexer: ProductIndexer, job: CatalogJob, feed_path: Path, report: ErrorReport
) -> None:
    mode, fmt = Mode(job.mode), FeedFormat(job.format)
    seen: set[str] = set()  # for a replace: every id the feed names, accepted or not
    to_retire: list[str] = []
    with open_feed(feed_path) as stream:
        chunks = _chunks(iter_feed(stream, fmt))
        while chunk := await asyncio.to_thread(next, chunks, None):
            job.rows += len(chunk)
            if mode is Mode.DELETE:  # a delete feed needs only ids
                to_retire += [row.id for row in chunk if row.id]
                job.accepted += sum(1 for row in chunk if row.id)
                job.rejected += sum(1 for row in chunk if not row.id)
                for row in chunk:
                    if not row.id:
                        report.add(row)
            else:
                products = [row.product for row in chunk if row.product is not None]
                for row in chunk:
                    report.add(row)
                    seen.add(row.id)
                job.accepted += len(products)
                job.rejected += len(chunk) - len(products)
                result = await upsert_chunk(session, job.partner_id, products)
                job.created, job.updated = job.created + result.created, job.updated + result.updated
                job.unchanged += result.unchanged
                job.index_version = await indexer.index_products(result.to_index)
            await session.commit()  # progress is visible to GET /v1/catalog/jobs/{id}
    if mode is Mode.REPLACE:
        # A rejected row keeps its product's last good version live rather than hiding it.
        to_retire = sorted((await live_ids(session, job.partner_id)) - seen)
    if to_retire:
        gone = await retire(session, job.partner_id, to_retire)
        job.retired = len(gone)
        job.index_version = await indexer.index_products([], remove=gone)
