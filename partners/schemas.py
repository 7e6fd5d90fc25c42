"""Request and response bodies of the partner API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from partners.feeds import RowError

Minor = Annotated[int, Meta(gt=0, le=10**12, description="an amount in the currency's minor unit, e.g. cents")]
Name = Annotated[str, Meta(min_length=1, max_length=200)]


class PartnerCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name


class PartnerCreated(msgspec.Struct):
    id: str
    name: str
    secret_key: str  # shown once; Encore keeps only its digest
    signing_secret: str  # signs conversion postbacks (HMAC-SHA256)


class Targeting(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Where a campaign may show; an empty list means anywhere."""

    stores: Annotated[list[str], Meta(max_length=1000, description="store ids")] = []
    countries: Annotated[list[Annotated[str, Meta(pattern="^[A-Za-z]{2}$")]], Meta(max_length=250)] = []
    min_order_minor: Annotated[int, Meta(ge=0)] = 0
    max_order_minor: Annotated[int, Meta(ge=0, description="0: no upper bound")] = 0
    store_categories: Annotated[list[Annotated[str, Meta(min_length=1, max_length=300)]], Meta(max_length=100)] = []


class CampaignCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    pricing: Literal["cpc", "cpa"]
    currency: Annotated[str, Meta(pattern="^[A-Za-z]{3}$", description="ISO 4217 code")]
    max_bid_minor: Minor
    daily_budget_minor: Minor
    total_budget_minor: Minor
    targeting: Targeting = msgspec.field(default_factory=lambda: Targeting())
    frequency_cap: Annotated[int, Meta(ge=0, le=1000, description="offers per shopper per day; 0: no cap")] = 0
    ends_at: Annotated[
        dt.datetime | None, Meta(description="a time-limited offer: shown with a countdown, not served after")
    ] = None
    attribution_window_days: Annotated[
        int, Meta(ge=1, le=90, description="a CPA sale is billed if it follows a valid click this recently")
    ] = 14


class CampaignUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent change; `"ends_at": null` removes the end."""

    active: bool | msgspec.UnsetType = msgspec.UNSET
    ends_at: dt.datetime | msgspec.UnsetType | None = msgspec.UNSET


class CampaignOut(msgspec.Struct):
    id: str
    name: str
    pricing: str
    currency: str
    max_bid_minor: int
    daily_budget_minor: int
    total_budget_minor: int
    spent_today_minor: int
    spent_total_minor: int
    active: bool
    targeting: Targeting
    frequency_cap: int
    ends_at: dt.datetime | None = None
    attribution_window_days: int = 14


class JobOut(msgspec.Struct):
    id: str
    mode: str
    format: str
    status: str  # queued | running | succeeded | failed
    bytes: int
    rows: int
    accepted: int
    rejected: int
    created: int
    updated: int
    unchanged: int
    retired: int
    index_version: int
    error: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    errors_url: str  # every rejected row as CSV: row, id, field, reason


class UploadReport(msgspec.Struct):
    job_id: str
    status: str
    error: str
    format: str
    rows: int
    accepted: int
    created: int
    updated: int
    unchanged: int
    retired: int
    rejected: list[RowError]
    index_version: int
    searchable_products: int


OrderUrl = Annotated[
    str,
    Meta(
        max_length=2000,
        pattern=r"^(https://|http://(127\.0\.0\.1|localhost)[:/])",
        description="https URL where Encore posts one-click orders; empty: none",
    ),
]


class PartnerUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent change."""

    order_url: OrderUrl | None = None


class PartnerOut(msgspec.Struct):
    id: str
    name: str
    order_url: str  # where one-click accepts are sent; empty: offers only link to the product page


class PartnerOrderOut(msgspec.Struct):
    """A one-click order Encore sent this partner, and what came of it."""

    id: str  # the Idempotency-Key it was sent with
    offer_id: str
    status: str  # sending | confirmed | declined | failed
    partner_order_ref: str
    detail: str
    attempts: int
    billed: bool
    not_billed_reason: str
    created_at: dt.datetime


class ConversionIn(msgspec.Struct, forbid_unknown_fields=True):
    transaction_id: Annotated[str, Meta(min_length=1, max_length=100)]
    click_id: Annotated[str, Meta(min_length=1, max_length=40)]


class ReversalIn(msgspec.Struct, forbid_unknown_fields=True):
    reversal_id: Annotated[str, Meta(min_length=1, max_length=100, description="your id for this refund")]
    transaction_id: Annotated[
        str, Meta(min_length=1, max_length=100, description="the sale's transaction_id, or a one-click order's po_ id")
    ]
    kind: Literal["refund", "chargeback"]


class ReversalOut(msgspec.Struct):
    reversal_id: str
    transaction_id: str
    kind: str
    reversed_minor: int  # given back to the partner: the sale's full charge, or 0
    currency: str
    not_reversed_reason: str  # not_billed: the sale was never charged


class ConversionOut(msgspec.Struct):
    id: str
    transaction_id: str
    click_id: str
    billed: bool
    not_billed_reason: str
    charged_minor: int
    currency: str
