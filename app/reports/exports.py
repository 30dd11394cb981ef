"""Exports of a filtered report: CSV (streamed) and PDF (reportlab), inline or by a job.

    csv_chunks(report, filters)          -> iterator of str chunks (BOM first), for a
                                            streamed response or a file
    report_pdf(report, filters)          -> bytes
    export_write(kind, fmt, filters)     -> the storage key of the written file (the job)

CSV is UTF-8 with a BOM (Excel reads the encoding from it), comma-separated, every cell
that a spreadsheet would read as a formula (= + - @, tab, carriage return first) prefixed
with an apostrophe. Rows are read YIELD_PER at a time, so 100k rows never sit in memory.
Exports of more than EXPORT_INLINE_MAX rows (config) run as a job on queue `reports`.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from flask import current_app
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

from app.core.clock import to_wib, utcnow
from app.core.money import format_rupiah
from app.core.pdf import FONT, FONT_BOLD, pdf_fonts
from app.core.storage import storage_put_file
from app.core.templating import wib_datetime
from app.reports.tables import REPORTS, F, Report, ReportFilters, filters_described

FORMATS = ("csv", "pdf")
FOLDER = "reports"
CSV_BATCH = 500  # rows per chunk handed to the response
PDF_MAX_ROWS = 50_000  # a PDF is for reading; bigger sets are for CSV

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def inline_max() -> int:
    return int(current_app.config.get("EXPORT_INLINE_MAX", 5_000))


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet will not run: text starting like a formula gets a `'` first."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def export_filename(report: Report, fmt: str, when: datetime | None = None) -> str:
    """`laporan-pesanan-20261207.csv`: the report and the WIB date it was made (`when`,
    default now): at 02:00 WIB the UTC date is still yesterday's."""
    return f"laporan-{report.key}-{to_wib(when or utcnow()):%Y%m%d}.{fmt}"


def csv_chunks(report: Report[F], filters: F) -> Iterator[str]:
    """The CSV as chunks of text: BOM and header first, then CSV_BATCH rows at a time.
    Codes appear as their labels, each code also in its own column (`Column.csv_only`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([str(c.label) for c in report.columns])
    yield "\ufeff" + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    pending = 0
    for row in report.rows(filters):
        writer.writerow([safe_cell(v) for v in report.csv_row(row)])
        pending += 1
        if pending >= CSV_BATCH:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue()


_BASE = ParagraphStyle("rep", fontName=FONT, fontSize=7, leading=9)
_HEAD = ParagraphStyle("rep_head", parent=_BASE, fontName=FONT_BOLD)
_TITLE = ParagraphStyle("rep_title", parent=_BASE, fontName=FONT_BOLD, fontSize=14,
                        leading=18)
_INFO = ParagraphStyle("rep_info", parent=_BASE, fontSize=8, leading=11)


def _cell(value: Any, money: bool) -> str:
    if money and isinstance(value, int):
        return format_rupiah(value)
    return "" if value is None else str(value)


def report_pdf(report: Report, filters: Any,
               described: list[tuple[Any, str]] | None = None) -> bytes:
    """The filtered report as a landscape A4 table: title, the filters applied (`described`,
    default `filters_described(filters)` of the admin's filters), the rows, the totals.
    User text (names, e-mails) is escaped before reportlab parses it; DejaVu Sans is
    embedded (`app.core.pdf`)."""
    pdf_fonts()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=landscape(A4), leftMargin=12 * mm,
                                 rightMargin=12 * mm, topMargin=12 * mm, bottomMargin=12 * mm,
                                 title=str(report.title), initialFontName=FONT)
    story: list[Any] = [Paragraph(escape(_("Laporan: %(title)s", title=report.title)), _TITLE)]
    story.append(Paragraph(escape(_("Dibuat %(when)s", when=wib_datetime(utcnow()))), _INFO))
    if described is None:
        described = filters_described(filters)
    if described:
        for label, value in described:
            story.append(Paragraph(f"{escape(str(label))}: {escape(value)}", _INFO))
    else:
        story.append(Paragraph(escape(_("Tanpa filter: semua data")), _INFO))
    story.append(Spacer(1, 4 * mm))
    columns = report.shown_columns
    data: list[list[Any]] = [[Paragraph(escape(str(c.label)), _HEAD) for c in columns]]
    for row in report.rows(filters):
        data.append([Paragraph(escape(_cell(v, c.money)), _BASE)
                     for v, c in zip(report.shown(row), columns, strict=True)])
    if len(data) == 1:
        data.append([Paragraph(escape(_("Tidak ada data")), _BASE)]
                    + [""] * (len(columns) - 1))
    table = LongTable(data, repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#cbd2d9")),
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e4e7eb")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    story.append(table)
    story.append(Spacer(1, 4 * mm))
    for index, (label, value) in enumerate(report.totals(filters)):
        text = format_rupiah(value) if index > 0 else str(value)
        story.append(Paragraph(f"<b>{escape(str(label))}:</b> {escape(text)}", _INFO))
    document.build(story)
    return buffer.getvalue()


def export_check(report: Report, fmt: str, rows: int) -> None:
    """Refuse what cannot be exported (ExportError with the message for the page)."""
    if fmt not in FORMATS:
        raise ExportError(_("Pilih format CSV atau PDF."))
    if fmt == "pdf" and rows > PDF_MAX_ROWS:
        raise ExportError(_("PDF dibatasi %(n)s baris; persempit filter atau unduh CSV.",
                            n=f"{PDF_MAX_ROWS:,}".replace(",", ".")))


def export_write(kind: str, fmt: str, filters: ReportFilters) -> dict[str, Any]:
    """Write the admin report `kind`'s export to storage (folder `reports`) and return
    {key, filename, rows}."""
    return export_file(REPORTS[kind], fmt, filters)


def export_file(report: Report, fmt: str, filters: Any,
                described: list[tuple[Any, str]] | None = None) -> dict[str, Any]:
    """Write `report`'s export of `filters` to storage (folder `reports`) and return {key,
    filename, rows}. The CSV is written chunk by chunk to a local temporary file, then
    handed to storage (moved on the local disk, uploaded to a bucket)."""
    rows = report.count(filters)
    export_check(report, fmt, rows)
    now = utcnow()
    handle, name = tempfile.mkstemp(prefix="racik-export-", suffix=f".{fmt}.part")
    os.close(handle)
    temporary = Path(name)
    try:
        if fmt == "csv":
            with temporary.open("w", encoding="utf-8", newline="") as out:
                for chunk in csv_chunks(report, filters):
                    out.write(chunk)
        else:
            temporary.write_bytes(report_pdf(report, filters, described))
        key = storage_put_file(temporary, folder=FOLDER, suffix=f".{fmt}")
    finally:
        temporary.unlink(missing_ok=True)
    return {"key": key, "filename": export_filename(report, fmt, now), "rows": rows}
