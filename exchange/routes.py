"""The exchange's HTTP surface: decisions, tracking links, postbacks, finance reports, health."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Literal

import msgspec
from litestar import MediaType, Request, Response, get, post
from litestar.params import Parameter
from litestar.response import Redirect
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.core.db import utcnow
from exchange.core.errors import ForbiddenError, InvalidInputError, NotFoundError
from exchange.decisions.schemas import DecisionOut
from exchange.decisions.service import decide, decision_record, recorded_decision
from exchange.ledger.service import trial_balance
from exchange.matching.history import HistoryReport, import_history
from exchange.models import IndexState
from exchange.observability import metrics_text
from exchange.reports import PayoutReport, payout_csv, payout_report
from exchange.runtime import Runtime
from exchange.settings import Settings
from exchange.tracking import accept as one_click
from exchange.tracking import service as tracking
from partners.models import CatalogJob, Partner
from partners.schemas import ConversionOut, ReversalOut
from publishers import shopify
from publishers.models import Store
from publishers.schemas import OrderIn, WidgetRequest
from publishers.service import store_for_publishable_key


def client_ip(request: Request[Any, Any, Any], settings: Settings) -> str:
    """The shopper's IP: the connection's, or behind a trusted proxy the last X-Forwarded-For entry
    (the one that proxy added; entries before it come from the client and prove nothing)."""
    forwarded = request.headers.get("x-forwarded-for", "") if settings.trust_forwarded_for else ""
    if forwarded:
        return forwarded.rsplit(",", 1)[-1].strip()
    return request.client.host if request.client else ""


@post("/v1/orders", summary="Report a confirmed order, get its offers", tags=["store"], status_code=200)
async def order_offers(data: OrderIn, db: AsyncSession, store: Store, runtime: Runtime) -> Response[DecisionOut]:
    """The same order (same order_id and content) always gets the same offers back."""
    started = time.perf_counter()
    out = await decide(runtime, db, store, data, verified=True)
    return Response(out, headers={"Server-Timing": f"decide;dur={(time.perf_counter() - started) * 1000:.2f}"})


@post(
    "/v1/widget/offers",
    summary="The widget's call: publishable key, from an allowed origin",
    tags=["widget"],
    status_code=200,
)
async def widget_offers(request: Request[Any, Any, Any], db: AsyncSession, runtime: Runtime) -> Response[DecisionOut]:
    # Sent as text/plain so the browser makes no CORS preflight; the origin check is ours.
    body = await request.body()
    try:
        call = msgspec.json.decode(body, type=WidgetRequest)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InvalidInputError(
            f"invalid widget request: {exc}", fix='send {"key": "pk_store_...", "order": {...}}'
        ) from exc
    origin = request.headers.get("origin")
    store = await store_for_publishable_key(db, call.key, origin)
    out = await decide(runtime, db, store, call.order, verified=False)
    return Response(out, headers={"Access-Control-Allow-Origin": origin or "", "Vary": "Origin"})


@get("/c/{token:str}", summary="Click: a signed redirect to the partner's product", tags=["shopper"])
async def click(token: str, request: Request[Any, Any, Any], db: AsyncSession, runtime: Runtime) -> Redirect:
    ip = client_ip(request, runtime.settings)
    target = await tracking.engage(runtime, db, token, "c", request.headers.get("user-agent", ""), ip)
    return Redirect(target, status_code=302)


@get("/a/{token:str}", summary="Accept: the shopper takes the offer", tags=["shopper"])
async def accept(token: str, request: Request[Any, Any, Any], db: AsyncSession, runtime: Runtime) -> Redirect:
    ip = client_ip(request, runtime.settings)
    target = await tracking.engage(runtime, db, token, "a", request.headers.get("user-agent", ""), ip)
    return Redirect(target + "&encore_accept=1", status_code=302)


@post("/a/{token:str}", summary="One-click accept: place the partner order", tags=["shopper"], status_code=200)
async def accept_order(
    token: str, request: Request[Any, Any, Any], db: AsyncSession, runtime: Runtime
) -> Response[one_click.AcceptOut]:
    """Sent by the widget when the shopper confirms a one-click offer (`one_click: true`). Places one
    signed order with the partner, however often it is sent, and bills it. 200: confirmed; 202: another
    request is placing it, send again in a second; 422: the partner declined; 502: the partner's
    system did not answer, nothing was charged, send again later."""
    out = await one_click.accept(runtime, db, token, request.headers.get("user-agent", ""))
    return Response(
        out, status_code=200 if out.status == "confirmed" else 202, headers={"Access-Control-Allow-Origin": "*"}
    )


@post("/d/{token:str}", summary="Dismiss: the shopper closed the offer", tags=["shopper"], status_code=204)
async def dismiss(token: str, db: AsyncSession, runtime: Runtime) -> Response[None]:
    """Sent by the widget (navigator.sendBeacon) when the shopper closes an offer."""
    await tracking.dismiss(runtime, db, token)
    return Response(None, status_code=204, headers={"Access-Control-Allow-Origin": "*"})


@post(
    "/v1/shopify/{store_id:str}/orders-create",
    summary="Shopify orders/create webhook",
    tags=["integrations"],
    status_code=200,
)
async def shopify_order(
    store_id: str, request: Request[Any, Any, Any], db: AsyncSession, runtime: Runtime
) -> dict[str, object]:
    """Subscribe this URL to the orders/create topic. Verified with X-Shopify-Hmac-Sha256; the
    order's offers are decided at once, so the thank-you page finds them ready. Retries (same body)
    get the same answer."""
    body = await request.body()
    store = await db.get(Store, store_id)
    if store is None:
        raise NotFoundError(f"no store {store_id!r}", fix="use the store id in the webhook URL")
    shopify.verify(store.shopify_webhook_secret, request.headers.get("x-shopify-hmac-sha256"), body)
    shop = request.headers.get("x-shopify-shop-domain", "").lower()
    if store.shopify_shop and shop != store.shopify_shop:
        raise ForbiddenError(
            f"this webhook is from {shop!r}, not {store.shopify_shop!r}",
            fix="subscribe the webhook from the store's own shop, or correct shopify_shop (PATCH /v1/store)",
        )
    out = await decide(runtime, db, store, shopify.to_order(body, runtime.settings.secret), verified=True)
    return {"order_id": out.order_id, "decision_id": out.decision_id, "offers": len(out.offers)}


@post(
    "/v1/shopify/{store_id:str}/offers",
    summary="The Shopify thank-you extension's call",
    tags=["integrations"],
    status_code=200,
)
async def shopify_offers(
    store_id: str, request: Request[Any, Any, Any], db: AsyncSession, runtime: Runtime
) -> Response[DecisionOut]:
    """Body (text/plain, so no CORS preflight): `{"session_token": "<api.sessionToken.get()>",
    "order_id": "<orderConfirmation order.id>"}`. Answers the offers decided when the orders/create
    webhook arrived; 404 until it has (retry in a second). A logged-in customer's token must match
    the order's customer."""
    try:
        call = msgspec.json.decode(await request.body(), type=shopify.ExtensionRequest)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InvalidInputError(
            f"invalid extension request: {exc}", fix='send {"session_token": "...", "order_id": "gid://..."}'
        ) from exc
    store = await db.get(Store, store_id)
    if store is None:
        raise NotFoundError(f"no store {store_id!r}", fix="set the extension's store_id setting to your store id")
    claims = shopify.session_claims(store.shopify_webhook_secret, call.session_token, store.shopify_shop, time.time())
    found = await recorded_decision(db, store.id, shopify.order_ref(call.order_id))
    customer = shopify.customer_key(runtime.settings.secret, claims.get("sub"))
    if found is None or (customer and found[0].payload.get("shopper_key") not in ("", customer)):
        raise NotFoundError(
            "no offers for this order yet: the orders/create webhook has not arrived",
            fix="retry in a second; check the webhook is subscribed if this persists",
        )
    return Response(found[1], headers={"Access-Control-Allow-Origin": "*"})


@post("/v/{token:str}", summary="Viewable impression (widget beacon)", tags=["shopper"], status_code=204)
async def viewable(token: str, db: AsyncSession, runtime: Runtime) -> Response[None]:
    """Sent by the widget (navigator.sendBeacon) once an offer was at least 50% visible for 1 s.
    Counted once per offer, and only for orders the store's server reported."""
    await tracking.viewed(runtime, db, token)
    return Response(None, status_code=204, headers={"Access-Control-Allow-Origin": "*"})


@get("/v1/decisions/{decision_id:str}", summary="Explain a decision", tags=["store"])
async def explain_decision(decision_id: str, db: AsyncSession, reader: Store | None) -> dict[str, Any]:
    """What was considered, what each filter removed, the scores, the winners and their prices.
    A store key reads its own decisions; the operator key any."""
    return await decision_record(db, decision_id, reader.id if reader is not None else None)


@post("/v1/order-history", summary="Import past orders to learn complements from", tags=["partner"], status_code=200)
async def order_history(
    request: Request[Any, Any, Any], db: AsyncSession, runtime: Runtime, importer: Partner | None
) -> HistoryReport:
    """JSON lines, one past order each: `{"order_id": "o-1", "items": [{"product_id": "sku-1"}, ...]}`.
    A partner key names its own products; the operator key adds `partner_id` to each item.
    Idempotent per order_id: a retried upload imports nothing twice."""
    body = await request.body()
    source = importer.id if importer is not None else "operator"
    return await import_history(
        db, runtime.learner, runtime.catalog, body, source=source, partner_id=importer.id if importer else None
    )


@post(
    "/v1/partners/{partner_id:str}/conversions",
    summary="Conversion postback (HMAC-signed)",
    tags=["partner"],
    status_code=200,
)
async def conversion(
    partner_id: str, request: Request[Any, Any, Any], db: AsyncSession, runtime: Runtime
) -> ConversionOut:
    """Sign with `Encore-Signature: t=<unix time>,v1=<hex HMAC-SHA256(signing_secret, "<t>." + body)>`.
    Idempotent on transaction_id: a retry with the same body returns the same answer."""
    body = await request.body()
    return await tracking.convert(runtime, db, partner_id, body, request.headers.get("encore-signature"))


@post(
    "/v1/partners/{partner_id:str}/reversals",
    summary="Refund or chargeback postback (HMAC-signed)",
    tags=["partner"],
    status_code=200,
)
async def reversal(partner_id: str, request: Request[Any, Any, Any], db: AsyncSession, runtime: Runtime) -> ReversalOut:
    """`{"reversal_id": "...", "transaction_id": "<the sale's>", "kind": "refund" | "chargeback"}`, signed
    like conversions. Posts the exact negation of the sale's ledger transaction and gives the budget
    back. Idempotent on reversal_id; a sale is reversed once."""
    body = await request.body()
    return await tracking.reverse(runtime, db, partner_id, body, request.headers.get("encore-signature"))


@get("/v1/reports/payouts", summary="Payouts per store and currency", tags=["finance"])
async def payouts(
    db: AsyncSession,
    reader: Store | None,
    start: dt.date,
    end: dt.date,
    fmt: Literal["json", "csv"] = Parameter(query="format", default="json"),
) -> Response[Any]:
    """Dates are UTC days, both inclusive. The operator key sees every store; a store key its own."""
    if end < start:
        raise InvalidInputError("end is before start", fix="send start <= end, as YYYY-MM-DD")
    report: PayoutReport = await payout_report(db, start, end, reader.id if reader is not None else None)
    if fmt == "csv":
        name = f"payouts-{start}-{end}.csv"
        return Response(
            payout_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return Response(report, media_type=MediaType.JSON)


@get("/v1/ledger/trial-balance", summary="Sum of all entries per currency (always 0)", tags=["finance"])
async def ledger_balance(db: AsyncSession, operator: None) -> dict[str, int]:
    return await trial_balance(db)


@get("/healthz", summary="Alive", tags=["ops"])
async def healthz(runtime: Runtime) -> dict[str, object]:
    """The process is up (a load balancer's liveness probe); says nothing about its dependencies."""
    return {"status": "ok", "index_version": runtime.index.version, "searchable_products": runtime.index.size}


@get("/metrics", summary="Prometheus metrics", tags=["ops"], include_in_schema=False)
async def metrics(runtime: Runtime) -> Response[bytes]:
    """Decisions (latency histogram, fill), clicks and conversions by outcome, spend, index version
    and products and when it was loaded, finished ingestion jobs."""
    lines = []
    async with runtime.sessions() as session:  # shared state, the same from every worker
        jobs = await session.execute(select(CatalogJob.status, func.count()).group_by(CatalogJob.status))
        lines += ["# HELP encore_catalog_jobs Catalog jobs by status", "# TYPE encore_catalog_jobs gauge"]
        lines += [f'encore_catalog_jobs{{status="{status}"}} {count}' for status, count in jobs]
        state = await session.get(IndexState, runtime.settings.encoder)
    if state is not None:
        age = (utcnow() - state.published_at).total_seconds()
        lines += ["# HELP encore_index_published_age_seconds Age of the newest published index version"]
        lines += ["# TYPE encore_index_published_age_seconds gauge", f"encore_index_published_age_seconds {age:.1f}"]
        lines += ["# HELP encore_index_published_version Newest published index version"]
        lines += ["# TYPE encore_index_published_version gauge", f"encore_index_published_version {state.version}"]
    body = metrics_text() + ("\n".join(lines) + "\n").encode()
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


@get("/readyz", summary="Ready: database, Redis and index reachable", tags=["ops"])
async def readyz(runtime: Runtime) -> Response[dict[str, object]]:
    """200 when this worker can answer orders: the database and Redis answer, and it serves an
    index (on a serving worker: the published version or a newer one). 503 with what is missing."""
    checks: dict[str, str] = {}
    try:
        async with runtime.sessions() as session:
            await session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure is the answer here
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        await runtime.counters.spent_many([], "ping")
        await runtime.counters.claim("readyz", 1)
        checks["counters"] = "ok"
    except Exception as exc:
        checks["counters"] = f"unreachable: {type(exc).__name__}"
    published = 0
    if checks["database"] == "ok" and runtime.queues_jobs:
        from exchange.topology import published_version

        published = await published_version(runtime)
    # A worker a poll behind the newest version still serves a whole index; one that never loaded the
    # published index does not.
    missing = published > 0 and runtime.index.version == 0
    checks["index"] = f"not loaded: published v{published} is not in memory" if missing else "ok"
    ready = all(v == "ok" for v in checks.values())
    body: dict[str, object] = {"status": "ready" if ready else "not ready", "checks": checks}
    body |= {"index_version": runtime.index.version, "role": runtime.settings.role}
    return Response(body, status_code=200 if ready else 503)


route_handlers = [
    order_offers,
    widget_offers,
    click,
    accept,
    accept_order,
    dismiss,
    viewable,
    shopify_order,
    shopify_offers,
    explain_decision,
    order_history,
    conversion,
    reversal,
    payouts,
    ledger_balance,
    healthz,
    readyz,
    metrics,
]
