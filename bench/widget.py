"""`encore bench widget`: the thank-you-page widget in headless Chromium, on loopback.

Loads the demo store's thank-you page `--loads` times and writes bench/results/widget.json with
gzip_bytes (widget.js, gzip -9), first_offer_ms (median; widget.js loaded and starting to run, to
the first offer painted), first_offer_p90_ms, accept_ms (median; the shopper's one click on "Add to
my order" to the partner's confirmation shown, through the demo brand's order endpoint on loopback),
console_errors (over every load) and loads.
"""

from __future__ import annotations

import gzip
import json
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.live import live_demo

RESULTS = Path(__file__).resolve().parent / "results"
SHOPPER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
WIDGET = Path(__file__).resolve().parents[1] / "publishers" / "static" / "widget.js"
# Runs before the page's own scripts: notes the frame in which the first offer card was painted.
PAINT_PROBE = """
(function poll() {
  var host = document.querySelector('#encore-offers');
  if (host && host.shadowRoot && host.shadowRoot.querySelector('article')) {
    requestAnimationFrame(function () { window.__encorePainted = performance.now(); });
    return;
  }
  requestAnimationFrame(poll);
})();
"""
SCRIPT_LOADED = "performance.getEntriesByType('resource').find(e => e.name.endsWith('/widget.js')).responseEnd"


def main(loads: int) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        raise SystemExit("needs Debian's chromium: apt-get install chromium")
    gzip_bytes = len(gzip.compress(WIDGET.read_bytes(), compresslevel=9))
    times: list[float] = []
    accepts: list[float] = []
    errors: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, live_demo(Path(tmp)) as demo, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        # Headless Chromium's own user agent is filtered as a bot; present as a shopper's browser.
        context = browser.new_context(viewport={"width": 1280, "height": 900}, user_agent=SHOPPER_UA)
        context.route(lambda url: not url.startswith("http://127.0.0.1"), lambda route: route.fulfill(body=""))
        context.add_init_script(PAINT_PROBE)
        page = context.new_page()

        def on_console(message: Any) -> None:
            if message.type == "error":
                errors.append(message.text)

        page.on("console", on_console)
        page.on("pageerror", lambda error: errors.append(str(error)))
        for n in range(loads):
            page.goto(f"{demo.url}/demo/thank-you?basket={n}")
            page.wait_for_function("window.__encorePainted !== undefined", timeout=10_000)
            times.append(float(page.evaluate(f"window.__encorePainted - {SCRIPT_LOADED}")))
            buy = page.locator("#encore-offers button.buy").first
            if buy.count():
                page.evaluate("window.__encoreClicked = performance.now()")
                buy.click()
                page.locator("#encore-offers .ok").wait_for(timeout=10_000)
                accepts.append(float(page.evaluate("performance.now() - window.__encoreClicked")))
            if (n + 1) % 10 == 0:
                print(f"  {n + 1}/{loads} loads, median so far {statistics.median(times):.1f} ms", flush=True)
        browser.close()
    times.sort()
    result: dict[str, Any] = {
        "gzip_bytes": gzip_bytes,
        "first_offer_ms": round(statistics.median(times), 1),
        "first_offer_p90_ms": round(times[int(0.9 * (len(times) - 1))], 1),
        "accept_ms": round(statistics.median(accepts), 1) if accepts else None,
        "accepts": len(accepts),
        "console_errors": len(errors),
        "loads": loads,
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "widget.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if errors:
        print("console errors:", *errors[:5], sep="\n  ")
    print(f"wrote {out}")
