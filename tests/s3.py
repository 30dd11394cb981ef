"""A local S3-compatible server for the tests: moto in server mode on a free port of
127.0.0.1, spoken to over real HTTP by boto3 exactly as the app speaks to AWS S3, MinIO
or R2. `s3_settings(endpoint, bucket)` is the app configuration that selects it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

ACCESS_KEY = "racik-test"
SECRET_KEY = "racik-test-secret"
REGION = "ap-southeast-3"  # Jakarta


@contextmanager
def moto_server() -> Iterator[str]:
    """Run moto's S3 over HTTP on a free port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_settings(endpoint: str, bucket: str, *, prefix: str = "") -> dict[str, Any]:
    return {"STORAGE_BACKEND": "s3", "S3_BUCKET": bucket, "S3_ENDPOINT_URL": endpoint,
            "S3_REGION": REGION, "S3_ACCESS_KEY_ID": ACCESS_KEY,
            "S3_SECRET_ACCESS_KEY": SECRET_KEY, "S3_PREFIX": prefix,
            "S3_ADDRESSING_STYLE": "path", "S3_SIGNED_URLS": False, "S3_URL_EXPIRY": 300}


def s3_client(endpoint: str):
    """A boto3 client of its own (the test's view of the bucket, not the app's)."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY, config=Config(s3={"addressing_style": "path"}))


def new_bucket(endpoint: str) -> str:
    """A fresh, empty bucket (private, as buckets are by default)."""
    name = f"racik-{secrets.token_hex(6)}"
    s3_client(endpoint).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


def bucket_objects(endpoint: str, bucket: str) -> dict[str, bytes]:
    """Every object of the bucket by name, read over HTTP."""
    client = s3_client(endpoint)
    names = [item["Key"] for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket) for item in page.get("Contents", ())]
    return {name: client.get_object(Bucket=bucket, Key=name)["Body"].read() for name in names}
