"""The cart: adding from the product page (with and without htmx), capping to the stock,
flagging lines that can no longer be bought, editing and removing lines."""

from __future__ import annotations

from sqlalchemy import func, select

from app.catalog.services import product_archive
from app.catalog.stock import stock_set
from app.orders.models import CartItem
from tests.factories import make_product, make_user

HTMX = {"HX-Request": "true"}


def _shop(db, **kwargs):
    seller = make_user(roles=("seller",))
    product = make_product(store=seller.store, **kwargs)
    db.session.commit()
    return seller, product


def _lines(db, email: str) -> list[CartItem]:
    from app.accounts.models import User

    user = db.session.scalars(select(User).where(User.email == email)).one()
    return list(db.session.scalars(select(CartItem).where(CartItem.user_id == user.id)
                                   .order_by(CartItem.id)))


def test_add_to_cart_without_js_redirects_back_to_the_product(db, client, login_as):
    _, product = _shop(db)
    email = login_as("customer")
    response = client.post("/keranjang/tambah", data={
        "product_id": product.id, "variant_id": product.variants[0].id, "quantity": "2"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/produk/{product.id}")
    [line] = _lines(db, email)
    assert line.quantity == 2
    page = client.get(f"/produk/{product.id}").get_data(as_text=True)
    assert "ditambahkan ke keranjang" in page


def test_add_to_cart_with_htmx_answers_the_mini_cart_and_the_badge(db, client, login_as):
    _, product = _shop(db, price=50_000)
    login_as("customer")
    response = client.post("/keranjang/tambah", headers=HTMX, data={
        "product_id": product.id, "variant_id": product.variants[0].id, "quantity": "3"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="cart-feedback"' in body and "Rp\u00a0150.000" in body
    assert 'id="cart-badge"' in body and 'hx-swap-oob="true"' in body


def test_same_variant_twice_is_one_line_and_two_variants_are_two_lines(db, client, login_as):
    _, product = _shop(db, options={"Ukuran": ["30 ml", "50 ml"]})
    email = login_as("customer")
    small, large = product.variants
    for variant in (small, small, large):
        client.post("/keranjang/tambah", data={"product_id": product.id,
                                               "variant_id": variant.id, "quantity": "1"})
    lines = _lines(db, email)
    assert [(line.variant_id, line.quantity) for line in lines] == [(small.id, 2), (large.id, 1)]


def test_quantity_above_the_stock_is_capped_with_a_message(db, client, login_as):
    _, product = _shop(db, stock=4)
    email = login_as("customer")
    client.post("/keranjang/tambah", data={"product_id": product.id,
                                           "variant_id": product.variants[0].id,
                                           "quantity": "9"})
    [line] = _lines(db, email)
    assert line.quantity == 4
    page = client.get(f"/produk/{product.id}").get_data(as_text=True)
    assert "Stok tersedia hanya 4" in page


def test_guest_adding_to_cart_logs_in_and_comes_back_to_the_product(db, client):
    _, product = _shop(db)
    buyer = make_user()
    db.session.commit()
    response = client.post("/keranjang/tambah", data={
        "product_id": product.id, "variant_id": product.variants[0].id, "quantity": "1"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/masuk?next=")
    login = client.post(response.headers["Location"],
                        data={"email": buyer.email, "password": "kopi-susu-gula-aren-42"})
    assert login.headers["Location"] == f"/produk/{product.id}"
    htmx = client.post("/keranjang/tambah", headers=HTMX, data={"product_id": product.id})
    assert htmx.status_code == 422  # logged in now: the missing variant is the problem


def test_guest_with_htmx_is_sent_to_login_by_hx_redirect(db, client):
    _, product = _shop(db)
    response = client.post("/keranjang/tambah", headers=HTMX, data={
        "product_id": product.id, "variant_id": product.variants[0].id})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == f"/masuk?next=/produk/{product.id}"


def test_sold_out_or_archived_products_cannot_be_added(db, client, login_as):
    seller, product = _shop(db, stock=0)
    email = login_as("customer")
    response = client.post("/keranjang/tambah", data={
        "product_id": product.id, "variant_id": product.variants[0].id, "quantity": "1"})
    assert response.status_code == 422
    assert "Stok habis" in response.get_data(as_text=True)
    other = make_product(store=seller.store, name="Diarsipkan")
    product_archive(product=other, actor=seller)
    db.session.commit()
    response = client.post("/keranjang/tambah", headers=HTMX, data={
        "product_id": other.id, "variant_id": other.variants[0].id, "quantity": "1"})
    assert response.status_code == 422
    assert "tidak tersedia" in response.get_data(as_text=True)
    assert _lines(db, email) == []


def test_bad_quantities_are_refused_and_change_nothing(db, client, login_as):
    _, product = _shop(db)
    email = login_as("customer")
    for quantity in ("0", "-2", "abc", "1000", "1.5"):
        response = client.post("/keranjang/tambah", data={
            "product_id": product.id, "variant_id": product.variants[0].id,
            "quantity": quantity})
        assert response.status_code == 422, quantity
    assert _lines(db, email) == []


def test_a_seller_cannot_buy_from_their_own_store(db, client, login_as):
    from app.accounts.models import RoleName
    from app.accounts.services import role_get

    seller, product = _shop(db)
    seller.roles.append(role_get(RoleName.CUSTOMER))
    db.session.commit()
    login_as(seller)
    response = client.post("/keranjang/tambah", data={
        "product_id": product.id, "variant_id": product.variants[0].id, "quantity": "1"})
    assert response.status_code == 422
    assert "toko Anda sendiri" in response.get_data(as_text=True)


def test_change_quantity_inline_updates_totals_and_caps(db, client, login_as):
    _, product = _shop(db, price=10_000, stock=5)
    email = login_as("customer")
    client.post("/keranjang/tambah", data={"product_id": product.id,
                                           "variant_id": product.variants[0].id})
    [line] = _lines(db, email)
    response = client.post(f"/keranjang/{line.id}", headers=HTMX, data={"quantity": "3"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="cart"' in body and "Rp\u00a030.000" in body
    response = client.post(f"/keranjang/{line.id}", headers=HTMX, data={"quantity": "8"})
    assert "Stok tersedia hanya 5" in response.get_data(as_text=True)
    assert _lines(db, email)[0].quantity == 5
    response = client.post(f"/keranjang/{line.id}", data={"quantity": "0"})
    assert response.status_code == 422 and "Jumlah minimal 1" in response.get_data(as_text=True)
    assert _lines(db, email)[0].quantity == 5


def test_remove_a_line(db, client, login_as):
    _, product = _shop(db)
    email = login_as("customer")
    client.post("/keranjang/tambah", data={"product_id": product.id,
                                           "variant_id": product.variants[0].id})
    [line] = _lines(db, email)
    response = client.post(f"/keranjang/{line.id}/hapus")
    assert response.status_code == 303
    assert _lines(db, email) == []
    assert "Keranjang Anda masih kosong" in client.get("/keranjang").get_data(as_text=True)


def test_cart_groups_lines_by_store_with_subtotals(db, client, login_as):
    _, a = _shop(db, price=10_000)
    second, b = _shop(db, price=25_000)
    second.store.shipping_cost = 9_000
    db.session.commit()
    login_as("customer")
    for product, qty in ((a, 2), (b, 1)):
        client.post("/keranjang/tambah", data={"product_id": product.id,
                                               "variant_id": product.variants[0].id,
                                               "quantity": str(qty)})
    page = client.get("/keranjang").get_data(as_text=True)
    assert page.count('data-testid="cart-store"') == 2
    assert "Rp\u00a020.000" in page and "Rp\u00a025.000" in page and "Rp\u00a09.000" in page
    assert 'data-testid="cart-total">Rp\u00a054.000' in page


def test_lines_sold_out_or_archived_since_added_are_flagged_and_block_checkout(
        db, client, login_as):
    seller, product = _shop(db, stock=5)
    email = login_as("customer")
    client.post("/keranjang/tambah", data={"product_id": product.id,
                                           "variant_id": product.variants[0].id,
                                           "quantity": "2"})
    stock_set(variant=product.variants[0], new_stock=0, actor=seller)
    db.session.commit()
    page = client.get("/keranjang").get_data(as_text=True)
    assert 'data-testid="line-problem"' in page and "Stok habis" in page
    assert 'data-testid="to-checkout"' not in page
    assert 'data-testid="pay"' not in client.get("/checkout").get_data(as_text=True)
    stock_set(variant=product.variants[0], new_stock=5, actor=seller)
    product_archive(product=product, actor=seller)
    db.session.commit()
    page = client.get("/keranjang").get_data(as_text=True)
    assert "tidak dijual lagi" in page and 'data-testid="cart-blocked"' in page
    assert len(_lines(db, email)) == 1  # flagged, never silently removed


def test_another_buyers_cart_line_is_not_found(db, client, login_as, make_client):
    _, product = _shop(db)
    login_as("customer")
    client.post("/keranjang/tambah", data={"product_id": product.id,
                                           "variant_id": product.variants[0].id})
    line_id = db.session.scalar(select(func.max(CartItem.id)))
    db.session.commit()  # end the read (SQLite: this test's transaction holds the lock)
    intruder = make_client()
    login_as("customer", intruder)
    assert intruder.post(f"/keranjang/{line_id}", data={"quantity": "2"}).status_code == 404
    assert intruder.post(f"/keranjang/{line_id}/hapus").status_code == 404
    assert db.session.get(CartItem, line_id).quantity == 1
