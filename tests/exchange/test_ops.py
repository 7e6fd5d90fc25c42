"""What an operator's tooling sees: liveness, readiness, Prometheus metrics, request ids, JSON logs."""

from __future__ import annotations

import json
import logging

from exchange.observability import JsonFormatter, request_id
from tests.exchange.catalog import running_brand
from tests.support import Api, jsonl, order_body


async def test_health_readiness_metrics_and_request_ids(api: Api) -> None:
    assert (await api.client.get("/healthz")).json()["status"] == "ok"
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "counters": "ok", "index": "ok"}
    runner = await api.partner("Trailwind")
    assert (await api.upload(runner, jsonl(running_brand()))).status_code == 200
    await api.campaign(runner)
    store = await api.store()
    offer = (await api.order(store, order_body("m-1", "Men's Road Running Shoe"))).json()["offers"][0]
    assert (await api.click(offer["click_url"])).status_code == 302
    metrics = (await api.client.get("/metrics")).text
    assert 'encore_decisions_total{filled="true"}' in metrics
    assert 'encore_clicks_total{outcome="billed"}' in metrics
    assert "encore_decision_seconds_bucket" in metrics and 'encore_catalog_jobs{status="succeeded"} 1' in metrics
    assert 'encore_spend_minor_total{currency="USD"}' in metrics and "encore_index_version" in metrics
    given = await api.client.get("/healthz", headers={"X-Request-ID": "req-42"})
    assert given.headers["x-request-id"] == "req-42"  # the caller's id, for tracing across services
    fresh = (await api.client.get("/healthz")).headers["x-request-id"]
    assert len(fresh) == 32 and fresh != "req-42"


def test_log_lines_are_json_with_the_request_id() -> None:
    record = logging.LogRecord("encore", logging.WARNING, __file__, 1, "budget of %s exhausted", ("cmp_1",), None)
    token = request_id.set("req-7")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id.reset(token)
    assert line["message"] == "budget of cmp_1 exhausted" and line["request_id"] == "req-7"
    assert line["level"] == "warning" and line["ts"].endswith("Z")
