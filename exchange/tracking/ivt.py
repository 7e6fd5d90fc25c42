"""Invalid traffic: clicks that are recorded but never billed, each with the rule that caught it.

The rules, cheapest first: a known bot user agent (a built-in list, plus any the operator adds), an
IP in a data-centre range (the operator loads the providers' published lists), a click on an offer
the widget never reported on screen, and a flood (more than `click_flood_per_hour` clicks from one
shopper key or one IP). Repeat clicks on one offer are valid traffic, billed once (service.engage)."""

from __future__ import annotations

import bisect
import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from exchange.counters.protocol import Counters
from exchange.settings import Settings

log = logging.getLogger("encore")

# Substrings (lower case) of user agents that are never a shopper: crawlers, link previewers,
# monitoring, HTTP libraries and headless browsers.
BOT_MARKERS: tuple[str, ...] = (
    "bot", "crawler", "spider", "slurp", "facebookexternalhit", "preview", "headlesschrome", "phantomjs",
    "python-requests", "python-urllib", "aiohttp", "httpx", "curl/", "wget/", "go-http-client", "java/",
    "okhttp", "libwww-perl", "scrapy", "axios/", "node-fetch", "pingdom", "uptime", "lighthouse",
)  # fmt: skip
INVALID = ("bot_user_agent", "datacenter_ip", "no_impression", "click_flood")
FLOOD_WINDOW_S = 3600


@dataclass
class IpRanges:
    """Sorted, merged integer ranges per IP version, for a bisect lookup."""

    starts: dict[int, list[int]] = field(default_factory=lambda: {4: [], 6: []})
    ends: dict[int, list[int]] = field(default_factory=lambda: {4: [], 6: []})

    @classmethod
    def of(cls, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> IpRanges:
        ranges = cls()
        for version in (4, 6):
            spans = sorted((int(n.network_address), int(n.broadcast_address)) for n in networks if n.version == version)
            for start, end in spans:
                if ranges.ends[version] and start <= ranges.ends[version][-1] + 1:
                    ranges.ends[version][-1] = max(ranges.ends[version][-1], end)
                else:
                    ranges.starts[version].append(start)
                    ranges.ends[version].append(end)
        return ranges

    def __contains__(self, ip: str) -> bool:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # an IPv4 client seen through a dual-stack listener
        value, starts = int(address), self.starts[address.version]
        n = bisect.bisect_right(starts, value) - 1
        return n >= 0 and value <= self.ends[address.version][n]

    def __len__(self) -> int:
        return len(self.starts[4]) + len(self.starts[6])


@dataclass
class TrafficRules:
    bot_markers: tuple[str, ...] = BOT_MARKERS
    datacenter: IpRanges = field(default_factory=IpRanges)
    flood_per_hour: int = 20
    require_impression: bool = True

    @classmethod
    def load(cls, settings: Settings) -> TrafficRules:
        markers = BOT_MARKERS
        if settings.ivt_user_agents_file is not None:
            extra = _lines(settings.ivt_user_agents_file)
            markers = tuple(dict.fromkeys([*BOT_MARKERS, *(m.lower() for m in extra)]))
        datacenter = IpRanges()
        if settings.ivt_datacenter_file is not None:
            datacenter = IpRanges.of(read_ranges(settings.ivt_datacenter_file))
            log.info("invalid traffic: %d data-centre ranges from %s", len(datacenter), settings.ivt_datacenter_file)
        return cls(markers, datacenter, settings.click_flood_per_hour, settings.require_impression)

    def is_bot(self, user_agent: str) -> bool:
        ua = user_agent.lower()
        return not ua or any(marker in ua for marker in self.bot_markers)

    async def judge(
        self, counters: Counters, *, user_agent: str, ip: str, shopper_key: str, seen: Callable[[], Awaitable[bool]]
    ) -> str:
        """The rule a click breaks, or "" for a valid click. A flood counts every click, so a
        flooding shopper or IP stays filtered for the rest of the hour."""
        if self.is_bot(user_agent):
            return "bot_user_agent"
        if ip in self.datacenter:
            return "datacenter_ip"
        if self.require_impression and not await seen():  # a database read: only once the cheap rules pass
            return "no_impression"
        flooded = False
        for key in (f"flood:shopper:{shopper_key}" if shopper_key else "", f"flood:ip:{ip}" if ip else ""):
            if key and not await counters.take(key, self.flood_per_hour, FLOOD_WINDOW_S):
                flooded = True
        return "click_flood" if flooded else ""


def read_ranges(path: Path) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """CIDRs one per line, or a provider's published JSON: AWS ip-ranges.json (`prefixes`,
    `ipv6_prefixes`), Google cloud.json (`prefixes` with ipv4Prefix/ipv6Prefix) or Azure service
    tags (`values[].properties.addressPrefixes`)."""
    text = path.read_text()
    if text.lstrip().startswith("{"):
        data = json.loads(text)
        cidrs = [
            *(p.get("ip_prefix") or p.get("ipv4Prefix") or p.get("ipv6Prefix") for p in data.get("prefixes", [])),
            *(p.get("ipv6_prefix") for p in data.get("ipv6_prefixes", [])),
            *(c for v in data.get("values", []) for c in v.get("properties", {}).get("addressPrefixes", [])),
        ]
    else:
        cidrs = _lines(path)
    networks = []
    for cidr in cidrs:
        if not cidr:
            continue
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError as exc:
            raise SystemExit(f"{path}: {cidr!r} is not an IP range ({exc}); fix or remove that line") from exc
    return networks


def _lines(path: Path) -> list[str]:
    return [line.split("#", 1)[0].strip() for line in path.read_text().splitlines() if line.split("#", 1)[0].strip()]
