"""Money is exact integer minor units beside an ISO 4217 code."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.core.money import (
    CURRENCY_EXPONENTS,
    AmountError,
    UnknownCurrencyError,
    allocate,
    check_currency,
    format_minor,
    parse_amount,
    parse_price,
    split,
)

CURRENCIES = st.sampled_from(sorted(CURRENCY_EXPONENTS))


def test_common_currencies_have_two_minor_digits() -> None:
    assert {CURRENCY_EXPONENTS[c] for c in ("USD", "EUR", "GBP", "INR")} == {2}


def test_jpy_has_no_minor_digits() -> None:
    assert [CURRENCY_EXPONENTS[c] for c in ("JPY", "KRW", "CLP", "VND", "ISK")] == [0] * 5


def test_gulf_dinars_have_three_minor_digits() -> None:
    codes = ("BHD", "KWD", "JOD", "OMR", "TND", "IQD", "LYD")
    assert [CURRENCY_EXPONENTS[c] for c in codes] == [3] * 7


def test_every_active_currency_is_listed_but_no_funds_or_metals() -> None:
    assert len(CURRENCY_EXPONENTS) >= 150
    for code in ("XAU", "XAG", "XDR", "XTS", "XXX", "BOV", "CLF"):
        assert code not in CURRENCY_EXPONENTS


def test_currency_code_is_trimmed_and_upper_cased() -> None:
    assert check_currency(" usd") == "USD"


@pytest.mark.parametrize("code", ["US", "USDX", "U5D", "XAU", "ABC", "", "ÜSD"])
def test_unknown_currency_is_refused_with_examples(code: str) -> None:
    with pytest.raises(UnknownCurrencyError, match=r"ISO 4217.*USD, EUR or JPY"):
        check_currency(code)


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("15.00", "USD", 1500),
        ("15", "USD", 1500),
        ("1,299.50", "USD", 129950),
        ("0.5", "USD", 50),
        ("0", "EUR", 0),
        (" 7.10 ", "GBP", 710),
        ("1500", "JPY", 1500),
        ("1.234", "KWD", 1234),
        ("1,000,000", "KRW", 1_000_000),
    ],
)
def test_amounts_parse_to_exact_minor_units(text: str, currency: str, minor: int) -> None:
    assert parse_amount(text, currency) == minor


def test_trailing_zeros_past_the_exponent_are_still_exact() -> None:
    assert parse_amount("1.230", "USD") == 123
    assert parse_amount("1500.00", "JPY") == 1500


@pytest.mark.parametrize(
    ("text", "currency", "says"),
    [
        ("1.234", "USD", "more decimal places than USD allows"),
        ("10.5", "JPY", "more decimal places than JPY allows"),
        ("-1.00", "USD", "negative"),
        ("abc", "USD", "not a number"),
        ("NaN", "USD", "not a number"),
        ("inf", "USD", "not a number"),
        ("1e3", "USD", "not a number"),
        ("1,2,3", "USD", "not a number"),
        ("12,34.5", "USD", "not a number"),
        ("", "USD", "not a number"),
        ("１２", "USD", "not a number"),
        ("9" * 30, "USD", "too large"),
    ],
)
def test_bad_amounts_are_refused(text: str, currency: str, says: str) -> None:
    with pytest.raises(AmountError, match=says):
        parse_amount(text, currency)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15.00 USD", (1500, "USD")),
        ("USD 15.00", (1500, "USD")),
        (" 105.29  usd ", (10529, "USD")),
        ("1500 JPY", (1500, "JPY")),
    ],
)
def test_merchant_center_price_parses(text: str, expected: tuple[int, str]) -> None:
    assert parse_price(text) == expected


@pytest.mark.parametrize("text", ["15.00", "15.00 $", "$15.00", "15 . 00 USD", ""])
def test_price_without_a_currency_code_says_the_expected_format(text: str) -> None:
    with pytest.raises(AmountError, match=r"like '15\.00 USD'"):
        parse_price(text)


def test_price_in_an_unknown_currency_is_refused() -> None:
    with pytest.raises(UnknownCurrencyError):
        parse_price("15.00 ZZZ")


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (1500, "USD", "15.00 USD"),
        (5, "usd", "0.05 USD"),
        (-5, "USD", "-0.05 USD"),
        (0, "EUR", "0.00 EUR"),
        (1500, "JPY", "1500 JPY"),
        (-1500, "JPY", "-1500 JPY"),
        (1234, "KWD", "1.234 KWD"),
    ],
)
def test_format_minor_is_exact(amount: int, currency: str, text: str) -> None:
    assert format_minor(amount, currency) == text


@given(st.integers(min_value=0, max_value=2**63 - 1), CURRENCIES)
def test_formatted_price_parses_back_to_the_same_amount(amount: int, currency: str) -> None:
    assert parse_price(format_minor(amount, currency)) == (amount, currency)


@given(st.integers(), st.integers(min_value=0, max_value=10_000))
def test_split_sums_exactly_to_total(total: int, share_bps: int) -> None:
    store, exchange = split(total, share_bps)
    assert store + exchange == total


@given(st.integers(), st.integers(min_value=0, max_value=10_000))
def test_split_of_a_refund_reverses_the_split_of_the_sale(total: int, share_bps: int) -> None:
    store, exchange = split(total, share_bps)
    assert split(-total, share_bps) == (-store, -exchange)


@given(st.integers(min_value=0), st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=6))
def test_largest_remainder_shares_sum_to_the_total_and_are_within_a_unit(total: int, weights: list[int]) -> None:
    if sum(weights) == 0:
        return
    shares = allocate(total, weights)
    assert sum(shares) == total
    for share, weight in zip(shares, weights, strict=True):
        exact = Fraction(total * weight, sum(weights))
        assert share - 1 < exact < share + 1 or share == exact


def test_split_examples() -> None:
    assert split(1000, 7000) == (700, 300)
    assert split(1, 5000) == (1, 0)  # a tie: the store's share comes first
    assert split(-1, 5000) == (-1, 0)
    assert split(999, 10_000) == (999, 0)
    assert split(999, 0) == (0, 999)
    assert split(7, 3333) == (2, 5)  # 2.3331 and 4.6669: the spare unit goes to the larger remainder
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(1, [0, 1]) == [0, 1]


@pytest.mark.parametrize("share_bps", [-1, 10_001])
def test_split_share_must_be_between_0_and_10000_bps(share_bps: int) -> None:
    with pytest.raises(ValueError, match="between 0 and 10000"):
        split(100, share_bps)
