"""Parse partner product feeds (JSON lines, Merchant Center TSV and RSS 2.0) into validated rows."""

from __future__ import annotations

import csv
import enum
import io
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import msgspec

from exchange.core.money import (
    AmountError,
    UnknownCurrencyError,
    check_currency,
    parse_amount,
    parse_price,
)

GOOGLE_NS = "http://base.google.com/ns/1.0"

REQUIRED_FIELDS = ("id", "title", "link", "price", "brand")
OPTIONAL_FIELDS = (
    "description",
    "image_link",
    "google_product_category",
    "product_type",
    "availability",
    "gtin",
)
FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS
_FIELD_SET = frozenset(FIELDS)

# Merchant Center attributes we don't use yet. JSON lines is our own format, so unknown
# keys there are mistakes, but these ones come from partners exporting their Google feed.
MERCHANT_CENTER_EXTRAS = frozenset(
    {
        "sale_price", "condition", "mpn", "color", "size", "gender", "age_group",
        "item_group_id", "additional_image_link", "shipping", "adult", "identifier_exists",
        "material", "pattern", *(f"custom_label_{n}" for n in range(5)),
    }
)  # fmt: skip

AVAILABILITIES = ("in_stock", "out_of_stock", "preorder", "backorder")
_AVAILABILITY_ALIASES = {"pre_order": "preorder", "back_order": "backorder"}
_GTIN_LENGTHS = frozenset({8, 12, 13, 14})
_RSS_PLAIN_FIELDS = frozenset({"title", "link", "description"})
_BOM = b"\xef\xbb\xbf"


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


class RowError(msgspec.Struct, frozen=True):
    row: int
    field: str
    reason: str


class FeedFormatError(ValueError):
    """The feed as a whole can't be read; the message says how to fix it."""


class ParsedFeed(msgspec.Struct):
    rows: int
    products: list[FeedProduct]
    errors: list[RowError]


class _RawRow(NamedTuple):
    row: int
    values: Mapping[str, object]
    errors: list[RowError]


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


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _url(name: str, text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme in ("http", "https") and parts.netloc and not any(c.isspace() for c in text):
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


def _build(raw: _RawRow, first_seen: dict[str, int]) -> FeedProduct | list[RowError]:
    """Check every field of a row so the partner sees all its problems at once."""
    errors = list(raw.errors)
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
    product_id = clean.get("id")
    if product_id is not None and product_id in first_seen:
        reason = f"duplicate id {product_id!r}, first seen on row {first_seen[product_id]}; ids must be unique"
        errors.append(RowError(raw.row, "id", reason))
    if errors:
        return errors
    clean["price_minor"], clean["currency"] = clean.pop("price")
    first_seen[clean["id"]] = raw.row
    return FeedProduct(**clean)


# --- readers: turn each format into raw rows of field name -> value ---

_JSON_OBJECT = msgspec.json.Decoder(dict[str, Any])
_JSONL_ALLOWED = ", ".join(FIELDS)


def _jsonl_rows(text: str) -> Iterator[_RawRow | RowError]:
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            values = _JSON_OBJECT.decode(line)
        except msgspec.DecodeError as exc:
            reason = f'line is not a JSON object ({exc}); write one object per line, like {{"id": "sku-1", ...}}'
            yield RowError(number, "", reason)
            continue
        errors = [
            RowError(
                number,
                key,
                f"unknown field {key!r}; allowed fields are {_JSONL_ALLOWED}",
            )
            for key in values
            if key not in _FIELD_SET and key not in MERCHANT_CENTER_EXTRAS
        ]
        yield _RawRow(number, values, errors)


def _column_name(header: str) -> str:
    # Merchant Center accepts "image link", "Image_Link" and "g:image_link" alike.
    return "_".join(header.strip().lower().removeprefix("g:").split())


def _tsv_columns(header: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, raw_name in enumerate(header):
        name = _column_name(raw_name)
        if name in _FIELD_SET:
            if name in columns:
                raise FeedFormatError(f"TSV header names the column {name!r} twice; keep one of them")
            columns[name] = index
    missing = [name for name in REQUIRED_FIELDS if name not in columns]
    if missing:
        raise FeedFormatError(
            f"TSV header is missing required columns: {', '.join(missing)}; the first line must "
            "name the columns, separated by tabs, e.g. id, title, link, price, brand"
        )
    return columns


def _tsv_rows(text: str) -> Iterator[_RawRow | RowError]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t")
    try:
        header = next(reader)
        columns = _tsv_columns(header)
        while True:
            number = reader.line_num + 1  # a quoted value may span lines; report where the row starts
            cells = next(reader, None)
            if cells is None:
                return
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                reason = (
                    f"row has {len(cells)} columns but the header has {len(header)}; "
                    "check for tabs inside values or missing columns"
                )
                yield RowError(number, "", reason)
                continue
            yield _RawRow(number, {name: cells[i] for name, i in columns.items()}, [])
    except csv.Error as exc:
        raise FeedFormatError(f"TSV can't be read near line {reader.line_num}: {exc}") from exc


def _rss_root(text: str) -> ET.Element:
    # ElementTree expands internal entities, so a DOCTYPE could carry an XML bomb; no feed needs one.
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise FeedFormatError("XML feeds must not contain DOCTYPE or ENTITY declarations; remove them")
    try:
        return ET.fromstring(text)  # noqa: S314 - DOCTYPE refused above
    except ET.ParseError as exc:
        raise FeedFormatError(f"XML is not well formed ({exc}); check the feed in an XML validator") from exc


def _rss_rows(text: str) -> Iterator[_RawRow | RowError]:
    root = _rss_root(text)
    channel = root.find("channel") if root.tag == "rss" else None
    if channel is None:
        raise FeedFormatError(
            f"not an RSS 2.0 feed: the root element is <{root.tag}>; expected "
            f"<rss><channel><item>...</item></channel></rss> with fields in the {GOOGLE_NS} namespace"
        )
    google = f"{{{GOOGLE_NS}}}"
    for number, item in enumerate(channel.iterfind("item"), start=1):
        plain: dict[str, object] = {}
        namespaced: dict[str, object] = {}
        for child in item:
            if child.tag.startswith(google):
                namespaced.setdefault(child.tag.removeprefix(google), child.text or "")
            elif child.tag in _RSS_PLAIN_FIELDS:
                plain.setdefault(child.tag, child.text or "")
        # g:title and friends are Merchant Center's own, so they win over the plain RSS ones.
        yield _RawRow(number, plain | namespaced, [])


_READERS: dict[FeedFormat, Callable[[str], Iterator[_RawRow | RowError]]] = {
    FeedFormat.JSONL: _jsonl_rows,
    FeedFormat.TSV: _tsv_rows,
    FeedFormat.RSS: _rss_rows,
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


def parse_feed(data: bytes, fmt: FeedFormat) -> ParsedFeed:
    """Read every row, keeping the valid products and a RowError for each problem."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedFormatError(
            f"the feed is not UTF-8 (invalid byte at offset {exc.start}); export or save it as UTF-8"
        ) from exc
    if not text.strip():
        raise FeedFormatError("the feed is empty; send at least one product")
    feed = ParsedFeed(rows=0, products=[], errors=[])
    first_seen: dict[str, int] = {}
    for raw in _READERS[fmt](text):
        feed.rows += 1
        if isinstance(raw, RowError):
            feed.errors.append(raw)
            continue
        built = _build(raw, first_seen)
        if isinstance(built, FeedProduct):
            feed.products.append(built)
        else:
            feed.errors.extend(built)
    return feed
