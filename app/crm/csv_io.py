"""CSV import (with a preview and per-row errors) and export of companies and contacts.

Import files: UTF-8 (a BOM is accepted), `;` or `,` delimited (sniffed), header row
required (row 1; data starts at row 2), at most MAX_BYTES and MAX_ROWS. Headers are the
export's column names or their Indonesian aliases (`nama`, `kota`, ...), any case.

Nothing is written until the user confirms: the preview carries the file's text in a
signed, compressed token (itsdangerous) instead of a temporary file, and `csv_import`
parses and validates it again against the database as it is at confirm time. With any
row in error, `csv_import` refuses unless `only_valid=True`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select

from app.accounts.models import Company
from app.crm.models import Contact
from app.extensions import db

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
TOKEN_MAX_AGE = 3600  # seconds between preview and confirm
KINDS = ("companies", "contacts")

# column -> (accepted header aliases, max length, required)
COLUMNS: dict[str, dict[str, tuple[tuple[str, ...], int, bool]]] = {
    "companies": {
        "name": (("name", "nama", "nama perusahaan"), 160, True),
        "business_type": (("business_type", "jenis usaha", "jenis_usaha"), 80, False),
        "city": (("city", "kota"), 80, False),
        "npwp": (("npwp",), 32, False),
        "address": (("address", "alamat"), 1000, False),
        "website": (("website", "situs"), 300, False),
        "notes": (("notes", "catatan"), 5000, False),
        "employee_count": (("employee_count", "jumlah karyawan", "jumlah_karyawan",
                            "karyawan"), 20, False),
    },
    "contacts": {
        "name": (("name", "nama"), 120, True),
        "family_name": (("family_name", "nama keluarga", "nama_keluarga"), 120, False),
        "birth_date": (("birth_date", "tanggal lahir", "tanggal_lahir"), 10, False),
        "company": (("company", "perusahaan"), 160, False),
        "position": (("position", "jabatan"), 120, False),
        "phone": (("phone", "telepon"), 30, False),
        "email": (("email",), 320, False),
        "whatsapp": (("whatsapp", "wa"), 30, False),
        "notes": (("notes", "catatan"), 5000, False),
    },
}
PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")
NPWP = re.compile(r"^[0-9.\- ]+$")


class CsvFileError(Exception):
    """The file as a whole cannot be read (encoding, header, size)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class CsvRow:
    number: int  # the line in the file: header is row 1
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)
    parsed: dict[str, object] = field(default_factory=dict)  # typed values (count, date)


@dataclass
class CsvPreview:
    kind: str
    columns: list[str]
    rows: list[CsvRow]

    @property
    def error_rows(self) -> list[CsvRow]:
        return [row for row in self.rows if row.errors]

    @property
    def valid_rows(self) -> list[CsvRow]:
        return [row for row in self.rows if not row.errors]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="crm-csv-import")


def csv_token(kind: str, text: str) -> str:
    return _serializer().dumps({"kind": kind, "text": text})


def csv_token_load(token: str) -> tuple[str, str]:
    """(kind, text) from a preview token; CsvFileError when forged, damaged or stale."""
    try:
        data = _serializer().loads(token, max_age=TOKEN_MAX_AGE)
    except BadSignature:
        raise CsvFileError(str(_l("Pratinjau kedaluwarsa atau tidak sah. Unggah berkas lagi."))
                           ) from None
    if not isinstance(data, dict) or data.get("kind") not in KINDS:
        raise CsvFileError(str(_l("Pratinjau tidak sah. Unggah berkas lagi.")))
    return data["kind"], str(data.get("text", ""))


def csv_decode(raw: bytes) -> str:
    if len(raw) > MAX_BYTES:
        raise CsvFileError(str(_l("Berkas lebih besar dari 2 MB.")))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvFileError(str(_l("Berkas harus berformat UTF-8."))) from None


def csv_preview(kind: str, text: str) -> CsvPreview:
    """Parse and validate every row (no writes). Raises CsvFileError for file problems."""
    if kind not in KINDS:
        raise CsvFileError(str(_l("Jenis data tidak valid.")))
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise CsvFileError(str(_l("Berkas kosong.")))
    first_line = text.splitlines()[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise CsvFileError(str(_l("Baris judul (header) tidak terbaca."))) from None
    spec = COLUMNS[kind]
    aliases = {alias: column for column, (names, _, _) in spec.items() for alias in names}
    positions: dict[str, int] = {}
    for index, title in enumerate(header):
        column = aliases.get(title.strip().lower())
        if column and column not in positions:
            positions[column] = index
    missing = [column for column, (_, _, required) in spec.items()
               if required and column not in positions]
    if missing:
        raise CsvFileError(str(_l("Kolom wajib tidak ada di baris judul: %(columns)s.",
                                  columns=", ".join(missing))))
    rows: list[CsvRow] = []
    try:
        for line in reader:
            if not any(cell.strip() for cell in line):
                continue
            if len(rows) >= MAX_ROWS:
                raise CsvFileError(str(_l("Berkas berisi lebih dari %(max)s baris.",
                                          max=MAX_ROWS)))
            values = {column: (line[index].strip() if index < len(line) else "")
                      for column, index in positions.items()}
            rows.append(CsvRow(number=reader.line_num, values=values))
    except csv.Error as error:
        raise CsvFileError(str(_l("Berkas CSV rusak di baris %(row)s.",
                                  row=reader.line_num))) from error
    _validate(kind, rows)
    return CsvPreview(kind=kind, columns=list(spec), rows=rows)


def _validate(kind: str, rows: list[CsvRow]) -> None:
    spec = COLUMNS[kind]
    company_ids: dict[str, int] = {}
    if kind == "contacts":
        names = {row.values.get("company", "").lower() for row in rows} - {""}
        if names:
            company_ids = {
                name.lower(): company_id
                for company_id, name in db.session.execute(
                    select(Company.id, Company.name)
                    .where(func.lower(Company.name).in_(names)).order_by(Company.id.desc())
                )
            }
    for row in rows:
        for column, (_, max_length, required) in spec.items():
            value = row.values.get(column, "")
            if required and not value:
                row.errors.append(str(_l("%(column)s wajib diisi.", column=column)))
            elif len(value) > max_length:
                row.errors.append(str(_l("%(column)s melebihi %(max)s karakter.",
                                         column=column, max=max_length)))
        values = row.values
        if values.get("email"):
            try:
                validate_email(values["email"], check_deliverability=False,
                               test_environment=current_app.config.get(
                                   "EMAIL_ALLOW_TEST_DOMAINS", False))
            except EmailNotValidError:
                row.errors.append(str(_l("Email tidak valid: %(value)s",
                                         value=values["email"])))
        for column in ("phone", "whatsapp"):
            if values.get(column) and not PHONE.match(values[column]):
                row.errors.append(str(_l("%(column)s bukan nomor telepon yang valid.",
                                         column=column)))
        if values.get("npwp") and not (NPWP.match(values["npwp"])
                                       and len(re.sub(r"\D", "", values["npwp"])) in (15, 16)):
            row.errors.append(str(_l("NPWP harus 15 atau 16 digit.")))
        if values.get("website") and not values["website"].lower().startswith(
                ("http://", "https://")):
            row.errors.append(str(_l("Situs harus diawali http:// atau https://.")))
        _check_number_and_date(row)
        if values.get("company") and values["company"].lower() not in company_ids:
            row.errors.append(str(_l(
                "Perusahaan \"%(name)s\" belum ada; impor perusahaannya lebih dulu.",
                name=values["company"])))
        if kind == "contacts":
            row.values["company_id"] = str(company_ids.get(values.get("company", "").lower(),
                                                           ""))


def _check_number_and_date(row: CsvRow) -> None:
    """Employee count (whole, not negative) and birth date (YYYY-MM-DD, not in the future),
    with the services' own checks; the parsed values go into `row.parsed`."""
    from app.crm.services import CrmError, birth_date_check, employee_count_check

    values = row.values
    if values.get("employee_count"):
        text = values["employee_count"].replace(".", "")
        if not re.fullmatch(r"-?\d{1,9}", text):
            row.errors.append(str(_l("employee_count harus bilangan bulat.")))
        else:
            try:
                employee_count_check(int(text))
                row.parsed["employee_count"] = int(text)
            except CrmError as error:
                row.errors.append(error.message)
    if values.get("birth_date"):
        try:
            born = date.fromisoformat(values["birth_date"])
        except ValueError:
            row.errors.append(str(_l("birth_date harus berformat YYYY-MM-DD.")))
        else:
            try:
                birth_date_check(born)
                row.parsed["birth_date"] = born
            except CrmError as error:
                row.errors.append(error.message)


@dataclass(frozen=True)
class ImportResult:
    imported: int
    skipped: int


class CsvRowsInvalid(Exception):
    def __init__(self, preview: CsvPreview):
        super().__init__("rows with errors")
        self.preview = preview


def csv_import(*, kind: str, text: str, only_valid: bool = False) -> ImportResult:
    """Import every row, or nothing: raises CsvRowsInvalid when a row has errors, unless
    `only_valid` asks to import the valid rows and skip the others. Flushes only."""
    preview = csv_preview(kind, text)
    if preview.error_rows and not only_valid:
        raise CsvRowsInvalid(preview)
    for row in preview.valid_rows:
        values = row.values
        if kind == "companies":
            db.session.add(Company(**{column: values.get(column, "")
                                      for column in COLUMNS["companies"]
                                      if column != "employee_count"},
                                   employee_count=row.parsed.get("employee_count")))
        else:
            db.session.add(Contact(
                name=values["name"], family_name=values.get("family_name", ""),
                birth_date=row.parsed.get("birth_date"), position=values.get("position", ""),
                phone=values.get("phone", ""), email=values.get("email", "").lower(),
                whatsapp=values.get("whatsapp", ""), notes=values.get("notes", ""),
                company_id=int(values["company_id"]) if values.get("company_id") else None,
            ))
    db.session.flush()
    return ImportResult(imported=len(preview.valid_rows), skipped=len(preview.error_rows))


def csv_export(kind: str) -> Iterator[str]:
    """The CSV text, streamed row by row, starting with a BOM (Excel reads it as UTF-8)."""
    columns = list(COLUMNS[kind])
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def emit(values: list) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield "\ufeff" + emit(columns)
    if kind == "companies":
        stmt = select(Company).order_by(Company.id)
        for company in db.session.scalars(stmt.execution_options(yield_per=500)):
            yield emit([_safe(getattr(company, column)) for column in columns])
    else:
        contacts = select(Contact, Company.name).outerjoin(
            Company, Company.id == Contact.company_id).order_by(Contact.id)
        for contact, company_name in db.session.execute(
                contacts.execution_options(yield_per=500)):
            yield emit([_safe(company_name or "") if column == "company"
                        else _safe(getattr(contact, column)) for column in columns])


def _safe(value: object) -> str:
    """Neutralise spreadsheet formulas (CSV injection): a leading = + - @ gets a quote."""
    text = "" if value is None else str(value)
    if PHONE.match(text):  # "+62 812..." is a phone number, not a formula
        return text
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text
