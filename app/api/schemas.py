"""Building blocks for the API's request and response models (pydantic v2).

Every request model derives from `Input` (unknown fields refused, strings checked for what
the databases refuse), every response model from `Output`. Use the bounded types below
instead of bare `int`/`str`: the OpenAPI document then states the limits, and a client (or
Schemathesis) sending 10**30 or a NUL byte gets a 422, never a database error.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Generic, TypeVar, get_args

from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

INT_MAX = 2**31 - 1  # PostgreSQL integer
BIGINT_MAX = 2**53 - 1  # money and counts: exact in JSON numbers everywhere

Id = Annotated[int, Field(ge=1, le=INT_MAX)]
Quantity = Annotated[int, Field(ge=1, le=100_000)]
Rupiah = Annotated[int, Field(ge=0, le=BIGINT_MAX, description="Whole Rupiah.")]
Count = Annotated[int, Field(ge=0, le=BIGINT_MAX)]
# Text without NUL bytes (PostgreSQL refuses them), trimmed.
_NO_NUL = r"^[^\x00]*$"


def trimmed(max_length: int, min_length: int = 0) -> StringConstraints:
    """The constraints of a trimmed string of at most `max_length` characters
    (min_length=1: required), without NUL bytes: `Annotated[str, trimmed(120)]`."""
    return StringConstraints(strip_whitespace=True, min_length=min_length,
                             max_length=max_length, pattern=_NO_NUL)


def _check_strings(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(_("Teks tidak boleh berisi karakter NUL."))
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ValueError(_("Teks berisi karakter yang tidak valid.")) from error
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError(_("Angka tidak valid."))


def _int_only(annotation: Any) -> bool:
    """An `int` or `int | None` field (not one that also takes a bool)."""
    args = get_args(annotation) or (annotation,)
    return int in args and bool not in args


def _booleans_not_numbers(model: type[BaseModel], data: Any) -> Any:
    """JSON `true`/`false` given for a whole-number field is refused at that field
    ("Harus bilangan bulat."): pydantic's lax mode would read it as 1/0 (a `height_mm: true`
    became a 1 mm box). The value is handed on as its text, which int validation rejects
    with the field's usual int_parsing error."""
    if not isinstance(data, dict):
        return data
    fixed = None
    for name, field in model.model_fields.items():
        key = field.alias or name
        value = data.get(key)
        if isinstance(value, bool) and _int_only(field.annotation):
            fixed = fixed if fixed is not None else dict(data)
            fixed[key] = "true" if value else "false"
    return data if fixed is None else fixed


class Input(BaseModel):
    """A request body or query: unknown fields are a 422, every string is checked."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _strings_storable(cls, data: Any) -> Any:
        _check_strings(data)
        return _booleans_not_numbers(cls, data)


class Output(BaseModel):
    """A response body (built by the API from domain objects, never from client input)."""

    model_config = ConfigDict(from_attributes=True)


class PageQuery(Input):
    """`page` and `per_page` (at most 100) of a list; list queries derive from it."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    page: int = Field(1, ge=1, le=10_000, description="Page number, from 1.")
    per_page: int = Field(20, ge=1, le=100, description="Items per page, at most 100.")


T = TypeVar("T")


class Page(Output, Generic[T]):
    """One page of a list. The `Link` header carries first/prev/next/last URLs too.

    `Page[ProductSummary]` is named `ProductSummaryPage` (its OpenAPI component and title):
    a name a generated client can use as a class name."""

    items: list[T]
    page: int
    per_page: int
    total: int = Field(description="Items over all pages; a lower bound when "
                                   "`total_is_lower_bound` (product search stops counting "
                                   "at 1,000: \"lebih dari 1.000\").")
    pages: int = Field(description="Pages over `total` (a lower bound with it).")
    total_is_lower_bound: bool = Field(
        False, description="True when more items match than `total` counts: keep following "
                           "the `next` link while a page comes back full.")

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        return "".join(getattr(param, "__name__", str(param)) for param in params) + "Page"


class Message(Output):
    """A short confirmation."""

    message: str


class StoreRef(Output):
    """A store, by its id, name and slug (the address of its page)."""

    id: int
    name: str
    slug: str


class CompanyRef(Output):
    """A company (a maklon client or CRM company), by its id and name."""

    id: int
    name: str
