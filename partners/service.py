"""Partner accounts, catalog ingestion and campaigns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.core.db import new_id, utcnow
from exchange.core.errors import InvalidInputError, NotFoundError
from exchange.core.keys import hash_key, new_key
from exchange.core.validation import currency_field
from exchange.models import PartnerOrder
from partners.models import Campaign, CatalogJob, Partner, PartnerKey
from partners.schemas import CampaignCreate, CampaignUpdate, PartnerCreated, PartnerOrderOut, PartnerOut, PartnerUpdate


@runtime_checkable
class ProductIndexer(Protocol):
    """Makes stored products searchable; the exchange provides it."""

    @property
    def searchable_products(self) -> int: ...

    async def index_products(self, products: Sequence[tuple[int, str]], remove: Sequence[int] = ()) -> int:
        """Embed (product id, text) pairs into the live index and drop `remove`; returns the index
        version that holds the change (searchable once this returns)."""
        ...

    @property
    def queues_jobs(self) -> bool:
        """True where a separate background worker runs catalog jobs."""
        ...

    async def run_catalog_job(self, job_id: str, feed: Path) -> CatalogJob:
        """Run (or wait for) the job of a stored feed; the finished job."""
        ...


@runtime_checkable
class SpendReader(Protocol):
    async def spent(self, campaign_id: str, day: str) -> tuple[int, int]:
        """(spent on `day`, spent in total), in the campaign's minor units."""
        ...


def embed_text(title: str, brand: str, category: str) -> str:
    """What a product's vector is computed from: its title, brand and category path."""
    return " | ".join(part for part in (title, brand, category) if part)


async def create_partner(session: AsyncSession, name: str) -> PartnerCreated:
    partner = Partner(id=new_id("prt"), name=name, signing_secret=new_key("whsec"))
    secret_key = new_key("sk_partner")
    session.add(partner)
    await session.flush()
    session.add(PartnerKey(key_hash=hash_key(secret_key), partner_id=partner.id))
    await session.commit()
    return PartnerCreated(partner.id, partner.name, secret_key, partner.signing_secret)


async def partner_for_key(session: AsyncSession, key: str) -> Partner | None:
    stmt = select(Partner).join(PartnerKey).where(PartnerKey.key_hash == hash_key(key))
    return (await session.execute(stmt)).scalar_one_or_none()


async def create_job(
    session: AsyncSession, partner_id: str, mode: str, fmt: str, size: int, job_id: str = ""
) -> CatalogJob:
    job = CatalogJob(
        id=job_id or new_id("job"), partner_id=partner_id, mode=mode, format=fmt, status="queued", bytes=size
    )
    session.add(job)
    await session.commit()
    return job


async def get_job(session: AsyncSession, partner_id: str, job_id: str) -> CatalogJob:
    job = await session.get(CatalogJob, job_id)
    if job is None or job.partner_id != partner_id:
        raise NotFoundError(
            f"no upload job {job_id!r} for this partner", fix="use the id POST /v1/catalog/jobs returned"
        )
    return job


async def create_campaign(session: AsyncSession, partner_id: str, body: CampaignCreate) -> Campaign:
    currency = currency_field(body.currency)
    if body.daily_budget_minor > body.total_budget_minor:
        raise InvalidInputError(
            "daily_budget_minor is larger than total_budget_minor",
            fix="make the daily budget at most the total budget",
            field="daily_budget_minor",
        )
    low, high = body.targeting.min_order_minor, body.targeting.max_order_minor
    if high and low > high:
        raise InvalidInputError(
            "targeting.min_order_minor is larger than targeting.max_order_minor",
            fix="swap them, or set max_order_minor to 0 for no upper bound",
            field="targeting",
        )
    if body.max_bid_minor > body.daily_budget_minor:
        raise InvalidInputError(
            "max_bid_minor is larger than daily_budget_minor, so no event could ever be billed",
            fix="raise the daily budget or lower the bid",
            field="max_bid_minor",
        )
    _check_end(body.ends_at)
    campaign = Campaign(
        id=new_id("cmp"),
        partner_id=partner_id,
        name=body.name,
        pricing=body.pricing,
        currency=currency,
        max_bid_minor=body.max_bid_minor,
        daily_budget_minor=body.daily_budget_minor,
        total_budget_minor=body.total_budget_minor,
        targeting=msgspec.to_builtins(body.targeting),
        frequency_cap=body.frequency_cap,
        ends_at=body.ends_at,
        attribution_window_days=body.attribution_window_days,
        active=True,
    )
    session.add(campaign)
    await session.commit()
    return campaign


def _check_end(ends_at: dt.datetime | None) -> None:
    if ends_at is not None and (ends_at.tzinfo is None or ends_at <= utcnow()):
        raise InvalidInputError(
            "ends_at must be a future time with a UTC offset",
            fix='send e.g. "2026-12-01T23:59:00Z", or leave ends_at out for an offer without an end',
            field="ends_at",
        )


async def update_campaign(session: AsyncSession, partner_id: str, campaign_id: str, body: CampaignUpdate) -> Campaign:
    """Pause, resume or set the end of a campaign; the next decision sees the change."""
    campaign = await get_campaign(session, partner_id, campaign_id)
    if body.ends_at is not msgspec.UNSET:
        _check_end(body.ends_at)
        campaign.ends_at = body.ends_at
    if body.active is not msgspec.UNSET:
        campaign.active = body.active
    await session.commit()
    return campaign


async def list_campaigns(session: AsyncSession, partner_id: str) -> Sequence[Campaign]:
    stmt = select(Campaign).where(Campaign.partner_id == partner_id).order_by(Campaign.created_at)
    return (await session.execute(stmt)).scalars().all()


async def get_campaign(session: AsyncSession, partner_id: str, campaign_id: str) -> Campaign:
    campaign = await session.get(Campaign, campaign_id)
    # Another partner's campaign is reported as missing, not forbidden: ids leak nothing.
    if campaign is None or campaign.partner_id != partner_id:
        raise NotFoundError(f"no campaign {campaign_id!r} for this partner", fix="list yours with GET /v1/campaigns")
    return campaign


async def update_partner(session: AsyncSession, partner: Partner, body: PartnerUpdate) -> PartnerOut:
    if body.order_url is not None:
        partner.order_url = body.order_url
    await session.commit()
    return partner_out(partner)


def partner_out(partner: Partner) -> PartnerOut:
    return PartnerOut(partner.id, partner.name, partner.order_url)


async def list_partner_orders(session: AsyncSession, partner_id: str, limit: int) -> list[PartnerOrderOut]:
    stmt = (
        select(PartnerOrder)
        .where(PartnerOrder.partner_id == partner_id)
        .order_by(PartnerOrder.created_at.desc(), PartnerOrder.id)
        .limit(limit)
    )
    return [
        PartnerOrderOut(
            o.id,
            o.offer_id,
            o.status,
            o.partner_order_ref,
            o.detail,
            o.attempts,
            o.billed,
            o.not_billed_reason,
            o.created_at,
        )
        for o in (await session.execute(stmt)).scalars()
    ]
