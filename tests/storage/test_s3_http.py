"""The app on an S3 bucket (moto over real HTTP), driven over real HTTP (tests/live.py): a
seller's photo upload lands in the bucket and is served by the app with a long cache; a
private invoice downloads after login (streamed through the app, or, with S3_SIGNED_URLS,
as a redirect to a short-lived presigned URL that a plain HTTP client follows to the
bytes), and never without the app's access check."""

from __future__ import annotations

import io
import re
import secrets
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image
from sqlalchemy import select

from app.catalog.models import ProductImage
from app.payments.models import Invoice
from tests.factories import make_order, make_product, make_user
from tests.live import csrf_token_of, live_log_in, raw_request
from tests.s3 import bucket_objects
from tests.security.test_downloads import DOWNLOADS, check_download, stored_files


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 90, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def _multipart(fields: dict[str, str], name: str, filename: str, data: bytes,
               content_type: str) -> tuple[bytes, str]:
    boundary = secrets.token_hex(12)
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
             .encode() for key, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                 f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
                 + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def signed_urls(app, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "S3_SIGNED_URLS", True)


@pytest.mark.parametrize("signed", [False, True], ids=["streamed", "signed-urls-on"])
def test_a_photo_uploaded_over_http_lands_in_the_bucket_and_the_app_serves_it(
        app, db, s3_bucket, live_url, monkeypatch, tmp_path, signed):
    monkeypatch.setitem(app.config, "S3_SIGNED_URLS", signed)  # never for public photos
    seller = make_user(roles=("seller",))
    product_id = make_product(store=seller.store).id
    email = seller.email
    db.session.commit()  # read nothing lazily after this: SQLite's write lock is the app's
    session = live_log_in(live_url, email)
    page = session.request(f"/seller/produk/{product_id}/ubah")
    assert page.status == 200
    body, content_type = _multipart({"csrf_token": csrf_token_of(page.text())}, "photos",
                                    "foto.png", _png(), "image/png")
    answer = session.request(f"/seller/produk/{product_id}/foto", method="POST", body=body,
                             headers={"Content-Type": content_type})
    assert answer.status == 303, answer.text()[:300]

    image = db.session.scalars(select(ProductImage).where(
        ProductImage.product_id == product_id)).one()
    db.session.commit()
    objects = bucket_objects(app.config["S3_ENDPOINT_URL"], s3_bucket)
    assert set(objects) == {image.display_key, image.thumb_key, image.card_key, image.mini_key}
    assert not (tmp_path / "files").exists()  # nothing on the local disk

    photo = raw_request(live_url, f"/media/{image.display_key}")  # anonymous, like a browser
    assert photo.status == 200
    assert photo.body == objects[image.display_key]
    assert photo.headers["Content-Type"] == "image/webp"
    assert photo.headers["X-Content-Type-Options"] == "nosniff"
    cache = photo.headers["Cache-Control"]
    assert "public" in cache and "immutable" in cache and "max-age=31536000" in cache
    again = raw_request(live_url, f"/media/{image.display_key}",
                        headers={"If-None-Match": photo.headers["ETag"]})
    assert again.status == 304 and again.body == b""


def _paid_invoice(db) -> tuple[Invoice, str, str]:
    """A paid order's invoice (issued by its job, so on the configured backend), the
    buyer's and a stranger's email; committed, nothing left to load lazily."""
    seller = make_user(roles=("seller",))
    buyer = make_user()
    emails = buyer.email, make_user().email
    make_order(buyer=buyer, variant=make_product(store=seller.store).variants[0], paid=True)
    db.session.commit()
    invoice = db.session.scalars(select(Invoice)).one()
    db.session.expunge(invoice)
    db.session.commit()
    return invoice, *emails


def test_a_private_invoice_in_the_bucket_downloads_after_login_and_never_anonymously(
        app, db, s3_bucket, live_url):
    invoice, buyer, stranger = _paid_invoice(db)
    objects = bucket_objects(app.config["S3_ENDPOINT_URL"], s3_bucket)
    assert invoice.file_key in objects  # the invoice job wrote the PDF to the bucket

    answer = live_log_in(live_url, buyer).request(f"/invoice/{invoice.id}.pdf")
    assert answer.status == 200
    assert answer.body == objects[invoice.file_key]
    assert answer.body.startswith(b"%PDF")
    assert answer.headers["Content-Type"] == "application/pdf"
    assert re.fullmatch(r'attachment; filename="(INV-TK\d+-\d{4}-\d{6}\.pdf)"; '
                        r"filename\*=UTF-8''\1", answer.headers["Content-Disposition"])
    assert "private" in answer.headers["Cache-Control"]
    assert answer.headers["ETag"] == f'"{invoice.sha256}"'

    assert live_log_in(live_url, stranger).request(
        f"/invoice/{invoice.id}.pdf").status == 404
    assert raw_request(live_url, f"/media/{invoice.file_key}").status == 404  # not public
    anonymous = raw_request(live_url, f"/invoice/{invoice.id}.pdf")
    assert anonymous.status in (302, 303) and not anonymous.body.startswith(b"%PDF")


def test_with_signed_urls_the_invoice_redirects_to_a_short_lived_url_that_serves_it(
        app, db, s3_bucket, signed_urls, live_url):
    invoice, buyer, stranger = _paid_invoice(db)
    expected = bucket_objects(app.config["S3_ENDPOINT_URL"], s3_bucket)[invoice.file_key]

    answer = live_log_in(live_url, buyer).request(f"/invoice/{invoice.id}.pdf")
    assert answer.status == 302
    location = answer.headers["Location"]
    assert location.startswith(app.config["S3_ENDPOINT_URL"] + "/")
    assert "no-store" in answer.headers["Cache-Control"]
    query = parse_qs(urlsplit(location).query)
    assert query["X-Amz-Expires"] == ["300"]
    with urllib.request.urlopen(location, timeout=10) as presigned:  # noqa: S310 - moto
        assert presigned.read() == expected
        assert presigned.headers["Content-Type"] == "application/pdf"
        assert presigned.headers["Content-Disposition"].startswith("attachment; filename=")

    # The access check comes first: no redirect, no URL for anyone else.
    refused = live_log_in(live_url, stranger).request(f"/invoice/{invoice.id}.pdf")
    assert refused.status == 404 and "Location" not in refused.headers
    anonymous = raw_request(live_url, f"/invoice/{invoice.id}.pdf")
    assert app.config["S3_ENDPOINT_URL"] not in anonymous.headers.get("Location", "")


@pytest.mark.parametrize("endpoint", sorted(DOWNLOADS))
def test_on_s3_downloads_are_attachments_and_nothing_is_sniffed(make_client, db, s3_bucket,
                                                                endpoint):
    """tests/security/test_downloads.py's table of every download, from the bucket."""
    check_download(make_client, stored_files(db), endpoint)
