"""The value types every edge shares: text, names, business dates and amounts, declared once.

Every service's command models, query and path parameters and the event contracts use these,
so a value that a consumer could not store, or that would make a read absurd (a referral dated
0001-01-01 spans 8,000 quarters of KPIs), is refused at the edge with a 422 naming the field.

- ``Text``: free text; tab, newline and carriage return allowed, no other control character
  (U+0000 cannot be stored by PostgreSQL at all), no lone surrogate.
- ``Name``: a single-line name or id: no control character at all.
  Each field states its own ``max_length`` (a unit test checks that every string of every
  command model has one).
- ``BusinessDate``: from 1900-01-01 to a year after today; ``BirthDate``: from 1900-01-01 to
  yesterday; ``PlanDate`` (expiry, review, target or planned end): up to ten years ahead.
- ``Moment`` (``as_of``, ``since`` query parameters): a date-time from 1900 to ten years ahead.
- ``Money``: finite, 0 to 10,000,000 EUR; ``Hours``: finite, 0 to 60 a week.

"Today" is the server's calendar day (``date.today()``), not a request's clock.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

EARLIEST = date(1900, 1, 1)
BUSINESS_AHEAD = timedelta(days=366)
PLAN_AHEAD = timedelta(days=3653)
MONEY_MAX = 10_000_000

# What free text may hold besides printable characters; names hold none of these.
TEXT_CONTROLS_ALLOWED = frozenset("\t\n\r")
# The same rules as JSON Schema patterns, so clients (and the fuzzer) know them.
TEXT_PATTERN = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
NAME_PATTERN = r"^[^\x00-\x1F\x7F-\x9F]*$"


def first_forbidden(value: str, allowed: frozenset[str] = frozenset()) -> int | None:
    """Index of the first control character (not in ``allowed``) or lone surrogate, else None."""
    for index, char in enumerate(value):
        if char in allowed:
            continue
        if unicodedata.category(char) in ("Cc", "Cs"):
            return index
    return None


def _refuse(value: str, allowed: frozenset[str], what: str) -> str:
    index = first_forbidden(value, allowed)
    if index is not None:
        raise ValueError(f"{what} must not contain control characters (U+{ord(value[index]):04X} at {index})")
    return value


def check_text(value: str) -> str:
    return _refuse(value, TEXT_CONTROLS_ALLOWED, "text")


def check_name(value: str) -> str:
    return _refuse(value, frozenset(), "a name or id")


@dataclass(frozen=True)
class _Documented:
    """Adds JSON Schema keywords to a type without replacing its schema."""

    keywords: tuple[tuple[str, Any], ...]

    def __get_pydantic_json_schema__(self, core: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core)
        schema.update(dict(self.keywords))
        return schema


def _window(earliest: date, ahead: timedelta, what: str) -> AfterValidator:
    def check(value: date) -> date:
        latest = date.today() + ahead
        day = value.date() if isinstance(value, datetime) else value
        if not earliest <= day <= latest:
            raise ValueError(f"{what} must lie between {earliest.isoformat()} and {latest.isoformat()}")
        return value

    return AfterValidator(check)


Text = Annotated[
    str,
    AfterValidator(check_text),
    _Documented((("pattern", TEXT_PATTERN),)),
]
Name = Annotated[
    str,
    AfterValidator(check_name),
    _Documented((("pattern", NAME_PATTERN),)),
]
BusinessDate = Annotated[
    date,
    _window(EARLIEST, BUSINESS_AHEAD, "a business date"),
    _Documented((("description", "a day from 1900-01-01 to a year after today"),)),
]
BirthDate = Annotated[
    date,
    _window(EARLIEST, timedelta(days=-1), "a birth date"),
    _Documented((("description", "a day from 1900-01-01 to yesterday"),)),
]
PlanDate = Annotated[
    date,
    _window(EARLIEST, PLAN_AHEAD, "a planned date"),
    _Documented((("description", "a day from 1900-01-01 to ten years after today"),)),
]
Moment = Annotated[
    datetime,
    _window(EARLIEST, PLAN_AHEAD, "a moment"),
    _Documented((("description", "a moment from 1900-01-01 to ten years after today"),)),
]
Money = Annotated[float, Field(ge=0, le=MONEY_MAX, allow_inf_nan=False, description="EUR, 0 to 10,000,000")]
Hours = Annotated[float, Field(gt=0, le=60, allow_inf_nan=False, description="hours a week, at most 60")]


def unstorable_at(value: Any, path: str = "") -> str | None:
    """Where in a JSON value (a payload) PostgreSQL could not store it: the dotted path of the
    first string or key with U+0000 or a lone surrogate, else None."""
    if isinstance(value, str):
        return (path or "payload") if _unstorable_text(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if _unstorable_text(str(key)):
                return where
            found = unstorable_at(item, where)
            if found is not None:
                return found
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = unstorable_at(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


def _unstorable_text(value: str) -> bool:
    return "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value)
