"""Alembic environment: runs on a connection handed over by `exchange.migrate`, or on its own."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

import exchange.models  # noqa: F401  (registers every table on Base.metadata)
import partners.models  # noqa: F401
import publishers.models  # noqa: F401
from exchange.core.db import Base, make_engine
from exchange.settings import get_settings

target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_standalone() -> None:
    engine = make_engine(get_settings().sqlalchemy_url)
    async with engine.connect() as connection:
        await connection.run_sync(run_on)
    await engine.dispose()


handed_over = context.config.attributes.get("connection")
if handed_over is not None:
    run_on(handed_over)
else:
    asyncio.run(run_standalone())
