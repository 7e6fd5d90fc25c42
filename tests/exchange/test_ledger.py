"""Money that reconciles: reversals, attribution windows, payment-grade retries, invalid traffic,
period close with payout thresholds and carry-over, statements, and `encore ledger reconcile`."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.app import create_app
from exchange.cli import reconcile
from exchange.core.db import make_engine
from exchange.core.errors import ConflictError
from exchange.ledger.periods import close_period
from exchange.models import Click
from exchange.settings import Settings
from tests.exchange.catalog import running_brand
from tests.support import Api, bearer, jsonl, order_body

SHOE_ORDER = ("Men's Road Running Shoe, Size 10",)
TODAY = time.strftime("%Y-%m-%d", time.gmtime())


async def cpa_sale(api: Api, order_id: str, **campaign: Any) -> tuple[dict[str, Any], dict[str, Any], str]:
    """(partner, store, click id) after a shopper saw and clicked a CPA offer."""
    runner = await api.partner("Trailwind")
    assert (await api.upload(runner, jsonl(running_brand()))).status_code == 200
    await api.campaign(runner, pricing="cpa", max_bid_minor=500, **campaign)
    store = await api.store()
    offer = (await api.order(store, order_body(order_id, *SHOE_ORDER))).json()["offers"][0]
    location = (await api.click(offer["click_url"])).headers["location"]
    return runner, store, parse_qs(urlsplit(location).query)["encore_click"][0]


async def test_a_refund_posts_the_exact_negation_once(api: Api) -> None:
    runner, store, click_id = await cpa_sale(api, "L-1")
    sale = await api.postback(runner, {"transaction_id": "T-1", "click_id": click_id})
    charged = sale.json()["charged_minor"]
    refund = {"reversal_id": "R-1", "transaction_id": "T-1", "kind": "refund"}
    r = await api.postback(runner, refund, kind="reversals")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "reversal_id": "R-1",
        "transaction_id": "T-1",
        "kind": "refund",
        "reversed_minor": charged,
        "currency": "USD",
        "not_reversed_reason": "",
    }
    assert (await api.postback(runner, refund, kind="reversals")).json() == r.json()  # a retry
    changed = await api.postback(runner, refund | {"kind": "chargeback"}, kind="reversals")
    assert changed.status_code == 422 and "different body" in changed.json()["detail"]
    again = await api.postback(runner, refund | {"reversal_id": "R-2"}, kind="reversals")
    assert again.status_code == 409 and "already reversed" in again.json()["detail"]
    [row] = (await api.payouts()).json()["rows"]
    assert (row["conversions"], row["reversals"], row["gross_minor"], row["store_share_minor"]) == (1, 1, 0, 0)
    assert await api.trial_balance() == {"USD": 0}
    statement = await api.client.get(
        "/v1/reports/statement", params={"start": TODAY, "end": TODAY}, headers=bearer(store["secret_key"])
    )
    lines = statement.json()["lines"]
    assert [line["kind"] for line in lines] == ["cpa", "rev"] and lines[0]["amount_minor"] == -lines[1]["amount_minor"]
    assert statement.json()["closing"] == {"USD": 0}
    campaign = (await api.client.get("/v1/campaigns", headers=bearer(runner["secret_key"]))).json()[0]
    assert campaign["spent_total_minor"] == 0  # the budget was given back


async def test_a_sale_after_the_attribution_window_is_not_billed(api: Api) -> None:
    runner, _, click_id = await cpa_sale(api, "L-2", attribution_window_days=7)
    engine = make_engine(api.settings.sqlalchemy_url)
    async with engine.begin() as conn:  # eight days pass
        eight_days = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
        await conn.execute(update(Click).where(Click.id == click_id).values(created_at=eight_days))
    await engine.dispose()
    r = await api.postback(runner, {"transaction_id": "T-late", "click_id": click_id})
    assert r.json()["billed"] is False and r.json()["not_billed_reason"] == "outside_attribution_window"
    assert (await api.payouts()).json()["rows"] == []


async def test_concurrent_retries_of_one_postback_bill_once(api: Api) -> None:
    runner, _, click_id = await cpa_sale(api, "L-3")
    sale = {"transaction_id": "T-3", "click_id": click_id}
    answers = await asyncio.gather(*(api.postback(runner, sale) for _ in range(8)))
    assert {a.status_code for a in answers} <= {200, 409}
    assert all("in a second" in a.json()["fix"] for a in answers if a.status_code == 409)
    done = [a.json() for a in answers if a.status_code == 200]
    assert done and all(d == done[0] for d in done)
    assert (await api.postback(runner, sale)).json() == done[0]
    assert (await api.payouts()).json()["rows"][0]["conversions"] == 1


@pytest.fixture
async def strict_api(settings: Settings, encoder: Any, tmp_path: Path) -> Any:
    """An exchange with a data-centre list (TEST-NET-3 stands in for a cloud range), a proxy in
    front, and a flood limit of 3 clicks an hour."""
    ranges = tmp_path / "datacenter.txt"
    ranges.write_text("# a provider's published ranges\n203.0.113.0/24\n2001:db8::/32\n")
    strict = msgspec.structs.replace(
        settings, ivt_datacenter_file=ranges, trust_forwarded_for=True, click_flood_per_hour=3
    )
    async with AsyncTestClient(create_app(strict, encoder), base_url="http://testserver.local") as client:
        yield Api(client, strict)


async def test_invalid_traffic_is_recorded_never_billed_and_reported_per_store(strict_api: Api) -> None:
    api = strict_api
    runner = await api.partner("Trailwind")
    assert (await api.upload(runner, jsonl(running_brand()))).status_code == 200
    await api.campaign(runner)  # CPC
    store = await api.store()
    home = {"X-Forwarded-For": "198.51.100.7"}

    async def offer(n: int, shopper: str = "") -> dict[str, Any]:
        body = order_body(f"IVT-{n}", *SHOE_ORDER, shopper_key=shopper)
        return dict((await api.order(store, body)).json()["offers"][0])

    assert (await api.click((await offer(1))["click_url"], "curl/8.5.0", **home)).status_code == 302
    await api.click((await offer(2))["click_url"], **{"X-Forwarded-For": "203.0.113.9"})
    await api.click((await offer(3))["click_url"], seen=False, **home)
    flooded = [await offer(10 + n, shopper="s-flood") for n in range(5)]
    for o in flooded:
        await api.click(o["click_url"], **home)
    report = await api.client.get(
        "/v1/reports/invalid-traffic", params={"start": TODAY, "end": TODAY}, headers=bearer(store["secret_key"])
    )
    assert report.status_code == 200, report.text
    [row] = report.json()
    assert (row["clicks"], row["valid"]) == (8, 3)
    assert (row["bot_user_agent"], row["datacenter_ip"], row["no_impression"], row["click_flood"]) == (1, 1, 1, 2)
    assert (await api.payouts()).json()["rows"][0]["clicks"] == 3  # only valid clicks are billed
    csv = await api.client.get(
        "/v1/reports/invalid-traffic",
        params={"start": TODAY, "end": TODAY, "format": "csv"},
        headers=api.operator,
    )
    assert csv.text.splitlines()[0].startswith("store_id,store_name,clicks,valid,bot_user_agent")


async def test_closing_a_month_pays_stores_over_the_threshold_and_carries_the_rest(api: Api) -> None:
    runner = await api.partner("Trailwind")
    assert (await api.upload(runner, jsonl(running_brand()))).status_code == 200
    await api.campaign(runner, max_bid_minor=9000, daily_budget_minor=100_000)
    big, small = await api.store(name="Big"), await api.store(name="Small", brand="Small")
    for n, store in enumerate([big, big, big, small]):
        offer = (await api.order(store, order_body(f"P-{n}", *SHOE_ORDER))).json()["offers"][0]
        assert (await api.click(offer["click_url"])).status_code == 302
    month = dt.datetime.now(dt.UTC).strftime("%Y-%m")
    early = await api.client.post(f"/v1/periods/{month}/close", headers=api.operator)
    assert early.status_code == 409 and "has not ended" in early.json()["detail"]
    bad = await api.client.post("/v1/periods/2026-13/close", headers=api.operator)
    assert bad.status_code == 400 and "YYYY-MM" in bad.json()["fix"]
    # The month ends: the close runs as it would on the 1st (the API closes only ended months).
    engine = make_engine(api.settings.sqlalchemy_url)
    next_month = dt.datetime.now(dt.UTC).replace(day=28) + dt.timedelta(days=5)

    async def close(period: str) -> Any:
        async with AsyncSession(engine) as session:
            return await close_period(session, period, "0.10", next_month)

    closed, at_once = await asyncio.gather(close(month), close(month))  # two operators, one click each
    again = await close(month)
    assert msgspec.to_builtins(at_once) == msgspec.to_builtins(again) == msgspec.to_builtins(closed)
    last_month = (dt.datetime.now(dt.UTC).replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    with pytest.raises(ConflictError, match="already closed"):  # months close in order
        await close(last_month)
    await engine.dispose()
    payouts = {p["store_id"]: p for p in msgspec.to_builtins(closed.payouts)}
    paid, carried = payouts[big["id"]], payouts[small["id"]]
    # One bidder pays the reserve, 0.05 USD a click, of which the store's share is 0.04 (by largest
    # remainder): 0.12 for Big, paid; 0.04 for Small, under the 0.10 threshold, carried over.
    assert (paid["status"], paid["payable_minor"], paid["paid_minor"]) == ("paid", 12, 12)
    assert (carried["status"], carried["payable_minor"], carried["paid_minor"]) == ("carried_over", 4, 0)
    [invoice] = msgspec.to_builtins(closed.invoices)
    assert invoice["partner_id"] == runner["id"] and invoice["events"] == 4
    history = (await api.client.get("/v1/payouts", headers=bearer(small["secret_key"]))).json()
    assert [p["status"] for p in history] == ["carried_over"]  # a store sees only its own
    mine = (await api.client.get("/v1/invoices", headers=bearer(runner["secret_key"]))).json()
    assert [i["amount_minor"] for i in mine] == [invoice["amount_minor"]]
    assert (await api.client.get("/v1/invoices", headers=bearer(big["secret_key"]))).status_code == 403
    assert await api.trial_balance() == {"USD": 0}
    statement = await api.client.get(
        "/v1/reports/statement", params={"start": TODAY, "end": TODAY}, headers=bearer(big["secret_key"])
    )
    assert statement.json()["closing"] == {"USD": 0}  # paid out in full
    assert await asyncio.to_thread(reconcile, api.settings) == 0


async def test_the_journal_is_append_only_and_reconcile_reports_drift(api: Api, capsys: Any) -> None:
    runner, _, click_id = await cpa_sale(api, "L-9")
    assert (await api.postback(runner, {"transaction_id": "T-9", "click_id": click_id})).json()["billed"]
    assert await asyncio.to_thread(reconcile, api.settings) == 0
    assert "no drift" in capsys.readouterr().out
    engine = make_engine(api.settings.sqlalchemy_url)
    with pytest.raises((IntegrityError, DBAPIError), match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE ledger_entries SET amount_minor = amount_minor + 1"))
    async with engine.begin() as conn:  # a stored balance drifts (not the journal: that is refused)
        await conn.execute(text("UPDATE ledger_balances SET balance_minor = balance_minor + 1"))
    await engine.dispose()
    assert await asyncio.to_thread(reconcile, api.settings) == 1
    assert "DRIFT balance" in capsys.readouterr().out
