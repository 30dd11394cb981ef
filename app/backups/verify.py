"""Verify a backup: decrypt it whole, restore its database into a scratch database, check.

Checks, in order: every frame's tag (a flipped byte: "arsip rusak"; a missing tail:
"arsip terpotong"); the manifest first; each stored file's SHA-256 and size against the
manifest, and no file missing or extra; the database restored into a scratch database
(SQLite: the snapshot file in a temp folder, `PRAGMA integrity_check`; PostgreSQL: a
throwaway database `<name>_verify_<random>`, created and dropped, where pg_restore must
succeed); its row counts per table against the manifest; the encrypted file's SHA-256
against the record. The result goes on the BackupRecord (status, verified_at,
verify_message) and into the audit log.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, cast

from app.audit.services import audit_record
from app.backups.archive import ArchiveError, DecryptingReader, backup_key
from app.backups.create import DATABASE_MEMBER, backup_dir
from app.backups.models import BackupRecord, BackupStatus
from app.backups.snapshot import (
    SnapshotError,
    pg_restore_into,
    pg_scratch,
    sqlite_counts,
    sqlite_integrity,
)
from app.core.clock import utcnow
from app.extensions import db

CHUNK = 1024 * 1024


@dataclass
class Extracted:
    manifest: dict[str, Any]
    database: Path  # the snapshot file, in the caller's work folder
    sha256: str  # of the encrypted file


def _safe_key(name: str) -> str:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ArchiveError(f"arsip rusak: nama berkas tidak aman {name!r}")
    return path.as_posix()


def _file_member(handle: IO[bytes], target: Path | None) -> tuple[int, str]:
    """Streams one stored file of the archive (into `target`, when given): its size and
    SHA-256."""
    digest, size = hashlib.sha256(), 0
    out = None
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        out = target.open("wb")
    try:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if out is not None:
                out.write(chunk)
    finally:
        if out is not None:
            out.close()
    return size, digest.hexdigest()


def _files_match(manifest: dict[str, Any], seen: dict[str, tuple[int, str]]) -> None:
    """Every file the manifest lists was in the archive, with its size and SHA-256, and
    no other. Raises ArchiveError."""
    expected = {item["key"]: (item["size"], item["sha256"]) for item in manifest["files"]}
    for key, value in expected.items():
        if key not in seen:
            raise ArchiveError(f"berkas hilang dari arsip: {key}")
        if seen[key] != value:
            raise ArchiveError(f"SHA-256 berkas tidak cocok: {key}")
    extra = sorted(set(seen) - set(expected))
    if extra:
        raise ArchiveError(f"berkas tak tercatat di manifest: {extra[0]}")


def read_archive(archive: Path, work: Path, *, files_to: Path | None = None) -> Extracted:
    """Decrypt and unpack `archive` in one streaming pass: the snapshot into `work`, the
    files into `files_to` (or only hashed). Raises ArchiveError on any mismatch."""
    if not archive.is_file():
        raise ArchiveError("arsip tidak ditemukan")
    manifest: dict[str, Any] | None = None
    database: Path | None = None
    seen: dict[str, tuple[int, str]] = {}
    with archive.open("rb") as source:
        reader = DecryptingReader(source, backup_key())
        try:
            # cast: a stream ("r|") only reads its file object, but typeshed's tarfile stub
            # asks every fileobj for write/seek/tell/close too, which this reader has not.
            with tarfile.open(fileobj=cast(IO[bytes], reader), mode="r|") as tar:
                for member in tar:
                    if not member.isfile():
                        raise ArchiveError("arsip rusak: anggota bukan berkas")
                    handle = tar.extractfile(member)
                    assert handle is not None
                    if manifest is None:
                        if member.name != "manifest.json":
                            raise ArchiveError("arsip rusak: manifest tidak di awal")
                        manifest = json.loads(handle.read())
                        continue
                    if member.name == DATABASE_MEMBER.get(manifest.get("database", "")):
                        database = work / PurePosixPath(member.name).name
                        with database.open("wb") as out:
                            shutil.copyfileobj(handle, out, CHUNK)
                        continue
                    if not member.name.startswith("files/"):
                        raise ArchiveError(f"arsip rusak: anggota tak dikenal {member.name}")
                    key = _safe_key(member.name[len("files/"):])
                    seen[key] = _file_member(handle, None if files_to is None
                                             else files_to / key)
            reader.drain()
        except tarfile.TarError as error:
            raise ArchiveError(f"arsip rusak: {error}") from None
        except (ValueError, UnicodeDecodeError):
            raise ArchiveError("arsip rusak: manifest tidak terbaca") from None
    if manifest is None or database is None:
        raise ArchiveError("arsip rusak: manifest atau database tidak ada")
    _files_match(manifest, seen)
    return Extracted(manifest=manifest, database=database, sha256=reader.sha256.hexdigest())


def check_database(extracted: Extracted, url=None) -> str:
    """Restore the snapshot into a scratch database and compare counts; a summary."""
    manifest = extracted.manifest
    if manifest["database"] == "sqlite":
        result = sqlite_integrity(extracted.database)
        if result != "ok":
            raise ArchiveError(f"integrity_check gagal: {result[:200]}")
        counts, revision = sqlite_counts(extracted.database)
    else:
        url = url or db.engine.url
        with pg_scratch(url, f"verify_{secrets.token_hex(4)}") as scratch:
            counts, revision = pg_restore_into(extracted.database, scratch)
    if revision != manifest["schema_revision"]:
        raise ArchiveError("revisi skema di database tidak cocok dengan manifest")
    for table, expected in manifest["tables"].items():
        if counts.get(table) != expected:
            raise ArchiveError(f"jumlah baris {table} tidak cocok: {counts.get(table)} "
                               f"di arsip, {expected} di manifest")
    if set(counts) != set(manifest["tables"]):
        raise ArchiveError("daftar tabel tidak cocok dengan manifest")
    return (f"OK: {len(counts)} tabel, {sum(counts.values())} baris, "
            f"{len(manifest['files'])} berkas")


def verify_archive(archive: Path, *, sha256: str = "") -> tuple[Extracted, str]:
    """Every check on `archive`; raises ArchiveError/SnapshotError on the first failure."""
    work = Path(tempfile.mkdtemp(prefix=".verify-", dir=backup_dir()))
    try:
        extracted = read_archive(archive, work)
        if sha256 and extracted.sha256 != sha256:
            raise ArchiveError("arsip rusak: SHA-256 berkas berbeda dari catatan")
        return extracted, check_database(extracted)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def verify_backup(record: BackupRecord, *, actor: Any = None) -> bool:
    """Verify one record's archive; store and audit the outcome (flushed). True if good."""
    try:
        _extracted, message = verify_archive(backup_dir() / record.filename,
                                             sha256=record.sha256)
        ok = True
    except (ArchiveError, SnapshotError) as error:
        ok, message = False, error.message
    record.status = BackupStatus.VERIFIED if ok else BackupStatus.FAILED
    record.verified_at = utcnow()
    record.verify_message = message[:2000]
    audit_record("backup.verify", actor=actor, object_type="backup", object_id=record.id,
                 after={"status": record.status, "message": record.verify_message[:200]})
    db.session.flush()
    return ok
