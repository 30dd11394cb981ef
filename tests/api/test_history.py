"""The history API: the client's company's maklon history and the seller's store's orders,
with the web pages' filters (the same parsing functions), 422 at the field for what the
pages would ignore, and nobody else's rows whatever the query says."""

from __future__ import annotations

import pytest

from tests.api.conftest import error_code
from tests.factories import make_checkout, make_order, make_product, make_user
from tests.maklon.factories import make_company, make_maklon_client, make_signed_order


@pytest.fixture
def world(db):
    client_a = make_maklon_client(company=make_company(name="PT Alfa"))
    client_b = make_maklon_client()
    lunas = make_signed_order(client=client_a, total=5_000_000, paid=("dp", "mid", "final"),
                              product_type="supplement")
    partial = make_signed_order(client=client_a, total=8_000_000, paid=("dp",))
    other = make_signed_order(client=client_b, total=9_000_000, paid=("dp",))
    seller_a = make_user(roles=("seller",), store_name="Toko Anggrek")
    seller_b = make_user(roles=("seller",), store_name="Toko Bakung")
    buyer = make_user(name="Budi")
    variant_a = make_product(store=seller_a.store, stock=20).variants[0]
    order_a = make_order(buyer=buyer, variant=variant_a, paid=True)
    gopay = make_checkout(buyer=buyer, lines=[(variant_a, 1)], payment_method="gopay").orders[0]
    order_b = make_order(buyer=buyer,
                         variant=make_product(store=seller_b.store, stock=9).variants[0])
    db.session.commit()
    return {"client_a": client_a, "client_b": client_b, "lunas": lunas.number,
            "partial": partial.number, "other": other.number, "seller_a": seller_a,
            "order_a": order_a.number, "gopay": gopay.number, "order_b": order_b.number}


def _numbers(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["number"] for item in response.get_json()["items"]]


def test_maklon_history_is_the_companys_own_with_derived_payment_status(api, world):
    client = api(world["client_a"])
    body = client.get("/api/v1/maklon/history").get_json()
    assert {i["number"] for i in body["items"]} == {world["lunas"], world["partial"]}
    assert body["total"] == 2
    by_number = {i["number"]: i for i in body["items"]}
    partial = by_number[world["partial"]]
    assert partial["payment_status"] == "bertahap"
    assert (partial["billed"], partial["paid"], partial["due"]) == (8_000_000, 2_400_000,
                                                                    5_600_000)
    assert _numbers(client.get("/api/v1/maklon/history?payment_status=lunas")) == [
        world["lunas"]]
    assert _numbers(client.get("/api/v1/maklon/history?product_type=supplement")) == [
        world["lunas"]]
    assert _numbers(api(world["client_b"]).get(
        "/api/v1/maklon/history?payment_status=bertahap")) == [world["other"]]


@pytest.mark.parametrize(("query", "field"), [
    ("status=dibuang", "status"), ("payment_status=x", "payment_status"),
    ("product_type=mobil", "product_type"), ("date_from=31/02/2026", "date_from"),
    ("date_from=2026-03-10&date_to=2026-03-01", "date_to")])
def test_maklon_history_bad_filter_is_422_at_its_field(api, world, query, field):
    response = api(world["client_a"]).get(f"/api/v1/maklon/history?{query}")
    assert response.status_code == 422
    assert error_code(response) == "validation_failed"
    assert field in response.get_json()["error"]["fields"]


def test_seller_history_is_the_stores_own_and_filters_by_method(api, world):
    client = api(world["seller_a"])
    assert set(_numbers(client.get("/api/v1/seller/history"))) == {world["order_a"],
                                                                   world["gopay"]}
    gopay = client.get("/api/v1/seller/history?method=gopay").get_json()["items"]
    assert [(i["number"], i["method"], i["buyer_name"]) for i in gopay] == [
        (world["gopay"], "gopay", "Budi")]
    assert _numbers(client.get("/api/v1/seller/history?status=delivered")) == []
    response = client.get("/api/v1/seller/history?method=tunai")
    assert response.status_code == 422
    assert "method" in response.get_json()["error"]["fields"]


def test_history_api_roles(api, world):
    assert api().get("/api/v1/maklon/history").status_code == 401
    assert api(world["seller_a"]).get("/api/v1/maklon/history").status_code == 403
    assert api(world["client_a"]).get("/api/v1/seller/history").status_code == 403


def test_maklon_history_export_is_a_job_whose_file_only_its_owner_gets(api, world, db):
    client = api(world["client_a"])
    response = client.post("/api/v1/maklon/history/exports",
                           json={"format": "csv", "payment_status": "bertahap"})
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert response.headers["Location"].endswith(f"/history/exports/{job['id']}")
    status = client.get(f"/api/v1/history/exports/{job['id']}").get_json()
    assert status["status"] == "finished" and status["rows"] == 1  # jobs run inline in tests
    file = client.get(status["file_url"])
    assert file.status_code == 200 and file.mimetype == "text/csv"
    text = file.get_data().decode("utf-8-sig")
    assert world["partial"] in text and world["other"] not in text
    assert world["lunas"] not in text
    other = api(world["client_b"])
    assert other.get(f"/api/v1/history/exports/{job['id']}").status_code == 404
    assert other.get(status["file_url"]).status_code == 404
    assert api(world["seller_a"]).get(status["file_url"]).status_code == 404


def test_seller_history_export_pdf_job(api, world):
    client = api(world["seller_a"])
    response = client.post("/api/v1/seller/history/exports",
                           json={"format": "pdf", "method": "gopay"})
    assert response.status_code == 202
    status = client.get(f"/api/v1/history/exports/{response.get_json()['id']}").get_json()
    file = client.get(status["file_url"])
    assert file.mimetype == "application/pdf" and file.get_data().startswith(b"%PDF")


@pytest.mark.parametrize("body", [{"format": "xls"}, {}, {"format": "csv", "status": "x"},
                                  {"format": "csv", "date_from": "2026-13-01"}])
def test_history_export_bad_body_is_422_and_queues_nothing(api, world, db, body):
    from sqlalchemy import func, select

    from app.core.models import JobRecord

    response = api(world["client_a"]).post("/api/v1/maklon/history/exports", json=body)
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(JobRecord)) == 0


def test_file_of_an_unfinished_export_is_409(api, world, db):
    from app.core.models import JobRecord

    job = JobRecord(job_id="unfinished-export", name="jobs.reports.export_history",
                    owner_id=world["client_a"].id, status="started")
    db.session.add(job)
    db.session.commit()
    client = api(world["client_a"])
    assert client.get(f"/api/v1/history/exports/{job.id}").get_json()["file_url"] is None
    response = client.get(f"/api/v1/history/exports/{job.id}/file")
    assert response.status_code == 409 and error_code(response) == "export_not_ready"
