"""Files (product photos, invoices, contracts, exports, archives…) by server-made keys, on
the local disk or in an S3-compatible bucket.

A key looks like `products/2026/11/3f9c…e1.webp`: a folder chosen by the caller, the month,
and a random name; nothing of the uploader's file name survives. Where the bytes live is
configuration (`STORAGE_BACKEND`):

- `local` (default): under `STORAGE_ROOT` (default `instance/files`), outside `static/`.
- `s3`: objects `S3_PREFIX + key` in `S3_BUCKET` of any S3-compatible service (AWS S3,
  MinIO, Cloudflare R2, Wasabi, IDCloudHost…), so several hosts share files without NFS.
  Objects are written without an ACL (private, as buckets are by default) and are read
  only by the app: downloads are streamed through it after its access check, or, with
  `S3_SIGNED_URLS`, redirected to a presigned URL valid `S3_URL_EXPIRY` seconds. Public
  product photos and inline images are always served by the app (a presigned URL expires,
  which an immutable cache and the CSP's `img-src 'self'` do not allow).

Everything outside this module uses keys only: `storage_put`/`storage_put_file`,
`storage_read`, `storage_open`, `storage_stat`/`storage_exists`, `storage_keys`,
`storage_send` (public media) and `storage_download` (private files).

Transactions: `storage_put` writes at once (the row that points at the file is committed
after) and removes the file again if the transaction rolls back; `storage_delete` waits
for the commit, so a rolled-back delete loses nothing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

from flask import Flask, Response, abort, current_app, redirect, request, send_file
from sqlalchemy.orm import Session

from app.core.clock import utcnow
from app.core.db import after_outer_commit, after_outer_rollback
from app.core.http import content_disposition
from app.extensions import db

log = logging.getLogger(__name__)

_WRITTEN = "storage_written"  # session.info keys
_TO_DELETE = "storage_to_delete"
CHUNK = 256 * 1024

# Folders whose files anyone may download by key (keys are unguessable anyway).
PUBLIC_FOLDERS = frozenset({"products"})
MIMETYPES = {".webp": "image/webp", ".jpg": "image/jpeg", ".png": "image/png",
             ".pdf": "application/pdf", ".csv": "text/csv"}
BACKENDS = ("local", "s3")
PARTIAL = ".part"  # a local file being written

# The one shape of a key (what `storage_put` makes): folder / year / month / 32 hex digits
# and a suffix. Checked before a key touches the file system or the bucket, so `..`, `.`,
# empty or absolute segments, backslashes, NUL and percent-encoded characters (left over
# after the URL was decoded once) never reach a path, however a client spells them.
KEY_SHAPE = re.compile(
    r"[a-z][a-z0-9-]{0,39}/[0-9]{4}/[0-9]{2}/[0-9a-f]{32}(?:\.[a-z0-9]{1,8}){1,2}")


def storage_key_valid(key: str) -> bool:
    """Whether `key` has the shape of a key `storage_put` makes."""
    return isinstance(key, str) and KEY_SHAPE.fullmatch(key) is not None


def _checked(key: str) -> str:
    if not storage_key_valid(key):
        abort(404)
    return key


def _new_key(folder: str, suffix: str) -> str:
    now = utcnow()
    return _checked(f"{folder}/{now:%Y}/{now:%m}/{secrets.token_hex(16)}{suffix}")


def _suffix(key: str) -> str:
    return "." + key.rsplit(".", 1)[1]


@dataclass(frozen=True)
class StoredFile:
    """What a backend knows about a stored file without reading it."""
    size: int
    modified: datetime  # UTC
    etag: str  # changes when the content does (keys never change content anyway)


class Backend(Protocol):
    """What the local disk and a bucket both do, by valid keys."""
    name: str

    def write(self, key: str, data: bytes) -> None: ...
    def write_file(self, key: str, source: Path, *, move: bool) -> None: ...
    def open(self, key: str) -> IO[bytes]: ...  # FileNotFoundError when missing
    def stat(self, key: str) -> StoredFile | None: ...
    def delete(self, key: str) -> None: ...
    def list_keys(self) -> Iterator[str]: ...
    def folder(self, key: str) -> str: ...


# Local disk ---------------------------------------------------------------------------------
def storage_root(app: Flask | None = None) -> Path:
    app = app or current_app
    return Path(app.config.get("STORAGE_ROOT") or Path(app.instance_path) / "files")


class LocalBackend:
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        """The file behind a valid key; 404 for anything that resolves (a symbolic link)
        outside the root."""
        root = self.root.resolve()
        path = (root / _checked(key)).resolve()
        if root not in path.parents:
            abort(404)
        return path

    def write(self, key: str, data: bytes) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(path.suffix + PARTIAL)
        temporary.write_bytes(data)
        os.replace(temporary, path)  # readers never see half a file

    def write_file(self, key: str, source: Path, *, move: bool) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(path.suffix + PARTIAL)
        if move:
            shutil.move(source, temporary)  # a rename on the same file system
        else:
            shutil.copyfile(source, temporary)
        os.replace(temporary, path)

    def open(self, key: str) -> IO[bytes]:
        path = self.path(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        return path.open("rb")

    def stat(self, key: str) -> StoredFile | None:
        path = self.path(key)
        if not path.is_file():
            return None
        info = path.stat()
        return StoredFile(size=info.st_size,
                          modified=datetime.fromtimestamp(info.st_mtime, UTC),
                          etag=f"{info.st_mtime_ns:x}-{info.st_size:x}")

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def list_keys(self) -> Iterator[str]:
        root = self.root
        if not root.is_dir():
            return
        for path in sorted(root.rglob("*")):
            if path.is_symlink() or not path.is_file():
                continue
            key = path.relative_to(root).as_posix()
            # Not backups, `.restore-` leftovers, nor a write's `.part` temporary (which
            # has a key's shape: keys may have two suffixes, `.jsonl.gz`).
            if storage_key_valid(key) and not key.endswith(PARTIAL):
                yield key

    def folder(self, key: str) -> str:
        # Judged on the resolved path: a link from products/ into invoices/ is invoices.
        return self.path(key).relative_to(self.root.resolve()).parts[0]


# S3-compatible bucket -----------------------------------------------------------------------
class S3Backend:
    name = "s3"

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def object_name(self, key: str) -> str:
        return self.prefix + _checked(key)

    def _extra(self, key: str, sha256: str) -> dict[str, Any]:
        # No ACL: the object stays as private as the bucket (never public-read).
        return {"ContentType": MIMETYPES.get(_suffix(key), "application/octet-stream"),
                "Metadata": {"sha256": sha256}}

    def write(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.object_name(key), Body=data,
                               **self._extra(key, hashlib.sha256(data).hexdigest()))

    def write_file(self, key: str, source: Path, *, move: bool) -> None:
        self.client.upload_file(str(source), self.bucket, self.object_name(key),
                                ExtraArgs=self._extra(key, file_sha256(source)))
        if move:
            source.unlink(missing_ok=True)

    def open(self, key: str) -> IO[bytes]:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.object_name(key))
        except ClientError as error:
            if _missing(error):
                raise FileNotFoundError(key) from None
            raise
        return answer["Body"]

    def stat(self, key: str) -> StoredFile | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.object_name(key))
        except ClientError as error:
            if _missing(error):
                return None
            raise
        return StoredFile(size=head["ContentLength"], modified=head["LastModified"],
                          etag=head["ETag"].strip('"'))

    def sha256(self, key: str) -> str:
        """The SHA-256 recorded when the object was written ("" when unknown)."""
        head = self.client.head_object(Bucket=self.bucket, Key=self.object_name(key))
        return head.get("Metadata", {}).get("sha256", "")

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.object_name(key))

    def list_keys(self) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for item in page.get("Contents", ()):
                key = item["Key"][len(self.prefix):]
                if storage_key_valid(key):
                    yield key

    def folder(self, key: str) -> str:
        return _checked(key).split("/", 1)[0]

    def presigned_url(self, key: str, *, mimetype: str, disposition: str,
                      expires: int) -> str:
        return self.client.generate_presigned_url("get_object", ExpiresIn=expires, Params={
            "Bucket": self.bucket, "Key": self.object_name(key),
            "ResponseContentType": mimetype, "ResponseContentDisposition": disposition,
            "ResponseCacheControl": "private, no-store"})


def _missing(error: Any) -> bool:
    return error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


def s3_prefix(value: str) -> str:
    """`S3_PREFIX` as used in object names: "" or "segment/…/" (no leading slash)."""
    value = value.strip().strip("/")
    return f"{value}/" if value else ""


def _s3_client(app: Flask) -> Any:
    import boto3
    from botocore.config import Config as BotoConfig

    config = app.config
    return boto3.session.Session().client(
        "s3",
        endpoint_url=config.get("S3_ENDPOINT_URL") or None,
        region_name=config.get("S3_REGION") or None,
        aws_access_key_id=config.get("S3_ACCESS_KEY_ID") or None,
        aws_secret_access_key=config.get("S3_SECRET_ACCESS_KEY") or None,
        config=BotoConfig(
            signature_version="s3v4",
            s3={"addressing_style": config.get("S3_ADDRESSING_STYLE") or "auto"},
            connect_timeout=5, read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"}))


def s3_backend(app: Flask | None = None) -> S3Backend:
    """The bucket configured by the S3_* settings (whatever STORAGE_BACKEND says: the
    migrate command needs both ends). One client per configuration and process (boto3
    clients are thread-safe)."""
    app = app or current_app
    config = app.config
    if not config.get("S3_BUCKET"):
        raise RuntimeError("S3_BUCKET is not set")
    signature = tuple(config.get(name) or "" for name in (
        "S3_ENDPOINT_URL", "S3_REGION", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY",
        "S3_ADDRESSING_STYLE"))
    clients = app.extensions.setdefault("racik_s3_clients", {})
    if signature not in clients:
        clients[signature] = _s3_client(app)
    return S3Backend(clients[signature], config["S3_BUCKET"],
                     s3_prefix(config.get("S3_PREFIX") or ""))


def storage_backend(app: Flask | None = None, kind: str | None = None) -> LocalBackend | S3Backend:
    """The backend named by STORAGE_BACKEND (or `kind`)."""
    app = app or current_app
    kind = kind or app.config.get("STORAGE_BACKEND") or "local"
    if kind == "local":
        return LocalBackend(storage_root(app))
    if kind == "s3":
        return s3_backend(app)
    raise RuntimeError(f"Unknown STORAGE_BACKEND {kind!r}; use one of {BACKENDS}")


# The API -----------------------------------------------------------------------------------
def storage_path(key: str) -> Path:
    """The local file behind `key` (local backend only; code that must also work on a
    bucket uses `storage_open`/`storage_read`). 404 for a key of any other shape and for
    anything that resolves outside the root."""
    backend = storage_backend()
    if not isinstance(backend, LocalBackend):
        raise RuntimeError("storage_path: the s3 storage backend has no local paths")
    return backend.path(key)


def storage_folder(key: str) -> str:
    """The top folder of a stored file (`products`, `invoices`, …), on the local disk that
    of the resolved path."""
    return storage_backend().folder(key)


def _remember_written(key: str) -> None:
    db.session.info.setdefault(_WRITTEN, []).append(key)


def storage_put(data: bytes, *, folder: str, suffix: str) -> str:
    """Write `data` under a new random key in `folder` and return the key."""
    key = _new_key(folder, suffix)
    storage_backend().write(key, data)
    _remember_written(key)
    return key


def storage_put_file(source: Path, *, folder: str, suffix: str) -> str:
    """Move the local file `source` (a temporary file the caller wrote, e.g. a large CSV)
    under a new random key in `folder` and return the key; like `storage_put`, undone if
    the transaction rolls back."""
    key = _new_key(folder, suffix)
    storage_backend().write_file(key, source, move=True)
    _remember_written(key)
    return key


def storage_restore_file(key: str, source: Path) -> None:
    """Put the local file `source` back under its old `key` (a backup's restore). Not
    bound to the transaction: the restore commits on its own."""
    storage_backend().write_file(_checked(key), source, move=True)


def storage_delete(key: str) -> None:
    """Delete the file once the current transaction commits."""
    db.session.info.setdefault(_TO_DELETE, []).append(key)


def storage_open(key: str) -> IO[bytes]:
    """A binary stream of the stored file (close it); FileNotFoundError when missing."""
    return storage_backend().open(key)


def storage_read(key: str) -> bytes:
    """The stored file's bytes; FileNotFoundError when missing."""
    with storage_open(key) as stream:
        return stream.read()


def storage_stat(key: str) -> StoredFile | None:
    """Size, time and etag of the stored file; None when it is missing."""
    return storage_backend().stat(key)


def storage_exists(key: str) -> bool:
    return storage_stat(key) is not None


def storage_keys() -> Iterator[str]:
    """Every stored key (sorted on the local disk, in key order in a bucket)."""
    return storage_backend().list_keys()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def stream_sha256(stream: IO[bytes]) -> tuple[int, str]:
    """(size, SHA-256) of what is left in `stream`."""
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def _chunks(backend: Backend, key: str) -> Iterator[bytes]:
    # Opened on the first chunk: a 304 or a HEAD never fetches the object.
    with backend.open(key) as stream:
        while chunk := stream.read(CHUNK):
            yield chunk


def _streamed(backend: Backend, key: str, stored: StoredFile, *,
              mimetype: str, max_age: int, etag: str | None) -> Response:
    """The object streamed through the app, with the headers `send_file` would give."""
    response = Response(_chunks(backend, key), mimetype=mimetype, direct_passthrough=True)
    response.content_length = stored.size
    response.last_modified = stored.modified
    response.set_etag(etag or stored.etag)
    if max_age > 0:
        response.cache_control.public = True
        response.cache_control.max_age = max_age
    else:
        response.cache_control.no_cache = True
        response.cache_control.max_age = 0
    return response.make_conditional(request.environ)


def storage_send(key: str, *, public_only: bool = True) -> Response:
    """Serve a stored file inline with its own Content-Type, `nosniff`, and a long cache
    lifetime (a key never changes content); always through the app. With `public_only`
    (a key from the URL), only files inside PUBLIC_FOLDERS; 404 otherwise, and for a key
    of the wrong shape or a missing file."""
    backend = storage_backend()
    _checked(key)  # the shape first, then the folder
    if public_only and backend.folder(key) not in PUBLIC_FOLDERS:
        abort(404)
    mimetype = MIMETYPES.get(_suffix(key))
    if mimetype is None:
        abort(404)
    max_age = 365 * 24 * 3600
    if isinstance(backend, LocalBackend):
        path = backend.path(key)
        if not path.is_file():
            abort(404)
        response = send_file(path, mimetype=mimetype, max_age=max_age, conditional=True)
    else:
        stored = backend.stat(key)
        if stored is None:
            abort(404)
        response = _streamed(backend, key, stored, mimetype=mimetype, max_age=max_age,
                             etag=None)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    response.cache_control.public = True
    response.cache_control.immutable = True
    response.headers.pop("Expires", None)  # max-age says it (fewer bytes per photo)
    return response


def url_expiry(config: Any) -> int:
    """S3_URL_EXPIRY in seconds, within what SigV4 allows (1 s to 7 days)."""
    return max(1, min(int(config.get("S3_URL_EXPIRY") or 300), 7 * 24 * 3600))


def storage_download(key: str, *, mimetype: str, filename: str, etag: str | None = None,
                     disposition: str | None = None) -> Response:
    """A private stored file as an attachment named `filename` (or with the caller's own
    Content-Disposition `disposition`), for a caller that has
    already checked the user's access: on the local disk `send_file` (conditional); in a
    bucket streamed through the app, or, with S3_SIGNED_URLS, a 302 to a presigned URL
    valid S3_URL_EXPIRY seconds. Never cached by shared caches. 404 when the file is
    missing (the caller logs why it matters)."""
    backend = storage_backend()
    if isinstance(backend, LocalBackend):
        path = backend.path(key)
        if not path.is_file():
            abort(404)
        response = send_file(path, mimetype=mimetype, max_age=0, conditional=True,
                             etag=etag if etag is not None else True)
        response.headers["Content-Disposition"] = disposition or content_disposition(filename)
    else:
        stored = backend.stat(_checked(key))
        if stored is None:
            abort(404)
        disposition = disposition or content_disposition(filename)
        config = current_app.config
        if config.get("S3_SIGNED_URLS"):
            response = redirect(backend.presigned_url(
                key, mimetype=mimetype, disposition=disposition,
                expires=url_expiry(config)), code=302)
            response.cache_control.no_store = True
        else:
            response = _streamed(backend, key, stored, mimetype=mimetype, max_age=0,
                                 etag=etag)
            response.headers["Content-Disposition"] = disposition
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control.public = False
    response.cache_control.private = True
    return response


def _delete_all(keys: list[str]) -> None:
    backend = storage_backend()
    for key in keys:
        try:
            backend.delete(key)
        except Exception as error:  # a leftover file is harmless; a lost row is not
            log.warning("could not delete stored file %s: %s", key, error)


_hooks_installed = False


def init_storage(app: Flask) -> None:
    """Check the backend's configuration and install the commit/rollback hooks (once per
    process; they serve every app)."""
    kind = app.config.get("STORAGE_BACKEND") or "local"
    if kind not in BACKENDS:
        raise RuntimeError(f"Unknown STORAGE_BACKEND {kind!r}; use one of {BACKENDS}")
    if kind == "s3" and not app.config.get("S3_BUCKET"):
        raise RuntimeError("STORAGE_BACKEND is s3 but S3_BUCKET is not set (see README, "
                           "section Configuration).")
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True

    def _after_commit(session: Session) -> None:
        session.info.pop(_WRITTEN, None)
        doomed = session.info.pop(_TO_DELETE, None)
        if doomed:
            _delete_all(doomed)

    def _after_rollback(session: Session) -> None:
        session.info.pop(_TO_DELETE, None)
        orphans = session.info.pop(_WRITTEN, None)
        if orphans:
            _delete_all(orphans)

    after_outer_commit(_after_commit)
    after_outer_rollback(_after_rollback)
