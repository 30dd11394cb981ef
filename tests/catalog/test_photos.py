"""Product photos (issue #3): what is accepted, how it is stored and served, what is refused
(with a message and nothing written), the per-product limit, reorder, delete and ownership.

Uploads go through the real endpoint as the owning seller; stored files are checked on disk
under the storage root (`<instance>/files` in the tests).
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import random
import re
import struct
import threading
from pathlib import Path

import pytest
from PIL import Image, ImageFile, PngImagePlugin
from sqlalchemy import func, select

from app.catalog import services as catalog_services
from app.catalog.models import ProductImage
from app.catalog.services import ProductData, category_create, product_create
from app.core.storage import storage_root
from tests.conftest import log_in
from tests.factories import make_user

PHP_PAYLOAD = b'<?php system($_GET["c"]); ?>'
HTML_PAYLOAD = b"<html><body><script>alert(document.cookie)</script></body></html>"
THUMB_SRC = re.compile(r'src="/media/(products/[^"]+\.webp)"')


# --- files --------------------------------------------------------------------------------


def _image_bytes(fmt: str, size: tuple[int, int] = (64, 48), color=(200, 90, 40),
                 **save_options) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt, **save_options)
    return buffer.getvalue()


def _jpeg_with_exif(size: tuple[int, int] = (3000, 2000), orientation: int | None = None
                    ) -> bytes:
    """A JPEG carrying camera EXIF with a GPS position (Monas, Jakarta), and XMP."""
    exif = Image.Exif()
    exif[0x010F] = "RacikCamMaker"  # Make
    exif[0x0110] = "RacikCamModel"  # Model
    exif[0x010E] = "rumah-penjual-rahasia"  # ImageDescription
    if orientation:
        exif[0x0112] = orientation
    exif[0x8825] = {  # GPS IFD
        1: "S", 2: (6.0, 10.0, 31.17), 3: "E", 4: (106.0, 49.0, 37.58),
        27: b"ASCII\x00\x00\x00KOORDINAT-GPS-RAHASIA",  # GPSProcessingMethod
    }
    xmp = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:'
           b'meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:'
           b'Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude='
           b'"6,10.52S" exif:Make="XMP-KAMERA-RAHASIA"/></rdf:RDF></x:xmpmeta>'
           b'<?xpacket end="w"?>')
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 140, 90)).save(buffer, "JPEG", exif=exif, xmp=xmp,
                                               quality=85)
    return buffer.getvalue()


def _jpeg_with_mistyped_gps_exif() -> bytes:
    """A JPEG whose EXIF says Orientation 6 (turn it upright) and stores GPSLatitude as
    ASCII instead of RATIONAL: malformed, as EXIF written by odd cameras and editors is."""
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8)
    ifd0 = (struct.pack(">H", 2)
            + struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0)  # Orientation SHORT 6
            + struct.pack(">HHII", 0x8825, 4, 1, 38)  # GPS IFD at offset 38
            + struct.pack(">I", 0))
    gps = (struct.pack(">H", 1)
           + struct.pack(">HHI", 0x0002, 2, 2) + b"S\x00\x00\x00"  # GPSLatitude as ASCII
           + struct.pack(">I", 0))
    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), (9, 90, 9)).save(buffer, "JPEG",
                                                exif=b"Exif\x00\x00" + tiff + ifd0 + gps)
    return buffer.getvalue()


@functools.cache
def _noisy_png_over_5_mb() -> bytes:
    """A real, decodable PNG of about 6 MB: random pixels do not compress."""
    width, height = 1500, 1400
    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(buffer, "PNG")
    data = buffer.getvalue()
    assert 5 * 1024 * 1024 < len(data) < 8 * 1024 * 1024
    return data


@functools.cache
def _bomb_png(mode: str, side: int) -> bytes:
    """A PNG that declares side x side pixels but compresses to a few dozen KB."""
    buffer = io.BytesIO()
    Image.new(mode, (side, side)).save(buffer, "PNG", optimize=True)
    data = buffer.getvalue()
    assert len(data) < 200 * 1024
    return data


def _jpeg_whose_bytes_contain(marker: bytes) -> bytes:
    """A valid JPEG whose entropy-coded data contains `marker` by chance (found by trying
    seeded noise images; a 3-byte sequence turns up in about 1 of 60 of these)."""
    rng = random.Random(3)
    for _ in range(2000):
        buffer = io.BytesIO()
        Image.frombytes("RGB", (400, 300), rng.randbytes(400 * 300 * 3)).save(
            buffer, "JPEG", quality=90)
        data = buffer.getvalue()
        if marker in data and data.endswith(b"\xff\xd9"):
            Image.open(io.BytesIO(data)).load()  # a complete, decodable JPEG
            return data
    raise AssertionError(f"no noise JPEG contained {marker!r}")


# --- arrange and act ----------------------------------------------------------------------


def _stored_files(app) -> set[Path]:
    root = storage_root(app)
    return {path for path in root.rglob("*") if path.is_file()} if root.exists() else set()


def _seller_with_product(db, email: str, store_name: str) -> int:
    user = make_user(email=email, roles=("seller",), store_name=store_name)
    db.session.flush()
    category = category_create(name=f"Kategori {store_name}", name_en="", parent_id=None)
    product = product_create(
        store=user.store,
        data=ProductData(name=f"Serum {store_name}", description="", category_id=category.id,
                         price=150_000, initial_stock=5),
        actor=user,
    )
    db.session.commit()
    return product.id


@pytest.fixture
def product_id(db, client) -> int:
    """A product of the seller logged in on `client`."""
    product = _seller_with_product(db, "foto@example.test", "Toko Foto")
    log_in(client, "foto@example.test")
    return product


def _upload(client, product_id: int, *files: tuple[str, bytes], htmx: bool = False):
    data = {"photos": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(f"/seller/produk/{product_id}/foto", data=data,
                       content_type="multipart/form-data",
                       headers={"HX-Request": "true"} if htmx else {})


def _images(db, product_id: int) -> list[ProductImage]:
    return list(db.session.scalars(select(ProductImage).where(
        ProductImage.product_id == product_id).order_by(ProductImage.position)))


def _image_count(db) -> int:
    return db.session.scalar(select(func.count(ProductImage.id)))


def _open_stored(app, key: str) -> Image.Image:
    return Image.open(storage_root(app) / key)


def _field_errors(html: str) -> list[str]:
    return re.findall(r"<li>([^<]*)</li>", html.split('class="errors"', 1)[-1])[:3] \
        if 'class="errors"' in html else []


def _is_photos_fragment(html: str) -> bool:
    return '<div id="photo-manager">' in html and "<html" not in html


# --- accepted -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "fmt"), [
    ("foto.jpg", "JPEG"), ("foto.png", "PNG"), ("foto.webp", "WEBP"),
    ("tanpa-ekstensi", "PNG"),  # the content decides, not the name
])
def test_valid_jpeg_png_or_webp_is_stored_as_webp_display_and_thumbnail(
        app, db, client, product_id, name, fmt):
    response = _upload(client, product_id, (name, _image_bytes(fmt)), htmx=True)

    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:500]
    assert _is_photos_fragment(html)
    assert "1 foto ditambahkan" in html
    [image] = _images(db, product_id)
    assert image.display_key.startswith("products/") and image.display_key.endswith(".webp")
    assert image.thumb_key.startswith("products/") and image.thumb_key.endswith(".webp")
    assert image.display_key != image.thumb_key
    assert (image.width, image.height) == (64, 48)
    for key in (image.display_key, image.thumb_key):
        assert _open_stored(app, key).format == "WEBP"
    assert THUMB_SRC.findall(html) == [image.thumb_key]


def test_stored_photo_is_served_as_webp_with_nosniff(app, db, client, product_id):
    _upload(client, product_id, ("foto.jpg", _image_bytes("JPEG")))
    [image] = _images(db, product_id)

    for key in (image.display_key, image.thumb_key):
        response = client.get(f"/media/{key}")
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "image/webp"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.get_data() == (storage_root(app) / key).read_bytes()
        assert Image.open(io.BytesIO(response.get_data())).format == "WEBP"


def test_plain_upload_redirects_to_the_photos_of_the_product_form(db, client, product_id):
    response = _upload(client, product_id, ("foto.png", _image_bytes("PNG")))

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/seller/produk/{product_id}/ubah#foto")
    assert len(_images(db, product_id)) == 1


def test_stored_photo_has_no_exif_xmp_or_gps(app, db, client, product_id):
    original = _jpeg_with_exif()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the GPS is there
    for secret in (b"KOORDINAT-GPS-RAHASIA", b"RacikCamMaker", b"XMP-KAMERA-RAHASIA"):
        assert secret in original

    response = _upload(client, product_id, ("kamera.jpg", original))

    assert response.status_code == 303
    [image] = _images(db, product_id)
    for key in (image.display_key, image.thumb_key):
        stored = _open_stored(app, key)
        assert dict(stored.getexif()) == {}
        assert dict(stored.getexif().get_ifd(0x8825)) == {}
        assert "exif" not in stored.info and "xmp" not in stored.info
        data = (storage_root(app) / key).read_bytes()
        for secret in (b"Exif", b"EXIF", b"RacikCamMaker", b"RacikCamModel",
                       b"rumah-penjual-rahasia", b"KOORDINAT-GPS-RAHASIA",
                       b"XMP-KAMERA-RAHASIA", b"GPSLatitude", b"xpacket"):
            assert secret not in data
        assert client.get(f"/media/{key}").get_data() == data


def test_large_photo_is_resized_to_1200_display_and_400_thumbnail(app, db, client,
                                                                  product_id):
    response = _upload(client, product_id, ("besar.jpg", _jpeg_with_exif((3000, 2000))))

    assert response.status_code == 303
    [image] = _images(db, product_id)
    assert _open_stored(app, image.display_key).size == (1200, 800)
    assert (image.width, image.height) == (1200, 800)
    thumb = _open_stored(app, image.thumb_key).size
    assert max(thumb) == 400 and thumb[0] > thumb[1]  # aspect ratio kept


def test_exif_orientation_is_applied_before_exif_is_dropped(app, db, client, product_id):
    # Orientation 6: the camera was held upright; the pixels are stored sideways.
    _upload(client, product_id, ("tegak.jpg", _jpeg_with_exif((3000, 2000), orientation=6)))

    [image] = _images(db, product_id)
    assert _open_stored(app, image.display_key).size == (800, 1200)
    assert max(_open_stored(app, image.thumb_key).size) == 400


def test_photo_with_malformed_exif_is_accepted_without_it_or_refused_never_a_500(
        app, db, client, product_id):
    before = _stored_files(app)

    response = _upload(client, product_id, ("rusak-exif.jpg", _jpeg_with_mistyped_gps_exif()),
                       htmx=True)

    assert response.status_code in (200, 422)
    if response.status_code == 422:
        assert _field_errors(response.get_data(as_text=True))
        assert _stored_files(app) == before
    else:
        [image] = _images(db, product_id)
        assert (image.width, image.height) == (40, 60)  # turned upright
        assert dict(_open_stored(app, image.display_key).getexif()) == {}


def test_several_photos_in_one_upload_get_consecutive_positions(db, client, product_id):
    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    response = _upload(client, product_id,
                       *[(f"{n}.png", _image_bytes("PNG", color=c)) for n, c in enumerate(colors)],
                       htmx=True)

    assert response.status_code == 200
    assert "3 foto ditambahkan" in response.get_data(as_text=True)
    assert [image.position for image in _images(db, product_id)] == [0, 1, 2]


# --- refused ------------------------------------------------------------------------------


REFUSED = {
    "php-appended-to-png": ("foto.png", lambda: _image_bytes("PNG") + PHP_PAYLOAD,
                            "data tambahan"),
    "php-appended-to-jpeg": ("foto.jpg", lambda: _image_bytes("JPEG") + PHP_PAYLOAD,
                             "data tambahan"),
    "html-appended-to-png": ("foto.png", lambda: _image_bytes("PNG") + HTML_PAYLOAD,
                             "data tambahan"),
    "text-named-jpg": ("foto.jpg", lambda: b"bukan gambar, hanya teks biasa\n" * 20,
                       "bukan foto JPG, PNG, atau WebP"),
    "gif": ("animasi.gif", lambda: _image_bytes("GIF"), "harus berformat JPG, PNG, atau WebP"),
    "gif-named-jpg": ("animasi.jpg", lambda: _image_bytes("GIF"),
                      "harus berformat JPG, PNG, atau WebP"),
    "6-mb": ("besar.png", _noisy_png_over_5_mb, "maksimal 5 MB"),
    "bomb-20000x20000-1-bit": ("bom.png", lambda: _bomb_png("1", 20_000),
                               "Resolusi foto terlalu besar"),
    "bomb-7000x7000-grey": ("bom.png", lambda: _bomb_png("L", 7_000),  # 49 M > 40 M pixels
                            "Resolusi foto terlalu besar"),
    "empty": ("kosong.jpg", lambda: b"", "kosong"),
}


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_file_gets_a_message_and_nothing_is_written(app, db, client, product_id,
                                                            case, htmx):
    name, make, message = REFUSED[case]
    before = _stored_files(app)

    response = _upload(client, product_id, (name, make()), htmx=htmx)

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert _is_photos_fragment(html) if htmx else "<html" in html and 'id="photos"' in html
    assert _image_count(db) == 0
    assert _stored_files(app) == before


def _png_with_text_chunk(text: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", text)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (5, 5, 5)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


@pytest.mark.parametrize("payload", [
    '<?php system($_GET["c"]); ?>',
    '<?PhP system($_GET["c"]); ?>',  # PHP tags are case-insensitive
    "<ScRiPt>alert(document.cookie)</ScRiPt>",
    "<svg onload=alert(1)>",
])
def test_script_hidden_inside_a_png_is_never_stored(app, db, client, product_id, payload):
    """Inside the image (a text chunk), not appended: refused, or stored re-encoded without
    it; either way nothing that carries the payload reaches the storage."""
    before = _stored_files(app)

    response = _upload(client, product_id, ("foto.png", _png_with_text_chunk(payload)))

    assert response.status_code in (303, 422)
    if response.status_code == 422:
        assert "data tambahan" in response.get_data(as_text=True)
        assert _stored_files(app) == before
    needle = payload[:6].lower().encode()
    for path in _stored_files(app) - before:
        assert needle not in path.read_bytes().lower()


def test_one_refused_file_refuses_the_whole_upload(app, db, client, product_id):
    before = _stored_files(app)

    response = _upload(client, product_id, ("baik.png", _image_bytes("PNG")),
                       ("jahat.png", _image_bytes("PNG") + PHP_PAYLOAD), htmx=True)

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Foto 2" in html and "data tambahan" in html
    assert _image_count(db) == 0
    assert _stored_files(app) == before


@pytest.mark.parametrize(("mode", "side"), [("1", 20_000), ("L", 7_000)])
def test_decompression_bomb_is_refused_from_its_header_without_decoding(
        app, db, client, product_id, monkeypatch, mode, side):
    bomb = _bomb_png(mode, side)

    def no_decoding(self):
        raise AssertionError("the bomb's pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    response = _upload(client, product_id, ("bom.png", bomb), htmx=True)

    assert response.status_code == 422
    assert "Resolusi foto terlalu besar" in response.get_data(as_text=True)
    assert _image_count(db) == 0


def test_upload_without_a_file_asks_for_one(db, client, product_id):
    response = client.post(f"/seller/produk/{product_id}/foto", data={},
                           headers={"HX-Request": "true"})

    assert response.status_code == 422
    assert "Pilih minimal satu foto" in response.get_data(as_text=True)


def test_valid_photo_whose_compressed_bytes_happen_to_contain_a_marker_is_accepted(
        db, client, product_id):
    photo = _jpeg_whose_bytes_contain(b"<?=")

    response = _upload(client, product_id, ("foto.jpg", photo), htmx=True)

    assert response.status_code == 200, _field_errors(response.get_data(as_text=True))
    assert len(_images(db, product_id)) == 1


def _multi_picture_jpeg() -> bytes:
    """A JPEG with an MPF (multi-picture) extension, as Ultra HDR and multi-lens phone
    cameras write: a baseline JPEG that every viewer shows; Pillow reports it as "MPO"."""
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (10, 120, 200)).save(
        buffer, "MPO", save_all=True, append_images=[Image.new("RGB", (320, 240), (0, 0, 0))])
    return buffer.getvalue()


def test_multi_picture_jpeg_from_a_phone_is_accepted(db, client, product_id):
    photo = _multi_picture_jpeg()
    assert photo[:3] == b"\xff\xd8\xff"  # a JPEG by its signature

    response = _upload(client, product_id, ("IMG_20261122.jpg", photo), htmx=True)

    assert response.status_code == 200, _field_errors(response.get_data(as_text=True))
    [image] = _images(db, product_id)
    assert (image.width, image.height) == (640, 480)  # the first (main) picture


# --- request too large --------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_request_above_max_content_length_gets_the_friendly_413(app, db, client, product_id,
                                                                 htmx):
    assert app.config["MAX_CONTENT_LENGTH"] == 16 * 1024 * 1024
    before = _stored_files(app)

    response = _upload(client, product_id, ("raksasa.jpg", os.urandom(17 * 1024 * 1024)),
                       htmx=htmx)

    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "Berkas terlalu besar" in html
    assert "melebihi batas ukuran" in html
    if htmx:
        assert 'data-code="413"' in html and "<html" not in html
    else:
        assert "<html" in html and 'class="error-code">413<' in html
    assert _image_count(db) == 0
    assert _stored_files(app) == before


# --- at most 8 photos ---------------------------------------------------------------------


def _eight_photos(db, client, product_id: int) -> None:
    files = [(f"{n}.png", _image_bytes("PNG", size=(16, 16), color=(n * 30, 0, 0)))
             for n in range(8)]
    response = _upload(client, product_id, *files, htmx=True)
    assert response.status_code == 200
    assert len(_images(db, product_id)) == 8


def test_eight_photos_fit_in_one_product(db, client, product_id):
    _eight_photos(db, client, product_id)


def test_more_than_eight_photos_in_one_upload_is_refused_with_a_message(app, db, client,
                                                                        product_id):
    before = _stored_files(app)
    files = [(f"{n}.png", _image_bytes("PNG", size=(16, 16))) for n in range(9)]

    response = _upload(client, product_id, *files, htmx=True)

    assert response.status_code == 422
    assert "Maksimal 8 foto per produk" in response.get_data(as_text=True)
    assert _image_count(db) == 0
    assert _stored_files(app) == before


def test_upload_beyond_the_room_left_is_refused_with_a_message(app, db, client, product_id):
    _upload(client, product_id, *[(f"{n}.png", _image_bytes("PNG", size=(16, 16)))
                                  for n in range(7)])
    before = _stored_files(app)

    response = _upload(client, product_id, ("a.png", _image_bytes("PNG")),
                       ("b.png", _image_bytes("PNG")), htmx=True)

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Maksimal 8 foto per produk; tersisa tempat untuk 1" in html
    assert len(_images(db, product_id)) == 7
    assert _stored_files(app) == before


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_ninth_photo_is_refused_with_a_message(app, db, client, product_id, htmx):
    _eight_photos(db, client, product_id)
    before = _stored_files(app)

    response = _upload(client, product_id, ("kesembilan.png", _image_bytes("PNG")), htmx=htmx)

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert len(_images(db, product_id)) == 8
    assert _stored_files(app) == before
    assert "Maksimal 8 foto per produk" in html


def test_two_uploads_at_once_never_exceed_eight_photos(app, db, client, make_client,
                                                       product_id, monkeypatch):
    _upload(client, product_id, *[(f"{n}.png", _image_bytes("PNG", size=(16, 16)))
                                  for n in range(7)])
    second = make_client()
    log_in(second, "foto@example.test")
    browsers = [client, second]
    tokens = [browser.csrf_token() for browser in browsers]
    # Both requests have passed the room check when they reach photo processing; hold the
    # first there until the second arrives (or 5 s, when the database serialises them).
    both_checked = threading.Barrier(2, timeout=5)
    real_process = catalog_services.photo_process

    def process_when_both_checked(*args, **kwargs):
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checked.wait()
        return real_process(*args, **kwargs)

    monkeypatch.setattr(catalog_services, "photo_process", process_when_both_checked)
    statuses = [0, 0]

    def upload(index: int) -> None:
        response = browsers[index].open(
            f"/seller/produk/{product_id}/foto", method="POST", csrf=False,
            content_type="multipart/form-data", headers={"HX-Request": "true"},
            data={"csrf_token": tokens[index],
                  "photos": [(io.BytesIO(_image_bytes("PNG")), f"{index}.png")]})
        statuses[index] = response.status_code

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [200, 422]
    assert len(_images(db, product_id)) == 8


# --- reorder and delete -------------------------------------------------------------------


@pytest.fixture
def three_photos(db, client, product_id) -> list[int]:
    """Three photos (red, green, blue), their ids in order."""
    _upload(client, product_id, *[(f"{n}.png", _image_bytes("PNG", color=c)) for n, c in
                                  enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)])])
    return [image.id for image in _images(db, product_id)]


def _order(db, product_id: int) -> list[int]:
    images = _images(db, product_id)
    assert [image.position for image in images] == list(range(len(images)))
    return [image.id for image in images]


def test_move_photo_earlier_with_htmx_returns_the_photos_fragment(db, client, product_id,
                                                                  three_photos):
    red, green, blue = three_photos

    response = client.post(f"/seller/produk/{product_id}/foto/{blue}/geser",
                           data={"arah": "naik"}, headers={"HX-Request": "true"})

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _is_photos_fragment(html)
    assert _order(db, product_id) == [red, blue, green]
    thumbs = {image.id: image.thumb_key for image in _images(db, product_id)}
    assert THUMB_SRC.findall(html) == [thumbs[red], thumbs[blue], thumbs[green]]


def test_move_photo_later_with_a_plain_post_redirects(db, client, product_id, three_photos):
    red, green, blue = three_photos

    response = client.post(f"/seller/produk/{product_id}/foto/{red}/geser",
                           data={"arah": "turun"})

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/seller/produk/{product_id}/ubah#foto")
    assert _order(db, product_id) == [green, red, blue]


def test_moving_the_first_photo_earlier_or_the_last_later_changes_nothing(
        db, client, product_id, three_photos):
    red, green, blue = three_photos

    client.post(f"/seller/produk/{product_id}/foto/{red}/geser", data={"arah": "naik"})
    client.post(f"/seller/produk/{product_id}/foto/{blue}/geser", data={"arah": "turun"})

    assert _order(db, product_id) == [red, green, blue]


def test_moved_photo_becomes_the_cover_in_search(db, client, product_id, three_photos):
    green = three_photos[1]
    client.post(f"/seller/produk/{product_id}/foto/{green}/geser", data={"arah": "naik"})

    cover = db.session.get(ProductImage, green)
    html = client.get("/produk").get_data(as_text=True)
    # The card shows the cover's 240 px rendition, its thumbnail as the 400w candidate.
    assert f'src="/media/{cover.card_key}"' in html
    assert f'/media/{cover.thumb_key} 400w' in html


def test_delete_photo_with_htmx_removes_its_row_and_its_files(app, db, client, product_id,
                                                             three_photos):
    red, green, blue = three_photos
    doomed = db.session.get(ProductImage, green)
    keys = (doomed.display_key, doomed.thumb_key)
    assert all((storage_root(app) / key).is_file() for key in keys)

    response = client.post(f"/seller/produk/{product_id}/foto/{green}/hapus",
                           headers={"HX-Request": "true"})

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _is_photos_fragment(html)
    assert _order(db, product_id) == [red, blue]
    assert not any((storage_root(app) / key).exists() for key in keys)
    assert client.get(f"/media/{keys[0]}").status_code == 404
    assert keys[1] not in html


def test_delete_photo_with_a_plain_post_redirects(app, db, client, product_id, three_photos):
    red, green, blue = three_photos
    keys = (db.session.get(ProductImage, red).display_key,
            db.session.get(ProductImage, red).thumb_key)

    response = client.post(f"/seller/produk/{product_id}/foto/{red}/hapus")

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/seller/produk/{product_id}/ubah#foto")
    assert _order(db, product_id) == [green, blue]  # green is the cover now
    assert not any((storage_root(app) / key).exists() for key in keys)


def test_upload_after_a_delete_goes_to_the_end(db, client, product_id, three_photos):
    red, green, blue = three_photos
    client.post(f"/seller/produk/{product_id}/foto/{red}/hapus")

    _upload(client, product_id, ("baru.png", _image_bytes("PNG")))

    order = _order(db, product_id)
    assert order[:2] == [green, blue] and len(order) == 3


# --- ownership ----------------------------------------------------------------------------


def _actions(product_id: int, image_id: int) -> dict[str, tuple[str, dict]]:
    return {
        "upload": (f"/seller/produk/{product_id}/foto",
                   {"photos": [(io.BytesIO(_image_bytes("PNG")), "x.png")]}),
        "move": (f"/seller/produk/{product_id}/foto/{image_id}/geser", {"arah": "naik"}),
        "delete": (f"/seller/produk/{product_id}/foto/{image_id}/hapus", {}),
    }


@pytest.mark.parametrize("action", ["upload", "move", "delete"])
@pytest.mark.parametrize(("who", "status"), [("other-seller", 404), ("customer", 403)])
def test_only_the_owning_seller_may_change_the_photos(app, db, client, make_client,
                                                      product_id, three_photos, action,
                                                      who, status):
    if who == "other-seller":
        _seller_with_product(db, "lain@example.test", "Toko Lain")
        email = "lain@example.test"
    else:
        email = make_user(email="pembeli@example.test", roles=("customer",)).email
        db.session.commit()
    intruder = make_client()
    log_in(intruder, email)
    files_before = _stored_files(app)
    url, data = _actions(product_id, three_photos[1])[action]

    response = intruder.post(url, data=data, content_type="multipart/form-data",
                             headers={"HX-Request": "true"})

    assert response.status_code == status
    assert _order(db, product_id) == three_photos
    assert _stored_files(app) == files_before


def test_another_stores_photo_cannot_be_reached_through_my_own_product(
        db, client, make_client, product_id, three_photos):
    # The image id is the victim's, the product id the intruder's own.
    mine = _seller_with_product(db, "lain@example.test", "Toko Lain")
    intruder = make_client()
    log_in(intruder, "lain@example.test")

    for verb, data in (("geser", {"arah": "naik"}), ("hapus", {})):
        response = intruder.post(f"/seller/produk/{mine}/foto/{three_photos[2]}/{verb}",
                                 data=data)
        assert response.status_code == 404
    assert _order(db, product_id) == three_photos


def test_anonymous_upload_is_sent_to_the_login_page(db, make_client, product_id):
    anonymous = make_client()

    response = anonymous.post(f"/seller/produk/{product_id}/foto",
                              data={"photos": [(io.BytesIO(_image_bytes("PNG")), "x.png")]},
                              content_type="multipart/form-data")

    assert response.status_code == 302
    assert "/masuk" in response.headers["Location"]
    assert _image_count(db) == 0


def test_phone_jpeg_with_data_after_the_picture_is_accepted_and_stored_without_it(
        app, db, client, product_id):
    """Samsung trailers and Motion Photos (a video appended after the JPEG) are everyday
    phone photos: accepted, and re-encoding leaves the appended bytes behind."""
    motion_photo = _image_bytes("JPEG") + b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8
    response = _upload(client, product_id, ("PXL_20261122.MP.jpg", motion_photo))
    assert response.status_code == 303
    (image,) = _images(db, product_id)
    stored = (storage_root(app) / image.display_key).read_bytes()
    assert b"ftypmp42" not in stored and stored.startswith(b"RIFF")
