"""Partners upload catalogs in the formats they already have, and see every rejected row."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import Api, bearer, jsonl, product

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"

TSV = (
    "id\ttitle\tlink\tprice\tbrand\timage link\tgoogle product category\tavailability\n"
    "TS-1\tTrailwind Trail Socks\thttps://trailwind.example/p/ts-1\t12.00 USD\tTrailwind\t"
    "https://trailwind.example/i/ts-1.jpg\tApparel & Accessories > Clothing > Socks\tin stock\n"
    "TS-2\tTrailwind Hydration Belt\thttps://trailwind.example/p/ts-2\tabc\tTrailwind\t\t\tin stock\n"
    "TS-3\t\tftp://nope\t5.00 USD\t\t\t\tin stock\n"
)


async def test_jsonl_upload_reports_accepted_rows_and_each_rejected_row(api: Api) -> None:
    partner = await api.partner("Trailwind")
    rows = [
        product("A1", "Merino Running Socks", "Trailwind"),
        {"id": "A2", "title": "No price", "link": "https://trailwind.example/a2", "brand": "Trailwind"},
        product("A3", "Bad currency", "Trailwind", price="10.00 XYZ"),
        product("A4", "Negative", "Trailwind", price="-3.00 USD"),
        product("A5", "Unknown field", "Trailwind") | {"colour_code": "x"},
    ]
    r = await api.upload(partner, jsonl(rows) + b"\nnot json\n")
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["format"], report["rows"], report["accepted"], report["created"]) == ("jsonl", 6, 1, 1)
    rejected = {(e["row"], e["field"]) for e in report["rejected"]}
    assert {(2, "price"), (3, "price"), (4, "price"), (5, "colour_code"), (6, "")} <= rejected
    assert all(e["reason"] for e in report["rejected"])
    assert report["searchable_products"] == 1


async def test_uploading_the_same_feed_twice_changes_nothing(api: Api) -> None:
    partner = await api.partner("Trailwind")
    feed = jsonl([product(f"S{i}", f"Running Socks {i}", "Trailwind") for i in range(5)])
    first = (await api.upload(partner, feed)).json()
    second = (await api.upload(partner, feed)).json()
    assert (first["created"], second["created"], second["updated"], second["unchanged"]) == (5, 0, 0, 5)
    assert second["index_version"] == first["index_version"]
    assert second["searchable_products"] == 5


async def test_changed_rows_are_updated_in_place(api: Api) -> None:
    partner = await api.partner("Trailwind")
    await api.upload(partner, jsonl([product("S1", "Running Socks", "Trailwind")]))
    report = (await api.upload(partner, jsonl([product("S1", "Running Socks", "Trailwind", price="21.00 USD")]))).json()
    assert (report["created"], report["updated"], report["searchable_products"]) == (0, 1, 1)


async def test_merchant_center_tsv_upload(api: Api) -> None:
    partner = await api.partner("Trailwind")
    r = await api.upload(partner, TSV.encode(), content_type="text/tab-separated-values")
    report = r.json()
    assert (report["format"], report["rows"], report["accepted"]) == ("tsv", 3, 1)
    fields = {(e["row"], e["field"]) for e in report["rejected"]}
    assert {(3, "price"), (4, "title"), (4, "link"), (4, "brand")} <= fields


async def test_merchant_center_rss_sample_uploads_cleanly(api: Api) -> None:
    sample = SHARED_DATA / "formats" / "google_merchant_rss2_feed_example.xml"
    if not sample.exists():
        pytest.skip("../shared/data is not present")
    partner = await api.partner("Sample brand")
    r = await api.upload(partner, sample.read_bytes(), content_type="application/rss+xml")
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["format"], report["rows"], report["accepted"], report["rejected"]) == ("rss", 2, 2, [])


async def test_a_feed_that_is_not_a_feed_is_refused_and_loses_nothing(api: Api) -> None:
    partner = await api.partner("Trailwind")
    await api.upload(partner, jsonl([product("S1", "Running Socks", "Trailwind")]))
    for body, ctype in (
        (b"<rss><channel><item>", "application/rss+xml"),
        (b"\xff\xfe\x00", "application/x-ndjson"),
        (b"id\ttitle\n1\tx\n", "text/tab-separated-values"),
    ):
        r = await api.upload(partner, body, content_type=ctype)
        assert r.status_code == 400, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["detail"]
    health = (await api.client.get("/healthz")).json()
    assert health["searchable_products"] == 1


async def test_uploads_need_a_partner_key(api: Api) -> None:
    store = await api.store()
    feed = jsonl([product("S1", "Running Socks", "Trailwind")])
    for headers in ({}, bearer("sk_partner_wrong"), bearer(store["secret_key"]), api.operator):
        r = await api.client.post("/v1/catalog", content=feed, headers=headers)
        assert r.status_code == 401, headers


async def test_campaign_bad_input_gets_a_clear_4xx(api: Api) -> None:
    partner = await api.partner("Trailwind")
    good = {
        "name": "c",
        "pricing": "cpc",
        "currency": "USD",
        "max_bid_minor": 50,
        "daily_budget_minor": 1000,
        "total_budget_minor": 10000,
    }
    cases = {
        "negative bid": good | {"max_bid_minor": -5},
        "unknown currency": good | {"currency": "XYZ"},
        "unknown field": good | {"bid": 3},
        "float money": good | {"max_bid_minor": 0.5},
        "daily over total": good | {"daily_budget_minor": 20000},
        "unknown pricing": good | {"pricing": "cpm"},
    }
    for name, body in cases.items():
        r = await api.client.post("/v1/campaigns", json=body, headers=bearer(partner["secret_key"]))
        assert r.status_code == 400, (name, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), name
        assert r.json()["detail"], name
    listed = (await api.client.get("/v1/campaigns", headers=bearer(partner["secret_key"]))).json()
    assert listed == []


async def test_a_partner_cannot_see_another_partners_campaign(api: Api) -> None:
    mine, theirs = await api.partner("Mine"), await api.partner("Theirs")
    campaign = await api.campaign(theirs)
    r = await api.client.get(f"/v1/campaigns/{campaign['id']}", headers=bearer(mine["secret_key"]))
    assert r.status_code == 404
    ok = await api.client.get(f"/v1/campaigns/{campaign['id']}", headers=bearer(theirs["secret_key"]))
    assert ok.json()["id"] == campaign["id"]
