"""Schema upgrades with alembic, run on start or by `encore migrate`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


MIGRATION_LOCK = 0x6D6967726174  # the advisory lock that lets one process at a time upgrade ("migrat")


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the schema to head. Every worker does this on start; on PostgreSQL they take turns (an
    advisory lock held for the transaction), so the second finds nothing left to do."""

    def _run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), "head")

    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        await connection.run_sync(_run)
