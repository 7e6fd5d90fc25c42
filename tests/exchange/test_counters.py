"""The counters contract: the in-process and the Redis implementation behave the same."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest

from exchange.counters import Counters, MemoryCounters, RedisCounters

REDIS_URL = os.environ.get("ENCORE_TEST_REDIS_URL", "")
KINDS = ["memory"] + (["redis"] if REDIS_URL else [])


@pytest.fixture(params=KINDS)
async def counters(request: pytest.FixtureRequest) -> AsyncIterator[Counters]:
    impl: Counters = (
        MemoryCounters() if request.param == "memory" else RedisCounters(REDIS_URL, f"t:{uuid.uuid4().hex}:")
    )
    yield impl
    await impl.close()


async def test_a_claim_is_granted_once_inside_its_window(counters: Counters) -> None:
    assert await counters.claim("offer-1", 60) is True
    assert await counters.claim("offer-1", 60) is False
    assert await counters.claim("offer-2", 60) is True


async def test_a_claim_is_granted_again_after_its_window(counters: Counters) -> None:
    assert await counters.claim("short", 1)
    await asyncio.sleep(1.1)
    assert await counters.claim("short", 1)


async def test_spend_never_passes_the_daily_or_total_cap(counters: Counters) -> None:
    assert await counters.try_spend("c1", "2026-11-23", 60, daily_cap=100, total_cap=150)
    assert not await counters.try_spend("c1", "2026-11-23", 60, daily_cap=100, total_cap=150)
    assert await counters.try_spend("c1", "2026-11-24", 60, daily_cap=100, total_cap=150)
    assert not await counters.try_spend("c1", "2026-11-25", 60, daily_cap=100, total_cap=150)
    assert await counters.spent("c1", "2026-11-24") == (60, 120)


async def test_concurrent_spends_stop_exactly_at_the_cap(counters: Counters) -> None:
    results = await asyncio.gather(*(counters.try_spend("c2", "d", 7, 10_000, 700) for _ in range(200)))
    assert sum(results) == 100
    assert await counters.spent("c2", "d") == (700, 700)


async def test_refund_and_seed_from_the_ledger(counters: Counters) -> None:
    assert await counters.try_spend("c3", "d", 50, 100, 100)
    await counters.refund("c3", "d", 50)
    assert await counters.spent("c3", "d") == (0, 0)
    await counters.seed_spend("c3", "d", daily=30, total=90)
    await counters.seed_spend("c3", "d", daily=10, total=10)  # never lowers what is counted
    assert await counters.spent("c3", "d") == (30, 90)


async def test_concurrent_takes_stop_exactly_at_the_limit(counters: Counters) -> None:
    granted = await asyncio.gather(*(counters.take("freq:c1:shopper", 3, 60) for _ in range(50)))
    assert sum(granted) == 3
    assert await counters.take("freq:c1:other-shopper", 3, 60)


async def test_spend_of_many_campaigns_in_one_call(counters: Counters) -> None:
    assert await counters.try_spend("c1", "2026-11-23", 30, 100, 1000)
    assert await counters.try_spend("c2", "2026-11-23", 5, 100, 1000)
    assert await counters.spent_many(["c1", "c2", "c3"], "2026-11-23") == {"c1": (30, 30), "c2": (5, 5), "c3": (0, 0)}
