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
    before = await _metrics(api)
    offer = (await api.order(store, order_body("m-1", "Men's Road Running Shoe"))).json()["offers"][0]
    assert (await api.click(offer["click_url"])).status_code == 302
    after = await _metrics(api)

    def grew(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    assert grew('encore_decisions_total{filled="true"}') == 1 and grew("encore_decision_seconds_count") == 1
    assert grew('encore_clicks_total{outcome="billed"}') == 1
    assert grew('encore_spend_minor_total{currency="USD"}') == 5  # one click at the reserve price
    assert after['encore_catalog_jobs{status="succeeded"}'] == 1
    assert after["encore_index_version"] == (await api.client.get("/healthz")).json()["index_version"]
    given = await api.client.get("/healthz", headers={"X-Request-ID": "req-42"})
    assert given.headers["x-request-id"] == "req-42"  # the caller's id, for tracing across services
    fresh = (await api.client.get("/healthz")).headers["x-request-id"]
    assert len(fresh) == 32 and fresh != "req-42"


async def _metrics(api: Api) -> dict[str, float]:
    """The scrape's samples, by name with labels."""
    text = (await api.client.get("/metrics")).text
    samples = (line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {name: float(value) for name, value in samples}


def test_log_lines_are_json_with_the_request_id() -> None:
    record = logging.LogRecord("encore", logging.WARNING, __file__, 1, "budget of %s exhausted", ("cmp_1",), None)
    token = request_id.set("req-7")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id.reset(token)
    assert line["message"] == "budget of cmp_1 exhausted" and line["request_id"] == "req-7"
    assert line["level"] == "warning" and line["ts"].endswith("Z")
