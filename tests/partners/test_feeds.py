"""Partner feeds become validated products, with a row-and-field error for every problem."""

from pathlib import Path

import msgspec
import pytest

from partners.feeds import (
    FeedFormat,
    FeedFormatError,
    FeedProduct,
    RowError,
    detect_format,
    parse_feed,
)

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
GOOD = {
    "id": "sku-1",
    "title": "Black analog watch",
    "link": "https://shop.example/p/1",
    "price": "105.29 USD",
    "brand": "Diesel",
}
TSV_HEADER = "id\ttitle\tlink\tprice\tbrand"


def jsonl(*rows: dict[str, object]) -> bytes:
    return b"\n".join(msgspec.json.encode(row) for row in rows)


def tsv(*lines: str) -> bytes:
    return "\n".join(lines).encode()


def rss(*items: str) -> bytes:
    body = "".join(f"<item>{item}</item>" for item in items)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">'
        f"<channel><title>Shop</title>{body}</channel></rss>"
    ).encode()


def one_error(data: bytes, fmt: FeedFormat = FeedFormat.JSONL) -> RowError:
    feed = parse_feed(data, fmt)
    assert feed.products == []
    assert len(feed.errors) == 1, feed.errors
    return feed.errors[0]


# --- RSS ---


def test_rss_sample_from_merchant_center_parses() -> None:
    sample = SHARED_DATA / "formats" / "google_merchant_rss2_feed_example.xml"
    if not sample.exists():
        pytest.skip(f"shared data not present at {SHARED_DATA}")
    data = sample.read_bytes()
    feed = parse_feed(data, detect_format(None, data))
    assert (feed.rows, feed.errors) == (2, [])
    watch = feed.products[0]
    assert watch.id == "celebird-eg-variants-apparel-upi-001"
    assert (watch.price_minor, watch.currency) == (10529, "USD")
    assert watch.availability == "in_stock"
    assert watch.gtin == "698615070527"
    assert watch.google_product_category == "Apparel & Accessories > Jewelry > Watches"
    assert "&color=Black" in watch.link


def test_rss_price_nested_in_shipping_is_not_the_item_price() -> None:
    item = (
        "<g:id>a</g:id><title>Watch</title><link>https://shop.example/a</link>"
        "<g:shipping><g:price>0.00 USD</g:price></g:shipping>"
        "<g:price>12.00 EUR</g:price><g:brand>Acme</g:brand>"
    )
    [product] = parse_feed(rss(item), FeedFormat.RSS).products
    assert (product.price_minor, product.currency) == (1200, "EUR")


def test_rss_google_title_wins_over_the_plain_rss_title() -> None:
    item = (
        "<g:id>a</g:id><title>Channel-style title</title><g:title>Merchant title</g:title>"
        "<g:link>https://shop.example/a</g:link><g:price>1 USD</g:price><g:brand>Acme</g:brand>"
    )
    [product] = parse_feed(rss(item), FeedFormat.RSS).products
    assert product.title == "Merchant title"


def test_rss_row_is_the_items_position() -> None:
    good = "<g:id>a</g:id><title>T</title><link>https://shop.example/a</link>"
    good += "<g:price>1 USD</g:price><g:brand>B</g:brand>"
    bad = good.replace("<g:id>a</g:id>", "<g:id>b</g:id>").replace("1 USD", "1 DOLLARS")
    feed = parse_feed(rss(good, bad), FeedFormat.RSS)
    assert [(e.row, e.field) for e in feed.errors] == [(2, "price")]


def test_xml_with_doctype_is_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b"<rss><channel><item><title>&lol2;</title></item></channel></rss>"
    )
    with pytest.raises(FeedFormatError, match="DOCTYPE"):
        parse_feed(bomb, FeedFormat.RSS)


def test_xml_that_is_not_well_formed_is_refused() -> None:
    with pytest.raises(FeedFormatError, match="not well formed"):
        parse_feed(b"<rss><channel><item></channel></rss>", FeedFormat.RSS)


def test_atom_feed_is_not_an_rss_feed() -> None:
    atom = b'<feed xmlns="http://www.w3.org/2005/Atom"><entry/></feed>'
    with pytest.raises(FeedFormatError, match=r"not an RSS 2\.0 feed"):
        parse_feed(atom, FeedFormat.RSS)


# --- TSV ---


def test_tsv_reports_row_and_field_for_each_bad_row() -> None:
    data = tsv(
        TSV_HEADER,
        "a\tWatch\thttps://shop.example/a\t10.00 USD\tAcme",
        "b\tWatch\tshop.example/b\t10.00 USD\tAcme",
        "c\tWatch\thttps://shop.example/c\t10.001 USD\tAcme",
        "d\t\thttps://shop.example/d\t10.00 USD\t",
    )
    feed = parse_feed(data, FeedFormat.TSV)
    assert feed.rows == 4
    assert [p.id for p in feed.products] == ["a"]
    assert [(e.row, e.field) for e in feed.errors] == [
        (3, "link"),
        (4, "price"),
        (5, "title"),
        (5, "brand"),
    ]
    assert "absolute http or https URL" in feed.errors[0].reason
    assert "more decimal places than USD allows" in feed.errors[1].reason


def test_tsv_header_is_case_insensitive_and_accepts_display_names() -> None:
    header = "ID\tTitle\tLink\tg:price\tBrand\tImage Link\tgoogle product category\tSale Price"
    row = "a\tWatch\thttps://shop.example/a\t5 GBP\tAcme\thttps://img.example/a.png\t201\t4 GBP"
    [product] = parse_feed(tsv(header, row), FeedFormat.TSV).products
    assert product.image_link == "https://img.example/a.png"
    assert product.google_product_category == "201"
    assert product.price_minor == 500


def test_tsv_without_required_columns_names_the_missing_ones() -> None:
    with pytest.raises(FeedFormatError, match="missing required columns: price, brand"):
        parse_feed(tsv("id\ttitle\tlink", "a\tWatch\thttps://shop.example/a"), FeedFormat.TSV)


def test_tsv_row_with_wrong_column_count_is_a_whole_row_error() -> None:
    error = one_error(tsv(TSV_HEADER, "a\tWatch\thttps://shop.example/a\t1 USD"), FeedFormat.TSV)
    assert (error.row, error.field) == (2, "")
    assert "4 columns but the header has 5" in error.reason


def test_tsv_quoted_value_may_hold_a_tab_and_a_newline() -> None:
    header = TSV_HEADER + "\tdescription"
    data = tsv(
        header,
        'a\tWatch\thttps://shop.example/a\t1 USD\tAcme\t"tab\there\nand a new line"',
        "b\tWatch\thttps://shop.example/b\t1 USD\t\t",
    )
    feed = parse_feed(data, FeedFormat.TSV)
    assert feed.products[0].description == "tab\there\nand a new line"
    assert [(e.row, e.field) for e in feed.errors] == [(4, "brand")]


# --- JSON lines ---


def test_jsonl_unknown_field_is_rejected_with_allowed_list() -> None:
    error = one_error(jsonl(GOOD | {"colour": "black"}))
    assert (error.row, error.field) == (1, "colour")
    assert error.reason.startswith("unknown field 'colour'; allowed fields are id, title, link")


def test_jsonl_ignores_merchant_center_attributes() -> None:
    extras = {"sale_price": "9.00 USD", "condition": "new", "custom_label_4": "x"}
    feed = parse_feed(jsonl(GOOD | extras), FeedFormat.JSONL)
    assert (len(feed.products), feed.errors) == (1, [])


@pytest.mark.parametrize(
    "price",
    [
        "15.00 USD",
        "USD 15.00",
        {"value": "15.00", "currency": "USD"},
        {"amount_minor": 1500, "currency": "usd"},
    ],
)
def test_jsonl_accepts_merchant_and_content_api_prices(price: object) -> None:
    [product] = parse_feed(jsonl(GOOD | {"price": price}), FeedFormat.JSONL).products
    assert (product.price_minor, product.currency) == (1500, "USD")


@pytest.mark.parametrize(
    "price",
    [
        15.0,
        {"value": 15.0, "currency": "USD"},
        {"amount_minor": "1500", "currency": "USD"},
        {"value": "15.00"},
        {"value": "15.00", "currency": "ZZZ"},
        "0.00 USD",
        {"amount_minor": -5, "currency": "USD"},
    ],
)
def test_jsonl_bad_prices_are_rejected(price: object) -> None:
    assert one_error(jsonl(GOOD | {"price": price})).field == "price"


def test_jsonl_line_that_is_not_an_object_is_a_whole_row_error() -> None:
    data = jsonl(GOOD) + b'\n["sku-2"]\n{"id": '
    feed = parse_feed(data, FeedFormat.JSONL)
    assert feed.rows == 3
    assert [(e.row, e.field) for e in feed.errors] == [(2, ""), (3, "")]
    assert "not a JSON object" in feed.errors[0].reason


def test_jsonl_blank_lines_are_skipped_but_rows_keep_file_line_numbers() -> None:
    data = jsonl(GOOD) + b"\n\n  \n" + jsonl(GOOD | {"id": "sku-2", "link": "ftp://x"})
    feed = parse_feed(data, FeedFormat.JSONL)
    assert feed.rows == 2
    assert [(e.row, e.field) for e in feed.errors] == [(4, "link")]


def test_jsonl_text_fields_must_be_strings() -> None:
    assert one_error(jsonl(GOOD | {"gtin": 698615070527})).field == "gtin"


# --- rules shared by every format ---


def test_every_missing_required_field_is_reported() -> None:
    feed = parse_feed(jsonl({"id": " ", "description": "only this"}), FeedFormat.JSONL)
    assert [e.field for e in feed.errors] == ["id", "title", "link", "price", "brand"]
    assert "like '15.00 USD'" in feed.errors[3].reason


def test_duplicate_id_in_one_feed() -> None:
    data = jsonl(GOOD, GOOD | {"id": "sku-2"}, GOOD | {"title": "Same id again"})
    feed = parse_feed(data, FeedFormat.JSONL)
    assert [p.id for p in feed.products] == ["sku-1", "sku-2"]
    [error] = feed.errors
    assert (error.row, error.field) == (3, "id")
    assert "first seen on row 1" in error.reason


def test_values_are_stripped() -> None:
    padded = {k: f"  {v}\t" for k, v in GOOD.items()}
    [product] = parse_feed(jsonl(padded), FeedFormat.JSONL).products
    assert product == FeedProduct(
        id="sku-1",
        title="Black analog watch",
        link="https://shop.example/p/1",
        price_minor=10529,
        currency="USD",
        brand="Diesel",
    )


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("in stock", "in_stock"),
        ("In_Stock", "in_stock"),
        ("out of stock", "out_of_stock"),
        ("preorder", "preorder"),
        ("backorder", "backorder"),
    ],
)
def test_availability_is_normalised(written: str, normalised: str) -> None:
    [product] = parse_feed(jsonl(GOOD | {"availability": written}), FeedFormat.JSONL).products
    assert product.availability == normalised


def test_unknown_availability_lists_the_allowed_values() -> None:
    error = one_error(jsonl(GOOD | {"availability": "maybe"}))
    assert "in_stock, out_of_stock, preorder, backorder" in error.reason


@pytest.mark.parametrize("gtin", ["698615070527", "4006381333931", "96385074", "00012345600012"])
def test_valid_gtins_are_kept(gtin: str) -> None:
    [product] = parse_feed(jsonl(GOOD | {"gtin": gtin}), FeedFormat.JSONL).products
    assert product.gtin == gtin


def test_gtin_with_a_wrong_check_digit_is_rejected() -> None:
    error = one_error(jsonl(GOOD | {"gtin": "698615070528"}))
    assert "last digit should be 7" in error.reason


@pytest.mark.parametrize("gtin", ["12345", "6986150705270000", "69861507052a", "698 615 070 527"])
def test_gtin_must_be_8_12_13_or_14_digits(gtin: str) -> None:
    assert "8, 12, 13 or 14 digits" in one_error(jsonl(GOOD | {"gtin": gtin})).reason


@pytest.mark.parametrize(("field", "limit"), [("id", 50), ("title", 150), ("brand", 70), ("description", 5000)])
def test_text_longer_than_merchant_center_allows_is_rejected(field: str, limit: int) -> None:
    assert parse_feed(jsonl(GOOD | {field: "x" * limit}), FeedFormat.JSONL).errors == []
    error = one_error(jsonl(GOOD | {field: "x" * (limit + 1)}))
    assert (error.field, f"at most {limit}" in error.reason) == (field, True)


@pytest.mark.parametrize("link", ["/p/1", "ftp://shop.example/p", "https://", "javascript:x"])
def test_links_must_be_absolute_http_urls(link: str) -> None:
    assert one_error(jsonl(GOOD | {"image_link": link})).field == "image_link"


def test_link_that_urllib_cannot_split_is_a_row_error() -> None:
    assert one_error(jsonl(GOOD | {"link": "https://[::1/p"})).field == "link"


@pytest.mark.parametrize("category", ["201", "Apparel & Accessories > Jewelry > Watches", "Toys"])
def test_category_is_an_id_or_a_path(category: str) -> None:
    [product] = parse_feed(jsonl(GOOD | {"google_product_category": category}), FeedFormat.JSONL).products
    assert product.google_product_category == category


@pytest.mark.parametrize("category", ["Apparel >> Watches", "> Watches", "Apparel >"])
def test_category_path_with_an_empty_level_is_rejected(category: str) -> None:
    assert one_error(jsonl(GOOD | {"google_product_category": category})).field == ("google_product_category")


def test_feed_with_a_bom_parses() -> None:
    feed = parse_feed(b"\xef\xbb\xbf" + tsv(TSV_HEADER, "a\tW\thttps://s.example/a\t1 USD\tB"), FeedFormat.TSV)
    assert len(feed.products) == 1


def test_feed_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(FeedFormatError, match="not UTF-8"):
        parse_feed(jsonl(GOOD).replace(b"Diesel", b"Di\xe9sel"), FeedFormat.JSONL)


@pytest.mark.parametrize("fmt", list(FeedFormat))
def test_empty_feed_is_refused(fmt: FeedFormat) -> None:
    with pytest.raises(FeedFormatError, match="empty"):
        parse_feed(b" \n\n", fmt)


def test_large_jsonl_feed_parses_every_row() -> None:
    rows = [GOOD | {"id": f"sku-{n}", "gtin": "698615070527"} for n in range(20_000)]
    feed = parse_feed(jsonl(*rows), FeedFormat.JSONL)
    assert (feed.rows, len(feed.products), feed.errors) == (20_000, 20_000, [])


# --- format detection ---


@pytest.mark.parametrize(
    ("content_type", "fmt"),
    [
        ("application/x-ndjson", FeedFormat.JSONL),
        ("application/jsonl; charset=utf-8", FeedFormat.JSONL),
        ("application/json-lines", FeedFormat.JSONL),
        ("text/tab-separated-values", FeedFormat.TSV),
        ("application/rss+xml", FeedFormat.RSS),
        ("Application/XML", FeedFormat.RSS),
        ("text/xml; charset=UTF-8", FeedFormat.RSS),
    ],
)
def test_format_follows_the_content_type(content_type: str, fmt: FeedFormat) -> None:
    assert detect_format(content_type, b"") == fmt


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (b"\xef\xbb\xbf  \n<?xml version='1.0'?><rss/>", FeedFormat.RSS),
        (b'{\t"id": "a"}\n', FeedFormat.JSONL),
        (b"id\ttitle\tlink\tprice\tbrand\n", FeedFormat.TSV),
    ],
)
def test_format_is_sniffed_when_the_content_type_says_nothing(data: bytes, fmt: FeedFormat) -> None:
    assert detect_format("application/octet-stream", data) == fmt
    assert detect_format(None, data) == fmt


def test_unknown_format_says_what_is_accepted() -> None:
    with pytest.raises(FeedFormatError, match=r"JSON lines.*tab-separated.*RSS"):
        detect_format("text/plain", b"id,title,link\n")
