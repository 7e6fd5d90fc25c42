"""The Litestar application: wiring of runtime, dependencies, routes and error responses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from sqlalchemy.ext.asyncio import AsyncSession

import partners.routes
import publishers.routes
from embeddings.encoder import Encoder
from exchange import auth, problems, routes
from exchange.counters import Counters
from exchange.demo import routes as demo_routes
from exchange.ledger import routes as ledger_routes
from exchange.observability import RequestIds
from exchange.runtime import Runtime, open_runtime
from exchange.settings import Settings, get_settings


def _runtime(state: State) -> Runtime:
    runtime: Runtime = state.runtime
    return runtime


def _indexer(runtime: Runtime) -> Runtime:
    return runtime


def _counters(runtime: Runtime) -> Counters:
    return runtime.counters


def _uploads(runtime: Runtime) -> Path:
    return runtime.settings.data_dir / "uploads"


def _spawn(runtime: Runtime) -> Any:
    return runtime.spawn


async def _db(runtime: Runtime) -> AsyncIterator[AsyncSession]:
    async with runtime.sessions() as session:
        yield session


def create_app(settings: Settings | None = None, encoder: Encoder | None = None) -> Litestar:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.runtime = await open_runtime(settings, encoder)
        try:
            yield
        finally:
            await app.state.runtime.close()

    dependencies: dict[str, Any] = {
        "runtime": Provide(_runtime, sync_to_thread=False),
        "db": Provide(_db),
        "operator": Provide(auth.provide_operator),
        "partner": Provide(auth.provide_partner),
        "store": Provide(auth.provide_store),
        "reader": Provide(auth.provide_reader),
        "account": Provide(auth.provide_account),
        "importer": Provide(auth.provide_importer),
        "indexer": Provide(_indexer, sync_to_thread=False),
        "counters": Provide(_counters, sync_to_thread=False),
        "uploads": Provide(_uploads, sync_to_thread=False),
        "spawn": Provide(_spawn, sync_to_thread=False),
        "default_share_bps": Provide(lambda: settings.store_share_bps, sync_to_thread=False),
    }
    return Litestar(
        route_handlers=[
            *routes.route_handlers,
            *ledger_routes.route_handlers,
            *partners.routes.route_handlers,
            *publishers.routes.route_handlers,
            *demo_routes.route_handlers,
        ],
        dependencies=dependencies,
        middleware=[RequestIds],
        exception_handlers=problems.handlers,  # type: ignore[arg-type]
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="Encore",
            version="0.1.0",
            description="The open post-checkout offer exchange. Authenticate with 'Authorization: Bearer <key>'.",
        ),
        debug=False,
    )
