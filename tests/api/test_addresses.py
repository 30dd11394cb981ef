"""The user's addresses through the API (/me/addresses): the web's rules (AddressForm's
checks and messages, at most MAX_ADDRESSES, exactly one default, the newest other one
taking over when the default goes), ownership in the query (404), Idempotency-Key on
create, and, from outside, a mobile app saving an address and checking out with it."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from app.accounts.addresses import MAX_ADDRESSES
from app.accounts.forms import ADDRESS_LABEL_MAX
from app.accounts.models import Address
from app.extensions import db as _db
from app.orders.cart import cart_add
from tests.api.conftest import error_code, mint_tokens
from tests.factories import make_address, make_order, make_product, make_user
from tests.live import raw_request

BASE = "/api/v1/me/addresses"
HOME = {"label": "Rumah", "recipient": "Sari Dewi", "phone": "0812 3456 7890",
        "street": "Jl. Braga No. 10, RT 02/RW 03", "city": "Bandung",
        "province": "Jawa Barat", "postal_code": "40111"}


def _count(user_id: int) -> int:
    _db.session.expire_all()
    return _db.session.scalar(select(func.count(Address.id)).where(Address.user_id == user_id))


def _defaults(user_id: int) -> list[int]:
    _db.session.expire_all()
    return list(_db.session.scalars(select(Address.id).where(
        Address.user_id == user_id, Address.is_default.is_(True))))


def test_the_first_saved_address_is_the_default_and_is_listed_first(db, api):
    buyer = make_user()
    db.session.commit()
    client = api(buyer)

    first = client.post(BASE, json=HOME)
    assert first.status_code == 201, first.get_json()
    created = first.get_json()
    assert {k: created[k] for k in HOME} == HOME and created["is_default"] is True
    assert first.headers["Location"].endswith(f"{BASE}/{created['id']}")
    second = client.post(BASE, json={**HOME, "label": "Kantor", "city": "Jakarta Selatan",
                                     "province": "DKI Jakarta", "postal_code": "12190"})
    assert second.status_code == 201 and second.get_json()["is_default"] is False

    listed = client.get(BASE)
    assert listed.status_code == 200 and listed.headers["X-Total-Count"] == "2"
    assert [a["id"] for a in listed.get_json()["items"]] == [
        created["id"], second.get_json()["id"]]
    assert client.get(f"{BASE}/{created['id']}").get_json() == created


def test_make_default_moves_the_one_default(db, api):
    buyer = make_user()
    old, other = make_address(user=buyer), make_address(user=buyer, default=False)
    db.session.commit()
    client = api(buyer)

    response = client.post(f"{BASE}/{other.id}/default")
    assert response.status_code == 200 and response.get_json()["is_default"] is True
    assert _defaults(buyer.id) == [other.id]
    patched = client.patch(f"{BASE}/{old.id}", json={"make_default": True})
    assert patched.status_code == 200 and _defaults(buyer.id) == [old.id]
    # A new address asked to be the default takes over too.
    created = client.post(BASE, json={**HOME, "make_default": True}).get_json()
    assert _defaults(buyer.id) == [created["id"]]


def test_patch_changes_the_given_fields_and_keeps_the_others(db, api):
    buyer = make_user()
    address = make_address(user=buyer)
    db.session.commit()

    response = api(buyer).patch(f"{BASE}/{address.id}", json={"city": " Cimahi ",
                                                              "label": None})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["city"] == "Cimahi" and body["label"] == "Rumah"
    assert body["postal_code"] == "40111" and body["is_default"] is True


def test_invalid_fields_are_refused_with_the_web_forms_messages_in_the_users_language(db, api):
    buyer = make_user(locale="en")
    db.session.commit()
    client = api(buyer)

    response = client.post(BASE, json={**HOME, "phone": "telepon saya", "postal_code": "4011",
                                       "province": "Jawa Barat Daya", "city": "  ",
                                       "label": "R" * (ADDRESS_LABEL_MAX + 1)})
    assert response.status_code == 422 and error_code(response) == "validation_failed"
    assert response.get_json()["error"]["fields"] == {
        "phone": "Enter a valid phone number.",
        "postal_code": "The postal code has 5 digits.",
        "province": "Choose a province from the list.",
        "city": "This field is required.",
        "label": f"Maximum {ADDRESS_LABEL_MAX} characters."}
    assert _count(buyer.id) == 0

    address = make_address(user=buyer)
    db.session.commit()
    refused = client.patch(f"{BASE}/{address.id}", json={"postal_code": "ABCDE"})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["fields"] == {
        "postal_code": "The postal code has 5 digits."}
    _db.session.expire_all()
    assert _db.session.get(Address, address.id).postal_code == "40111"


def test_indonesian_is_the_default_language_of_the_messages(db, api):
    buyer = make_user()
    db.session.commit()

    response = api(buyer).post(BASE, json={**HOME, "postal_code": "4011"})
    assert response.get_json()["error"]["fields"] == {
        "postal_code": "Kode pos terdiri dari 5 angka."}


def test_another_users_address_is_not_found(db, api):
    owner, other = make_user(), make_user()
    address = make_address(user=owner)
    db.session.commit()
    client = api(other)

    for method, path, body in (("GET", f"{BASE}/{address.id}", None),
                               ("PATCH", f"{BASE}/{address.id}", {"city": "Bogor"}),
                               ("DELETE", f"{BASE}/{address.id}", None),
                               ("POST", f"{BASE}/{address.id}/default", None)):
        response = client.open(path, method, json=body)
        assert response.status_code == 404 and error_code(response) == "not_found", method
    assert client.get(BASE).get_json()["items"] == []
    _db.session.expire_all()
    kept = _db.session.get(Address, address.id)
    assert kept.city == "Bandung" and kept.is_default is True


def test_no_more_than_max_addresses_are_saved(db, api):
    buyer = make_user(locale="en")
    for number in range(MAX_ADDRESSES):
        make_address(user=buyer, default=number == 0)
    db.session.commit()

    response = api(buyer).post(BASE, json=HOME)
    assert response.status_code == 409 and error_code(response) == "address_limit"
    assert str(MAX_ADDRESSES) in response.get_json()["error"]["message"]
    assert _count(buyer.id) == MAX_ADDRESSES


def test_deleting_the_default_makes_the_newest_other_one_the_default(db, api):
    buyer = make_user()
    default = make_address(user=buyer)
    make_address(user=buyer, default=False)
    newest = make_address(user=buyer, default=False)
    db.session.commit()

    response = api(buyer).delete(f"{BASE}/{default.id}")
    assert response.status_code == 204 and response.data == b""
    assert _count(buyer.id) == 2 and _defaults(buyer.id) == [newest.id]


def test_deleting_an_address_used_by_an_order_keeps_the_orders_copy(db, api):
    buyer = make_user()
    address = make_address(user=buyer, city="Surabaya")
    product = make_product(store=make_user(roles=("seller",)).store)
    order = make_order(buyer=buyer, variant=product.variants[0])
    order.shipping_address = address.snapshot()
    db.session.commit()
    client = api(buyer)

    assert client.delete(f"{BASE}/{address.id}").status_code == 204
    assert _count(buyer.id) == 0
    placed = client.get(f"/api/v1/orders/{order.number}")
    assert placed.status_code == 200
    assert placed.get_json()["shipping_address"]["city"] == "Surabaya"


def test_create_with_an_idempotency_key_saves_one_address(db, api):
    buyer = make_user()
    db.session.commit()
    client = api(buyer)
    headers = {"Idempotency-Key": "alamat-0001"}

    first = client.post(BASE, json=HOME, headers=headers)
    again = client.post(BASE, json=HOME, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json() and _count(buyer.id) == 1
    other = client.post(BASE, json={**HOME, "city": "Bogor"}, headers=headers)
    assert other.status_code == 422 and error_code(other) == "idempotency_key_mismatch"


def test_a_mobile_app_saves_an_address_over_http_and_checks_out_with_it(app, db, live_url):
    """From outside: a new buyer with no address (the web would send them to
    /akun/alamat/baru) saves one through the API and checks out with its id."""
    seller = make_user(roles=("seller",))
    product = make_product(store=seller.store, name="Serum Vitamin C", price=75_000)
    buyer = make_user()
    cart_add(user=buyer, variant_id=product.variants[0].id, quantity=2)
    db.session.commit()
    token = mint_tokens(app, buyer.id)["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    saved = raw_request(live_url, BASE, method="POST", headers=headers,
                        body=json.dumps(HOME).encode())
    assert saved.status == 201, saved.text()
    address = json.loads(saved.body)
    listed = json.loads(raw_request(live_url, BASE, headers=headers).body)
    assert [a["id"] for a in listed["items"]] == [address["id"]]

    placed = raw_request(live_url, "/api/v1/checkout", method="POST", headers=headers,
                         body=json.dumps({"address_id": address["id"],
                                          "payment_method": "va_bca"}).encode())
    assert placed.status == 201, placed.text()
    checkout = json.loads(placed.body)
    assert checkout["total"] == 150_000 + seller.store.shipping_cost
    order = json.loads(raw_request(live_url, f"/api/v1/orders/{checkout['orders'][0]['number']}",
                                   headers=headers).body)
    assert order["shipping_address"] == {k: HOME[k] for k in (
        "recipient", "phone", "street", "city", "province", "postal_code")}
