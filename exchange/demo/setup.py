"""`encore demo`: a network of partner brands with generated catalogs, and a demo store."""

from __future__ import annotations

import json
import logging
import random
import time
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from exchange.demo.catalog import DEMO_STORE_BRAND, demo_network
from exchange.demo.routes import DEMO_FILE
from exchange.runtime import Runtime
from partners import service as partners
from partners.feeds import FeedFormat
from partners.ingest import Mode, run_job
from partners.models import Partner
from partners.schemas import CampaignCreate, PartnerUpdate
from publishers import service as publishers
from publishers.schemas import StoreCreate

log = logging.getLogger("encore.demo")


async def build_demo(runtime: Runtime, products: int, brands: int, seed: int = 7) -> dict[str, object]:
    """Create the demo network once; later starts reuse it (the catalog and index are on disk)."""
    demo_file = runtime.settings.data_dir / DEMO_FILE
    if demo_file.exists():
        return dict(json.loads(demo_file.read_text()))
    started = time.perf_counter()
    network = demo_network(products=products, brands=brands, seed=seed)
    rng = random.Random(seed)
    jobs: list[tuple[str, Path]] = []
    uploads = runtime.settings.data_dir / "uploads"
    accounts = []
    async with runtime.sessions() as session:
        for n, (brand, rows) in enumerate(network, start=1):
            partner = await partners.create_partner(session, brand.name)
            # Every demo brand takes one-click orders, at its demo shop inside this server.
            row = await session.get(Partner, partner.id)
            assert row is not None
            shop = f"{runtime.settings.public_url}/demo/partners/{partner.id}/orders"
            await partners.update_partner(session, row, PartnerUpdate(order_url=shop))
            # The same path a partner's upload takes: a stored JSON lines feed, run as an upload job.
            uploads.mkdir(parents=True, exist_ok=True)
            job = await partners.create_job(session, partner.id, Mode.UPSERT, FeedFormat.JSONL, 0)
            feed = uploads / f"{job.id}.feed"
            feed.write_bytes(b"\n".join(json.dumps(row).encode() for row in rows))
            jobs.append((job.id, feed))
            pricing: Literal["cpc", "cpa"] = "cpa" if n % 5 == 0 else "cpc"
            bid = rng.randint(800, 4000) if pricing == "cpa" else rng.randint(20, 120)
            await partners.create_campaign(
                session,
                partner.id,
                CampaignCreate(f"{brand.name} thank-you offers", pricing, "USD", bid, 50_000, 1_000_000),
            )
            accounts.append(
                {
                    "name": brand.name,
                    "partner_id": partner.id,
                    "secret_key": partner.secret_key,
                    "signing_secret": partner.signing_secret,
                }
            )
            if n % 10 == 0 or n == len(network):
                print(f"  partners {n}/{len(network)} created", flush=True)
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(runtime.settings.public_url))
        # The demo page is opened as localhost as often as 127.0.0.1: both are the demo store's origin.
        origins = sorted({origin, origin.replace("127.0.0.1", "localhost"), origin.replace("localhost", "127.0.0.1")})
        store = await publishers.create_store(
            session,
            StoreCreate(name=DEMO_STORE_BRAND, brand=DEMO_STORE_BRAND, allowed_origins=origins, max_offers=2),
            runtime.settings.store_share_bps,
        )
    print(
        f"  uploading and embedding {products:,} products with {runtime.encoder.name} (first run only)...", flush=True
    )
    searchable = 0
    for n, (job_id, feed) in enumerate(jobs, start=1):
        done = await run_job(runtime.sessions, runtime, job_id, feed)
        feed.unlink(missing_ok=True)
        searchable += done.accepted
        if n % 10 == 0 or n == len(jobs):
            print(f"  catalogs {n}/{len(jobs)}, products searchable {searchable:,}", flush=True)
    await runtime.writer.save()
    demo: dict[str, object] = {
        "store_id": store.id,
        "store_secret_key": store.secret_key,
        "publishable_key": store.publishable_key,
        "partners": accounts,
        "products": searchable,
        "built_in_s": round(time.perf_counter() - started, 1),
    }
    demo_file.write_text(json.dumps(demo, indent=2))
    demo_file.chmod(0o600)
    return demo
