"""A small demo network served by uvicorn in a thread on loopback, as `./run demo` serves it: for the
widget's browser tests and `encore bench widget`."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from exchange.app import create_app
from exchange.demo.setup import build_demo
from exchange.runtime import open_runtime
from exchange.settings import Settings


class LiveDemo:
    def __init__(self, url: str, settings: Settings, demo: dict[str, Any]) -> None:
        self.url, self.settings, self.demo = url, settings, demo
        self.store = {"Authorization": f"Bearer {demo['store_secret_key']}"}
        self.operator = {"Authorization": f"Bearer {settings.admin_key}"}

    def get(self, path: str, headers: dict[str, str]) -> Any:
        r = httpx.get(self.url + path, headers=headers, timeout=30)
        r.raise_for_status()
        return r.json()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def live_demo(data_dir: Path, products: int = 600, brands: int = 30) -> Iterator[LiveDemo]:
    """Build the demo network in `data_dir` and serve it until the block ends. Call it before any
    Playwright sync API starts: that runs an event loop on the calling thread."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(data_dir=data_dir, admin_key="adm", secret="s" * 40, public_url=url)

    async def build() -> None:
        runtime = await open_runtime(settings)
        try:
            await build_demo(runtime, products=products, brands=brands)
        finally:
            await runtime.close()

    asyncio.run(build())
    demo = json.loads((data_dir / "demo.json").read_text())
    with serving(settings, port):
        yield LiveDemo(url, settings, demo)


@contextmanager
def serving(settings: Settings, port: int) -> Iterator[str]:
    """The exchange served by uvicorn in a thread on 127.0.0.1:`port` until the block ends."""
    import uvicorn

    url = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    if not server.started:
        raise RuntimeError(f"the exchange did not start on {url} within 120 s")
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
