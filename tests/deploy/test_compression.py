"""COMPRESS_RESPONSES: the app gzips text itself for deployments without nginx in front,
over real HTTP, and leaves what it streams (file downloads) streaming and intact."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pytest

from app import create_app
from app.config import TestConfig
from tests.live import raw_request, serve


@pytest.fixture(scope="module")
def compressing_url(app) -> Iterator[str]:
    compressing = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=app.config[
        "SQLALCHEMY_DATABASE_URI"], INSTANCE_PATH=app.instance_path, COMPRESS_RESPONSES=True)
    with serve(compressing) as base_url:
        yield base_url


def test_html_and_json_are_gzipped_when_the_client_accepts_gzip(compressing_url):
    for path in ("/masuk", "/api/v1/openapi.json"):
        packed = raw_request(compressing_url, path, headers={"Accept-Encoding": "gzip, br"})
        assert packed.status == 200
        assert packed.headers["Content-Encoding"] == "gzip", path
        assert "Accept-Encoding" in packed.headers["Vary"]
        text = gzip.decompress(packed.body)
        assert int(packed.headers["Content-Length"]) == len(packed.body) < len(text)
        plain = raw_request(compressing_url, path)
        assert "Content-Encoding" not in plain.headers
        if path.endswith(".json"):
            assert text == plain.body


def test_no_gzip_for_a_client_that_refuses_it(compressing_url):
    refused = raw_request(compressing_url, "/masuk", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers
    assert b"<html" in refused.body


def test_streamed_files_are_served_untouched(compressing_url, app):
    """Static files are sent as streamed file wrappers: compressing them would need the
    whole body in memory; they pass through as they are."""
    response = raw_request(compressing_url, "/static/css/app.css",
                           headers={"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert "Content-Encoding" not in response.headers
    with open(f"{app.static_folder}/css/app.css", "rb") as source:
        assert response.body == source.read()


def test_off_by_default(live_url):
    response = raw_request(live_url, "/masuk", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in response.headers
