"""The decision's pure steps over plain data: retrieve -> filter -> score -> auction -> price."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from fractions import Fraction

import msgspec
import numpy as np
import numpy.typing as npt

from exchange.core.money import CURRENCY_EXPONENTS
from exchange.matching.catalog import ProductInfo

# A catalog neighbour this close to a purchased item is that item again, or a substitute for it.
SUBSTITUTE_SIMILARITY = 0.45
SAME_PRODUCT_SIMILARITY = 0.90
NEIGHBOURS_DEFINING_CATEGORY = 3
BASE_ENGAGEMENT = 0.05  # click probability of a perfectly relevant offer at position 1, before learning
# Complements mostly live in the buyer's department (tent -> sleeping bag, phone -> case): a product
# from the same top-level category as a purchase, but not the same category, gets this much relevance.
SAME_DEPARTMENT_BONUS = 0.15
CPA_CONVERSION = 0.05  # conversions per engagement for CPA campaigns
# What a winner pays with no other partner below it: 0.05 of the currency's major unit (5 cents),
# at least one minor unit.
RESERVE_MAJOR = Fraction(5, 100)
PACING_SLACK = 0.05  # share of the daily budget a campaign may run ahead of an even spend


class CampaignInfo(msgspec.Struct, frozen=True, gc=False):
    id: str
    partner_id: str
    pricing: str
    currency: str
    bid_minor: int
    frequency_cap: int = 0
    ends_at: dt.datetime | None = None


class Candidate(msgspec.Struct, gc=False):
    product: ProductInfo
    similarity: float  # to the closest purchased item; 0 when found by co-purchases alone
    anchor: int  # index of the line item this product goes with


class Scored(msgspec.Struct, gc=False):
    candidate: Candidate
    campaign: CampaignInfo
    prior: float  # predicted engagement before feedback (co-purchases or semantic relevance)
    mean: float  # posterior mean after the exchange's own feedback
    sample: float  # the Thompson draw the ranking used
    expected_value: float  # expected revenue per impression at slot 1, in minor units
    context: str  # the learning key this offer's outcome is filed under


def retrieve(scores: npt.NDArray[np.float32], ids: npt.NDArray[np.int64]) -> dict[int, tuple[float, int]]:
    """Each retrieved product's best similarity to any line item, and that item's index, most
    similar first."""
    items = np.repeat(np.arange(ids.shape[0]), ids.shape[1])
    flat_ids, flat_scores = ids.ravel(), scores.ravel()
    order = np.argsort(-flat_scores, kind="stable")
    order = order[flat_ids[order] >= 0]
    _, first = np.unique(flat_ids[order], return_index=True)  # each product's best row
    order = order[np.sort(first)]
    return dict(
        zip(
            flat_ids[order].tolist(),
            zip(flat_scores[order].tolist(), items[order].tolist(), strict=True),
            strict=True,
        )
    )


def neighbour_categories(
    scores: npt.NDArray[np.float32], ids: npt.NDArray[np.int64], products: dict[int, ProductInfo]
) -> list[list[str]]:
    """Per line item, the categories of its nearest catalog neighbours: what it is, read off the catalog."""
    found: list[list[str]] = []
    for row_scores, row_ids in zip(scores, ids, strict=True):
        categories: list[str] = []
        for score, pid in list(zip(row_scores.tolist(), row_ids.tolist(), strict=True))[:NEIGHBOURS_DEFINING_CATEGORY]:
            category = products[pid].category if pid in products and score >= SUBSTITUTE_SIMILARITY else ""
            if category and category not in categories:
                categories.append(category)
        found.append(categories)
    return found


def department(category: str) -> str:
    return category.split(">", 1)[0].strip().casefold()


def semantic_engagement(similarity: float, category: str, departments: set[str]) -> float:
    """Predicted engagement from relevance alone, steep so that relevance outweighs small bid
    differences: the cold-start prior, before any order history or feedback."""
    bonus = SAME_DEPARTMENT_BONUS if department(category) in departments else 0.0
    return BASE_ENGAGEMENT * min(max(similarity + bonus, 0.0), 1.0) ** 4


def expected_value(engagement: float, campaign: CampaignInfo) -> float:
    """Expected revenue per impression: engagement x CPC bid, or engagement x conversion x CPA bid."""
    value = engagement * campaign.bid_minor
    return value * CPA_CONVERSION if campaign.pricing == "cpa" else value


def rank(scored: list[Scored]) -> list[Scored]:
    return sorted(scored, key=lambda s: (-s.expected_value, s.candidate.product.id))


def second_price(winner: Scored, ranked_below: Sequence[Scored]) -> int:
    """What the winner pays per billable event: just enough to keep its rank above the best other
    partner's offer ranked below it, never more than its bid, never less than the reserve."""
    runner_up = next((s for s in ranked_below if s.campaign.partner_id != winner.campaign.partner_id), None)
    bid = winner.campaign.bid_minor
    reserve = reserve_price(winner.campaign.currency)
    if runner_up is None or winner.expected_value <= 0:
        return min(bid, reserve)
    per_unit_bid = winner.expected_value / bid  # the winner's engagement (x conversion for CPA)
    needed = math.ceil(runner_up.expected_value / per_unit_bid - 1e-9)
    return min(bid, max(reserve, needed))


def reserve_price(currency: str) -> int:
    scale: int = 10 ** CURRENCY_EXPONENTS.get(currency, 2)
    minor = RESERVE_MAJOR * scale
    return max(1, -(-minor.numerator // minor.denominator))


def pacing_allowance(daily_budget: int, bid: int, seconds_into_day: float) -> int:
    """How much of today's budget a campaign may have spent by now: an even spend through the UTC day,
    a small lead, and always room for one event, so spend lasts the day instead of ending at dawn."""
    share = min(max(seconds_into_day / 86_400, 0.0), 1.0)
    return min(daily_budget, int(daily_budget * (share + PACING_SLACK)) + bid)


def leaf(category: str) -> str:
    return category.rsplit(">", 1)[-1].strip()


def reason(item_title: str, product: ProductInfo) -> str:
    """One short line a shopper (and the store) can read: what this is, and which purchase it goes with."""
    kind = leaf(product.category) or "A related product"
    bought = item_title.split(",", 1)[0].strip()
    return f"{kind[:1].upper()}{kind[1:]} to go with your {bought}."
