"""The partner API: accounts (operator), catalog uploads, campaigns, conversion postbacks."""

from __future__ import annotations

import time
from typing import Any

from litestar import Request, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.core.errors import InvalidInputError
from partners import service
from partners.feeds import FeedFormat, FeedFormatError, detect_format, parse_feed
from partners.models import Campaign, Partner
from partners.schemas import CampaignCreate, CampaignOut, PartnerCreate, PartnerCreated, UploadReport
from partners.service import ProductIndexer, SpendReader

MAX_FEED_BYTES = 256 * 1024 * 1024


@post("/v1/partners", summary="Create a partner (operator)", tags=["operator"])
async def create_partner(data: PartnerCreate, db: AsyncSession, operator: None) -> PartnerCreated:
    return await service.create_partner(db, data.name)


@post(
    "/v1/catalog",
    summary="Upload a product feed",
    tags=["partner"],
    status_code=200,
    request_max_body_size=MAX_FEED_BYTES,
)
async def upload_catalog(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    partner: Partner,
    indexer: ProductIndexer,
    feed_format: FeedFormat | None = Parameter(query="format", default=None),
) -> UploadReport:
    """JSON lines, Merchant Center TSV, or Merchant Center RSS 2.0 XML, chosen by `?format=` or the
    Content-Type. Valid rows are stored and made searchable; each rejected row is reported."""
    body = await request.body()
    try:
        fmt = feed_format or detect_format(request.headers.get("content-type"), body)
        feed = parse_feed(body, fmt)
    except FeedFormatError as exc:
        raise InvalidInputError(str(exc), fix="see docs/feeds.md for the accepted formats") from exc
    result = await service.ingest(db, partner.id, feed)
    version = await indexer.index_products(result.changed)
    return UploadReport(
        format=fmt.value,
        rows=feed.rows,
        accepted=len(feed.products),
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        rejected=feed.errors,
        index_version=version,
        searchable_products=indexer.searchable_products,
    )


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


route_handlers = [create_partner, upload_catalog, create_campaign, list_campaigns, get_campaign]
