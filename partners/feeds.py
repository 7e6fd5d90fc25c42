"""Parse partner product feeds (JSON lines, Merchant Center TSV and RSS 2.0) into validated rows."""

from __future__ import annotations

import enum
import gzip
import io
import os
import re
import zlib
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, cast
from urllib.parse import urlsplit

import msgspec

from exchange.core.money import (
    AmountError,
    UnknownCurrencyError,
    check_currency,
    parse_amount,
    parse_price,
)
from partners.feed_formats import (
    FIELDS,
    GOOGLE_NS,
    MERCHANT_CENTER_EXTRAS,
    OPTIONAL_FIELDS,
    REQUIRED_FIELDS,
    FeedFormatError,
    RawRow,
    RowError,
    jsonl_rows,
    rss_rows,
    tsv_rows,
)

__all__ = [
    "AVAILABILITIES",
    "FIELDS",
    "GOOGLE_NS",
    "MERCHANT_CENTER_EXTRAS",
    "OPTIONAL_FIELDS",
    "REQUIRED_FIELDS",
    "FeedFormat",
    "FeedFormatError",
    "FeedProduct",
    "FeedRow",
    "ParsedFeed",
    "RowError",
    "detect_format",
    "gtin_check_digit",
    "iter_feed",
    "open_feed",
    "parse_feed",
    "sniff",
]

AVAILABILITIES = ("in_stock", "out_of_stock", "preorder", "backorder")
_AVAILABILITY_ALIASES = {"pre_order": "preorder", "back_order": "backorder"}
_GTIN_LENGTHS = frozenset({8, 12, 13, 14})
_BOM = b"\xef\xbb\xbf"
_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)
SNIFF_BYTES = 64 * 1024


class FeedFormat(enum.StrEnum):
    JSONL = "jsonl"
    TSV = "tsv"
    RSS = "rss"


_CONTENT_TYPES = {
    "application/x-ndjson": FeedFormat.JSONL,
    "application/jsonl": FeedFormat.JSONL,
    "application/json-lines": FeedFormat.JSONL,
    "text/tab-separated-values": FeedFormat.TSV,
    "application/rss+xml": FeedFormat.RSS,
    "application/xml": FeedFormat.RSS,
    "text/xml": FeedFormat.RSS,
}


class FeedProduct(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    link: str
    price_minor: int
    currency: str
    brand: str
    description: str = ""
    image_link: str = ""
    google_product_category: str = ""
    product_type: str = ""
    availability: str = "in_stock"
    gtin: str = ""


class ParsedFeed(msgspec.Struct):
    rows: int
    products: list[FeedProduct]
    errors: list[RowError]


class FeedRow(msgspec.Struct, gc=False):
    """One row of a feed as read: its product, or every problem found in it."""

    row: int  # the line (JSON lines, TSV) or the item's position (RSS) where the row starts
    id: str  # the row's id when it is a valid one, even if the row is rejected (a duplicate, say); else ""
    product: FeedProduct | None  # None when rejected
    errors: list[RowError]  # empty when accepted


class _Invalid(Exception):
    """One field's value is wrong; the message is the reason shown to the partner."""


# --- field checks: each takes the stripped value and returns the clean one ---

# Merchant Center's limits; gtin's is loose so its own check gives the useful message.
_LIMITS = {
    "id": 50,
    "title": 150,
    "link": 2000,
    "brand": 70,
    "description": 5000,
    "image_link": 2000,
    "google_product_category": 750,
    "product_type": 750,
    "availability": 50,
    "gtin": 50,
}


_SPACE = re.compile(r"\s")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _url(name: str, text: str) -> str:
    if not _SPACE.search(text):
        try:
            parts = urlsplit(text)
        except ValueError:  # e.g. an unclosed IPv6 bracket: "https://[::1/p"
            pass
        else:
            if parts.scheme in ("http", "https") and parts.netloc:
                return text
    raise _Invalid(f"{name} must be an absolute http or https URL, like 'https://shop.example/p/1'; got {_shown(text)}")


def _category(name: str, text: str) -> str:
    if text.isdecimal() or all(part.strip() for part in text.split(">")):
        return text
    raise _Invalid(
        f"{name} must be a numeric id like '201' or a path like "
        f"'Apparel & Accessories > Jewelry > Watches'; got {_shown(text)}"
    )


def _availability(name: str, text: str) -> str:
    key = "_".join(text.lower().replace("-", " ").split())
    key = _AVAILABILITY_ALIASES.get(key, key)
    if key in AVAILABILITIES:
        return key
    raise _Invalid(f"{name} must be one of {', '.join(AVAILABILITIES)}; got {_shown(text)}")


def _gtin(name: str, text: str) -> str:
    if not (text.isascii() and text.isdigit() and len(text) in _GTIN_LENGTHS):
        raise _Invalid(f"{name} must be 8, 12, 13 or 14 digits with no spaces; got {_shown(text)}")
    expected = gtin_check_digit(text[:-1])
    if int(text[-1]) != expected:
        raise _Invalid(
            f"{name} {text} has a wrong check digit (the last digit should be {expected}); "
            "copy it again from the product's barcode"
        )
    return text


def gtin_check_digit(body: str) -> int:
    """GS1 check digit for the digits before it: weights 3, 1, 3, ... from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return -total % 10


_FORMATS: dict[str, Callable[[str, str], str]] = {
    "link": _url,
    "image_link": _url,
    "google_product_category": _category,
    "availability": _availability,
    "gtin": _gtin,
}


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"{name} must be a string, got {_shown(value)}")
    if len(value) > _LIMITS[name]:
        raise _Invalid(f"{name} is {len(value)} characters long; shorten it to at most {_LIMITS[name]}")
    check = _FORMATS.get(name)
    return check(name, value) if check else value


def _price(value: object) -> tuple[int, str]:
    try:
        if isinstance(value, str):
            minor, currency = parse_price(value)
        elif isinstance(value, dict):
            minor, currency = _price_object(value)
        else:
            raise _Invalid(f"price must be a string like '15.00 USD', got {_shown(value)}")
    except (AmountError, UnknownCurrencyError) as exc:
        raise _Invalid(f"price: {exc}") from exc
    if minor <= 0:
        raise _Invalid(f"price must be greater than zero, got {_shown(value)}")
    return minor, currency


def _price_object(value: dict[str, Any]) -> tuple[int, str]:
    """Content API style {"value": "15.00", "currency": "USD"} or {"amount_minor": 1500, ...}."""
    currency = value.get("currency")
    shapes = ({"value", "currency"}, {"amount_minor", "currency"})
    if set(value) not in shapes or not isinstance(currency, str):
        raise _Invalid(
            'price object must be {"value": "15.00", "currency": "USD"} or {"amount_minor": 1500, "currency": "USD"}'
        )
    code = check_currency(currency)
    if "value" in value:
        if not isinstance(value["value"], str):
            # A JSON number may already have been rounded through a float upstream.
            raise _Invalid('price value must be a decimal string like "15.00", not a number')
        return parse_amount(value["value"], code), code
    amount = value["amount_minor"]
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise _Invalid(f"price amount_minor must be an integer, got {_shown(amount)}")
    return amount, code


_MISSING = {
    "id": "id is required; give each product a unique id of up to 50 characters",
    "title": "title is required; give the product's name as shoppers see it (up to 150 characters)",
    "link": "link is required; give the product page's URL, like 'https://shop.example/p/1'",
    "price": "price is required; give an amount and an ISO 4217 code, like '15.00 USD'",
    "brand": "brand is required; give the product's brand (up to 70 characters)",
}


def _build(raw: RawRow, first_seen: dict[str, int]) -> FeedRow:
    """Check every field of a row so the partner sees all its problems at once."""
    errors = raw.errors
    clean: dict[str, Any] = {}
    for name in FIELDS:
        value = raw.values.get(name)
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            if name in _MISSING:
                errors.append(RowError(raw.row, name, _MISSING[name]))
            continue
        try:
            clean[name] = _price(value) if name == "price" else _text(name, value)
        except _Invalid as exc:
            errors.append(RowError(raw.row, name, str(exc)))
    product_id: str = clean.get("id", "")
    if product_id in first_seen:
        reason = f"duplicate id {product_id!r}, first seen on row {first_seen[product_id]}; ids must be unique"
        errors.append(RowError(raw.row, "id", reason))
    if errors:
        return FeedRow(raw.row, product_id, None, errors)
    clean["price_minor"], clean["currency"] = clean.pop("price")
    first_seen[product_id] = raw.row
    return FeedRow(raw.row, product_id, FeedProduct(**clean), errors)


_READERS: dict[FeedFormat, Callable[[BinaryIO], Iterator[RawRow | RowError]]] = {
    FeedFormat.JSONL: jsonl_rows,
    FeedFormat.TSV: tsv_rows,
    FeedFormat.RSS: rss_rows,
}


def detect_format(content_type: str | None, data: bytes) -> FeedFormat:
    """Tell the feed's format from its content type, else from its first bytes."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type in _CONTENT_TYPES:
        return _CONTENT_TYPES[media_type]
    start = data[:4096].removeprefix(_BOM).lstrip()
    if start.startswith(b"<"):
        return FeedFormat.RSS
    # Before the tab test: JSON may use tabs between tokens.
    if start.startswith(b"{"):
        return FeedFormat.JSONL
    if b"\t" in start.split(b"\n", 1)[0]:
        return FeedFormat.TSV
    if not start:
        raise FeedFormatError("the feed is empty; send at least one product")
    raise FeedFormatError(
        "can't tell the feed's format; send JSON lines (one object per line), tab-separated values "
        "with a header row, or an RSS 2.0 feed, or set the Content-Type to application/x-ndjson, "
        "text/tab-separated-values or application/rss+xml"
    )


def open_feed(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a stored upload for reading, decompressing it if it is gzip (told by its first bytes, not its name)."""
    with open(path, "rb") as file:
        compressed = file.read(2) == _GZIP_MAGIC
    return cast(BinaryIO, gzip.open(path, "rb")) if compressed else open(path, "rb")


def sniff(path: str | os.PathLike[str]) -> bytes:
    """The first bytes of a stored upload, decompressed: enough for detect_format."""
    with open_feed(path) as stream:
        try:
            return stream.read(SNIFF_BYTES)
        except _GZIP_ERRORS as exc:
            raise FeedFormatError(f"the feed looks gzip-compressed but can't be decompressed ({exc})") from exc


def iter_feed(stream: BinaryIO, fmt: FeedFormat) -> Iterator[FeedRow]:
    """Read a decompressed feed (see open_feed) one row at a time, in bounded memory; the stream is not closed.

    A problem with the feed as a whole raises FeedFormatError when it is met, which may be after
    many rows were yielded (XML that breaks at item 500,000, a bad byte on line 70,000): the
    message says where, and the caller should then drop the whole upload.
    """
    first_seen: dict[str, int] = {}  # accepted ids and their rows: ~100 MB at a million rows
    row = 0
    try:
        for raw in _READERS[fmt](stream):
            row = raw.row
            yield FeedRow(row, "", None, [raw]) if isinstance(raw, RowError) else _build(raw, first_seen)
    except _GZIP_ERRORS as exc:
        raise FeedFormatError(
            f"the compressed feed is cut short or damaged after row {row} ({exc}); compress and upload it again"
        ) from exc


def parse_feed(data: bytes, fmt: FeedFormat) -> ParsedFeed:
    """Read every row of a feed held in memory, keeping the valid products and a RowError for each problem."""
    feed = ParsedFeed(rows=0, products=[], errors=[])
    for row in iter_feed(io.BytesIO(data), fmt):
        feed.rows += 1
        if row.product is not None:
            feed.products.append(row.product)
        feed.errors += row.errors
    return feed
