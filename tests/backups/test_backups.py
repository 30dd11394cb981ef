"""Backups: round trip (backup -> verify -> restore gives back the same rows and files),
corrupt and truncated archives, the schema-revision guard, rotation, the admin page."""

from __future__ import annotations

import hashlib
import io
import shutil
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.backups import archive
from app.backups.archive import ArchiveError, DecryptingReader, EncryptingWriter
from app.backups.create import backup_dir, create_backup
from app.backups.models import BackupRecord, BackupStatus
from app.backups.restore import RestoreError, restore_backup
from app.backups.rotation import backups_to_keep, rotate_backups
from app.backups.verify import verify_backup
from app.core.models import JobRecord, JobStatus
from app.core.storage import storage_path, storage_put, storage_root
from tests.conftest import missing_service
from tests.factories import make_product, make_user

# Written by the backup machinery itself around the snapshot: not part of the comparison.
OWN_TABLES = {"backup_records", "audit_entries", "audit_archives", "job_records"}


@pytest.fixture(autouse=True)
def _backup_dirs(request, tmp_path, monkeypatch):
    if "db" not in request.fixturenames:  # the pure tests need no app (nor its cleanup)
        return
    app = request.getfixturevalue("app")
    monkeypatch.setitem(app.config, "BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.setitem(app.config, "STORAGE_ROOT", str(tmp_path / "files"))


def _needs_tools(db) -> None:
    if db.engine.dialect.name == "postgresql":
        for tool in ("pg_dump", "pg_restore", "psql"):
            if shutil.which(tool) is None:
                missing_service(f"{tool} (apt-get install postgresql-client)")


def content_checksums(db) -> dict[str, tuple[int, str]]:
    """Per table: (rows, SHA-256 of the rows ordered by primary key)."""
    result = {}
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            if table.name in OWN_TABLES:
                continue
            rows = connection.execute(
                select(table).order_by(*table.primary_key.columns)).all()
            digest = hashlib.sha256()
            for row in rows:
                digest.update(repr(tuple(row)).encode())
            result[table.name] = (len(rows), digest.hexdigest())
    return result


def _some_data(db):
    seller = make_user(roles=("seller",), name="Penjual Cadangan")
    buyer = make_user(name="Pembeli Cadangan")
    make_product(store=seller.stores[0] if hasattr(seller, "stores") else seller.store,
                 name="Serum Cadangan")
    key = storage_put(b"%PDF-1.4 invoice\n" * 100, folder="invoices", suffix=".pdf")
    db.session.commit()
    return buyer, key


def test_round_trip_restores_identical_rows_and_files(db):
    _needs_tools(db)
    buyer, key = _some_data(db)
    before = content_checksums(db)
    photo = storage_path(key).read_bytes()

    record = create_backup()
    db.session.commit()
    assert (backup_dir() / record.filename).stat().st_size == record.size
    assert record.manifest["tables"]["users"] == before["users"][0]
    assert record.manifest["files"][0]["key"] == key
    assert verify_backup(record), record.verify_message
    db.session.commit()
    assert record.status == BackupStatus.VERIFIED
    backup_id = record.id

    # Change everything: a new user, a renamed one, a lost file, a new file.
    make_user(name="Datang Kemudian")
    db.session.get(type(buyer), buyer.id).name = "Nama Diubah"
    storage_path(key).unlink()
    later = storage_put(b"later", folder="invoices", suffix=".pdf")
    db.session.commit()
    assert content_checksums(db) != before

    result = restore_backup(db.session.get(BackupRecord, backup_id))
    assert result["files"] == 1
    after = content_checksums(db)
    assert after == before
    assert storage_path(key).read_bytes() == photo
    assert storage_path(later).exists()  # files added since stay
    # The archive list survives (the snapshot was taken before its own row existed).
    assert db.session.scalars(select(BackupRecord.filename)).all() == [result["filename"]]
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert "backup.restore" in actions


def _flip(path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_flipped_byte_fails_verification(db):
    _needs_tools(db)
    _some_data(db)
    record = create_backup()
    db.session.commit()
    _flip(backup_dir() / record.filename, record.size // 2)
    assert not verify_backup(record)
    db.session.commit()
    assert record.status == BackupStatus.FAILED
    assert "arsip rusak" in record.verify_message
    assert record.verified_at is not None


def test_a_truncated_archive_fails_verification_and_is_never_restored(db):
    _needs_tools(db)
    _, key = _some_data(db)
    record = create_backup()
    db.session.commit()
    path = backup_dir() / record.filename
    path.write_bytes(path.read_bytes()[:-40])
    assert not verify_backup(record)
    db.session.commit()
    assert record.verify_message == "arsip terpotong"
    storage_path(key).unlink()
    make_user(name="Tetap Ada")
    db.session.commit()
    before = content_checksums(db)
    with pytest.raises(ArchiveError, match="arsip terpotong"):
        restore_backup(record)
    db.session.rollback()
    assert content_checksums(db) == before
    assert not storage_path(key).exists()


def test_a_missing_archive_fails_verification(db):
    record = BackupRecord(filename="racik-hilang.rbk", sha256="0" * 64)
    db.session.add(record)
    db.session.commit()
    assert not verify_backup(record)
    assert record.verify_message == "arsip tidak ditemukan"


def test_a_backup_from_a_newer_schema_is_refused(app, db):
    _needs_tools(db)
    _some_data(db)
    record = create_backup()
    record.schema_revision = "ffffffffffff"
    db.session.commit()
    with pytest.raises(RestoreError, match="lebih baru"):
        restore_backup(record)
    result = app.test_cli_runner().invoke(args=["backup", "restore", str(record.id), "--yes"])
    assert result.exit_code != 0
    assert "lebih baru" in result.output


def test_restore_asks_for_confirmation(app, db):
    _needs_tools(db)
    _some_data(db)
    record = create_backup()
    db.session.commit()
    make_user(name="Tidak Dihapus")
    db.session.commit()
    before = content_checksums(db)
    result = app.test_cli_runner().invoke(args=["backup", "restore", str(record.id)],
                                          input="n\n")
    assert result.exit_code != 0
    assert "Replace the database" in result.output
    assert content_checksums(db) == before


def test_cli_create_list_verify(app, db):
    _needs_tools(db)
    runner = app.test_cli_runner()
    created = runner.invoke(args=["backup", "create"])
    assert created.exit_code == 0, created.output
    verified = runner.invoke(args=["backup", "verify", "--latest"])
    assert verified.exit_code == 0, verified.output
    assert "verified" in verified.output
    listed = runner.invoke(args=["backup", "list"])
    assert "verified" in listed.output and "racik-" in listed.output


def test_nightly_job_creates_verifies_and_rotates(app, db):
    _needs_tools(db)
    from app.core.queue import execute_job

    old = BackupRecord(filename="racik-old.rbk", created_at=datetime.now(UTC) - timedelta(
        days=800))
    db.session.add(old)
    db.session.commit()
    (backup_dir() / "racik-old.rbk").write_bytes(b"x")
    result = execute_job(app, "jobs.backups.nightly", [], {})
    assert result["status"] == BackupStatus.VERIFIED
    assert "racik-old.rbk" not in result["removed"]  # the only one of its month: kept
    db.session.expire_all()
    record = db.session.get(BackupRecord, result["backup_id"])
    assert record.scheduled and record.status == BackupStatus.VERIFIED


# -- the frame format ------------------------------------------------------------------

def _sealed(monkeypatch, data: bytes, key: bytes = b"k" * 32) -> bytes:
    monkeypatch.setattr(archive, "FRAME_SIZE", 1000)
    out = io.BytesIO()
    writer = EncryptingWriter(out, key)
    writer.write(data)
    writer.close()
    return out.getvalue()


def _frames(blob: bytes) -> list[bytes]:
    frames, offset = [], archive.HEADER_SIZE
    while offset < len(blob):
        length = int.from_bytes(blob[offset:offset + 4], "big")
        frames.append(blob[offset:offset + 4 + length])
        offset += 4 + length
    return frames


def _open(blob: bytes, key: bytes = b"k" * 32) -> bytes:
    reader = DecryptingReader(io.BytesIO(blob), key)
    data = reader.read()
    reader.drain()
    return data


def test_frames_detect_truncation_reordering_and_tampering(monkeypatch):
    data = bytes(range(256)) * 20  # 5120 bytes: 6 frames of at most 1000
    blob = _sealed(monkeypatch, data)
    assert _open(blob) == data
    header, frames = blob[:archive.HEADER_SIZE], _frames(blob)
    assert len(frames) == 6
    with pytest.raises(ArchiveError, match="arsip terpotong"):  # cut at a frame boundary
        _open(header + b"".join(frames[:-1]))
    with pytest.raises(ArchiveError, match="arsip terpotong"):  # cut inside a frame
        _open(blob[:-5])
    with pytest.raises(ArchiveError, match="arsip terpotong"):
        _open(blob[:10])
    with pytest.raises(ArchiveError, match="arsip rusak"):  # two frames swapped
        _open(header + frames[1] + frames[0] + b"".join(frames[2:]))
    with pytest.raises(ArchiveError, match="arsip rusak"):  # a frame dropped
        _open(header + frames[0] + b"".join(frames[2:]))
    with pytest.raises(ArchiveError, match="arsip rusak"):  # garbage appended
        _open(blob + b"x")
    with pytest.raises(ArchiveError, match="arsip rusak"):  # another key
        _open(blob, key=b"j" * 32)
    for offset in (3, archive.HEADER_SIZE + 1, archive.HEADER_SIZE + 10, len(blob) - 1):
        tampered = bytearray(blob)
        tampered[offset] ^= 0x80
        with pytest.raises(ArchiveError):
            _open(bytes(tampered))


# -- rotation --------------------------------------------------------------------------

NOW = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)  # Tue 1 Dec 03:00 WIB


def _nightly(days: int) -> list[datetime]:
    """One backup per night at 19:00 UTC (02:00 WIB) for `days` nights up to NOW."""
    return [datetime(2026, 11, 30, 19, 0, tzinfo=UTC) - timedelta(days=n) for n in range(days)]


@pytest.mark.parametrize(("times", "expected"), [
    ([], set()),
    (_nightly(3), set(_nightly(3))),
    # 10 nights = WIB Sun 22 Nov .. Tue 1 Dec: the 7 newest days (WIB 25 Nov .. 1 Dec),
    # and Sun 22 Nov (02:00 WIB = 21 Nov 19:00 UTC) as the newest of ISO week 47; weeks 48
    # and 49 and both months already have their newest among the dailies.
    (_nightly(10), set(_nightly(7)) | {datetime(2026, 11, 21, 19, 0, tzinfo=UTC)}),
    # Two on one WIB day: only the newer counts as that day's daily.
    ([datetime(2026, 11, 30, 19, 0, tzinfo=UTC), datetime(2026, 11, 30, 18, 0, tzinfo=UTC)],
     {datetime(2026, 11, 30, 19, 0, tzinfo=UTC)}),
    # A future time (clock stepped back) is kept.
    ([NOW + timedelta(hours=1)], {NOW + timedelta(hours=1)}),
])
def test_backups_to_keep_table(times, expected):
    assert backups_to_keep(times, NOW) == expected


def test_backups_to_keep_a_long_history():
    times = _nightly(500)
    keep = backups_to_keep(times, NOW)
    wib = [t + timedelta(hours=7) for t in keep]
    months = {(t.year, t.month) for t in wib}
    weeks = {t.isocalendar()[:2] for t in wib}
    assert len(months) == 12
    assert len(keep) <= 7 + 4 + 12
    assert set(_nightly(7)) <= keep
    assert len(weeks) >= 4
    # Every kept monthly is the newest (last night) of its WIB month.
    for time in keep - set(_nightly(30)):
        assert (time + timedelta(hours=7, days=1)).day == 1


def test_rotate_backups_deletes_files_and_marks_rows(db):
    times = _nightly(40)
    for n, time in enumerate(times):
        db.session.add(BackupRecord(filename=f"racik-{n}.rbk", created_at=time))
        (backup_dir() / f"racik-{n}.rbk").write_bytes(b"x")
    db.session.commit()
    result = rotate_backups(NOW)
    db.session.commit()
    keep = backups_to_keep(times, NOW)
    assert result["kept"] == len(keep)
    for record in db.session.scalars(select(BackupRecord)):
        kept = record.created_at in keep
        assert (record.removed_at is None) == kept
        assert (backup_dir() / record.filename).exists() == kept


def test_rotation_keeps_what_the_admin_set_in_the_settings(db, client, login_as):
    times = _nightly(40)
    for n, time in enumerate(times):
        db.session.add(BackupRecord(filename=f"racik-{n}.rbk", created_at=time))
        (backup_dir() / f"racik-{n}.rbk").write_bytes(b"x")
    db.session.commit()
    login_as("admin")
    response = client.post("/admin/pengaturan/cadangan", data={
        "keep_daily": "3", "keep_weekly": "0", "keep_monthly": "0"})
    assert response.status_code in (200, 303)
    assert client.post("/admin/pengaturan/cadangan", data={
        "keep_daily": "0", "keep_weekly": "-1", "keep_monthly": "x"}).status_code == 422
    result = rotate_backups(NOW)
    db.session.commit()
    assert result["kept"] == len(backups_to_keep(times, NOW, daily=3, weekly=0, monthly=0)) == 3


# -- the admin page --------------------------------------------------------------------

def test_admin_page_creates_and_verifies_through_tracked_jobs(db, client, login_as):
    _needs_tools(db)
    login_as("admin")
    assert "Belum ada cadangan" in client.get("/admin/cadangan").get_data(as_text=True)
    response = client.post("/admin/cadangan/buat")
    assert response.status_code == 303
    record = db.session.scalar(select(BackupRecord))
    assert record is not None and record.created_by_id is not None
    response = client.post(f"/admin/cadangan/{record.id}/verifikasi")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(BackupRecord, record.id).status == BackupStatus.VERIFIED
    jobs = db.session.scalars(select(JobRecord).order_by(JobRecord.id)).all()
    assert [job.status for job in jobs] == [JobStatus.FINISHED, JobStatus.FINISHED]
    page = client.get("/admin/cadangan").get_data(as_text=True)
    assert "Terverifikasi" in page and "job-status" in page


def test_storage_root_is_the_fixture_one(app, db):
    assert str(storage_root()).startswith(app.config["STORAGE_ROOT"])


def test_the_nightly_job_is_in_the_cron_table_at_0200_wib():
    from jobs.cron import CRON_TABLE

    [entry] = [e for e in CRON_TABLE if e.func_path == "jobs.backups.nightly"]
    assert (entry.cron, entry.queue) == ("0 19 * * *", "backups")


def test_a_finished_backup_job_brings_the_new_row_without_a_reload(db, live_url):
    """Over real HTTP: "Buat cadangan sekarang" → the job's final status (what the page
    polls) triggers `job-finished`, the backups list listens for it, and the list fragment
    it fetches holds the new backup; without JavaScript the page after the redirect does."""
    import json
    from html.parser import HTMLParser

    from tests.live import csrf_token_of, live_log_in

    _needs_tools(db)
    email = make_user(roles=("admin",)).email
    db.session.commit()
    session = live_log_in(live_url, email)
    page = session.request("/admin/cadangan")
    assert "Belum ada cadangan" in page.text()
    created = session.post_form("/admin/cadangan/buat",
                                {"csrf_token": csrf_token_of(page.text())})
    assert created.status == 303
    record_id = db.session.scalars(select(BackupRecord.id)).one()
    job_id = db.session.scalars(select(JobRecord.id)).one()
    db.session.commit()
    verify_form = f"/admin/cadangan/{record_id}/verifikasi"
    assert verify_form in session.request(
        created.headers["Location"]).text()  # without JavaScript: the page after the redirect

    class Listener(HTMLParser):
        found: dict[str, str] = {}

        def handle_starttag(self, tag, attrs):
            if dict(attrs).get("id") == "backup-list":
                Listener.found = {k: v or "" for k, v in attrs}

    Listener().feed(page.text())  # the page before the backup, as the browser holds it
    assert Listener.found["hx-trigger"] == "job-finished from:body"
    status = session.request(f"/pekerjaan/{job_id}/status", headers={"HX-Request": "true"})
    assert status.status == 286 and "Selesai" in status.text()
    assert json.loads(status.headers["HX-Trigger"])["job-finished"]["id"] == job_id
    fragment = session.request(Listener.found["hx-get"], headers={"HX-Request": "true"}).text()
    assert "<html" not in fragment and 'id="backup-list"' in fragment
    assert verify_form in fragment


def test_the_last_backup_time_reads_wib_once(db, client, login_as):
    login_as("admin")
    db.session.add(BackupRecord(filename="racik-test.rbk", size=2048,
                                created_at=datetime(2026, 12, 6, 19, 0, tzinfo=UTC)))
    db.session.commit()
    page = client.get("/admin/cadangan").get_data(as_text=True)
    assert "7 Des 2026, 02.00 WIB" in page
    assert "WIB WIB" not in page
