"""Files (product photos, later invoices and backups) under one root, by server-made keys.

A key looks like `products/2026/11/3f9c…e1.webp`: a folder chosen by the caller, the month,
and a random name; nothing of the uploader's file name survives. The root is
`STORAGE_ROOT` (default `instance/files`), outside `static/`, so shared storage for several
web nodes is a mount point away.

Transactions: `storage_put` writes at once (the row that points at the file is committed
after) and removes the file again if the transaction rolls back; `storage_delete` waits
for the commit, so a rolled-back delete loses nothing.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from pathlib import Path

from flask import Flask, Response, abort, current_app, send_file
from sqlalchemy.orm import Session

from app.core.clock import utcnow
from app.core.db import after_outer_commit, after_outer_rollback
from app.extensions import db

log = logging.getLogger(__name__)

_WRITTEN = "storage_written"  # session.info keys
_TO_DELETE = "storage_to_delete"

# Folders whose files anyone may download by key (keys are unguessable anyway).
PUBLIC_FOLDERS = frozenset({"products"})
MIMETYPES = {".webp": "image/webp", ".jpg": "image/jpeg", ".png": "image/png",
             ".pdf": "application/pdf", ".csv": "text/csv"}


def storage_root(app: Flask | None = None) -> Path:
    app = app or current_app
    return Path(app.config.get("STORAGE_ROOT") or Path(app.instance_path) / "files")


# The one shape of a key (what `storage_put` makes): folder / year / month / 32 hex digits
# and a suffix. Checked before a key touches the file system, so `..`, `.`, empty or
# absolute segments, backslashes, NUL and percent-encoded characters (left over after the
# URL was decoded once) never reach a path, however a client spells them.
KEY_SHAPE = re.compile(
    r"[a-z][a-z0-9-]{0,39}/[0-9]{4}/[0-9]{2}/[0-9a-f]{32}(?:\.[a-z0-9]{1,8}){1,2}")


def storage_key_valid(key: str) -> bool:
    """Whether `key` has the shape of a key `storage_put` makes."""
    return isinstance(key, str) and KEY_SHAPE.fullmatch(key) is not None


def storage_path(key: str) -> Path:
    """The file behind `key`; 404 for a key of any other shape and for anything that
    resolves (a symbolic link) outside the root."""
    if not storage_key_valid(key):
        abort(404)
    root = storage_root().resolve()
    path = (root / key).resolve()
    if root not in path.parents:
        abort(404)
    return path


def storage_folder(path: Path) -> str:
    """The top folder of a resolved stored file's path (`products`, `invoices`, …)."""
    return path.relative_to(storage_root().resolve()).parts[0]


def storage_put(data: bytes, *, folder: str, suffix: str) -> str:
    """Write `data` under a new random key in `folder` and return the key."""
    now = utcnow()
    key = f"{folder}/{now:%Y}/{now:%m}/{secrets.token_hex(16)}{suffix}"
    path = storage_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".part")
    temporary.write_bytes(data)
    os.replace(temporary, path)  # readers never see half a file
    db.session.info.setdefault(_WRITTEN, []).append(key)
    return key


def storage_delete(key: str) -> None:
    """Delete the file once the current transaction commits."""
    db.session.info.setdefault(_TO_DELETE, []).append(key)


def storage_send(key: str, *, public_only: bool = True) -> Response:
    """Serve a stored file with its own Content-Type, `nosniff`, and a long cache lifetime
    (a key never changes content). With `public_only` (a key from the URL), only files
    that resolve inside PUBLIC_FOLDERS; 404 otherwise, and for a key of the wrong shape."""
    path = storage_path(key)  # validated and resolved first, then judged
    if public_only and storage_folder(path) not in PUBLIC_FOLDERS:
        abort(404)
    mimetype = MIMETYPES.get(path.suffix)
    if mimetype is None or not path.is_file():
        abort(404)
    response = send_file(path, mimetype=mimetype, max_age=365 * 24 * 3600, conditional=True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response


def _unlink(keys: list[str]) -> None:
    for key in keys:
        try:
            storage_path(key).unlink(missing_ok=True)
        except OSError as error:  # a leftover file is harmless; a lost row is not
            log.warning("could not delete stored file %s: %s", key, error)


_hooks_installed = False


def init_storage(app: Flask) -> None:
    """Install the commit/rollback hooks (once per process; they serve every app)."""
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True

    def _after_commit(session: Session) -> None:
        session.info.pop(_WRITTEN, None)
        doomed = session.info.pop(_TO_DELETE, None)
        if doomed:
            _unlink(doomed)

    def _after_rollback(session: Session) -> None:
        session.info.pop(_TO_DELETE, None)
        orphans = session.info.pop(_WRITTEN, None)
        if orphans:
            _unlink(orphans)

    after_outer_commit(_after_commit)
    after_outer_rollback(_after_rollback)
