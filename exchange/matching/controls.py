"""Stores' blocks and partners' targeting, as plain rules over a product, a store and an order."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import msgspec

from exchange.matching.catalog import ProductInfo
from partners.schemas import Targeting
from publishers.schemas import SENSITIVE_GROUPS, StoreControls

# Words of a category path that put a product in a sensitive group. A store opts in per group.
SENSITIVE_TERMS: dict[str, tuple[str, ...]] = {
    "alcohol": ("alcohol", "beer", "wine", "spirits", "liquor", "cider", "sake", "whisk", "vodka", "tequila"),
    "tobacco": ("tobacco", "cigar", "vaping", "vape", "e-cigarette", "smoking"),
    "weapons": ("weapon", "firearm", "ammunition", "gun"),
    "adult": ("adult", "sexual", "erotic", "lingerie"),
    "gambling": ("gambling", "casino", "lottery", "betting"),
    "medicine": ("medicine", "medication", "pharmacy", "drug", "vitamins & supplements"),
    "weight_loss": ("weight loss", "diet pill", "slimming"),
}
assert set(SENSITIVE_TERMS) == set(SENSITIVE_GROUPS)


def _norm(terms: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({" ".join(t.casefold().split()) for t in terms if t.strip()}))


def _domain(term: str) -> str:
    term = term.casefold().strip()
    term = term.split("://", 1)[-1].split("/", 1)[0]
    return term.removeprefix("www.")


class Blocks(msgspec.Struct, frozen=True, gc=False):
    own_brands: frozenset[str]
    brands: frozenset[str]
    domains: tuple[str, ...]
    categories: tuple[str, ...]
    sensitive: tuple[str, ...]
    competitors: frozenset[str]  # brand names
    competitor_domains: tuple[str, ...]

    @classmethod
    def of(cls, store_brand: str, line_item_brands: Iterable[str], controls: StoreControls) -> Blocks:
        sensitive = [t for g, terms in SENSITIVE_TERMS.items() if g not in controls.allowed_sensitive for t in terms]
        return cls(
            own_brands=frozenset(b.casefold() for b in (store_brand, *line_item_brands) if b),
            brands=frozenset(_norm(controls.blocked_brands)),
            domains=tuple(_domain(d) for d in controls.blocked_domains),
            categories=_norm(controls.blocked_categories),
            sensitive=tuple(sensitive),
            competitors=frozenset(_norm(controls.competitors)),
            competitor_domains=tuple(_domain(c) for c in controls.competitors if "." in c),
        )

    def reason(self, product: ProductInfo) -> str | None:
        """Why this store must not show this product, or None."""
        brand = product.brand.casefold()
        if brand in self.own_brands:
            return "own_brand"
        if brand in self.brands:
            return "blocked_brand"
        if any(_within(product.domain, d) for d in self.domains):
            return "blocked_domain"
        rule = _category_rule(product.category, self.categories, self.sensitive)
        if rule is not None:
            return rule
        if brand in self.competitors or any(_within(product.domain, d) for d in self.competitor_domains):
            return "competitor"
        return None


@functools.lru_cache(maxsize=200_000)
def _category_rule(category: str, blocked: tuple[str, ...], sensitive: tuple[str, ...]) -> str | None:
    """Categories repeat across a catalog: each (category, rules) is checked once."""
    path = category.casefold()
    if any(term in path for term in blocked):
        return "blocked_category"
    # Top levels are broad headings ("Food, Beverages & Tobacco" also holds bread): below them only.
    segments = path.split(">")
    below = ">".join(segments[1:]) if len(segments) > 1 else path
    if any(term in below for term in sensitive):
        return "sensitive_category"
    return None


def _within(host: str, domain: str) -> bool:
    return bool(host and domain) and (host == domain or host.endswith("." + domain))


def targets(
    targeting: dict[str, Any], store_id: str, store_categories: Iterable[str], country: str, total: int
) -> bool:
    """Whether a campaign with this targeting may show on this store for this order."""
    if not targeting:
        return True
    rules = msgspec.convert(targeting, Targeting)
    if rules.stores and store_id not in rules.stores:
        return False
    if rules.countries and country.upper() not in {c.upper() for c in rules.countries}:
        return False
    if total < rules.min_order_minor or (rules.max_order_minor and total > rules.max_order_minor):
        return False
    if rules.store_categories:
        wanted = _norm(rules.store_categories)
        sells = _norm(store_categories)
        if not any(w in s for w in wanted for s in sells):
            return False
    return True
