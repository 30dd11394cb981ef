"""The storage API behaves the same on the local disk and in an S3 bucket (moto over real
HTTP): files follow the transaction (a savepoint is not a commit), keys are validated
before any backend sees them, and every read is by key."""

from __future__ import annotations

import pytest
from werkzeug.exceptions import NotFound

from app.core.storage import (
    storage_delete,
    storage_exists,
    storage_keys,
    storage_open,
    storage_put,
    storage_read,
    storage_stat,
)
from app.extensions import db as _db
from tests.s3 import bucket_objects, s3_client


def test_a_delete_waits_for_the_real_commit_not_a_released_savepoint(db, storage_backend_name):
    key = storage_put(b"photo", folder="products", suffix=".webp")
    db.session.commit()
    storage_delete(key)
    with db.session.begin_nested():  # e.g. a service guarding a unique index
        pass
    assert storage_exists(key)
    db.session.rollback()  # the delete is undone with the transaction
    assert storage_exists(key)
    storage_delete(key)
    db.session.commit()
    assert not storage_exists(key)


def test_a_file_written_before_a_savepoint_goes_when_the_transaction_rolls_back(
        db, storage_backend_name):
    key = storage_put(b"photo", folder="products", suffix=".webp")
    with _db.session.begin_nested():
        pass
    assert storage_exists(key)
    db.session.rollback()
    assert not storage_exists(key)


def test_what_put_wrote_is_read_opened_stated_and_listed_by_its_key(db, storage_backend_name):
    data = bytes(range(256)) * 2048  # 512 KiB: more than one read chunk
    key = storage_put(data, folder="invoices", suffix=".pdf")
    other = storage_put(b"%PDF-1.4", folder="contracts", suffix=".pdf")
    db.session.commit()
    assert storage_read(key) == data
    with storage_open(key) as stream:
        assert stream.read(10) == data[:10]
    assert storage_stat(key).size == len(data)
    assert sorted(storage_keys()) == sorted([key, other])


def test_a_missing_file_is_file_not_found_and_stat_none(db, storage_backend_name):
    key = storage_put(b"x", folder="invoices", suffix=".pdf")
    storage_delete(key)
    db.session.commit()
    assert storage_stat(key) is None
    with pytest.raises(FileNotFoundError):
        storage_read(key)


@pytest.mark.parametrize("key", ["../invoices/2026/11/" + "a" * 32 + ".pdf",
                                 "invoices/2026/11/" + "a" * 32 + ".pdf/../x",
                                 "/etc/passwd", "invoices/2026/11/%2e%2e.pdf", ""])
def test_a_key_of_any_other_shape_never_reaches_a_backend(db, storage_backend_name, key):
    with pytest.raises(NotFound):
        storage_read(key)
    with pytest.raises(NotFound):
        storage_stat(key)


def test_bucket_objects_are_private_and_typed(app, db, s3_bucket):
    key = storage_put(b"%PDF-1.4 invoice", folder="invoices", suffix=".pdf")
    db.session.commit()
    client = s3_client(app.config["S3_ENDPOINT_URL"])
    grants = client.get_object_acl(Bucket=s3_bucket, Key=key)["Grants"]
    assert [grant["Grantee"].get("URI") for grant in grants] == [None]  # the owner alone
    head = client.head_object(Bucket=s3_bucket, Key=key)
    assert head["ContentType"] == "application/pdf"
    assert len(head["Metadata"]["sha256"]) == 64


def test_s3_prefix_keeps_the_app_under_its_own_folder_of_a_shared_bucket(
        app, db, s3_bucket, monkeypatch):
    monkeypatch.setitem(app.config, "S3_PREFIX", "/racik/prod/")
    key = storage_put(b"photo", folder="products", suffix=".webp")
    db.session.commit()
    assert set(bucket_objects(app.config["S3_ENDPOINT_URL"], s3_bucket)) == {
        f"racik/prod/{key}"}
    assert list(storage_keys()) == [key]
    assert storage_read(key) == b"photo"


@pytest.mark.parametrize(("settings", "message"), [
    ({"STORAGE_BACKEND": "s3", "S3_BUCKET": ""}, "S3_BUCKET is not set"),
    ({"STORAGE_BACKEND": "nfs"}, "Unknown STORAGE_BACKEND 'nfs'"),
])
def test_an_incomplete_storage_configuration_refuses_to_start(settings, message, tmp_path):
    from app import create_app
    from app.config import TestConfig

    with pytest.raises(RuntimeError, match=message):
        create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'x.db'}",
                   INSTANCE_PATH=str(tmp_path), **settings)
