"""Budget and de-duplication counters: Redis when configured, in-process otherwise."""

from __future__ import annotations

from exchange.counters.memory import MemoryCounters
from exchange.counters.protocol import Counters
from exchange.counters.redis import RedisCounters


async def open_counters(redis_url: str, prefix: str) -> Counters:
    if not redis_url:
        return MemoryCounters()
    counters = RedisCounters(redis_url, prefix)
    try:
        await counters.ping()
    except Exception as exc:
        await counters.close()
        raise SystemExit(
            f"cannot reach Redis at {redis_url} ({exc}); start it, or unset ENCORE_REDIS_URL "
            "to run with in-process counters on one process"
        ) from exc
    return counters


__all__ = ["Counters", "MemoryCounters", "RedisCounters", "open_counters"]
