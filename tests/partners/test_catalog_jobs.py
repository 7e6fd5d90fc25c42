"""Large feeds run as jobs: progress, a downloadable error report, replace and delete, and safety."""

from __future__ import annotations

import asyncio
import csv
import gzip
import io
import time
from typing import Any

from tests.exchange.catalog import SOCKS, running_brand
from tests.support import Api, bearer, jsonl, order_body, product


async def start(api: Api, partner: dict[str, Any], body: bytes, mode: str = "upsert", **headers: str) -> dict[str, Any]:
    r = await api.client.post(
        "/v1/catalog/jobs",
        params={"mode": mode},
        content=body,
        headers=bearer(partner["secret_key"]) | {"Content-Type": "application/x-ndjson"} | headers,
    )
    assert r.status_code == 202, r.text
    return dict(r.json())


async def finished(api: Api, partner: dict[str, Any], job_id: str) -> dict[str, Any]:
    """Poll like a partner would; generous, because CI machines are shared (speed is benchmarked, not tested)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        job = (await api.client.get(f"/v1/catalog/jobs/{job_id}", headers=bearer(partner["secret_key"]))).json()
        if job["status"] in ("succeeded", "failed"):
            return dict(job)
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def socks(n: int, start: int = 0, brand: str = "Trailwind") -> list[dict[str, Any]]:
    return [
        product(f"S{i}", f"{brand} Running Socks No. {i}", brand, "12.00 USD", SOCKS) for i in range(start, start + n)
    ]


async def test_a_gzipped_feed_runs_as_a_job_with_an_error_report(api: Api) -> None:
    partner = await api.partner("Trailwind")
    rows = socks(3000)
    rows[10]["price"] = "free"
    rows[2000]["link"] = "not a url"
    job = await start(api, partner, gzip.compress(jsonl(rows)), **{"Content-Encoding": "gzip"})
    assert job["status"] in ("queued", "running", "succeeded")
    done = await finished(api, partner, job["id"])
    assert (done["status"], done["rows"], done["accepted"], done["rejected"], done["created"]) == (
        "succeeded",
        3000,
        2998,
        2,
        2998,
    )
    report = await api.client.get(done["errors_url"], headers=bearer(partner["secret_key"]))
    assert report.status_code == 200
    errors = list(csv.DictReader(io.StringIO(report.text)))
    assert [(e["row"], e["id"], e["field"]) for e in errors] == [("11", "S10", "price"), ("2001", "S2000", "link")]
    assert (await api.client.get("/healthz")).json()["searchable_products"] == 2998


async def test_full_replace_retires_what_the_feed_no_longer_lists(api: Api) -> None:
    partner = await api.partner("Trailwind")
    await api.upload(partner, jsonl(running_brand()))
    await api.campaign(partner)
    store = await api.store()
    assert (await api.order(store, order_body("r1", "Men's Road Running Shoe"))).json()["offers"]
    shoes_only = [row for row in running_brand() if row["id"].startswith("SH-")]
    done = await finished(api, partner, (await start(api, partner, jsonl(shoes_only), mode="replace"))["id"])
    assert (done["status"], done["retired"], done["unchanged"]) == ("succeeded", 6, len(shoes_only))
    offers = (await api.order(store, order_body("r2", "Men's Road Running Shoe"))).json()["offers"]
    assert all("Socks" not in offer["title"] for offer in offers)


async def test_a_rejected_row_in_a_replace_keeps_the_last_good_version_live(api: Api) -> None:
    partner = await api.partner("Trailwind")
    await api.upload(partner, jsonl(socks(5)))
    rows = socks(5)
    rows[0]["price"] = "oops"
    done = await finished(api, partner, (await start(api, partner, jsonl(rows), mode="replace"))["id"])
    assert (done["rejected"], done["retired"]) == (1, 0)
    assert (await api.client.get("/healthz")).json()["searchable_products"] == 5


async def test_a_feed_broken_midway_fails_and_changes_nothing_live(api: Api) -> None:
    partner = await api.partner("Trailwind")
    await api.upload(partner, jsonl(socks(50)))
    broken = jsonl(socks(3000, start=100)) + b"\n\xff\xfe not utf-8\n" + jsonl(socks(10, start=5000))
    done = await finished(api, partner, (await start(api, partner, broken, mode="replace"))["id"])
    assert done["status"] == "failed"
    assert "3001" in done["error"] and "upload it again" in done["error"]
    assert done["retired"] == 0
    health = (await api.client.get("/healthz")).json()
    assert health["searchable_products"] >= 50  # the 50 live products were neither hidden nor retired


async def test_delete_feeds_and_the_delete_endpoint_retire_products(api: Api) -> None:
    partner = await api.partner("Trailwind")
    await api.upload(partner, jsonl(socks(10)))
    ids = b"\n".join(f'{{"id": "S{i}"}}'.encode() for i in range(4))
    done = await finished(api, partner, (await start(api, partner, ids, mode="delete"))["id"])
    assert (done["status"], done["retired"]) == ("succeeded", 4)
    r = await api.client.delete("/v1/catalog/products/S9", headers=bearer(partner["secret_key"]))
    assert r.status_code == 200
    again = await api.client.delete("/v1/catalog/products/S9", headers=bearer(partner["secret_key"]))
    assert again.status_code == 404
    assert (await api.client.get("/healthz")).json()["searchable_products"] == 5


async def test_an_updated_product_is_searchable_as_updated(api: Api) -> None:
    partner = await api.partner("Trailwind")
    await api.upload(
        partner,
        jsonl(
            [
                product(
                    "X1",
                    "Trailwind Espresso Coffee Pods, 50 Count",
                    "Trailwind",
                    "9.00 USD",
                    "Food > Coffee > Coffee Pods",
                )
            ]
        ),
    )
    await api.campaign(partner)
    store = await api.store()
    assert (
        (await api.order(store, order_body("u1", "Men's Road Running Shoe")))
        .json()["offers"][0]["title"]
        .startswith("Trailwind Espresso")
    )
    renamed = product("X1", "Trailwind Merino Running Socks, 3-Pack", "Trailwind", "9.00 USD", SOCKS)
    report = (await api.upload(partner, jsonl([renamed]))).json()
    assert (report["updated"], report["searchable_products"]) == (1, 1)
    offer = (await api.order(store, order_body("u2", "Men's Road Running Shoe"))).json()["offers"][0]
    assert offer["title"] == "Trailwind Merino Running Socks, 3-Pack"


async def test_jobs_are_private_to_their_partner(api: Api) -> None:
    mine, theirs = await api.partner("Mine"), await api.partner("Theirs")
    job = await start(api, theirs, jsonl(socks(3)))
    await finished(api, theirs, job["id"])
    for path in (f"/v1/catalog/jobs/{job['id']}", f"/v1/catalog/jobs/{job['id']}/errors"):
        assert (await api.client.get(path, headers=bearer(mine["secret_key"]))).status_code == 404
    assert (await api.client.delete("/v1/catalog/products/S0", headers=bearer(mine["secret_key"]))).status_code == 404


async def test_a_synchronous_upload_broken_midway_is_a_400_that_says_how_far_it_got(api: Api) -> None:
    partner = await api.partner("Trailwind")
    broken = jsonl(socks(2500)) + b"\n\xff\xfe not utf-8\n"
    r = await api.upload(partner, broken)
    assert r.status_code == 400
    problem = r.json()
    assert "2501" in problem["detail"]
    assert (problem["rows_read"], problem["accepted"]) == (2000, 2000)  # the first full chunk was applied
