"""The live catalog in memory, keyed by vector id: what a decision needs of each product, without SQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from partners.models import Product

REFRESH_BATCH = 5_000


class ProductInfo(msgspec.Struct, frozen=True, gc=False):
    id: int
    partner_id: str
    external_id: str
    brand: str
    category: str
    title: str
    in_stock: bool
    domain: str = ""  # the host of the product's link, for stores' domain blocks


def domain_of(link: str) -> str:
    host = (urlsplit(link).hostname or "").casefold()
    return host.removeprefix("www.")


_COLUMNS = (
    Product.id,
    Product.partner_id,
    Product.external_id,
    Product.brand,
    Product.product_type,
    Product.google_product_category,
    Product.title,
    Product.availability,
    Product.link,
)


def _info(row: Any) -> ProductInfo:
    pid, partner, external_id, brand, ptype, gpc, title, availability, link = row
    in_stock = availability == "in_stock"
    return ProductInfo(pid, partner, external_id, brand, ptype or gpc, title, in_stock, domain_of(link))


class CatalogTable:
    """Every live product, refreshed by the same calls that change the vector index."""

    def __init__(self) -> None:
        self.products: dict[int, ProductInfo] = {}

    def __len__(self) -> int:
        return len(self.products)

    def get(self, pid: int) -> ProductInfo | None:
        return self.products.get(pid)

    async def load(self, session: AsyncSession) -> None:
        rows = await session.execute(select(*_COLUMNS).where(Product.active.is_(True)))
        self.products = {row[0]: _info(row) for row in rows}

    async def refresh(self, session: AsyncSession, ids: Sequence[int], remove: Iterable[int] = ()) -> None:
        for pid in remove:
            self.products.pop(pid, None)
        for start in range(0, len(ids), REFRESH_BATCH):
            batch = ids[start : start + REFRESH_BATCH]
            stmt = select(*_COLUMNS).where(Product.id.in_(batch), Product.active.is_(True))
            for row in await session.execute(stmt):
                self.products[row[0]] = _info(row)
