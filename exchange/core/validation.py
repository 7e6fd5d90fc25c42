"""Input checks shared by every domain, raising the errors the API maps to 400."""

from __future__ import annotations

from exchange.core.errors import InvalidInputError
from exchange.core.money import UnknownCurrencyError, check_currency


def currency_field(code: str, field: str = "currency") -> str:
    """The upper-cased ISO 4217 code, or a 400 naming the field and what to send instead."""
    try:
        return check_currency(code)
    except UnknownCurrencyError as exc:
        raise InvalidInputError(str(exc), fix="send an ISO 4217 code such as USD, EUR or JPY", field=field) from exc
