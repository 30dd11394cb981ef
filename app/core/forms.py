"""Form pieces shared by every domain: validators with Indonesian messages, Rupiah input."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import InputRequired, Length, StopValidation

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


def parse_rupiah(text: str | None) -> int | None:
    """Whole Rupiah from what people type: `150000`, `150.000`, `Rp 150.000`, `150.000,00`.
    None when it is not such a number (decimals of a Rupiah, letters, negative)."""
    match = _RUPIAH_INPUT.match((text or "").strip().replace(" ", ""))
    return int(match.group(1).replace(".", "")) if match else None


def parse_int(text: str | None) -> int | None:
    """An integer (optionally negative), or None for anything else."""
    value = (text or "").strip()
    return int(value) if re.fullmatch(r"-?\d{1,12}", value) else None


class _ParsedTextField(StringField):
    """A number typed as text: `data` is what `parse` makes of it (None when empty); the
    box keeps what the user typed, and an unreadable value stops validation with
    `invalid_message` (in the user's language, unlike WTForms' own number fields)."""

    invalid_message: object = ""

    @staticmethod
    def parse(text: str) -> int | None:
        raise NotImplementedError

    def process_formdata(self, valuelist: list[str]) -> None:
        raw = valuelist[0] if valuelist else ""
        self.data = self.parse(raw) if raw.strip() else None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return str(self.data) if self.data is not None else ""

    def pre_validate(self, form) -> None:
        if self.raw_data and self.raw_data[0].strip() and self.data is None:
            raise StopValidation(self.invalid_message)


class RupiahField(_ParsedTextField):
    """A price in whole Rupiah: `150000`, `150.000` and `Rp 150.000` all work."""

    invalid_message = _l("Tulis angka Rupiah tanpa desimal, misalnya 150000.")
    parse = staticmethod(parse_rupiah)


class WholeNumberField(_ParsedTextField):
    """An integer (thousands dots allowed: `1.000`)."""

    invalid_message = _l("Tulis bilangan bulat, misalnya 25.")
    parse = staticmethod(lambda text: parse_int(text.replace(".", "")))
