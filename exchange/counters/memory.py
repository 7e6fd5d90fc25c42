"""In-process counters for the embedded default: correct for one server process only."""

from __future__ import annotations

import time
from collections import defaultdict


class MemoryCounters:
    def __init__(self) -> None:
        self._claims: dict[str, float] = {}
        self._daily: defaultdict[tuple[str, str], int] = defaultdict(int)
        self._total: defaultdict[str, int] = defaultdict(int)
        self._uses: dict[str, tuple[int, float]] = {}

    async def claim(self, key: str, ttl_s: int) -> bool:
        # No await inside: on one event loop this check-and-set cannot interleave.
        now = time.monotonic()
        expires = self._claims.get(key)
        if expires is not None and expires > now:
            return False
        self._claims[key] = now + ttl_s
        if len(self._claims) > 100_000:
            self._claims = {k: v for k, v in self._claims.items() if v > now}
        return True

    async def try_spend(self, campaign_id: str, day: str, amount: int, daily_cap: int, total_cap: int) -> bool:
        if self._daily[campaign_id, day] + amount > daily_cap:
            return False
        if self._total[campaign_id] + amount > total_cap:
            return False
        self._daily[campaign_id, day] += amount
        self._total[campaign_id] += amount
        return True

    async def refund(self, campaign_id: str, day: str, amount: int) -> None:
        self._daily[campaign_id, day] -= amount
        self._total[campaign_id] -= amount

    async def spent(self, campaign_id: str, day: str) -> tuple[int, int]:
        return self._daily[campaign_id, day], self._total[campaign_id]

    async def spent_many(self, campaign_ids: list[str], day: str) -> dict[str, tuple[int, int]]:
        return {c: (self._daily[c, day], self._total[c]) for c in campaign_ids}

    async def take(self, key: str, limit: int, ttl_s: int) -> bool:
        now = time.monotonic()
        used, expires = self._uses.get(key, (0, 0.0))
        if expires <= now:
            used, expires = 0, now + ttl_s
        if used >= limit:
            return False
        self._uses[key] = (used + 1, expires)
        if len(self._uses) > 100_000:
            self._uses = {k: v for k, v in self._uses.items() if v[1] > now}
        return True

    async def seed_spend(self, campaign_id: str, day: str, daily: int, total: int) -> None:
        self._daily[campaign_id, day] = max(self._daily[campaign_id, day], daily)
        self._total[campaign_id] = max(self._total[campaign_id], total)

    async def close(self) -> None:
        return None
