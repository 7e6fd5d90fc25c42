"""Partner accounts, catalog ingestion and campaigns."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import msgspec
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.core.db import new_id
from exchange.core.errors import InvalidInputError, NotFoundError
from exchange.core.keys import hash_key, new_key
from exchange.core.validation import currency_field
from partners.feeds import FeedProduct, ParsedFeed
from partners.models import Campaign, Partner, PartnerKey, Product
from partners.schemas import CampaignCreate, PartnerCreated

_encode = msgspec.json.Encoder().encode


@runtime_checkable
class ProductIndexer(Protocol):
    """Makes stored products searchable; the exchange provides it."""

    @property
    def searchable_products(self) -> int: ...

    async def index_products(self, products: Sequence[tuple[int, str]]) -> int:
        """Embed (product id, text) pairs into the live index; returns the new index version."""
        ...


@runtime_checkable
class SpendReader(Protocol):
    async def spent(self, campaign_id: str, day: str) -> tuple[int, int]:
        """(spent on `day`, spent in total), in the campaign's minor units."""
        ...


class IngestResult(msgspec.Struct):
    created: int
    updated: int
    unchanged: int
    changed: list[tuple[int, str]]  # (product id, text to embed) for new and changed products


def embed_text(title: str, brand: str, category: str) -> str:
    """What a product's vector is computed from: its title, brand and category path."""
    return " | ".join(part for part in (title, brand, category) if part)


def _content_hash(product: FeedProduct) -> str:
    return hashlib.blake2b(_encode(product), digest_size=16).hexdigest()


def _row(product: FeedProduct) -> dict[str, object]:
    row = msgspec.structs.asdict(product)
    row["external_id"] = row.pop("id")
    row["content_hash"] = _content_hash(product)
    return row


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


async def ingest(session: AsyncSession, partner_id: str, feed: ParsedFeed) -> IngestResult:
    """Upsert a feed's valid products: unchanged rows are not touched, so a re-upload changes nothing."""
    known = {
        external_id: (product_id, digest)
        for external_id, product_id, digest in await session.execute(
            select(Product.external_id, Product.id, Product.content_hash).where(Product.partner_id == partner_id)
        )
    }
    new_rows: list[dict[str, object]] = []
    changed_rows: list[dict[str, object]] = []
    for product in feed.products:
        row = _row(product)
        seen = known.get(product.id)
        if seen is None:
            new_rows.append(row | {"partner_id": partner_id})
        elif seen[1] != row["content_hash"]:
            changed_rows.append(row | {"id": seen[0]})
    changed: list[tuple[int, str]] = []
    if new_rows:
        ids = (await session.execute(insert(Product).returning(Product.id), new_rows)).scalars().all()
        changed += [(pid, _text(row)) for pid, row in zip(ids, new_rows, strict=True)]
    if changed_rows:
        await session.execute(update(Product), changed_rows)
        changed += [(int(str(row["id"])), _text(row)) for row in changed_rows]
    await session.commit()
    unchanged = len(feed.products) - len(new_rows) - len(changed_rows)
    return IngestResult(len(new_rows), len(changed_rows), unchanged, changed)


def _text(row: dict[str, object]) -> str:
    category = str(row["product_type"] or row["google_product_category"])
    return embed_text(str(row["title"]), str(row["brand"]), category)


async def create_campaign(session: AsyncSession, partner_id: str, body: CampaignCreate) -> Campaign:
    currency = currency_field(body.currency)
    if body.daily_budget_minor > body.total_budget_minor:
        raise InvalidInputError(
            "daily_budget_minor is larger than total_budget_minor",
            fix="make the daily budget at most the total budget",
            field="daily_budget_minor",
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
