"""The storage module's files follow the transaction: a savepoint is not a commit."""

from __future__ import annotations

from app.core.storage import storage_delete, storage_path, storage_put
from app.extensions import db as _db


def test_a_delete_waits_for_the_real_commit_not_a_released_savepoint(db):
    key = storage_put(b"photo", folder="products", suffix=".webp")
    db.session.commit()
    storage_delete(key)
    with db.session.begin_nested():  # e.g. a service guarding a unique index
        pass
    assert storage_path(key).exists()
    db.session.rollback()  # the delete is undone with the transaction
    assert storage_path(key).exists()
    storage_delete(key)
    db.session.commit()
    assert not storage_path(key).exists()


def test_a_file_written_before_a_savepoint_goes_when_the_transaction_rolls_back(db):
    key = storage_put(b"photo", folder="products", suffix=".webp")
    with _db.session.begin_nested():
        pass
    assert storage_path(key).exists()
    db.session.rollback()
    assert not storage_path(key).exists()
