"""Fixtures of the storage tests: a moto S3 server for the session, a fresh bucket per test,
and `storage_backend_name`, which runs a test once on the local disk and once on S3."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.s3 import moto_server, new_bucket, s3_settings


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_bucket(app, s3_endpoint, monkeypatch, tmp_path) -> str:
    """The suite's app (and its live server) stores on a fresh bucket of its own for this
    test; the local root is an empty folder, so nothing can come from the disk."""
    bucket = new_bucket(s3_endpoint)
    for name, value in s3_settings(s3_endpoint, bucket).items():
        monkeypatch.setitem(app.config, name, value)
    monkeypatch.setitem(app.config, "STORAGE_ROOT", str(tmp_path / "files"))
    return bucket


@pytest.fixture(params=["local", "s3"])
def storage_backend_name(request, app, monkeypatch, tmp_path) -> str:
    """Run the test on each backend: `local` on an empty folder, `s3` on a fresh bucket."""
    if request.param == "s3":
        request.getfixturevalue("s3_bucket")
    else:
        monkeypatch.setitem(app.config, "STORAGE_ROOT", str(tmp_path / "files"))
    return request.param
