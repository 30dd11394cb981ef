"""Create a backup: snapshot + storage files + manifest.json in one encrypted tar stream.

Tar members, in order: `manifest.json` (first, so a reader knows the schema revision
before anything else), `database/racik.sqlite3` or `database/racik.pgdump`, then
`files/<storage key>` for every stored file (local disk or bucket). The manifest holds the time,
the alembic revision, the database kind, row counts per table, each file's size and SHA-256,
and the totals. The archive is written as `<name>.part` and renamed when complete, so a
crash never leaves a half archive under a real name.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, cast

from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from flask import current_app

from app.audit.services import audit_record
from app.backups.archive import EncryptingWriter, backup_key
from app.backups.models import BackupRecord
from app.backups.snapshot import database_kind, pg_snapshot, sqlite_snapshot
from app.core.clock import utcnow
from app.core.storage import storage_keys, storage_open, storage_stat, stream_sha256
from app.extensions import db

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
DATABASE_MEMBER = {"sqlite": "database/racik.sqlite3", "postgresql": "database/racik.pgdump"}
CHUNK = 1024 * 1024


def backup_dir() -> Path:
    configured = current_app.config.get("BACKUP_DIR") or ""
    path = Path(configured) if configured else Path(current_app.instance_path) / "backups"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _scripts() -> ScriptDirectory:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def code_revision() -> str:
    return _scripts().get_current_head() or ""


def revision_known(revision: str) -> bool:
    """Whether the code's migrations know `revision` (unknown = newer than the code)."""
    if not revision:
        return False
    try:
        return _scripts().get_revision(revision) is not None
    except Exception:  # alembic raises its own errors for unknown ids
        return False


def storage_files() -> Iterator[dict[str, Any]]:
    """{key, size, sha256, mtime} of every stored file (read once from the local disk or
    the bucket; keys of any other shape, such as the backups themselves, are not files)."""
    for key in storage_keys():
        stored = storage_stat(key)
        if stored is None:  # deleted since it was listed
            continue
        with storage_open(key) as stream:
            size, sha256 = stream_sha256(stream)
        yield {"key": key, "size": size, "sha256": sha256,
               "mtime": int(stored.modified.timestamp())}


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(utcnow().timestamp())
    tar.addfile(info, io.BytesIO(data))


def _add_file(tar: tarfile.TarFile, name: str, path: Path, size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(path.stat().st_mtime)
    with path.open("rb") as handle:
        tar.addfile(info, handle)


def _add_stored(tar: tarfile.TarFile, name: str, item: dict[str, Any]) -> None:
    info = tarfile.TarInfo(name)
    info.size = item["size"]
    info.mtime = item["mtime"]
    with storage_open(item["key"]) as stream:  # keys never change content
        tar.addfile(info, stream)


def _archive_name(directory: Path) -> str:
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    name = f"racik-{stamp}.rbk"
    while (directory / name).exists() or (directory / f"{name}.part").exists():
        name = f"racik-{stamp}-{secrets.token_hex(2)}.rbk"
    return name


def create_backup(*, actor: Any = None, scheduled: bool = False) -> BackupRecord:
    """Write a new encrypted archive to BACKUP_DIR and add its BackupRecord (flushed)."""
    kind = database_kind()
    directory = backup_dir()
    created = utcnow()
    work = Path(tempfile.mkdtemp(prefix=".work-", dir=directory))
    try:
        snapshot = work / Path(DATABASE_MEMBER[kind]).name
        if kind == "sqlite":
            counts, revision = sqlite_snapshot(snapshot)
        else:
            counts, revision = pg_snapshot(snapshot)
        stored = list(storage_files())
        files = [{name: item[name] for name in ("key", "size", "sha256")} for item in stored]
        manifest = {
            "format": 1,
            "created_at": created.isoformat(),
            "schema_revision": revision,
            "database": kind,
            "database_size": snapshot.stat().st_size,
            "tables": counts,
            "rows": sum(counts.values()),
            "files": files,
            "files_count": len(files),
            "files_size": sum(item["size"] for item in files),
        }
        name = _archive_name(directory)
        partial = directory / f"{name}.part"
        with partial.open("wb") as target:
            writer = EncryptingWriter(target, backup_key())
            # cast: a stream ("w|") only writes to its file object, but typeshed's tarfile
            # stub asks every fileobj for read/seek/tell too, which this writer has not.
            stream = cast(IO[bytes], writer)
            with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=1).encode())
                _add_file(tar, DATABASE_MEMBER[kind], snapshot, manifest["database_size"])
                for item in stored:
                    _add_stored(tar, f"files/{item['key']}", item)
            writer.close()
            target.flush()
            os.fsync(target.fileno())
        os.replace(partial, directory / name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    record = BackupRecord(
        filename=name, size=writer.size, sha256=writer.sha256.hexdigest(),
        schema_revision=revision, database=kind, manifest=manifest, scheduled=scheduled,
        created_by_id=getattr(actor, "id", None), created_at=created)
    db.session.add(record)
    db.session.flush()
    audit_record("backup.create", actor=actor, object_type="backup", object_id=record.id,
                 after={"filename": name, "size": record.size, "rows": manifest["rows"],
                        "files": len(files)})
    return record
