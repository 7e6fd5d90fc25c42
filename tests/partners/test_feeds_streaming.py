"""Large feeds stream from disk a row at a time: gzip or not, with whole-feed problems named where they occur."""

import gzip
import io
import time
from pathlib import Path
from typing import BinaryIO

import msgspec
import pytest

from partners.feeds import (
    FeedFormat,
    FeedFormatError,
    FeedProduct,
    FeedRow,
    detect_format,
    iter_feed,
    open_feed,
    parse_feed,
    sniff,
)

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "formats" / "google_merchant_rss2_feed_example.xml"
GOOD = {
    "id": "sku-1",
    "title": "Black analog watch",
    "link": "https://shop.example/p/1",
    "price": "105.29 USD",
    "brand": "Diesel",
}


def product_line(n: int) -> bytes:
    return msgspec.json.encode(GOOD | {"id": f"sku-{n}", "title": f"Trail Running Socks {n}"}) + b"\n"


def write(path: Path, data: bytes, *, compress: bool = False) -> Path:
    path.write_bytes(gzip.compress(data, compresslevel=1) if compress else data)
    return path


def read_all(path: Path, fmt: FeedFormat) -> list[FeedRow]:
    with open_feed(path) as stream:
        return list(iter_feed(stream, fmt))


def rows_before_failure(stream: BinaryIO, fmt: FeedFormat) -> tuple[int, str]:
    read = 0
    try:
        for _ in iter_feed(stream, fmt):
            read += 1
    except FeedFormatError as exc:
        return read, str(exc)
    pytest.fail(f"all {read} rows were read without a FeedFormatError")


# --- gzip ---


@pytest.mark.parametrize("fmt", list(FeedFormat))
def test_gzip_upload_parses_the_same_as_plain(tmp_path: Path, fmt: FeedFormat) -> None:
    feeds = {
        FeedFormat.JSONL: b"".join(product_line(n) for n in range(3)) + b'{"id": "bad", "price": "1 DOLLAR"}\n',
        FeedFormat.TSV: b"id\ttitle\tlink\tprice\tbrand\r\na\tWatch\thttps://s.example/a\t1 USD\tAcme\r\nb\t\t\t\t\r\n",
        FeedFormat.RSS: (
            b'<rss xmlns:g="http://base.google.com/ns/1.0"><channel><item><g:id>a</g:id><title>W</title>'
            b"<link>https://s.example/a</link><g:price>1 USD</g:price><g:brand>B</g:brand></item>"
            b"<item><g:id>b</g:id></item></channel></rss>"
        ),
    }
    data = feeds[fmt]
    plain = read_all(write(tmp_path / "plain.feed", data), fmt)
    packed = write(tmp_path / "upload.feed", data, compress=True)  # the name says nothing about gzip
    assert read_all(packed, fmt) == plain
    assert [row.product for row in plain if row.product] == parse_feed(data, fmt).products
    assert detect_format(None, sniff(packed)) == fmt


def test_gzip_upload_cut_short_is_refused_after_the_rows_it_held(tmp_path: Path) -> None:
    data = gzip.compress(b"".join(product_line(n) for n in range(20_000)))
    path = write(tmp_path / "cut.feed", data[: len(data) // 2])
    with open_feed(path) as stream:
        read, message = rows_before_failure(stream, FeedFormat.JSONL)
    assert read > 0
    assert f"cut short or damaged after row {read}" in message


def test_gzip_of_an_empty_feed_is_refused_as_empty(tmp_path: Path) -> None:
    with pytest.raises(FeedFormatError, match="empty"):
        read_all(write(tmp_path / "empty.feed", b"\n \n", compress=True), FeedFormat.JSONL)


# --- whole-feed problems met part way ---


def test_invalid_utf8_deep_in_a_jsonl_feed_names_its_line(tmp_path: Path) -> None:
    lines = [product_line(n) for n in range(1, 10_001)]
    lines[6_999] = lines[6_999].replace(b"Trail", b"Tr\xe9il")
    with open_feed(write(tmp_path / "latin1.feed", b"".join(lines), compress=True)) as stream:
        read, message = rows_before_failure(stream, FeedFormat.JSONL)
    assert read == 6_999
    assert "not UTF-8: line 7000, character" in message


def test_invalid_utf8_in_a_tsv_feed_counts_old_mac_line_ends_and_multiline_values() -> None:
    rows = [f'p{n}\tSock {n}\thttps://s.example/{n}\t1 USD\t"Trail\rwind"' for n in range(1, 3_001)]
    data = "\r".join(["id\ttitle\tlink\tprice\tbrand", *rows]).encode().replace(b"Sock 2500", b"S\xffck 2500")
    read, message = rows_before_failure(io.BytesIO(data), FeedFormat.TSV)
    assert read == 2_499
    assert "not UTF-8: line 5000," in message  # each row spans two lines; the header is line 1


def test_xml_broken_in_the_middle_names_the_last_good_item() -> None:
    items = "".join(
        f"<item><g:id>i{n}</g:id><title>Watch</title><link>https://s.example/{n}</link>"
        f"<g:price>1 USD</g:price><g:brand>Acme</g:brand></item>\n"
        for n in range(1, 2_001)
    ).replace("<g:id>i1500</g:id>", "<g:id>i1500</g:ident>")
    data = f'<rss xmlns:g="http://base.google.com/ns/1.0"><channel>{items}</channel></rss>'.encode()
    read, message = rows_before_failure(io.BytesIO(data), FeedFormat.RSS)
    assert read == 1_499
    assert "not well formed (mismatched tag: line 1500" in message
    assert "after item 1499" in message


def test_xml_with_invalid_utf8_gives_the_byte_offset() -> None:
    data = b"<rss><channel><item><title>Caf\xe9</title></item></channel></rss>"
    _, message = rows_before_failure(io.BytesIO(data), FeedFormat.RSS)
    assert f"not UTF-8 (invalid byte at offset {data.index(0xE9)})" in message


def test_a_line_too_long_to_be_a_row_is_refused_rather_than_read_into_memory() -> None:
    data = product_line(1) + b'{"description": "' + b"x" * 2_000_000 + b'"}\n'
    read, message = rows_before_failure(io.BytesIO(data), FeedFormat.JSONL)
    assert (read, "line 2 is longer than") == (1, message[: len("line 2 is longer than")])


# --- rows as the caller sees them ---


def test_rejected_rows_keep_their_line_and_the_id_when_one_could_be_read() -> None:
    data = b"".join(
        [
            product_line(1),
            msgspec.json.encode({"id": "sku-2", "price": "1 USD"}) + b"\n",  # no title, link or brand
            b'["not", "an object"]\n',
            b"\n",
            msgspec.json.encode(GOOD | {"id": "sku-1", "title": "Again"}) + b"\n",
            msgspec.json.encode(GOOD | {"id": "x" * 51}) + b"\n",
        ]
    )
    rows = list(iter_feed(io.BytesIO(data), FeedFormat.JSONL))
    assert [(row.row, row.id, row.product is None) for row in rows] == [
        (1, "sku-1", False),
        (2, "sku-2", True),
        (3, "", True),
        (5, "sku-1", True),  # a duplicate: rejected, but it names the product it repeats
        (6, "", True),  # an id too long to be one
    ]
    assert rows[0].errors == []
    assert [(e.row, e.field) for e in rows[1].errors] == [(2, "title"), (2, "link"), (2, "brand")]
    assert "first seen on row 1" in rows[3].errors[0].reason


def test_the_callers_stream_is_left_open() -> None:
    stream = io.BytesIO(product_line(1))
    assert len(list(iter_feed(stream, FeedFormat.JSONL))) == 1
    assert not stream.closed


def test_a_hundred_thousand_rows_stream_from_gzip_in_seconds(tmp_path: Path) -> None:
    count = 100_000
    path = write(tmp_path / "big.feed", b"".join(product_line(n) for n in range(count)), compress=True)
    started = time.perf_counter()
    accepted = last = 0
    with open_feed(path) as stream:
        for row in iter_feed(stream, FeedFormat.JSONL):
            accepted += row.product is not None
            last = row.row
    elapsed = time.perf_counter() - started
    assert (accepted, last) == (count, count)
    assert elapsed < 15, f"{count} rows took {elapsed:.1f}s"  # ~1s when the machine is idle


# --- RSS ---

SAMPLE_PRODUCTS = [
    FeedProduct(
        id=f"celebird-eg-variants-apparel-upi-00{n}",
        title=f"Diesel Men's {colour} Stainless-Steel Analog Watch with {dial} Dial",
        link=f"http://www.example.com/shop?products=variants-apparel-upi&color={param}&size=44mm&country=US",
        price_minor=10529,
        currency="USD",
        brand="Diesel",
        description=(
            f"Cutting edge style watch with a {case} plastic round case, {dial_text} dial, {strap} silicone strap, "
            "3-hand quartz analog movement. Scratch resistant mineral crystal face. Water resistant up to 50 meters. "
            "Case size: 44mm. Band width: 24mm."
        ),
        image_link=f"http://www.example.com/image/watch-{image}.png",
        google_product_category="Apparel & Accessories > Jewelry > Watches",
        product_type="accessories > watches",
        availability="in_stock",
        gtin=gtin,
    )
    for n, colour, dial, param, case, dial_text, strap, image, gtin in [
        (1, "Black", "Black", "Black", "matte black", "matte black", "black", "black", "698615070527"),
        (2, "White", "Copper", "White%2FYellow", "white", "copper/yellow", "white", "white", "698615086467"),
    ]
]


@pytest.fixture
def sample() -> bytes:
    if not SAMPLE.exists():
        pytest.skip(f"shared data not present at {SAMPLE}")
    return SAMPLE.read_bytes()


def test_rss_sample_streams_to_the_same_products(sample: bytes, tmp_path: Path) -> None:
    rows = read_all(write(tmp_path / "sample.feed", sample, compress=True), FeedFormat.RSS)
    assert [(row.row, row.errors) for row in rows] == [(1, []), (2, [])]
    assert [row.product for row in rows] == SAMPLE_PRODUCTS
    assert parse_feed(sample, FeedFormat.RSS).products == SAMPLE_PRODUCTS


def test_rss_feed_of_many_items_streams_each_like_the_sample(sample: bytes) -> None:
    head, rest = sample.split(b"<item>", 1)
    item, tail = rest.rsplit(b"</item>", 1)
    first = b"<item>" + item.split(b"</item>", 1)[0] + b"</item>"
    copies = b"\n".join(first.replace(b"upi-001<", f"upi-{n}<".encode()) for n in range(3_000))
    rows = list(iter_feed(io.BytesIO(head + copies + tail), FeedFormat.RSS))
    assert [row.row for row in rows] == list(range(1, 3_001))
    assert {row.product.gtin for row in rows if row.product} == {"698615070527"}
    assert rows[-1].id == "celebird-eg-variants-apparel-upi-2999"


def test_rss_doctype_is_refused_even_after_a_comment() -> None:
    data = b'<?xml version="1.0"?>\n<!-- exported by Shop -->\n<!DOCTYPE rss [<!ENTITY a "b">]><rss/>'
    with pytest.raises(FeedFormatError, match="DOCTYPE"):
        list(iter_feed(io.BytesIO(data), FeedFormat.RSS))


def test_rss_text_may_mention_a_doctype() -> None:
    item = (
        "<item><g:id>a</g:id><title><![CDATA[<!DOCTYPE html> Watch]]></title><link>https://s.example/a</link>"
        "<g:price>1 USD</g:price><g:brand>B</g:brand></item>"
    )
    data = f'<rss xmlns:g="http://base.google.com/ns/1.0"><channel>{item}</channel></rss>'.encode()
    [product] = parse_feed(data, FeedFormat.RSS).products
    assert product.title == "<!DOCTYPE html> Watch"


def test_rss_is_read_as_utf8_whatever_its_declaration_says() -> None:
    item = (
        "<item><g:id>a</g:id><title>Café</title><link>https://s.example/a</link>"
        "<g:price>1 USD</g:price><g:brand>B</g:brand></item>"
    )
    data = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>'
        f'<rss xmlns:g="http://base.google.com/ns/1.0"><channel>{item}</channel></rss>'
    ).encode()
    [product] = parse_feed(data, FeedFormat.RSS).products
    assert product.title == "Café"
