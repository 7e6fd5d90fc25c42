"""Partner accounts, catalog ingestion and campaigns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.core.db import new_id
from exchange.core.errors import InvalidInputError, NotFoundError
from exchange.core.keys import hash_key, new_key
from exchange.core.validation import currency_field
from partners.models import Campaign, CatalogJob, Partner, PartnerKey
from partners.schemas import CampaignCreate, PartnerCreated


@runtime_checkable
class ProductIndexer(Protocol):
    """Makes stored products searchable; the exchange provides it."""

    @property
    def searchable_products(self) -> int: ...

    async def index_products(self, products: Sequence[tuple[int, str]], remove: Sequence[int] = ()) -> int:
        """Embed (product id, text) pairs into the live index and drop `remove`; returns the index
        version that holds the change (searchable once this returns)."""
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


async def create_job(session: AsyncSession, partner_id: str, mode: str, fmt: str, size: int) -> CatalogJob:
    job = CatalogJob(id=new_id("job"), partner_id=partner_id, mode=mode, format=fmt, status="queued", bytes=size)
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
        active=True,
    )
    session.add(campaign)
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
