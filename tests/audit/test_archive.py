"""Archiving the audit log: rows older than the retention go to a gzip JSON-lines file (read
back equal to the rows, SHA-256 recorded), then leave the table in the same transaction; a
second run archives nothing; a failure after the file was written leaves the rows, no
archive row and no file. The archive can be downloaded by admins only."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.audit import archive as archive_module
from app.audit.archive import audit_archive
from app.audit.models import AuditArchive, AuditEntry
from app.core.clock import utcnow
from app.core.queue import execute_job
from app.core.storage import storage_path, storage_root
from app.extensions import db as _db
from jobs.cron import CRON_TABLE
from tests.conftest import log_in
from tests.factories import make_user

DAY = timedelta(days=1)


def _add(action: str, age: timedelta, **values) -> AuditEntry:
    row = AuditEntry(action=action, created_at=utcnow() - age, **values)
    _db.session.add(row)
    _db.session.flush()
    return row


def _as_line(row: AuditEntry) -> dict:
    """What the archive must hold for `row`: every column, times in ISO 8601 UTC."""
    return {"id": row.id, "created_at": row.created_at.astimezone(UTC).isoformat(),
            "action": row.action, "actor_id": row.actor_id, "actor_label": row.actor_label,
            "object_type": row.object_type, "object_id": row.object_id,
            "ip_address": row.ip_address, "request_id": row.request_id,
            "before": row.before, "after": row.after, "note": row.note}


@pytest.fixture
def aged(db) -> dict[str, list]:
    """Three rows older than a year (one by a user, with text in every field) and two newer
    ones, in id order."""
    actor = make_user(email="pelaku@example.test")
    old = [
        _add("auth.login", 400 * DAY, actor_id=actor.id, actor_label=actor.email,
             object_type="user", object_id=str(actor.id), ip_address="10.1.2.3",
             request_id="req-1", note="ĉatatan — <b>tebal</b>"),
        _add("product.price", 380 * DAY, actor_label="seller@example.test",
             object_type="product", object_id="12", before={"GN-1": 150_000},
             after={"GN-1": 175_000}),
        _add("order.status", 366 * DAY, object_type="order", object_id="RCK-1",
             before={"status": "pending"}, after={"status": "cancelled", "side": "system"}),
    ]
    new = [_add("auth.login", 364 * DAY), _add("settings.change", timedelta(0))]
    _db.session.commit()
    return {"old": [_as_line(r) for r in old], "new": [r.id for r in new]}


def _ids() -> list[int]:
    _db.session.expire_all()
    return list(_db.session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))


def _archive_files() -> list[Path]:
    folder = storage_root() / "audit"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_rows_older_than_the_retention_go_to_a_gzip_json_lines_file(db, aged):
    before_files = _archive_files()
    result = audit_archive()
    _db.session.commit()

    old_ids = [line["id"] for line in aged["old"]]
    assert (result["archives"], result["rows"]) == (1, 3)
    assert (result["first_id"], result["last_id"]) == (old_ids[0], old_ids[-1])
    [archive] = _db.session.scalars(select(AuditArchive)).all()
    assert (archive.first_id, archive.last_id, archive.rows) == (old_ids[0], old_ids[-1], 3)
    assert archive.first_at.isoformat() == aged["old"][0]["created_at"]
    assert archive.last_at.isoformat() == aged["old"][-1]["created_at"]
    assert archive.file_key.startswith("audit/") and archive.file_key.endswith(".jsonl.gz")
    assert result["files"] == [archive.file_key]

    data = storage_path(archive.file_key).read_bytes()
    assert archive.sha256 == hashlib.sha256(data).hexdigest() and archive.size == len(data)
    lines = gzip.decompress(data).decode().splitlines()
    assert [json.loads(line) for line in lines] == aged["old"]
    assert len(_archive_files()) == len(before_files) + 1

    # The archived rows are gone; the newer ones stay, with the run's own audit row.
    remaining = _ids()
    assert remaining[:2] == aged["new"] and len(remaining) == 3
    run = _db.session.get(AuditEntry, remaining[2])
    assert (run.action, run.actor_id, run.object_type, run.object_id) == (
        "audit.archive", None, "audit_archive", str(archive.id))
    assert run.after == {"archives": 1, "rows": 3, "first_id": old_ids[0],
                         "last_id": old_ids[-1], "older_than_days": 365}


def test_a_second_run_archives_nothing_and_writes_no_file(db, aged):
    audit_archive()
    _db.session.commit()
    files, ids = _archive_files(), _ids()

    assert audit_archive() == {"archives": 0, "rows": 0, "first_id": None, "last_id": None,
                               "files": []}
    _db.session.commit()
    assert _archive_files() == files and _ids() == ids
    assert _db.session.scalar(select(func.count(AuditArchive.id))) == 1


def test_nothing_old_enough_makes_no_file_and_no_row(db):
    _add("auth.login", 10 * DAY)
    _db.session.commit()
    assert audit_archive()["rows"] == 0
    _db.session.commit()
    assert _db.session.scalar(select(func.count(AuditArchive.id))) == 0
    assert _db.session.scalar(select(func.count(AuditEntry.id))) == 1


def test_a_newer_row_inside_the_range_goes_with_it_so_ranges_have_no_holes(db):
    first = _add("auth.login", 400 * DAY)
    late = _add("auth.login", 2 * DAY)  # e.g. a clock step: a newer time on a lower id
    last = _add("auth.login", 370 * DAY)
    keep = _add("auth.login", DAY)
    _db.session.commit()
    ids = (first.id, late.id, last.id, keep.id)
    result = audit_archive()
    _db.session.commit()
    assert (result["first_id"], result["last_id"], result["rows"]) == (ids[0], ids[2], 3)
    assert _ids()[0] == ids[3]


def test_a_later_run_continues_after_the_previous_archive(db, aged):
    audit_archive()
    _db.session.commit()
    result = audit_archive(older_than_days=0)  # everything left
    _db.session.commit()
    first, second = _db.session.scalars(select(AuditArchive).order_by(AuditArchive.id)).all()
    assert second.first_id == aged["new"][0] and second.first_id > first.last_id
    assert result["rows"] == second.rows == 3  # two newer rows + the first run's own row
    assert len(_ids()) == 1  # this run's own audit row


def test_large_backlogs_are_split_into_several_files(db, aged, monkeypatch):
    monkeypatch.setattr(archive_module, "ARCHIVE_ROWS_MAX", 2)
    result = audit_archive()
    _db.session.commit()
    first, second = _db.session.scalars(select(AuditArchive).order_by(AuditArchive.id)).all()
    assert (result["archives"], result["rows"]) == (2, 3)
    assert (first.rows, second.rows, second.first_id) == (2, 1, first.last_id + 1)
    for archive in (first, second):
        lines = gzip.decompress(storage_path(archive.file_key).read_bytes()).splitlines()
        assert [json.loads(line)["id"] for line in lines] == list(
            range(archive.first_id, archive.last_id + 1))


def test_a_failure_after_the_file_was_written_leaves_rows_no_archive_and_no_file(
        app, db, aged, monkeypatch):
    written: list[str] = []
    real_put = archive_module.storage_put

    def put_and_remember(data: bytes, **kwargs) -> str:
        key = real_put(data, **kwargs)
        written.append(key)
        return key

    def boom(*args, **kwargs):
        raise RuntimeError("disk penuh")

    # The very last step fails: the file is written, the rows already deleted (flushed).
    monkeypatch.setattr(archive_module, "storage_put", put_and_remember)
    monkeypatch.setattr(archive_module, "audit_record", boom)
    ids = _ids()
    _db.session.commit()  # the job's own transaction must not wait for this one
    with pytest.raises(RuntimeError, match="disk penuh"):
        execute_job(app, "jobs.audit.archive", (), {})

    assert len(written) == 1 and not storage_path(written[0]).exists()
    assert _ids() == ids
    assert _db.session.scalar(select(func.count(AuditArchive.id))) == 0


def test_the_job_runs_daily_from_cron_and_the_cli_archives(app, db, aged):
    [entry] = [e for e in CRON_TABLE if e.func_path == "jobs.audit.archive"]
    assert entry.cron is not None and entry.cron.split()[2:] == ["*", "*", "*"]

    output = app.test_cli_runner().invoke(args=["audit", "archive", "--days", "365"])
    assert output.exit_code == 0, output.output
    old_ids = [line["id"] for line in aged["old"]]
    assert f"archived 3 rows (ids {old_ids[0]}..{old_ids[-1]}) in 1 file(s)" in output.output
    again = app.test_cli_runner().invoke(args=["audit", "archive"])
    assert again.exit_code == 0 and "nothing to archive" in again.output
    assert app.test_cli_runner().invoke(args=["audit", "archive", "--days", "-1"]).exit_code == 2


def test_admin_downloads_an_archive_as_an_attachment(client, db, aged):
    audit_archive()
    _db.session.commit()
    archive = _db.session.scalars(select(AuditArchive)).one()
    admin = make_user(roles=("admin",))
    _db.session.commit()
    log_in(client, admin.email)

    page = client.get("/admin/audit").get_data(as_text=True)
    assert f'data-archive="{archive.id}"' in page and archive.sha256 in page
    response = client.get(f"/admin/audit/arsip/{archive.id}/unduh")
    assert response.status_code == 200
    name = f"audit-{archive.first_id}-{archive.last_id}.jsonl.gz"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=\"{name}\"; filename*=UTF-8''{name}")
    assert response.mimetype == "application/gzip"
    assert hashlib.sha256(response.data).hexdigest() == archive.sha256
    assert client.get("/admin/audit/arsip/999999/unduh").status_code == 404


@pytest.mark.parametrize("role", ["customer", "seller", "client", "staff"])
def test_only_admins_download_archives(client, db, aged, role):
    audit_archive()
    _db.session.commit()
    archive = _db.session.scalars(select(AuditArchive)).one()
    user = make_user(roles=(role,))
    _db.session.commit()
    log_in(client, user.email)
    assert client.get(f"/admin/audit/arsip/{archive.id}/unduh").status_code == 403
