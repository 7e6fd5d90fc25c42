"""The finance API: period close, payouts, invoices, statements, the invalid-traffic report."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import msgspec
from litestar import MediaType, Response, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.auth import Account
from exchange.core.db import utcnow
from exchange.core.errors import ForbiddenError, InvalidInputError
from exchange.ledger.periods import (
    CloseOut,
    InvoiceOut,
    PayoutOut,
    close_period,
    list_invoices,
    list_payouts,
    period_report,
)
from exchange.ledger.service import partner_account, store_account
from exchange.reports import Statement, StatementLine, TrafficRow, invalid_traffic, rows_csv, statement
from exchange.runtime import Runtime

Format = Literal["json", "csv"]
FormatParam = Parameter(query="format", default="json", description="json or csv")


def _answer(kind: type[msgspec.Struct], rows: list[Any], fmt: Format, name: str, whole: object = None) -> Response[Any]:
    if fmt == "csv":
        return Response(
            rows_csv(kind, rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(whole if whole is not None else rows, media_type=MediaType.JSON)


def _checked_range(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise InvalidInputError("end is before start", fix="send start <= end, as YYYY-MM-DD")


@post("/v1/periods/{period:str}/close", summary="Close a month: payouts and invoices (operator)", tags=["finance"])
async def close(period: str, db: AsyncSession, runtime: Runtime, operator: None) -> CloseOut:
    """Idempotent: closing a closed month returns what the first close fixed. Stores whose payable
    reaches ENCORE_MIN_PAYOUT are paid (a ledger posting); the rest carries over to the next month."""
    return await close_period(db, period, runtime.settings.min_payout, utcnow())


@get("/v1/periods/{period:str}", summary="A closed month's payouts and invoices (operator)", tags=["finance"])
async def closed_period(period: str, db: AsyncSession, operator: None) -> CloseOut:
    return await period_report(db, period)


@get("/v1/payouts", summary="Payout history: a store its own, the operator every store's", tags=["finance"])
async def payouts_history(db: AsyncSession, account: Account, fmt: Format = FormatParam) -> Response[Any]:
    if account.kind == "partner":
        raise ForbiddenError("payouts are for stores", fix="partners read GET /v1/invoices")
    rows = await list_payouts(db, store_id=account.id if account.kind == "store" else None)
    return _answer(PayoutOut, rows, fmt, "payouts")


@get("/v1/invoices", summary="Invoices: a partner its own, the operator every partner's", tags=["finance"])
async def invoices(db: AsyncSession, account: Account, fmt: Format = FormatParam) -> Response[Any]:
    if account.kind == "store":
        raise ForbiddenError("invoices are for partners", fix="stores read GET /v1/payouts")
    rows = await list_invoices(db, partner_id=account.id if account.kind == "partner" else None)
    return _answer(InvoiceOut, rows, fmt, "invoices")


@get("/v1/reports/statement", summary="An account's entries with running balances", tags=["finance"])
async def account_statement(
    db: AsyncSession,
    account: Account,
    start: dt.date,
    end: dt.date,
    fmt: Format = FormatParam,
    of: str | None = Parameter(query="account", default=None, description="operator only: any ledger account"),
) -> Response[Any]:
    """A store's payable or a partner's receivable, from its own key; the operator names `account`
    (e.g. `exchange:revenue`, `store:<id>:payable`). Dates are UTC days, both inclusive."""
    _checked_range(start, end)
    if account.kind == "store":
        name = store_account(account.id)
    elif account.kind == "partner":
        name = partner_account(account.id)
    elif of:
        name = of
    else:
        raise InvalidInputError("the operator names the account", fix="add ?account=exchange:revenue (or another)")
    report: Statement = await statement(db, name, start, end)
    return _answer(StatementLine, report.lines, fmt, f"statement-{start}-{end}", report)


@get("/v1/reports/invalid-traffic", summary="Clicks filtered as invalid traffic, per store", tags=["finance"])
async def traffic_report(
    db: AsyncSession, account: Account, start: dt.date, end: dt.date, fmt: Format = FormatParam
) -> Response[Any]:
    """Every click recorded, and how many each rule filtered: bot user agents, data-centre IPs, no
    on-screen impression before the click, floods. A store key sees its own row."""
    _checked_range(start, end)
    if account.kind == "partner":
        raise ForbiddenError("the invalid-traffic report is per store", fix="use the operator or a store key")
    rows = await invalid_traffic(db, start, end, account.id if account.kind == "store" else None)
    return _answer(TrafficRow, rows, fmt, f"invalid-traffic-{start}-{end}")


route_handlers = [close, closed_period, payouts_history, invoices, account_statement, traffic_report]
