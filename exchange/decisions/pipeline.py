"""The decision's pure steps over plain data: retrieve -> filter -> score -> auction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec
import numpy as np
import numpy.typing as npt

# A catalog neighbour this close to a purchased item is that item again, or a substitute for it.
SUBSTITUTE_SIMILARITY = 0.45
SAME_PRODUCT_SIMILARITY = 0.90
NEIGHBOURS_DEFINING_CATEGORY = 3
BASE_ENGAGEMENT = 0.05  # click probability of a perfectly relevant offer at position 1
# Complements mostly live in the buyer's department (tent -> sleeping bag, phone -> case): a product
# from the same top-level category as a purchase, but not the same category, gets this much relevance.
SAME_DEPARTMENT_BONUS = 0.15
CPA_CONVERSION = 0.05  # conversions per engagement, until learning (issue 5) estimates it


class ProductInfo(msgspec.Struct, frozen=True, gc=False):
    id: int
    partner_id: str
    brand: str
    category: str
    title: str
    in_stock: bool


class CampaignInfo(msgspec.Struct, frozen=True, gc=False):
    id: str
    partner_id: str
    pricing: str
    currency: str
    bid_minor: int


class Candidate(msgspec.Struct, gc=False):
    product: ProductInfo
    similarity: float
    anchor: int  # index of the line item this product was retrieved for


class Scored(msgspec.Struct, gc=False):
    candidate: Candidate
    campaign: CampaignInfo
    expected_value: float  # expected revenue per impression, in minor units


def retrieve(scores: npt.NDArray[np.float32], ids: npt.NDArray[np.int64]) -> dict[int, tuple[float, int]]:
    """Each retrieved product's best similarity to any line item, and that item's index."""
    best: dict[int, tuple[float, int]] = {}
    for item, (row_scores, row_ids) in enumerate(zip(scores, ids, strict=True)):
        for score, pid in zip(row_scores.tolist(), row_ids.tolist(), strict=True):
            if pid >= 0 and score > best.get(pid, (-2.0, 0))[0]:
                best[pid] = (score, item)
    return best


def substitute_categories(
    scores: npt.NDArray[np.float32], ids: npt.NDArray[np.int64], products: dict[int, ProductInfo]
) -> set[str]:
    """The categories of what was bought, read off each item's nearest catalog neighbours."""
    categories: set[str] = set()
    for row_scores, row_ids in zip(scores, ids, strict=True):
        for score, pid in list(zip(row_scores.tolist(), row_ids.tolist(), strict=True))[:NEIGHBOURS_DEFINING_CATEGORY]:
            product = products.get(pid)
            if product is not None and score >= SUBSTITUTE_SIMILARITY and product.category:
                categories.add(product.category)
    return categories


def filter_candidates(
    candidates: Iterable[Candidate],
    *,
    blocked_brands: set[str],
    substitutes: set[str],
    live_partners: set[str],
) -> tuple[list[Candidate], dict[str, int]]:
    """Drop what must never be offered; count what each rule removed, for the decision record."""
    kept: list[Candidate] = []
    removed = {"out_of_stock": 0, "own_brand": 0, "substitute": 0, "no_live_campaign": 0}
    for candidate in candidates:
        product = candidate.product
        if not product.in_stock:
            removed["out_of_stock"] += 1
        elif product.brand.casefold() in blocked_brands:
            removed["own_brand"] += 1
        elif candidate.similarity >= SAME_PRODUCT_SIMILARITY or product.category in substitutes:
            removed["substitute"] += 1
        elif product.partner_id not in live_partners:
            removed["no_live_campaign"] += 1
        else:
            kept.append(candidate)
    return kept, removed


def department(category: str) -> str:
    return category.split(">", 1)[0].strip().casefold()


def relevance(candidate: Candidate, departments: set[str]) -> float:
    bonus = SAME_DEPARTMENT_BONUS if department(candidate.product.category) in departments else 0.0
    return candidate.similarity + bonus


def engagement(relevance: float) -> float:
    """Predicted engagement from relevance alone, steep so that relevance outweighs small bid
    differences; learning from impressions and clicks replaces this (issue 5)."""
    return BASE_ENGAGEMENT * min(max(relevance, 0.0), 1.0) ** 4


def score(candidates: Sequence[Candidate], campaigns: dict[str, CampaignInfo], bought: set[str]) -> list[Scored]:
    """Expected value = predicted engagement x bid (x predicted conversion for CPA), best first."""
    departments = {department(category) for category in bought}
    scored = []
    for candidate in candidates:
        campaign = campaigns[candidate.product.partner_id]
        value = engagement(relevance(candidate, departments)) * campaign.bid_minor
        if campaign.pricing == "cpa":
            value *= CPA_CONVERSION
        scored.append(Scored(candidate, campaign, value))
    scored.sort(key=lambda s: (-s.expected_value, s.candidate.product.id))
    return scored


def auction(ranked: Iterable[Scored], slots: int) -> list[Scored]:
    """Fill the slots in order of expected value, one offer per partner and per category, so two
    slots never show the same brand twice or two near-identical products. Pricing is first-price
    (the bid) until second-price pricing lands (issue 5)."""
    winners: list[Scored] = []
    partners: set[str] = set()
    categories: set[str] = set()
    for entry in ranked:
        product = entry.candidate.product
        if product.partner_id in partners or (product.category and product.category in categories):
            continue
        winners.append(entry)
        partners.add(product.partner_id)
        categories.add(product.category)
        if len(winners) == slots:
            break
    return winners


def leaf(category: str) -> str:
    return category.rsplit(">", 1)[-1].strip()


def reason(item_title: str, product: ProductInfo) -> str:
    """One short line a shopper (and the store) can read: what this is, and which purchase it goes with."""
    kind = leaf(product.category) or "A related product"
    bought = item_title.split(",", 1)[0].strip()
    return f"{kind[:1].upper()}{kind[1:]} to go with your {bought}."
