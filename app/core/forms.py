"""Form pieces shared by every domain: validators with Indonesian messages, Rupiah input."""

from __future__ import annotations

import re
from typing import Protocol, TypeVar

from flask_babel import lazy_gettext as _l
from wtforms import Field
from wtforms.validators import InputRequired, Length, StopValidation
from wtforms.widgets import TextInput

from app.core.money import format_rupiah

# At most 15 digits (under Rp 1 000 triliun): anything longer is a typo, and must never
# reach a BIGINT column or parameter (SQLite and PostgreSQL both refuse it).
_RUPIAH_INPUT = re.compile(r"^(?:rp\.?\s*)?(\d{1,3}(?:\.\d{3}){1,4}|\d{1,15})(?:,00?)?$",
                           re.IGNORECASE)


def required() -> InputRequired:
    return InputRequired(message=_l("Wajib diisi."))


def max_length(n: int) -> Length:
    return Length(max=n, message=_l("Maksimal %(max)d karakter."))


def strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


_T_co = TypeVar("_T_co", covariant=True)


class _FieldOf(Protocol[_T_co]):
    """A form field whose `data` is a `_T_co`, or None before a value is submitted."""

    @property
    def name(self) -> str: ...

    @property
    def data(self) -> _T_co | None: ...


def required_data(field: _FieldOf[_T_co]) -> _T_co:
    """The value of a required field (InputRequired) once its form has validated, typed
    without None. None here (the form not validated, or the field not required) raises,
    never goes on; a number field given only spaces is refused by its own validation."""
    value = field.data
    if value is None:
        raise ValueError(f"form field {field.name!r} has no value after validation")
    return value


def parse_rupiah(text: str | None) -> int | None:
    """Whole Rupiah from what people type: `150000`, `150.000`, `Rp 150.000`, `150.000,00`.
    None when it is not such a number (decimals of a Rupiah, letters, negative)."""
    match = _RUPIAH_INPUT.match((text or "").strip().replace(" ", ""))
    return int(match.group(1).replace(".", "")) if match else None


def parse_int(text: str | None) -> int | None:
    """An integer (optionally negative), or None for anything else."""
    value = (text or "").strip()
    return int(value) if re.fullmatch(r"-?\d{1,12}", value) else None


# The largest integer a BIGINT column (PostgreSQL) or SQLite's INTEGER holds: no number
# typed into a form may ever reach a query beyond it.
BIGINT_MAX = 2**63 - 1
_MINUS = "-\u2212"  # a hyphen, or the minus sign some keyboards and spreadsheets type
_WHOLE_SHAPE = re.compile(rf"^([{_MINUS}])?(\d{{1,3}}(?:\.\d{{3}})+|\d+)$")
_RUPIAH_SHAPE = re.compile(
    rf"^([{_MINUS}])?(?:rp\.?)?([{_MINUS}])?(\d{{1,3}}(?:\.\d{{3}})+|\d+)(?:,00?)?$",
    re.IGNORECASE)


class NumberInputError(ValueError):
    """What is wrong with a typed number (`message`, in the user's language)."""

    def __init__(self, message: object) -> None:
        super().__init__(str(message))
        self.message = str(message)


def group_thousands(value: int) -> str:
    """`10000000` -> `10.000.000`, the Indonesian way (as Rupiah amounts are written)."""
    sign = "-" if value < 0 else ""
    return sign + f"{abs(value):,}".replace(",", ".")


_BEYOND = (BIGINT_MAX + 1) * 10  # what any longer number reads as: above every bound


def _typed_integer(negative: bool, digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    value = _BEYOND if len(digits) > 19 else int(digits)  # no int() of a million digits
    return -value if negative else value


def _bounded(value: int, *, minimum: int, maximum: int, shown, negative_message=None) -> int:
    if value < minimum:
        if minimum == 0:
            raise NumberInputError(negative_message or _l("Tidak boleh negatif."))
        raise NumberInputError(_l("Minimal %(n)s.", n=shown(minimum)))
    if value > maximum:
        raise NumberInputError(_l("Terlalu besar: maksimal %(max)s.", max=shown(maximum)))
    return value


def read_integer(text: str | None) -> int:
    """The integer a person typed (thousands dots allowed: `1.000`), of any size (beyond
    64 bits it reads as a number just too large for every bound), for a service that
    checks its own bounds; NumberInputError when it is not a whole number at all."""
    match = _WHOLE_SHAPE.match((text or "").strip().replace(" ", ""))
    if match is None:
        raise NumberInputError(WholeNumberField.invalid_message)
    return _typed_integer(bool(match.group(1)), match.group(2).replace(".", ""))


def read_whole_number(text: str | None, *, minimum: int = 0, maximum: int,
                      negative_message: object = None) -> int:
    """A whole number typed by a person (thousands dots allowed: `1.000`) within
    [minimum, maximum]; NumberInputError says which of "not a number", "negative" /
    "below the minimum" or "too large" it is."""
    return _bounded(read_integer(text), minimum=minimum, maximum=min(maximum, BIGINT_MAX),
                    shown=group_thousands, negative_message=negative_message)


def read_rupiah(text: str | None, *, minimum: int = 0, maximum: int,
                negative_message: object = None) -> int:
    """Whole Rupiah as people type it (`150000`, `150.000`, `Rp 150.000`, `150.000,00`)
    within [minimum, maximum]; NumberInputError as `read_whole_number`."""
    match = _RUPIAH_SHAPE.match((text or "").strip().replace(" ", ""))
    if match is None or (match.group(1) and match.group(2)):
        raise NumberInputError(RupiahField.invalid_message)
    negative = bool(match.group(1) or match.group(2))
    value = _typed_integer(negative, match.group(3).replace(".", ""))
    return _bounded(value, minimum=minimum, maximum=min(maximum, BIGINT_MAX),
                    shown=format_rupiah, negative_message=negative_message)


class _ParsedTextField(Field):
    """A number typed as text within [minimum, maximum]: `data` is the number (None when
    empty or refused); the box keeps what the user typed, and a refused value stops
    validation with what is wrong with it (not a number, negative or below the minimum,
    too large), in the user's language, unlike WTForms' own number fields. A text input
    like StringField, whose `data` is typed str, hence a plain Field."""

    widget = TextInput()
    data: int | None

    invalid_message: object = ""

    def __init__(self, label=None, validators=None, *, minimum: int = 0,
                 maximum: int = BIGINT_MAX, negative_message: object = None,
                 **kwargs) -> None:
        super().__init__(label, validators, **kwargs)
        self.minimum, self.maximum = minimum, maximum
        self.negative_message = negative_message
        self.problem: str | None = None

    def read(self, text: str) -> int:
        raise NotImplementedError

    def process_formdata(self, valuelist: list[str]) -> None:
        raw = valuelist[0] if valuelist else ""
        self.data, self.problem = None, None
        if raw.strip():
            try:
                self.data = self.read(raw)
            except NumberInputError as error:
                self.problem = error.message

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return str(self.data) if self.data is not None else ""

    def pre_validate(self, form) -> None:
        if self.problem is not None:
            raise StopValidation(self.problem)
        if self.data is None and self.flags.required:
            # InputRequired lets a box of spaces through; no number was typed.
            raise StopValidation(str(required().message))


class RupiahField(_ParsedTextField):
    """A price in whole Rupiah: `150000`, `150.000` and `Rp 150.000` all work."""

    invalid_message = _l("Tulis angka Rupiah tanpa desimal, misalnya 150000.")

    def read(self, text: str) -> int:
        return read_rupiah(text, minimum=self.minimum, maximum=self.maximum,
                           negative_message=self.negative_message)


class WholeNumberField(_ParsedTextField):
    """An integer (thousands dots allowed: `1.000`)."""

    invalid_message = _l("Tulis bilangan bulat, misalnya 25.")

    def read(self, text: str) -> int:
        return read_whole_number(text, minimum=self.minimum, maximum=self.maximum,
                                 negative_message=self.negative_message)
