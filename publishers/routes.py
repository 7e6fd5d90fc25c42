"""The store API: accounts (operator) and the widget's static assets."""

from __future__ import annotations

from pathlib import Path

from litestar import Response, get, patch, post
from sqlalchemy.ext.asyncio import AsyncSession

from publishers import service
from publishers.models import Store
from publishers.schemas import StoreCreate, StoreCreated, StoreOut, StoreUpdate

STATIC = Path(__file__).resolve().parent / "static"


@post("/v1/stores", summary="Create a store (operator)", tags=["operator"])
async def create_store(data: StoreCreate, db: AsyncSession, operator: None, default_share_bps: int) -> StoreCreated:
    return await service.create_store(db, data, default_share_bps)


@get("/v1/store", summary="Your store's settings and controls", tags=["store"])
async def get_store(store: Store) -> StoreOut:
    return service.store_out(store)


@patch("/v1/store", summary="Change your store's settings and controls", tags=["store"])
async def update_store(data: StoreUpdate, db: AsyncSession, store: Store) -> StoreOut:
    """Blocks (brands, domains, categories, competitors), sensitive categories opted in, the quality
    floor, offers per order. Only the fields sent change."""
    return await service.update_store(db, store, data)


@get("/widget.js", summary="The thank-you-page widget", tags=["widget"], include_in_schema=False)
async def widget_js() -> Response[bytes]:
    return Response(
        (STATIC / "widget.js").read_bytes(),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )


route_handlers = [create_store, get_store, update_store, widget_js]
