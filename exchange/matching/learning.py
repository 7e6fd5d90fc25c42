"""What the exchange learns: which products are bought together, and how shoppers answer offers.

Two sources, both kept in the database and folded into memory here:

- Co-purchases, from order histories that partners and stores import. For a purchase and a
  candidate product the model estimates P(candidate in the same order | purchase) by backing off
  from the most specific evidence to the most general, each level a Dirichlet-smoothed estimate
  whose prior is the level below:

      semantic relevance -> all orders -> the purchase's department -> its category
      -> the words of its title -> the purchased product itself

  so a product bought together with this exact item counts most, and a purchase never seen before
  still gets the complements of its category and words. A key never counts the product it was
  derived from ("shoes" in a basket predicts socks, not the same shoes).
- Feedback, from the exchange's own offers: impressions, engagements (clicks and accepts) and
  dismissals, per purchase category and product. The co-purchase estimate is the prior of a Beta
  posterior; ranking samples from it (Thompson sampling), so a new product with a thin posterior
  wins now and then and gets a fair trial, and one that shoppers ignore sinks.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import msgspec

from exchange.matching.catalog import ProductInfo

# How many orders' worth of weight each level's prior gets: smaller trusts the specific evidence
# sooner. Equal weights, one order of magnitude above the count where a co-occurrence is still
# likely chance.
SMOOTHING = 30.0
SEMANTIC_WEIGHT = 1.0  # orders' worth of weight for the semantic prior under the global level
MIN_WORD_ORDERS = 5  # a word seen in fewer orders is noise
CANDIDATES_PER_KEY = 100
POPULAR_CANDIDATES = 200
PAIR_EVIDENCE = 2  # orders with both products that prove a same-category pair is no substitute
PRIOR_STRENGTH = 20.0  # feedback-equivalents of a prior with no order evidence behind it
MAX_PRIOR_STRENGTH = 1000.0
MIN_PRIOR_ENGAGEMENTS = 2.0
DISMISS_WEIGHT = 3.0  # a dismissal counts as this many ignored impressions

_WORD = re.compile(r"[^\W\d_]{3,}")
_STOP = frozenset({"and", "the", "for", "with", "from", "pack", "count", "size", "new", "set", "of"})


def title_key(title: str) -> str:
    return " ".join(title.casefold().split())


def department(category: str) -> str:
    return category.split(">", 1)[0].strip().casefold()


class Context(msgspec.Struct, frozen=True, gc=False):
    """What the model knows about one purchased item."""

    item: str
    words: tuple[str, ...]
    category: str
    department: str

    @classmethod
    def of(cls, title: str, category: str) -> Context:
        words = sorted(set(_WORD.findall(title.casefold())) - _STOP)
        cat = " ".join(category.casefold().split())
        return cls(f"t:{title_key(title)}", tuple(f"w:{w}" for w in words), f"c:{cat}", f"d:{department(category)}")

    def all_keys(self) -> list[str]:
        keys = [self.item, *self.words]
        if self.category != "c:":
            keys += [self.category, self.department]
        return keys


class CoPurchases:
    """Counts of orders: per key, and per (key, product) where another product of the order has the key."""

    def __init__(self) -> None:
        self.orders = 0
        self.product_orders: Counter[int] = Counter()
        self.key_orders: Counter[str] = Counter()
        self.pairs: dict[str, Counter[int]] = {}
        self._popular: list[int] | None = None
        self._top: dict[str, list[int]] = {}

    def add(self, basket: Iterable[ProductInfo]) -> None:
        products = {p.id: p for p in basket}
        if not products:
            return
        owners: dict[str, set[int]] = {}
        for product in products.values():
            for key in Context.of(product.title, product.category).all_keys():
                owners.setdefault(key, set()).add(product.id)
        self.orders += 1
        self.product_orders.update(products.keys())
        for key, owned in owners.items():
            self.key_orders[key] += 1
            pairs = self.pairs.setdefault(key, Counter())
            for pid in products:
                if len(owned) > 1 or pid not in owned:
                    pairs[pid] += 1
        self._popular = None
        self._top.clear()

    def candidates(self, contexts: Sequence[Context]) -> set[int]:
        """Products worth scoring for these purchases: bought with them, with their category, or often."""
        found: set[int] = set(self._popular_products())
        for context in contexts:
            found.update(self.pairs.get(context.item, ()))
            for key in (context.category, context.department):
                found.update(self._top_for(key))
        return found

    def probability(self, context: Context, pid: int, semantic: float) -> float:
        """P(product pid is in the same order as the purchase described by `context`)."""
        p = (self.product_orders[pid] + SEMANTIC_WEIGHT * semantic) / (self.orders + SEMANTIC_WEIGHT)
        for key in (context.department, context.category):
            p = self._level(key, pid, p)
        words = [w for w in context.words if self.key_orders[w] >= MIN_WORD_ORDERS]
        if words:
            p = sum(self._level(w, pid, p) for w in words) / len(words)
        return self._level(context.item, pid, p)

    def together(self, context: Context, pid: int) -> int:
        """Orders in which this exact purchase and the product were bought together."""
        pairs = self.pairs.get(context.item)
        return pairs[pid] if pairs else 0

    def evidence(self, context: Context) -> int:
        """Orders behind the model's view of this purchase: its category's and its own."""
        return self.key_orders[context.category] + self.key_orders[context.item]

    def _level(self, key: str, pid: int, prior: float) -> float:
        pairs = self.pairs.get(key)
        together = pairs[pid] if pairs else 0
        return (together + SMOOTHING * prior) / (self.key_orders[key] + SMOOTHING)

    def _popular_products(self) -> list[int]:
        if self._popular is None:
            self._popular = [pid for pid, _ in self.product_orders.most_common(POPULAR_CANDIDATES)]
        return self._popular

    def _top_for(self, key: str) -> list[int]:
        top = self._top.get(key)
        if top is None:
            pairs = self.pairs.get(key)
            top = [pid for pid, _ in pairs.most_common(CANDIDATES_PER_KEY)] if pairs else []
            self._top[key] = top
        return top


class Outcomes(msgspec.Struct, gc=False):
    impressions: int = 0
    engagements: int = 0
    dismissals: int = 0


class Feedback:
    """Shoppers' answers to offers, per (purchase category, product)."""

    def __init__(self) -> None:
        self.outcomes: dict[tuple[str, int], Outcomes] = {}
        self.events = 0

    def _get(self, context: str, pid: int) -> Outcomes:
        key = (context, pid)
        found = self.outcomes.get(key)
        if found is None:
            found = self.outcomes[key] = Outcomes()
        return found

    def shown(self, context: str, pid: int, count: int = 1) -> None:
        self._get(context, pid).impressions += count
        self.events += count

    def engaged(self, context: str, pid: int, count: int = 1) -> None:
        self._get(context, pid).engagements += count
        self.events += count

    def dismissed(self, context: str, pid: int, count: int = 1) -> None:
        self._get(context, pid).dismissals += count
        self.events += count

    def posterior(self, context: str, pid: int, prior: float, strength: float) -> tuple[float, float]:
        """Beta(alpha, beta) of the engagement rate, with `prior` worth `strength` impressions."""
        prior = min(max(prior, 1e-6), 1 - 1e-6)
        seen = self.outcomes.get((context, pid))
        # A prior worth less than MIN_PRIOR_ENGAGEMENTS engagements would put most of its draws near
        # zero (Beta with alpha < 1), a lottery rather than exploration: it keeps its mean, gains weight.
        alpha = max(strength * prior, MIN_PRIOR_ENGAGEMENTS)
        beta = alpha * (1 - prior) / prior
        if seen is not None:
            engaged = min(seen.engagements, seen.impressions)
            alpha += engaged
            beta += seen.impressions - engaged + DISMISS_WEIGHT * seen.dismissals
        return alpha, beta


def prior_strength(evidence: int) -> float:
    return min(PRIOR_STRENGTH + evidence, MAX_PRIOR_STRENGTH)


def position_factor(position: int) -> float:
    """Engagement falls with the slot: each lower slot gets 70% of the one above."""
    return math.pow(0.7, position - 1)


class Learner:
    """Both sources together, rebuilt from the database at start and updated as events arrive."""

    def __init__(self) -> None:
        self.copurchases = CoPurchases()
        self.feedback = Feedback()

    def stats(self) -> dict[str, int]:
        return {"orders_learned": self.copurchases.orders, "feedback_events": self.feedback.events}
