"""Redis counters: shared by every server process; each check-and-add is one Lua script."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

# KEYS: daily, total. ARGV: amount, daily cap, total cap, daily key ttl.
_TRY_SPEND = """
local d = tonumber(redis.call('GET', KEYS[1]) or '0')
local t = tonumber(redis.call('GET', KEYS[2]) or '0')
local a = tonumber(ARGV[1])
if d + a > tonumber(ARGV[2]) or t + a > tonumber(ARGV[3]) then return 0 end
redis.call('INCRBY', KEYS[1], a)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
redis.call('INCRBY', KEYS[2], a)
return 1
"""

# Raise a counter to at least ARGV[1]; never lower it (spend already counted here may be newer).
_SEED = """
for i, key in ipairs(KEYS) do
  local cur = tonumber(redis.call('GET', key) or '0')
  if cur < tonumber(ARGV[i]) then redis.call('SET', key, ARGV[i]) end
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""

# KEYS: the counter. ARGV: limit, ttl. One more use unless the limit is reached.
_TAKE = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return 0 end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2])) end
return 1
"""

_DAY_TTL_S = 3 * 24 * 3600


class RedisCounters:
    def __init__(self, url: str, prefix: str) -> None:
        # A bounded pool that waits for a free connection, instead of failing under a burst.
        self._redis = Redis(connection_pool=BlockingConnectionPool.from_url(url, max_connections=64, timeout=5))
        self._prefix = prefix
        self._try_spend = self._redis.register_script(_TRY_SPEND)
        self._seed = self._redis.register_script(_SEED)
        self._take = self._redis.register_script(_TAKE)

    def _keys(self, campaign_id: str, day: str) -> list[str]:
        return [f"{self._prefix}spend:{campaign_id}:{day}", f"{self._prefix}spend:{campaign_id}:total"]

    async def ping(self) -> None:
        await self._redis.ping()

    async def claim(self, key: str, ttl_s: int) -> bool:
        return bool(await self._redis.set(f"{self._prefix}claim:{key}", 1, nx=True, ex=ttl_s))

    async def try_spend(self, campaign_id: str, day: str, amount: int, daily_cap: int, total_cap: int) -> bool:
        args = [amount, daily_cap, total_cap, _DAY_TTL_S]
        return bool(await self._try_spend(keys=self._keys(campaign_id, day), args=args))

    async def refund(self, campaign_id: str, day: str, amount: int) -> None:
        daily, total = self._keys(campaign_id, day)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.decrby(daily, amount)
            pipe.decrby(total, amount)
            await pipe.execute()

    async def spent(self, campaign_id: str, day: str) -> tuple[int, int]:
        daily, total = await self._redis.mget(self._keys(campaign_id, day))
        return int(daily or 0), int(total or 0)

    async def spent_many(self, campaign_ids: list[str], day: str) -> dict[str, tuple[int, int]]:
        if not campaign_ids:
            return {}
        values = await self._redis.mget([key for c in campaign_ids for key in self._keys(c, day)])
        return {c: (int(values[2 * i] or 0), int(values[2 * i + 1] or 0)) for i, c in enumerate(campaign_ids)}

    async def take(self, key: str, limit: int, ttl_s: int) -> bool:
        return bool(await self._take(keys=[f"{self._prefix}uses:{key}"], args=[limit, ttl_s]))

    async def seed_spend(self, campaign_id: str, day: str, daily: int, total: int) -> None:
        await self._seed(keys=self._keys(campaign_id, day), args=[daily, total, _DAY_TTL_S])

    async def close(self) -> None:
        await self._redis.aclose()
