"""Money as integer minor units beside an ISO 4217 code: parsing, formatting and exact splits."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# Active ISO 4217 currencies and their minor-unit exponents. Funds, precious metals,
# SDRs and test codes (XAU, XDR, XTS, BOV, CLF, ...) are left out on purpose: nobody
# prices a product in them. ANG, SLL and CUC stay while old feeds may still carry them.
CURRENCY_EXPONENTS: dict[str, int] = {
    "AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2, "AUD": 2,
    "AWG": 2, "AZN": 2, "BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2, "BHD": 3, "BIF": 0,
    "BMD": 2, "BND": 2, "BOB": 2, "BRL": 2, "BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2,
    "BZD": 2, "CAD": 2, "CDF": 2, "CHF": 2, "CLP": 0, "CNY": 2, "COP": 2, "CRC": 2,
    "CUC": 2, "CUP": 2, "CVE": 2, "CZK": 2, "DJF": 0, "DKK": 2, "DOP": 2, "DZD": 2,
    "EGP": 2, "ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2, "FKP": 2, "GBP": 2, "GEL": 2,
    "GHS": 2, "GIP": 2, "GMD": 2, "GNF": 0, "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2,
    "HTG": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "IQD": 3, "IRR": 2, "ISK": 0,
    "JMD": 2, "JOD": 3, "JPY": 0, "KES": 2, "KGS": 2, "KHR": 2, "KMF": 0, "KPW": 2,
    "KRW": 0, "KWD": 3, "KYD": 2, "KZT": 2, "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2,
    "LSL": 2, "LYD": 3, "MAD": 2, "MDL": 2, "MGA": 2, "MKD": 2, "MMK": 2, "MNT": 2,
    "MOP": 2, "MRU": 2, "MUR": 2, "MVR": 2, "MWK": 2, "MXN": 2, "MYR": 2, "MZN": 2,
    "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2, "NZD": 2, "OMR": 3, "PAB": 2,
    "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2, "PYG": 0, "QAR": 2, "RON": 2,
    "RSD": 2, "RUB": 2, "RWF": 0, "SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2,
    "SGD": 2, "SHP": 2, "SLE": 2, "SLL": 2, "SOS": 2, "SRD": 2, "SSP": 2, "STN": 2,
    "SVC": 2, "SYP": 2, "SZL": 2, "THB": 2, "TJS": 2, "TMT": 2, "TND": 3, "TOP": 2,
    "TRY": 2, "TTD": 2, "TWD": 2, "TZS": 2, "UAH": 2, "UGX": 0, "USD": 2, "UYU": 2,
    "UZS": 2, "VED": 2, "VES": 2, "VND": 0, "VUV": 0, "WST": 2, "XAF": 0, "XCD": 2,
    "XCG": 2, "XOF": 0, "XPF": 0, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2,
}  # fmt: skip

# Minor units are stored in BIGINT columns; anything past this is a typo, not a price.
MAX_MINOR = 2**63 - 1

_PRICE_FORMAT = "expected an amount and an ISO 4217 code, like '15.00 USD'"
# Either plain digits or strict groups of three, so "1,2,3" can't sneak through as 123.
_AMOUNT = re.compile(r"(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.[0-9]+)?")
_LETTERS = re.compile(r"[A-Za-z]{3}")


class UnknownCurrencyError(ValueError):
    """The text is not an active ISO 4217 currency code."""

    def __init__(self, code: str) -> None:
        super().__init__(f"{code!r} is not an ISO 4217 currency code; use a three-letter code like USD, EUR or JPY")
        self.code = code


class AmountError(ValueError):
    """The text is not a non-negative amount that fits the currency's minor units."""


def check_currency(code: str) -> str:
    """Return the upper-cased code, or raise UnknownCurrencyError."""
    cleaned = code.strip()
    if not _LETTERS.fullmatch(cleaned) or cleaned.upper() not in CURRENCY_EXPONENTS:
        raise UnknownCurrencyError(code)
    return cleaned.upper()


def parse_amount(text: str, currency: str) -> int:
    """Parse a decimal string like '1,299.50' into exact minor units of the currency."""
    code = check_currency(currency)
    exponent = CURRENCY_EXPONENTS[code]
    cleaned = text.strip()
    if cleaned.startswith("-"):
        raise AmountError(f"amount {text!r} is negative; prices and amounts must be zero or more")
    if not _AMOUNT.fullmatch(cleaned):
        raise AmountError(f"amount {text!r} is not a number; write digits with an optional decimal point, like '15.00'")
    if len(cleaned) > 40:
        raise AmountError(f"amount {text[:40]!r}... is too long to be a price")
    try:
        scaled = Decimal(cleaned.replace(",", "")).scaleb(exponent)
    except InvalidOperation as exc:  # pragma: no cover - the pattern above already rules this out
        raise AmountError(f"amount {text!r} is not a number") from exc
    if scaled != scaled.to_integral_value():
        raise AmountError(f"amount {text!r} has more decimal places than {code} allows ({exponent})")
    minor = int(scaled)
    if minor > MAX_MINOR:
        raise AmountError(f"amount {text!r} is too large")
    return minor


def parse_price(text: str) -> tuple[int, str]:
    """Parse a Merchant Center price, '15.00 USD' (or 'USD 15.00'), into (minor, currency)."""
    parts = text.split()
    if len(parts) != 2:
        raise AmountError(f"price {text!r}: {_PRICE_FORMAT}")
    amount, code = parts
    if _LETTERS.fullmatch(amount) and not _LETTERS.fullmatch(code):
        amount, code = code, amount
    if not _LETTERS.fullmatch(code):
        raise AmountError(f"price {text!r}: {_PRICE_FORMAT}")
    currency = check_currency(code)
    return parse_amount(amount, currency), currency


def format_minor(amount: int, currency: str) -> str:
    """Format minor units as '15.00 USD', exactly, with the currency's number of decimals."""
    code = check_currency(currency)
    exponent = CURRENCY_EXPONENTS[code]
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**exponent)
    if exponent == 0:
        return f"{sign}{whole} {code}"
    return f"{sign}{whole}.{fraction:0{exponent}d} {code}"


def allocate(total: int, weights: list[int]) -> list[int]:
    """Divide `total` minor units in proportion to `weights` by largest remainder (Hamilton): each
    share is its exact value rounded down, and the units left over go one each to the largest
    fractional remainders (the earlier share on a tie). The shares always sum to `total`, and a
    negative total is the exact negation of the positive one, so a reversal undoes a split."""
    if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
        raise ValueError(f"weights must be non-negative with a positive sum, got {weights}")
    whole = sum(weights)
    magnitude = abs(total)
    shares = [magnitude * w // whole for w in weights]
    remainders = [magnitude * w % whole for w in weights]
    left = magnitude - sum(shares)
    for n in sorted(range(len(weights)), key=lambda n: (-remainders[n], n))[:left]:
        shares[n] += 1
    return shares if total >= 0 else [-share for share in shares]


def split(total: int, share_bps: int) -> tuple[int, int]:
    """Split a total into (store_share, exchange_share) by largest remainder; the two always sum to
    the total, and split(-x, bps) == (-store, -exchange)."""
    if not 0 <= share_bps <= 10_000:
        raise ValueError(f"share_bps must be between 0 and 10000, got {share_bps}")
    store, exchange = allocate(total, [share_bps, 10_000 - share_bps])
    return store, exchange
