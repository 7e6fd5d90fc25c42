"""The partner API: accounts (operator), catalog uploads and jobs, campaigns."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import anyio
import msgspec
from litestar import Request, delete, get, patch, post
from litestar.params import Parameter
from litestar.response import File
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.core.db import new_id
from exchange.core.errors import InvalidInputError, NotFoundError
from partners import service
from partners.feeds import FeedFormat, FeedFormatError, RowError, detect_format, sniff
from partners.ingest import Mode, retire
from partners.models import Campaign, CatalogJob, Partner
from partners.schemas import (
    CampaignCreate,
    CampaignOut,
    CampaignUpdate,
    JobOut,
    PartnerCreate,
    PartnerCreated,
    PartnerOrderOut,
    PartnerOut,
    PartnerUpdate,
    Targeting,
    UploadReport,
)
from partners.service import ProductIndexer, SpendReader

MAX_FEED_BYTES = 4 * 1024**3  # a 1.2M-row feed is ~1 GB uncompressed
MAX_SYNC_BYTES = 64 * 1024**2
ModeParam = Parameter(
    query="mode", default=Mode.UPSERT, description="upsert, replace (retire what is missing) or delete"
)
FormatParam = Parameter(query="format", default=None, description="jsonl, tsv or rss; else from Content-Type")


@post("/v1/partners", summary="Create a partner (operator)", tags=["operator"])
async def create_partner(data: PartnerCreate, db: AsyncSession, operator: None) -> PartnerCreated:
    return await service.create_partner(db, data.name)


@get("/v1/partner", summary="Your partner account's settings", tags=["partner"])
async def get_partner(partner: Partner) -> PartnerOut:
    return service.partner_out(partner)


@patch("/v1/partner", summary="Change your partner account's settings", tags=["partner"])
async def update_partner(data: PartnerUpdate, db: AsyncSession, partner: Partner) -> PartnerOut:
    """`order_url`: where Encore posts one-click orders (see docs/api.md, "One-click orders"). Once set,
    offers on orders whose store passed the shopper's consented details can be bought in one click."""
    return await service.update_partner(db, partner, data)


@get("/v1/partner/orders", summary="One-click orders sent to you, newest first", tags=["partner"])
async def partner_orders(
    db: AsyncSession, partner: Partner, limit: int = Parameter(query="limit", default=100, ge=1, le=1000)
) -> list[PartnerOrderOut]:
    return await service.list_partner_orders(db, partner.id, limit)


async def _store_upload(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    partner: Partner,
    uploads: Path,
    mode: Mode,
    feed_format: FeedFormat | None,
    limit: int,
) -> tuple[CatalogJob, Path]:
    """Stream the body to disk (gzip stays compressed) and open a job for it."""
    path = anyio.Path(uploads / f"{partner.id}-{time.time_ns()}.feed")
    await path.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    async with await anyio.open_file(path, "wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                break
            await out.write(chunk)
    if size > limit or size == 0:
        await path.unlink()
        raise InvalidInputError(
            f"the feed is empty or larger than {limit // 1024**2} MiB",
            fix="send the feed as the body; gzip it, or use POST /v1/catalog/jobs for large feeds",
        )
    try:
        fmt = feed_format or detect_format(request.headers.get("content-type"), sniff(path))
    except FeedFormatError as exc:
        await path.unlink()
        raise InvalidInputError(str(exc), fix="send ?format=jsonl|tsv|rss or a matching Content-Type") from exc
    # The feed is in place before the job exists: a background worker may claim it the moment it does.
    job_id = new_id("job")
    final = await path.rename(path.with_name(f"{job_id}.feed"))
    job = await service.create_job(db, partner.id, mode.value, fmt.value, size, job_id=job_id)
    return job, Path(final)


def job_out(job: CatalogJob) -> JobOut:
    return JobOut(
        job.id,
        job.mode,
        job.format,
        job.status,
        job.bytes,
        job.rows,
        job.accepted,
        job.rejected,
        job.created,
        job.updated,
        job.unchanged,
        job.retired,
        job.index_version,
        job.error,
        job.created_at,
        job.started_at,
        job.finished_at,
        f"/v1/catalog/jobs/{job.id}/errors",
    )


def _errors(path: Path) -> list[RowError]:
    with path.open(newline="", encoding="utf-8") as file:
        return [RowError(int(row["row"]), row["field"], row["reason"]) for row in csv.DictReader(file)]


@post(
    "/v1/catalog",
    summary="Upload a product feed and wait for it",
    tags=["partner"],
    status_code=200,
    request_max_body_size=MAX_SYNC_BYTES,
)
async def upload_catalog(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    partner: Partner,
    indexer: ProductIndexer,
    uploads: Path,
    mode: Mode = ModeParam,
    feed_format: FeedFormat | None = FormatParam,
) -> UploadReport:
    """For feeds up to 64 MiB: JSON lines, Merchant Center TSV or RSS 2.0 XML (gzip accepted). The
    answer lists every rejected row; the valid rows are searchable when it returns. A feed that is
    malformed as a whole gets a 400 naming where it broke, and changes nothing."""
    job, path = await _store_upload(request, db, partner, uploads, mode, feed_format, MAX_SYNC_BYTES)
    done = await indexer.run_catalog_job(job.id, path)
    path.unlink(missing_ok=True)
    if done.status == "failed":
        # Rows before the break were valid and stay applied; the counts say how far it got.
        raise InvalidInputError(
            done.error,
            fix="see docs/feeds.md for the accepted formats",
            job_id=done.id,
            rows_read=done.rows,
            accepted=done.accepted,
            created=done.created,
            updated=done.updated,
        )
    return UploadReport(
        job_id=done.id,
        status=done.status,
        error=done.error,
        format=done.format,
        rows=done.rows,
        accepted=done.accepted,
        created=done.created,
        updated=done.updated,
        unchanged=done.unchanged,
        retired=done.retired,
        rejected=_errors(path.with_suffix(".errors.csv")),
        index_version=done.index_version,
        searchable_products=indexer.searchable_products,
    )


@post(
    "/v1/catalog/jobs",
    summary="Start an upload job for a feed of any size",
    tags=["partner"],
    status_code=202,
    request_max_body_size=MAX_FEED_BYTES,
)
async def start_job(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    partner: Partner,
    indexer: ProductIndexer,
    uploads: Path,
    spawn: Any,
    mode: Mode = ModeParam,
    feed_format: FeedFormat | None = FormatParam,
) -> JobOut:
    """The feed is stored, then processed in the background: poll GET /v1/catalog/jobs/{id} for
    progress, and fetch every rejected row from its errors_url."""
    job, path = await _store_upload(request, db, partner, uploads, mode, feed_format, MAX_FEED_BYTES)

    async def run() -> None:
        await indexer.run_catalog_job(job.id, path)
        path.unlink(missing_ok=True)

    if not indexer.queues_jobs:  # else the background worker (`encore worker`) takes it from the queue
        spawn(run())
    return job_out(job)


@get("/v1/catalog/jobs/{job_id:str}", summary="An upload job's progress and outcome", tags=["partner"])
async def get_job(job_id: str, db: AsyncSession, partner: Partner) -> JobOut:
    return job_out(await service.get_job(db, partner.id, job_id))


@get("/v1/catalog/jobs/{job_id:str}/errors", summary="Every rejected row of a job, as CSV", tags=["partner"])
async def job_errors(job_id: str, db: AsyncSession, partner: Partner, uploads: Path) -> File:
    job = await service.get_job(db, partner.id, job_id)
    path = uploads / f"{job.id}.errors.csv"
    if not path.exists():
        raise InvalidInputError(
            f"job {job.id} has no error report yet (status {job.status})",
            fix="wait until the job is running or finished",
        )
    return File(path, filename=f"{job.id}-errors.csv", media_type="text/csv; charset=utf-8")


@delete("/v1/catalog/products/{product_id:str}", summary="Retire one product", tags=["partner"], status_code=200)
async def delete_product(
    product_id: str, db: AsyncSession, partner: Partner, indexer: ProductIndexer
) -> dict[str, Any]:
    gone = await retire(db, partner.id, [product_id])
    if not gone:
        raise NotFoundError(f"no live product {product_id!r} in your catalog", fix="use the id from your feed")
    version = await indexer.index_products([], remove=gone)
    return {"id": product_id, "retired": True, "index_version": version}


async def _campaign_out(campaign: Campaign, spend: SpendReader) -> CampaignOut:
    daily, total = await spend.spent(campaign.id, time.strftime("%Y-%m-%d", time.gmtime()))
    return CampaignOut(
        campaign.id,
        campaign.name,
        campaign.pricing,
        campaign.currency,
        campaign.max_bid_minor,
        campaign.daily_budget_minor,
        campaign.total_budget_minor,
        daily,
        total,
        campaign.active,
        msgspec.convert(campaign.targeting or {}, Targeting),
        campaign.frequency_cap,
        campaign.ends_at,
        campaign.attribution_window_days,
    )


@post("/v1/campaigns", summary="Create a campaign", tags=["partner"])
async def create_campaign(
    data: CampaignCreate, db: AsyncSession, partner: Partner, counters: SpendReader
) -> CampaignOut:
    return await _campaign_out(await service.create_campaign(db, partner.id, data), counters)


@get("/v1/campaigns", summary="List your campaigns with their spend", tags=["partner"])
async def list_campaigns(db: AsyncSession, partner: Partner, counters: SpendReader) -> list[CampaignOut]:
    return [await _campaign_out(c, counters) for c in await service.list_campaigns(db, partner.id)]


@get("/v1/campaigns/{campaign_id:str}", summary="One campaign with its spend", tags=["partner"])
async def get_campaign(campaign_id: str, db: AsyncSession, partner: Partner, counters: SpendReader) -> CampaignOut:
    return await _campaign_out(await service.get_campaign(db, partner.id, campaign_id), counters)


@patch("/v1/campaigns/{campaign_id:str}", summary="Pause, resume or set the end of a campaign", tags=["partner"])
async def update_campaign(
    campaign_id: str, data: CampaignUpdate, db: AsyncSession, partner: Partner, counters: SpendReader
) -> CampaignOut:
    return await _campaign_out(await service.update_campaign(db, partner.id, campaign_id, data), counters)


route_handlers = [
    create_partner,
    get_partner,
    update_partner,
    partner_orders,
    upload_catalog,
    start_job,
    get_job,
    job_errors,
    delete_product,
    create_campaign,
    list_campaigns,
    get_campaign,
    update_campaign,
]
