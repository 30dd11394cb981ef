"""The seller's product edit page as a browser and a screen reader get it (issue 18): ids
are unique, the photo label names the file input, and every photo's buttons say which
photo they act on. The page is fetched over real HTTP and read with an HTML parser."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

from app.catalog.models import ProductImage
from app.core.storage import storage_put
from tests.factories import make_product, make_user
from tests.live import live_log_in


class Elements(HTMLParser):
    """Every start tag as (tag, attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))


def _edit_page(live_url: str, db, photos: int) -> list[tuple[str, dict[str, str]]]:
    seller = make_user(roles=("seller",))
    product = make_product(store=seller.store)
    for position in range(photos):
        key = storage_put(b"RIFF\x00\x00\x00\x00WEBPVP8 ", folder="products", suffix=".webp")
        product.images.append(ProductImage(display_key=key, thumb_key=key, width=1, height=1,
                                           position=position))
    db.session.commit()
    email, product_id = seller.email, product.id
    db.session.commit()
    response = live_log_in(live_url, email).request(f"/seller/produk/{product_id}/ubah")
    assert response.status == 200
    parser = Elements()
    parser.feed(response.text())
    return parser.elements


def test_product_edit_page_ids_are_unique(live_url, db):
    elements = _edit_page(live_url, db, photos=3)
    counts = Counter(attrs["id"] for _tag, attrs in elements if "id" in attrs)
    assert {name: n for name, n in counts.items() if n > 1} == {}


def test_photo_label_targets_the_file_input(live_url, db):
    elements = _edit_page(live_url, db, photos=1)
    by_id: dict[str, tuple[str, dict[str, str]]] = {}
    for tag, attrs in elements:  # a label names the first element with its id, as in a browser
        if "id" in attrs:
            by_id.setdefault(attrs["id"], (tag, attrs))
    labels = [attrs for tag, attrs in elements if tag == "label"
              and by_id.get(attrs.get("for", ""), ("", {}))[1].get("type") == "file"]
    assert len(labels) == 1
    tag, target = by_id[labels[0]["for"]]
    assert (tag, target["type"], target["name"]) == ("input", "file", "photos")


def test_photo_move_buttons_are_named_by_their_photos_position(live_url, db):
    elements = _edit_page(live_url, db, photos=3)
    names = [attrs["aria-label"] for tag, attrs in elements
             if tag == "button" and attrs.get("name") == "arah"]
    assert names == [f"Geser foto {n} ke {side}" for n in (1, 2, 3)
                     for side in ("depan", "belakang")]
    deletes = [attrs["aria-label"] for tag, attrs in elements
               if tag == "button" and attrs.get("aria-label", "").startswith("Hapus foto")]
    assert deletes == ["Hapus foto 1", "Hapus foto 2", "Hapus foto 3"]
