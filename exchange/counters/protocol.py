"""The boundary for shared fast state: budget spend and de-duplication windows."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Counters(Protocol):
    async def claim(self, key: str, ttl_s: int) -> bool:
        """True the first time `key` is claimed inside `ttl_s` seconds, False on every repeat."""
        ...

    async def try_spend(self, campaign_id: str, day: str, amount: int, daily_cap: int, total_cap: int) -> bool:
        """Add `amount` to the campaign's spend for `day` and in total, atomically, only if both
        stay within their caps; False (nothing added) otherwise."""
        ...

    async def refund(self, campaign_id: str, day: str, amount: int) -> None:
        """Give back a spend whose billing could not be written."""
        ...

    async def spent(self, campaign_id: str, day: str) -> tuple[int, int]:
        """(spent on `day`, spent in total)."""
        ...

    async def spent_many(self, campaign_ids: list[str], day: str) -> dict[str, tuple[int, int]]:
        """`spent` for many campaigns in one round trip."""
        ...

    async def take(self, key: str, limit: int, ttl_s: int) -> bool:
        """Count one more use of `key` (kept `ttl_s` seconds) unless it already has `limit`: False then."""
        ...

    async def seed_spend(self, campaign_id: str, day: str, daily: int, total: int) -> None:
        """Raise the counters to at least the ledger's figures (the SQL ledger is the truth)."""
        ...

    async def close(self) -> None: ...
