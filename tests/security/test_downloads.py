"""Files served by the app (issue #9, hardening): every download is an attachment with a
safe file name and `nosniff`; stored images are inline with their own type and `nosniff`
(a browser never guesses HTML or script from a file's bytes). DOWNLOADS lists every route
that sends a file; a route that looks like one (.pdf/.csv/.gz, "unduh", "ekspor", /media/)
cannot ship without a row here."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.core.models import JobRecord, JobStatus
from app.core.storage import storage_path, storage_put
from app.payments.models import Invoice
from app.reports.history import EXPORT_JOB
from tests.conftest import log_in
from tests.factories import make_order, make_product, make_user


@dataclass(frozen=True)
class Download:
    who: str  # the role that logs in (buyer: the invoice's buyer)
    url: Callable[[dict], str]
    mimetype: str
    attachment: bool  # False: shown inline (images)
    filename: str = ""  # a pattern the attachment's file name must match


DOWNLOADS: dict[str, Download] = {
    "payments.invoice_download": Download(
        "buyer", lambda ids: f"/invoice/{ids['invoice']}.pdf", "application/pdf", True,
        r"INV-TK\d+-\d{4}-\d{6}\.pdf"),
    "audit.archive_download": Download(
        "admin", lambda ids: f"/admin/audit/arsip/{ids['archive']}/unduh", "application/gzip",
        True, r"audit-\d+-\d+\.jsonl\.gz"),
    "crm.contacts_export": Download("admin", lambda ids: "/crm/kontak/ekspor.csv", "text/csv",
                                    True, r"[a-z-]+-\d{8}\.csv"),
    "crm.companies_export": Download("admin", lambda ids: "/crm/perusahaan/ekspor.csv",
                                     "text/csv", True, r"[a-z-]+-\d{8}\.csv"),
    "core.media": Download("anonymous", lambda ids: f"/media/{ids['photo']}", "image/webp",
                           False),
    "static": Download("anonymous", lambda ids: "/static/css/app.css", "text/css", False),
    "reports.export_download": Download(
        "admin", lambda ids: f"/admin/laporan/unduh/{ids['report']}", "text/csv", True,
        r"laporan-\d{8}\.csv"),
    "reports.history_download": Download(
        "client", lambda ids: f"/riwayat/unduh/{ids['history']}", "text/csv", True,
        r"riwayat-maklon-\d{8}\.csv"),
    "maklon.contract_download": Download(
        "client", lambda ids: f"/maklon/{ids['maklon']}/kontrak.pdf", "application/pdf", True,
        r"Kontrak-MK-\d{4}-\d{6}\.pdf"),
    "maklon.request_file": Download(
        "client", lambda ids: f"/maklon/{ids['maklon']}/berkas/{ids['maklon_file']}",
        "application/pdf", True, r"spesifikasi-serum\.pdf"),
    "maklon.stage_photo": Download(
        "client", lambda ids: f"/maklon/{ids['maklon']}/produksi/foto/{ids['stage']}",
        "image/webp", False),
}
LOOKS_LIKE_A_FILE = re.compile(r"\.(pdf|csv|gz|zip|xlsx|json)$|unduh|ekspor|download|^/media/|"
                               r"^/static/|/berkas/|/foto/")


def test_every_route_that_looks_like_a_download_is_listed(app):
    found = {rule.endpoint for rule in app.url_map.iter_rules()
             if LOOKS_LIKE_A_FILE.search(rule.rule) and "GET" in (rule.methods or ())
             and rule.endpoint != "api.openapi_json"}  # public, not a user's file
    assert found == set(DOWNLOADS)


@pytest.fixture
def files(db) -> dict:
    return stored_files(db)


def stored_files(db) -> dict:
    """A paid order's invoice, an audit archive, a public product photo; who may read them
    (on the configured storage backend: tests/storage runs the matrix on S3 too)."""
    from datetime import timedelta

    from app.audit.archive import audit_archive
    from app.audit.models import AuditArchive, AuditEntry
    from app.catalog.models import ProductImage
    from app.core.clock import utcnow

    seller = make_user(roles=("seller",))
    buyer = make_user()
    admin = make_user(roles=("admin",))
    product = make_product(store=seller.store)
    make_order(buyer=buyer, variant=product.variants[0], paid=True)
    key = storage_put(b"RIFF\x00\x00\x00\x00WEBPVP8 ", folder="products", suffix=".webp")
    product.images.append(ProductImage(display_key=key, thumb_key=key, width=1, height=1))
    db.session.add(AuditEntry(action="auth.login", created_at=utcnow() - timedelta(days=400)))
    db.session.commit()
    audit_archive()
    db.session.commit()
    maklon, client = _maklon_files(db)
    report = storage_put(b"\xef\xbb\xbfNomor\r\n", folder="reports",  # as an export job
                         suffix=".csv")
    # The client's own finished history export job (app/reports/history.py) and its file.
    history = storage_put(b"\xef\xbb\xbfNomor\r\n", folder="reports", suffix=".csv")
    db.session.add(JobRecord(job_id="history-export-1", name=EXPORT_JOB,
                             status=JobStatus.FINISHED, owner_id=client.id,
                             result={"key": history, "filename": "riwayat-maklon-20261207.csv"}))
    db.session.commit()
    return {
        "report": report,
        "history": history,
        "invoice": db.session.scalars(select(Invoice.id)).one(),
        "archive": db.session.scalars(select(AuditArchive.id)).one(),
        "photo": key,
        "emails": {"buyer": buyer.email, "admin": admin.email, "client": client.email},
        **maklon,
    }


def _maklon_files(db) -> tuple[dict, object]:
    """A signed maklon order with its contract PDF, a specification file and a stage
    photo, all readable by the order's client."""
    from app.maklon.models import MaklonFile, ProductionStage
    from tests.maklon.factories import make_maklon_client, make_signed_request

    client = make_maklon_client()
    request = make_signed_request(client=client)
    pdf_key = storage_put(b"%PDF-1.4\n%%EOF\n", folder="maklon", suffix=".pdf")
    photo_key = storage_put(b"RIFF\x00\x00\x00\x00WEBPVP8 ", folder="maklon-stages",
                            suffix=".webp")
    spec = MaklonFile(request_id=request.id, kind="spec", file_key=pdf_key,
                      filename="spesifikasi-serum.pdf", content_type="application/pdf",
                      size=16)
    stage = ProductionStage(request_id=request.id, stage="concept_approved", staff_name="",
                            photo_key=photo_key)
    db.session.add_all([spec, stage])
    db.session.commit()
    return {"maklon": request.number, "maklon_file": spec.id, "stage": stage.id}, client


@pytest.mark.parametrize("endpoint", sorted(DOWNLOADS))
def test_downloads_are_attachments_and_nothing_is_sniffed(make_client, files, endpoint):
    check_download(make_client, files, endpoint)


def check_download(make_client, files: dict, endpoint: str) -> None:
    """DOWNLOADS[endpoint] fetched by its user: 200, its type, never sniffed; private files
    as attachments with their own names, never in a shared cache; media inline."""
    download = DOWNLOADS[endpoint]
    client = make_client()
    if download.who != "anonymous":
        log_in(client, files["emails"][download.who])
    response = client.get(download.url(files))
    assert response.status_code == 200
    assert response.mimetype == download.mimetype
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers.get("Content-Disposition", "")
    if download.attachment:
        match = re.fullmatch(r'attachment; filename="?([^";]+)"?(; filename\*=UTF-8\'\'\S+)?',
                             disposition)
        assert match, disposition
        assert re.fullmatch(download.filename, match.group(1)), match.group(1)
        # Private documents are never kept by a shared cache.
        assert "public" not in response.headers.get("Cache-Control", "")
    else:
        assert not disposition.startswith("attachment")
        if endpoint == "core.media":
            assert disposition == "inline"


def test_media_serves_only_the_public_folders(make_client, files, db):
    """An invoice lives in the same storage; its key under /media/ is a 404, not a file."""
    key = db.session.get(Invoice, files["invoice"]).file_key
    assert storage_path(key).is_file()
    assert make_client().get(f"/media/{key}").status_code == 404
    assert make_client().get("/media/products/../invoices/x.pdf").status_code == 404
