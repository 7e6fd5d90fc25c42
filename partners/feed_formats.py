"""Read each feed format (JSON lines, Merchant Center TSV, RSS 2.0) as a stream of raw, unvalidated rows."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO, NamedTuple, TextIO

import msgspec

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
_JSONL_KEYS = _FIELD_SET | MERCHANT_CENTER_EXTRAS
_JSONL_ALLOWED = ", ".join(FIELDS)
_RSS_PLAIN_FIELDS = frozenset({"title", "link", "description"})

# No product row comes near this; a longer line is a broken file and must not fill memory.
MAX_LINE_CHARS = 1024 * 1024
# A DOCTYPE can only come before the root element, so this much is read and checked first.
PROLOG_CHARS = 64 * 1024
EMPTY = "the feed is empty; send at least one product"


class FeedFormatError(ValueError):
    """The feed as a whole can't be read; the message says where and how to fix it."""


class RowError(msgspec.Struct, frozen=True):
    row: int
    field: str
    reason: str


class RawRow(NamedTuple):
    row: int
    values: Mapping[str, object]
    errors: list[RowError]  # the reader's findings; owned by this row, validation adds to it


# --- text lines, for JSON lines and TSV ---


# surrogateescape turns each byte that is not UTF-8 into one of these, so it is found on its own line.
_UNDECODED = re.compile("[\udc80-\udcff]")


def _lines(stream: BinaryIO, newline: str) -> Iterator[str]:
    """Decode line by line, so a bad byte is reported at its line and no line can fill memory."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline=newline)
    number = 0
    try:
        while line := text.readline(MAX_LINE_CHARS):
            number += 1
            if len(line) == MAX_LINE_CHARS and line[-1] not in "\r\n":
                raise FeedFormatError(
                    f"line {number} is longer than {MAX_LINE_CHARS} characters; end every row with a line break"
                )
            if not line.isascii() and (bad := _UNDECODED.search(line)):
                raise FeedFormatError(
                    f"the feed is not UTF-8: line {number}, character {bad.start() + 1} is a byte that is not "
                    "valid UTF-8; export or save the feed as UTF-8"
                )
            yield line
    finally:
        if not text.closed:
            text.detach()  # the caller's stream stays open; it is theirs to close


_JSON_OBJECT = msgspec.json.Decoder(dict[str, Any])


def jsonl_rows(stream: BinaryIO) -> Iterator[RawRow | RowError]:
    empty = True
    for number, line in enumerate(_lines(stream, "\n"), start=1):
        if line.isspace():
            continue
        empty = False
        try:
            values = _JSON_OBJECT.decode(line)
        except msgspec.DecodeError as exc:
            reason = f'line is not a JSON object ({exc}); write one object per line, like {{"id": "sku-1", ...}}'
            yield RowError(number, "", reason)
            continue
        if _JSONL_KEYS.issuperset(values):
            yield RawRow(number, values, [])
            continue
        errors = [
            RowError(number, key, f"unknown field {key!r}; allowed fields are {_JSONL_ALLOWED}")
            for key in values
            if key not in _JSONL_KEYS
        ]
        yield RawRow(number, values, errors)
    if empty:
        raise FeedFormatError(EMPTY)


# --- TSV ---


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


def _blank(cells: list[str]) -> bool:
    return not "".join(cells).strip()


def tsv_rows(stream: BinaryIO) -> Iterator[RawRow | RowError]:
    # newline="" so that csv sees the line ends itself: a quoted value may hold a tab or a line break.
    reader = csv.reader(_lines(stream, ""), delimiter="\t")
    try:
        header = next(reader, None)
        if header is None or (_blank(header) and all(_blank(cells) for cells in reader)):
            raise FeedFormatError(EMPTY)
        columns = _tsv_columns(header)
        while True:
            number = reader.line_num + 1  # a quoted value may span lines; report where the row starts
            cells = next(reader, None)
            if cells is None:
                return
            if _blank(cells):
                continue
            if len(cells) != len(header):
                reason = (
                    f"row has {len(cells)} columns but the header has {len(header)}; "
                    "check for tabs inside values or missing columns"
                )
                yield RowError(number, "", reason)
                continue
            yield RawRow(number, {name: cells[i] for name, i in columns.items()}, [])
    except csv.Error as exc:
        raise FeedFormatError(f"TSV can't be read near line {reader.line_num}: {exc}") from exc


# --- RSS 2.0 ---

# Whitespace, the XML declaration, processing instructions and comments: all that may precede
# the root element except a DOCTYPE.
_PROLOG = re.compile(r"\s*(?:(?:<\?.*?\?>|<!--.*?-->)\s*)*", re.DOTALL)


class _Rejoined:
    """The prolog already read, then the rest of the text: what the XML parser reads from."""

    def __init__(self, head: str, rest: TextIO) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> str:
        head, self._head = self._head, ""
        return head or self._rest.read(size)


def _checked_prolog(text: TextIO) -> str:
    """Read up to the root element and refuse a DOCTYPE there.

    ElementTree expands internal entities, so a DOCTYPE could carry an XML bomb; no feed needs one.
    """
    head = text.read(PROLOG_CHARS)
    full = len(head) == PROLOG_CHARS
    if not full and not head.strip():
        raise FeedFormatError(EMPTY)
    match = _PROLOG.match(head)
    after = head[match.end() :] if match else head
    if after.startswith("<!") and not "<!--".startswith(after[:4]):
        raise FeedFormatError("XML feeds must not contain DOCTYPE or ENTITY declarations; remove them")
    if full and not (after[:1] == "<" and after[1:2] not in ("!", "?", "")):
        raise FeedFormatError(
            f"the XML before the root element is longer than {PROLOG_CHARS} characters; remove the comments there"
        )
    return head


def _not_rss(tag: str) -> FeedFormatError:
    return FeedFormatError(
        f"not an RSS 2.0 feed: the root element is <{tag}>; expected "
        f"<rss><channel><item>...</item></channel></rss> with fields in the {GOOGLE_NS} namespace"
    )


def _item_values(item: ET.Element) -> dict[str, object]:
    google = f"{{{GOOGLE_NS}}}"
    plain: dict[str, object] = {}
    namespaced: dict[str, object] = {}
    for child in item:
        if child.tag.startswith(google):
            namespaced.setdefault(child.tag.removeprefix(google), child.text or "")
        elif child.tag in _RSS_PLAIN_FIELDS:
            plain.setdefault(child.tag, child.text or "")
    # g:title and friends are Merchant Center's own, so they win over the plain RSS ones.
    return plain | namespaced


def _rss_items(source: _Rejoined) -> Iterator[RawRow]:
    """Each <item> of the first <channel>, in order; finished elements are dropped so memory stays flat."""
    root = top = ET.Element("rss")  # stand-ins until the document's own root and its open child start
    channel: ET.Element | None = None
    depth = number = 0
    for event, elem in ET.iterparse(source, events=("start", "end")):  # noqa: S314 - DOCTYPE refused before
        if event == "start":
            depth += 1
            if depth == 1:
                if elem.tag != "rss":
                    raise _not_rss(elem.tag)
                root = elem
            elif depth == 2:
                top = elem
                if channel is None and elem.tag == "channel":
                    channel = elem
            continue
        depth -= 1
        if depth == 2:  # a child of a child of <rss> is complete: an item, if that child is the channel
            if top is channel and elem.tag == "item":
                number += 1
                yield RawRow(number, _item_values(elem), [])
            top.clear()
        elif depth == 1:
            root.clear()
    if channel is None:
        raise _not_rss(root.tag)


def _at_offset(stream: BinaryIO, exc: UnicodeDecodeError) -> str:
    # The decoder failed on the chunk that was read last, so the stream's position is just past it.
    try:
        return f" (invalid byte at offset {stream.tell() - len(exc.object) + exc.start:,})"
    except (OSError, ValueError):
        return ""


def rss_rows(stream: BinaryIO) -> Iterator[RawRow]:
    # Decoding first keeps UTF-8 the one encoding, whatever the XML declaration claims.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    items = 0
    try:
        for raw in _rss_items(_Rejoined(_checked_prolog(text), text)):
            items = raw.row
            yield raw
    except ET.ParseError as exc:
        raise FeedFormatError(
            f"XML is not well formed ({exc}, after item {items}); check the feed in an XML validator"
        ) from exc
    except UnicodeDecodeError as exc:
        raise FeedFormatError(f"the feed is not UTF-8{_at_offset(stream, exc)}; export or save it as UTF-8") from exc
    finally:
        if not text.closed:
            text.detach()
