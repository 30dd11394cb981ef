"""Card and mini renditions of product photos (issue 20, page weight): every stored photo
gets a 240 px and a 128 px WebP rendition next to its 1200 px display image and 400 px
thumbnail; cards download the card one (`srcset` 240w/400w with `sizes`, width/height
set), the 56-64 px thumbnails of the cart, buyer orders, the product gallery and the home
page's stores the mini one (128w/240w/400w); `flask catalog renditions` makes them for
photos stored before, idempotently; they are served by the same public `/media/` rule as
the photo.

Files are checked on disk under the storage root; the outside-in test uploads a photo over
real HTTP as the seller and follows the card's `srcset` to the served rendition.
"""

from __future__ import annotations

import io
import re

from PIL import Image
from sqlalchemy import select, update

from app.catalog.images import (
    CARD_WIDTH,
    MINI_WIDTH,
    PhotoRejected,
    card_rendition,
    mini_rendition,
    photo_process,
)
from app.catalog.models import Product, ProductImage
from app.catalog.services import product_photos_add
from app.core.storage import storage_path, storage_root
from tests.conftest import log_in
from tests.factories import make_order, make_product, make_user
from tests.live import LiveBrowser, raw_request

SRCSET = re.compile(r'src="/media/([^"]+)" srcset="/media/([^" ]+) 240w, /media/([^" ]+) 400w"'
                    r' sizes="([^"]+)" alt="[^"]*" width="(\d+)" height="(\d+)"')
# A 56-64 px thumbnail: the 128 px mini rendition first, then the card, then the thumbnail.
MINI_SRCSET = re.compile(r'src="/media/([^"]+)" srcset="/media/([^" ]+) 128w, /media/([^" ]+) '
                         r'240w, /media/([^" ]+) 400w" sizes="([^"]+)" alt="[^"]*" '
                         r'width="(\d+)" height="(\d+)"')


def _photo(size: tuple[int, int] = (1600, 1200), fmt: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 140, 90)).save(buffer, fmt)
    return buffer.getvalue()


def _files(app) -> set[str]:
    root = storage_root(app)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} \
        if root.exists() else set()


def _product_with_photo(db, size: tuple[int, int] = (1600, 1200)) -> Product:
    seller = make_user(email="rendisi@example.test", roles=("seller",), store_name="Toko Rendisi")
    product = make_product(store=seller.store, name="Serum Rendisi")
    product_photos_add(product=product, files=[_photo(size)])
    db.session.commit()
    return product


def _make_old(db, product: Product) -> ProductImage:
    """Turn the product's photo into one stored before renditions existed."""
    [image] = product.images
    storage_path(image.card_key).unlink()
    storage_path(image.mini_key).unlink()
    image.card_key = image.mini_key = ""
    product.cover_card_key = product.cover_mini_key = ""
    db.session.commit()
    return image


# --- stored --------------------------------------------------------------------------------


def test_a_stored_photo_gets_a_240px_webp_rendition_on_disk(app, db):
    product = _product_with_photo(db)

    [image] = product.images
    assert image.card_key.startswith("products/") and image.card_key.endswith(".webp")
    assert len({image.display_key, image.thumb_key, image.card_key}) == 3
    with Image.open(storage_path(image.card_key)) as card:
        assert card.format == "WEBP"
        assert card.size == (CARD_WIDTH, 180)  # 1600x1200 scaled to 240 wide
    assert storage_path(image.card_key).stat().st_size < storage_path(image.thumb_key) \
        .stat().st_size
    assert product.cover_card_key == image.card_key


def test_a_stored_photo_gets_a_128px_mini_rendition_smaller_than_its_card(app, db):
    product = _product_with_photo(db)

    [image] = product.images
    assert image.mini_key.endswith(".webp") and image.mini_key not in (
        image.display_key, image.thumb_key, image.card_key)
    with Image.open(storage_path(image.mini_key)) as mini:
        assert mini.format == "WEBP"
        assert mini.size == (MINI_WIDTH, 96)  # 1600x1200 scaled to 128 wide
    assert storage_path(image.mini_key).stat().st_size < storage_path(image.card_key) \
        .stat().st_size
    assert product.cover_mini_key == image.mini_key


def test_the_gallery_thumbnails_and_home_stores_download_the_mini_rendition(app, db, client):
    product = _product_with_photo(db)
    product_photos_add(product=product, files=[_photo((800, 800))])
    db.session.commit()
    images = sorted(product.images, key=lambda i: i.position)

    page = client.get(f"/produk/{product.id}").get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)

    for image in images:
        assert (f'src="/media/{image.mini_key}" srcset="/media/{image.mini_key} 128w, '
                f'/media/{image.card_key} 240w" sizes="56px"') in page
    stores = [m for m in MINI_SRCSET.findall(home) if m[0] == images[0].mini_key]
    assert stores and stores[0][4] == "64px"


def test_a_small_photo_is_never_enlarged_for_its_rendition():
    processed = photo_process(_photo((120, 90), "PNG"), max_bytes=10 ** 7, max_pixels=10 ** 8)
    with Image.open(io.BytesIO(processed.card)) as card:
        assert card.size == (120, 90)
    with Image.open(io.BytesIO(processed.mini)) as mini:
        assert mini.size == (120, 90)


def test_deleting_a_photo_deletes_its_rendition(app, db, client):
    product = _product_with_photo(db)
    [image] = product.images
    card = storage_path(image.card_key)
    log_in(client, "rendisi@example.test")

    response = client.post(f"/seller/produk/{product.id}/foto/{image.id}/hapus")

    assert response.status_code in (200, 303)
    assert not card.exists()
    db.session.expire_all()
    assert db.session.get(Product, product.id).cover_card_key == ""


def test_reordering_photos_moves_the_cover_rendition(app, db):
    from app.catalog.services import product_photo_move

    product = _product_with_photo(db)
    product_photos_add(product=product, files=[_photo((800, 800))])
    db.session.commit()
    first, second = sorted(product.images, key=lambda i: i.position)

    product_photo_move(product=product, image=second, offset=-1)
    db.session.commit()

    assert product.cover_card_key == second.card_key != first.card_key


# --- shown ---------------------------------------------------------------------------------


def test_search_and_home_cards_point_at_the_rendition_with_size_hints(app, db, client):
    product = _product_with_photo(db)
    [image] = product.images

    for path in ("/produk", "/"):
        html = client.get(path).get_data(as_text=True)
        src, small, large, sizes, width, height = SRCSET.findall(html)[0]
        assert (src, small, large) == (image.card_key, image.card_key, image.thumb_key), path
        assert "240px" in sizes and (width, height) == ("200", "200")
        assert image.display_key not in html


def test_the_api_gives_each_photo_its_card_url(app, db, client):
    product = _product_with_photo(db)
    [image] = product.images

    [photo] = client.get(f"/api/v1/products/{product.id}").get_json()["photos"]

    assert photo["card_url"].endswith(f"/media/{image.card_key}")
    assert photo["thumb_url"].endswith(f"/media/{image.thumb_key}")


def test_buyer_orders_thumbnails_use_the_rendition(app, db, client):
    product = _product_with_photo(db)
    [image] = product.images
    buyer = make_user(email="pembeli-rendisi@example.test")
    make_order(buyer=buyer, variant=product.variants[0], paid=True)
    log_in(client, buyer.email)

    html = client.get("/pesanan").get_data(as_text=True)

    thumbs = [m for m in MINI_SRCSET.findall(html) if m[0] == image.mini_key]
    assert thumbs and thumbs[0][1:4] == (image.mini_key, image.card_key, image.thumb_key)
    assert thumbs[0][4] == "56px" and thumbs[0][5:] == ("56", "56")
    assert f'src="/media/{image.thumb_key}"' not in html


def test_cart_thumbnail_uses_the_rendition(app, db, client):
    from app.orders.cart import cart_add

    product = _product_with_photo(db)
    [image] = product.images
    buyer = make_user(email="keranjang-rendisi@example.test")
    cart_add(user=buyer, variant_id=product.variants[0].id, quantity=1)
    db.session.commit()
    log_in(client, buyer.email)

    html = client.get("/keranjang").get_data(as_text=True)

    thumbs = [m for m in MINI_SRCSET.findall(html) if m[0] == image.mini_key]
    assert thumbs and thumbs[0][4] == "64px" and thumbs[0][5:] == ("64", "64")


def test_a_photo_without_rendition_falls_back_to_the_thumbnail(app, db, client):
    product = _product_with_photo(db)
    image = _make_old(db, product)

    html = client.get("/produk").get_data(as_text=True)

    assert f'src="/media/{image.thumb_key}"' in html
    assert "srcset" not in html.split('data-testid="product-card"', 1)[1].split("</article>")[0]


# --- backfill ------------------------------------------------------------------------------


def test_backfill_makes_missing_renditions_and_is_idempotent(app, db):
    product = _product_with_photo(db)
    image = _make_old(db, product)
    runner = app.test_cli_runner()

    first = runner.invoke(args=["catalog", "renditions"])

    assert first.exit_code == 0, first.output
    assert "2 renditions made, 0 photos unreadable, 1 product covers updated" in first.output
    db.session.expire_all()
    image = db.session.get(ProductImage, image.id)
    assert image.card_key and storage_path(image.card_key).is_file()
    assert db.session.get(Product, product.id).cover_card_key == image.card_key
    assert image.mini_key and storage_path(image.mini_key).is_file()
    assert db.session.get(Product, product.id).cover_mini_key == image.mini_key
    files = _files(app)

    second = runner.invoke(args=["catalog", "renditions"])

    assert second.exit_code == 0, second.output
    assert "0 renditions made, 0 photos unreadable, 0 product covers updated" in second.output
    assert _files(app) == files
    db.session.expire_all()
    assert db.session.get(ProductImage, image.id).card_key == image.card_key


def test_backfill_gives_a_photo_with_a_card_rendition_only_its_mini_one(app, db):
    """A photo stored between the card and the mini renditions keeps its card file."""
    product = _product_with_photo(db)
    [image] = product.images
    card = image.card_key
    storage_path(image.mini_key).unlink()
    image.mini_key = product.cover_mini_key = ""
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["catalog", "renditions"])

    assert "1 renditions made, 0 photos unreadable, 1 product covers updated" in result.output
    db.session.expire_all()
    image = db.session.get(ProductImage, image.id)
    assert image.card_key == card and image.mini_key not in ("", card)
    assert db.session.get(Product, product.id).cover_mini_key == image.mini_key


def test_backfill_racing_another_run_keeps_the_winners_rendition(app, db, monkeypatch):
    """Another run sets the rendition while this one is making it: this run's file is
    deleted, the other's key stays, nothing is counted twice."""
    from app.catalog import services

    product = _product_with_photo(db)
    image = _make_old(db, product)
    winner = f"products/2026/12/{'a' * 32}.webp"
    real = services.card_rendition

    def racing(stored: bytes) -> bytes:
        db.session.execute(update(ProductImage).where(ProductImage.id == image.id)
                           .values(card_key=winner))
        return real(stored)

    monkeypatch.setattr(services, "card_rendition", racing)
    before = _files(app)

    result = services.photo_renditions_backfill()

    assert (result.made, result.failed) == (1, 0)  # the mini rendition only
    db.session.expire_all()
    stored = db.session.get(ProductImage, image.id)
    assert stored.card_key == winner
    # the loser's card rendition was removed at the commit; the mini one was made
    assert _files(app) - before == {stored.mini_key}


def test_backfill_skips_a_damaged_stored_photo_and_does_the_others(app, db):
    product = _product_with_photo(db)
    damaged = _make_old(db, product)
    storage_path(damaged.display_key).write_bytes(b"RIFF\x00\x00\x00\x00WEBPrusak")
    other = make_product(store=product.store, name="Toner Rendisi")
    product_photos_add(product=other, files=[_photo((640, 640))])
    db.session.commit()
    _make_old(db, other)

    result = app.test_cli_runner().invoke(args=["catalog", "renditions"])

    assert result.exit_code == 0, result.output
    assert "2 renditions made, 1 photos unreadable, 1 product covers updated" in result.output
    db.session.expire_all()
    assert db.session.get(ProductImage, damaged.id).card_key == ""
    assert db.session.get(Product, other.id).cover_card_key != ""


def test_a_corrupt_stored_file_gives_the_user_message_not_a_crash():
    for make in (card_rendition, mini_rendition):
        try:
            make(b"\xff\xd8\xff\xe0 bukan gambar")
        except PhotoRejected as rejected:
            assert rejected.message == "Foto rusak atau tidak dapat dibaca."
        else:
            raise AssertionError("a corrupt file made a rendition")


# --- outside in ----------------------------------------------------------------------------


def test_uploaded_over_http_the_card_rendition_is_served_publicly(app, db, live_url):
    """A seller uploads over real HTTP; an anonymous visitor's search page points at the
    rendition, which /media/ serves (public folder, WebP, nosniff) like the photo itself,
    and a private file's key is still refused by the same route."""
    seller = make_user(email="live-rendisi@example.test", roles=("seller",),
                       store_name="Toko Live")
    product_id = make_product(store=seller.store, name="Serum Live Rendisi").id
    db.session.commit()  # ends the transaction: the live server's requests write
    browser = LiveBrowser(live_url)
    browser.log_in("live-rendisi@example.test")
    browser.get(f"/seller/produk/{product_id}/ubah")

    uploaded = browser.post_multipart(f"/seller/produk/{product_id}/foto", {},
                                      {"photos": ("foto.jpg", _photo(), "image/jpeg")})

    assert uploaded.status in (200, 303), uploaded.text()[:300]
    html = raw_request(live_url, "/produk").text()
    src, small, large, *_ = SRCSET.findall(html)[0]
    served = raw_request(live_url, f"/media/{small}")
    assert served.status == 200
    assert served.headers["Content-Type"] == "image/webp"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    with app.app_context():
        assert served.body == storage_path(small).read_bytes()
    with Image.open(io.BytesIO(served.body)) as card:
        assert card.width == CARD_WIDTH
    assert src == small and raw_request(live_url, f"/media/{large}").status == 200
    invoice_like = small.replace("products/", "invoices/", 1)
    assert raw_request(live_url, f"/media/{invoice_like}").status == 404
    db.session.expire_all()
    assert db.session.scalars(select(ProductImage.card_key)).one() == small
