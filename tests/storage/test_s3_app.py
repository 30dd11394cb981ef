"""The rest of the app on an S3 bucket: a backup holds the bucket's files and a restore
puts a lost object back; an invoice email attaches the PDF read from the bucket; an export
job's file is uploaded and downloaded by key."""

from __future__ import annotations

import email
import email.policy

from sqlalchemy import select

from app.backups.create import create_backup
from app.backups.models import BackupRecord
from app.backups.restore import restore_backup
from app.core.storage import storage_delete, storage_put, storage_read
from app.payments.models import Invoice
from tests.backups.test_backups import _needs_tools
from tests.factories import make_order, make_product, make_user
from tests.s3 import bucket_objects


def test_a_backup_holds_the_bucket_files_and_a_restore_puts_a_lost_object_back(
        app, db, s3_bucket, tmp_path, monkeypatch):
    _needs_tools(db)
    monkeypatch.setitem(app.config, "BACKUP_DIR", str(tmp_path / "backups"))
    data = b"%PDF-1.4 invoice\n" * 100
    key = storage_put(data, folder="invoices", suffix=".pdf")
    db.session.commit()
    record = create_backup()
    db.session.commit()
    assert [item["key"] for item in record.manifest["files"]] == [key]
    backup_id = record.id

    storage_delete(key)
    later = storage_put(b"later", folder="invoices", suffix=".pdf")
    db.session.commit()
    assert key not in bucket_objects(app.config["S3_ENDPOINT_URL"], s3_bucket)

    result = restore_backup(db.session.get(BackupRecord, backup_id))
    assert result["files"] == 1
    objects = bucket_objects(app.config["S3_ENDPOINT_URL"], s3_bucket)
    assert objects[key] == data
    assert later in objects  # files added since stay
    assert not (tmp_path / "files").exists()  # nothing went through the local root


def test_an_invoice_email_attaches_the_pdf_read_from_the_bucket(app, db, s3_bucket, mail_dir):
    seller = make_user(roles=("seller",))
    buyer = make_user()
    make_order(buyer=buyer, variant=make_product(store=seller.store).variants[0], paid=True)
    db.session.commit()
    invoice = db.session.scalars(select(Invoice)).one()
    stored = storage_read(invoice.file_key)
    attached = []
    for path in sorted(mail_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        attached += [part.get_content() for part in message.iter_attachments()]
    assert stored in attached


def test_an_export_is_uploaded_to_the_bucket_and_an_admin_downloads_it_by_key(
        app, db, s3_bucket, live_url):
    from app.reports.exports import export_write
    from app.reports.tables import ReportFilters
    from tests.live import live_log_in, raw_request

    seller = make_user(roles=("seller",))
    buyer = make_user()
    make_order(buyer=buyer, variant=make_product(store=seller.store).variants[0], paid=True)
    admin = make_user(roles=("admin",)).email
    written = export_write("pesanan", "csv", ReportFilters())
    db.session.commit()
    objects = bucket_objects(app.config["S3_ENDPOINT_URL"], s3_bucket)
    assert objects[written["key"]].startswith(b"\xef\xbb\xbf")
    assert written["rows"] == 1

    answer = live_log_in(live_url, admin).request(f"/admin/laporan/unduh/{written['key']}")
    assert answer.status == 200
    assert answer.body == objects[written["key"]]
    assert answer.headers["Content-Type"].startswith("text/csv")
    assert "no-store" in answer.headers["Cache-Control"]
    assert raw_request(live_url, f"/admin/laporan/unduh/{written['key']}").status != 200
