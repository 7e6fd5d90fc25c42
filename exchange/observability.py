"""Metrics (Prometheus), structured JSON logs, and a request id on every request and log line.

With several serving processes, PROMETHEUS_MULTIPROC_DIR (set by `encore serve --workers N`) makes
/metrics report the sum over every process, whichever one answers the scrape."""

from __future__ import annotations

import contextvars
import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

DECISION_SECONDS = Histogram(
    "encore_decision_seconds",
    "Time to decide an order's offers",
    buckets=(0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1.0, 2.5),
)
DECISIONS = Counter("encore_decisions_total", "Orders decided (first time), by whether any offer filled", ["filled"])
CLICKS = Counter("encore_clicks_total", "Clicks and accepts by outcome (billed, or why not)", ["outcome"])
CONVERSIONS = Counter("encore_conversions_total", "Conversion postbacks by outcome", ["outcome"])
SPEND = Counter("encore_spend_minor_total", "Billed to partners, in minor units", ["currency"])
JOBS = Counter("encore_ingestion_jobs_total", "Catalog jobs finished, by status", ["status"])
# The lowest over live workers: the version every worker serves at least.
INDEX_VERSION = Gauge("encore_index_version", "Index version served", multiprocess_mode="livemin")
INDEX_PRODUCTS = Gauge("encore_index_products", "Products in the served index", multiprocess_mode="livemin")
INDEX_SWAPPED = Gauge(
    "encore_index_loaded_timestamp_seconds", "When the served index was built or loaded", multiprocess_mode="livemin"
)


def forget_dead_processes() -> None:
    """Drop the live gauges of worker processes that died (uvicorn replaces a killed worker, and the
    replacement cleans up after it as it starts)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    for path in Path(directory).glob("gauge_live*_*.db"):
        pid = int(path.stem.rsplit("_", 1)[-1])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            prometheus_multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
        except PermissionError:
            pass


def index_served(version: int, products: int) -> None:
    INDEX_VERSION.set(version)
    INDEX_PRODUCTS.set(products)
    INDEX_SWAPPED.set(time.time())


def metrics_text() -> bytes:
    """The Prometheus exposition of this process, or of every serving process in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()


class RequestIds:
    """ASGI middleware: each request gets an id (the caller's X-Request-ID, or a new one) that every
    log line carries and the response echoes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")[:64]
        rid = given if given.replace("-", "").isalnum() else uuid.uuid4().hex
        token = request_id.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and the exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        if rid := request_id.get():
            line["request_id"] = rid
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


JsonFormatter.converter = time.gmtime


def log_config(fmt: str) -> dict[str, Any]:
    """logging.dictConfig for ours and uvicorn's loggers: `json` (production) or `text` (a terminal)."""
    formatter = (
        {"()": JsonFormatter}
        if fmt == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s", "datefmt": "%H:%M:%S"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {"out": {"class": "logging.StreamHandler", "formatter": "main", "stream": "ext://sys.stdout"}},
        "root": {"handlers": ["out"], "level": "INFO"},
        "loggers": {
            "uvicorn": {"handlers": ["out"], "level": "INFO", "propagate": False},
            "uvicorn.access": {"handlers": ["out"], "level": "INFO", "propagate": False},
            "httpx": {"level": "WARNING"},
        },
    }
