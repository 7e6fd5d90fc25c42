"""The ledger's invariants under any sequence of shopper and partner events (Hypothesis stateful).

Each run is a fresh exchange (SQLite, in-process counters) driven through its HTTP API: orders,
impressions, clicks from browsers and bots, repeat clicks, conversions, retried postbacks, refunds,
and finally a month close. After every step: the trial balance is zero, the stored balances and the
spend counters agree with the journal, no event is billed twice, and the payout report equals what
a simple model of the billing rules predicts, to the cent.

The default suite runs 8 sequences of 15 steps; `ENCORE_LONG_TESTS=1` runs 1,000 of 50 steps
(`ENCORE_LEDGER_RUNS=N` sets the number of sequences)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from embeddings.encoder import minilm
from exchange.app import create_app
from exchange.core.db import utcnow
from exchange.core.money import split
from exchange.ledger.periods import close_period
from exchange.ledger.reconcile import reconcile
from exchange.models import LedgerTransaction
from exchange.settings import Settings
from tests.exchange.catalog import coffee_brand, running_brand
from tests.support import BROWSER_UA, Api, bearer, jsonl, order_body

LONG = os.environ.get("ENCORE_LONG_TESTS") == "1"
CLOSE_AFTER = 25 if LONG else 8  # events before a month close may end a run
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
ENCODER: dict[str, Any] = {}
TODAY = time.strftime("%Y-%m-%d", time.gmtime())


class LedgerMachine(RuleBasedStateMachine):
    offers = Bundle("offers")
    sales = Bundle("sales")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.events = 0
        self.dir = Path(tempfile.mkdtemp(prefix="encore-ledger-"))
        self.settings = Settings(
            data_dir=self.dir,
            admin_key="adm",
            secret="s" * 40,
            public_url="http://testserver.local",
            click_flood_per_hour=100_000,
        )
        if "minilm" not in ENCODER:  # loaded once for every run
            ENCODER["minilm"] = minilm()
        self.client = AsyncTestClient(create_app(self.settings, ENCODER["minilm"]), base_url="http://testserver.local")
        self.run(self.client.__aenter__())
        self.api = Api(self.client, self.settings)
        self.orders = 0
        self.transactions = 0
        self.closed = False
        # The model: what should have been billed.
        self.engaged: set[str] = set()  # offers whose first valid engagement happened
        self.billed = {"cpc": 0, "cpa": 0, "rev": 0}
        self.gross = 0
        self.store_share = 0

    def run(self, coroutine: Any) -> Any:
        self.events += 1
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        self.run(self.client.__aexit__(None, None, None))
        self.loop.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @initialize()
    def network(self) -> None:
        async def build() -> None:
            self.cpc, self.cpa = await self.api.partner("Trailwind"), await self.api.partner("Brewmaster")
            for partner, rows, pricing in ((self.cpc, running_brand(), "cpc"), (self.cpa, coffee_brand(), "cpa")):
                assert (await self.api.upload(partner, jsonl(rows))).status_code == 200
                await self.api.campaign(
                    partner, pricing=pricing, max_bid_minor=700, daily_budget_minor=10**9, total_budget_minor=10**9
                )
            self.store = await self.api.store(max_offers=2)

        self.run(build())

    @precondition(lambda self: not self.closed)
    @rule(target=offers, basket=st.sampled_from([("Men's Road Running Shoe, Size 10",), ("Espresso Machine",)]))
    def order(self, basket: tuple[str, ...]) -> Any:
        self.orders += 1

        async def go() -> list[dict[str, Any]]:
            r = await self.api.order(self.store, order_body(f"o-{self.orders}", *basket))
            assert r.status_code == 200, r.text
            decision = r.json()
            record = (
                await self.client.get(f"/v1/decisions/{decision['decision_id']}", headers=self.api.operator)
            ).json()
            prices = {c["position"]: c["price_minor"] for c in record["explain"]["candidates"] if c["position"]}
            pricing = {c["position"]: c["pricing"] for c in record["explain"]["candidates"] if c["position"]}
            return [
                offer | {"billed_price": prices[n], "pricing": pricing[n]}
                for n, offer in enumerate(decision["offers"], start=1)
            ]

        return multiple(*self.run(go()))

    @precondition(lambda self: not self.closed)
    @rule(offer=offers)
    def view(self, offer: dict[str, Any]) -> None:
        r = self.run(self.client.post(offer["impression_url"].removeprefix(self.settings.public_url)))
        assert r.status_code == 204
        offer["seen"] = True

    @precondition(lambda self: not self.closed)
    @rule(target=sales, offer=offers, bot=st.booleans())
    def click(self, offer: dict[str, Any], bot: bool) -> Any:
        r = self.run(self.api.click(offer["click_url"], BOT if bot else self.api_ua(), seen=False))
        assert r.status_code == 302
        valid = not bot and offer.get("seen", False)
        if valid and offer["offer_id"] not in self.engaged:
            self.engaged.add(offer["offer_id"])
            if offer["pricing"] == "cpc":
                self._bill("cpc", offer["billed_price"])
        click_id = parse_qs(urlsplit(r.headers["location"]).query)["encore_click"][0]
        return {"offer": offer, "click_id": click_id, "valid": valid}

    @precondition(lambda self: not self.closed)
    @rule(sale=sales, retried=st.booleans())
    def convert(self, sale: dict[str, Any], retried: bool) -> None:
        offer = sale["offer"]
        if "transaction_id" not in sale:
            self.transactions += 1
            sale["transaction_id"] = f"t-{self.transactions}"
        body = {"transaction_id": sale["transaction_id"], "click_id": sale["click_id"]}
        partner = self.cpa if offer["partner"]["id"] == self.cpa["id"] else self.cpc
        answer = self.run(self.api.postback(partner, body))
        assert answer.status_code == 200, answer.text
        if "answer" in sale:  # a retried postback gets the first answer, and bills nothing more
            assert answer.json() == sale["answer"]
            return
        sale["answer"] = answer.json()
        # Billed when the offer is CPA and some valid click on it exists (the attribution window is
        # 14 days; nothing here is older). Each sale is a new transaction id.
        should_bill = offer["pricing"] == "cpa" and offer["offer_id"] in self.engaged
        assert answer.json()["billed"] is should_bill, (answer.json(), sale)
        if should_bill:
            self._bill("cpa", offer["billed_price"])
        if retried:
            assert self.run(self.api.postback(partner, body)).json() == sale["answer"]

    @precondition(lambda self: not self.closed)
    @rule(sale=consumes(sales))
    def refund(self, sale: dict[str, Any]) -> None:
        if not sale.get("answer", {}).get("billed"):
            return
        partner = self.cpa
        body = {
            "reversal_id": f"r-{sale['transaction_id']}",
            "transaction_id": sale["transaction_id"],
            "kind": "refund",
        }
        r = self.run(self.api.postback(partner, body, kind="reversals"))
        assert r.status_code == 200, r.text
        assert r.json()["reversed_minor"] == sale["answer"]["charged_minor"]
        self.billed["rev"] += 1
        price = sale["answer"]["charged_minor"]
        self.gross -= price
        self.store_share -= split(price, 7000)[0]

    @precondition(lambda self: self.events >= CLOSE_AFTER)
    @rule()
    def close_month(self) -> None:
        """Close this month as on the 1st of the next (the API closes only months that ended); after
        it, nothing more happens in this run but closing it again, which changes nothing."""
        runtime = self.client.app.state.runtime
        month = utcnow().strftime("%Y-%m")
        later = utcnow().replace(day=28) + dt.timedelta(days=5)

        async def go() -> Any:
            async with runtime.sessions() as session:
                first = await close_period(session, month, "0.50", later)
            async with runtime.sessions() as session:
                again = await close_period(session, month, "0.50", later)
            return first, again

        first, again = self.run(go())
        assert first == again
        assert len(first.payouts) == (1 if self.store_share else 0)
        if self.closed:
            assert first == self.closed_as
            return
        self.closed_as = first
        for payout in first.payouts:
            assert payout.paid_minor in (0, payout.payable_minor)
            assert payout.payable_minor == self.store_share
            assert (payout.paid_minor > 0) is (payout.payable_minor >= 50)
        self.closed = True

    def _bill(self, kind: str, price: int) -> None:
        self.billed[kind] += 1
        self.gross += price
        self.store_share += split(price, 7000)[0]

    @staticmethod
    def api_ua() -> str:
        return BROWSER_UA

    @invariant()
    def books_balance(self) -> None:
        if not hasattr(self, "store"):
            return
        runtime = self.client.app.state.runtime

        async def check() -> tuple[Any, Any, int]:
            async with runtime.sessions() as session:
                result = await reconcile(session, runtime.counters, utcnow())
                events = await session.scalar(select(func.count(LedgerTransaction.id)))
            report = await self.client.get(
                "/v1/reports/payouts", params={"start": TODAY, "end": TODAY}, headers=bearer(self.store["secret_key"])
            )
            return result, report.json()["rows"], int(events or 0)

        result, rows, events = self.run(check())
        assert result.drift == [], result.drift
        billed_events = sum(self.billed.values())
        payouts = 1 if self.closed and self.store_share >= 50 else 0
        assert events == billed_events + payouts  # nothing billed twice, nothing lost
        if not billed_events:
            assert rows == []
            return
        [row] = rows
        assert (row["clicks"], row["conversions"], row["reversals"]) == (
            self.billed["cpc"],
            self.billed["cpa"],
            self.billed["rev"],
        )
        assert row["gross_minor"] == self.gross
        assert row["store_share_minor"] == self.store_share
        assert row["store_share_minor"] + row["exchange_share_minor"] == row["gross_minor"]


TestLedgerInvariants = LedgerMachine.TestCase
TestLedgerInvariants.settings = settings(
    max_examples=int(os.environ.get("ENCORE_LEDGER_RUNS", 1000 if LONG else 8)),
    stateful_step_count=50 if LONG else 15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
