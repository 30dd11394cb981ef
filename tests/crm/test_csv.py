"""CSV import (preview with per-row errors, nothing imported from a bad file unless asked)
and export (BOM, neutralised formulas)."""

from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from app.accounts.models import Company
from app.crm.models import Contact

BAD_COMPANIES = (
    "name;city;npwp;website\n"
    "PT Satu;Bandung;01.234.567.8-901.000;https://satu.test\n"
    ";Jakarta;;\n"                                     # row 3: no name
    "PT Tiga;Surabaya;123;\n"                          # row 4: NPWP too short
    "PT Empat;Medan;;satu.test\n"                      # row 5: website without scheme
    "PT Lima;Bali;;\n"
)
TOKEN = re.compile(r'name="token" value="([^"]+)"')


def _upload(client, text: str | bytes, kind: str = "companies"):
    raw = text.encode() if isinstance(text, str) else text
    return client.post("/crm/impor", data={"kind": kind, "file": (io.BytesIO(raw), "data.csv")},
                       content_type="multipart/form-data")


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_bad_rows_are_reported_by_row_number_and_nothing_is_imported(client, db, login_as):
    login_as("staff")
    preview = _upload(client, BAD_COMPANIES)
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert re.findall(r'data-row="(\d+)"', html) == ["3", "4", "5"]
    assert "name wajib diisi" in html and "NPWP harus 15 atau 16 digit" in html
    assert "5 baris: 2 valid, 3 bermasalah" in html
    assert _count(db, Company) == 0  # the preview writes nothing
    assert 'value="all"' not in html  # no "import everything" button for a bad file
    token = TOKEN.search(html).group(1)

    refused = client.post("/crm/impor/konfirmasi", data={"token": token, "mode": "all"})
    assert refused.status_code == 422
    assert "Tidak ada yang diimpor" in refused.get_data(as_text=True)
    assert _count(db, Company) == 0


def test_valid_rows_only_on_request(client, db, login_as):
    login_as("staff")
    token = TOKEN.search(_upload(client, BAD_COMPANIES).get_data(as_text=True)).group(1)
    response = client.post("/crm/impor/konfirmasi", data={"token": token, "mode": "valid"})
    assert response.status_code == 303
    assert sorted(db.session.scalars(select(Company.name))) == ["PT Lima", "PT Satu"]


def test_a_clean_file_with_bom_and_commas_imports_every_row(client, db, login_as):
    login_as("staff")
    text = "\ufeffNama,Kota,Jenis Usaha\nPT A,Bandung,skincare\n\nPT B,Jakarta,suplemen\n"
    html = _upload(client, text.encode("utf-8")).get_data(as_text=True)
    assert "2 baris: 2 valid, 0 bermasalah" in html
    token = TOKEN.search(html).group(1)
    assert client.post("/crm/impor/konfirmasi",
                       data={"token": token, "mode": "all"}).status_code == 303
    rows = db.session.execute(select(Company.name, Company.city, Company.business_type)
                              .order_by(Company.name)).all()
    assert [tuple(row) for row in rows] == [("PT A", "Bandung", "skincare"),
                                            ("PT B", "Jakarta", "suplemen")]


def test_contacts_must_name_an_existing_company(client, db, login_as):
    db.session.add(Company(name="PT Ada"))
    db.session.commit()
    login_as("staff")
    text = ("name;company;email;phone\n"
            "Maya;pt ada;maya@ada.test;+62 812 1111 2222\n"
            "Budi;PT Hilang;budi@x.test;\n"
            "Citra;;bukan-email;\n")
    html = _upload(client, text, kind="contacts").get_data(as_text=True)
    assert re.findall(r'data-row="(\d+)"', html) == ["3", "4"]
    assert "PT Hilang" in html and "Email tidak valid" in html
    token = TOKEN.search(html).group(1)
    client.post("/crm/impor/konfirmasi", data={"token": token, "mode": "valid"})
    contact = db.session.scalars(select(Contact)).one()
    assert contact.name == "Maya" and contact.company.name == "PT Ada"


def test_file_level_problems_are_shown_at_the_file_field(client, db, login_as):
    login_as("staff")
    no_name = _upload(client, "kota;npwp\nBandung;\n")
    assert no_name.status_code == 422
    assert "Kolom wajib tidak ada" in no_name.get_data(as_text=True)
    latin1 = _upload(client, "name\nCaf\xe9 Kosmetik\n".encode("latin-1"))
    assert latin1.status_code == 422
    assert "UTF-8" in latin1.get_data(as_text=True)
    assert _count(db, Company) == 0


def test_a_forged_preview_token_imports_nothing(client, db, login_as):
    login_as("staff")
    response = client.post("/crm/impor/konfirmasi", data={"token": "eyJraW5kIjoiY29tcGFu",
                                                          "mode": "all"})
    assert response.status_code == 422
    assert _count(db, Company) == 0


def test_export_has_a_bom_and_neutralises_formulas(client, db, login_as):
    db.session.add_all([Company(name="=HYPERLINK(\"x\")", city="Bandung"),
                        Company(name="PT Biasa", city="Jakarta")])
    db.session.add(Contact(name="Maya", phone="+62 812 1111 2222"))
    db.session.commit()
    login_as("staff")
    response = client.get("/crm/perusahaan/ekspor.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeffname,business_type,city")
    assert "'=HYPERLINK" in body and "PT Biasa" in body
    contacts = client.get("/crm/kontak/ekspor.csv").get_data(as_text=True)
    assert "+62 812 1111 2222" in contacts and "'+62" not in contacts


def test_exported_companies_import_again(client, db, login_as):
    db.session.add(Company(name="PT Pulang Pergi", city="Solo", npwp="012345678901234"))
    db.session.commit()
    login_as("staff")
    exported = client.get("/crm/perusahaan/ekspor.csv").get_data()
    html = _upload(client, exported).get_data(as_text=True)
    assert "1 baris: 1 valid, 0 bermasalah" in html


def test_files_over_the_row_limit_are_refused(client, db, login_as, monkeypatch):
    from app.crm import csv_io

    monkeypatch.setattr(csv_io, "MAX_ROWS", 3)
    login_as("staff")
    response = _upload(client, "name\nA\nB\nC\nD\n")
    assert response.status_code == 422
    assert "lebih dari 3 baris" in response.get_data(as_text=True)


def test_files_over_2_mb_are_refused(client, db, login_as):
    login_as("staff")
    response = _upload(client, "name\n" + "x" * (2 * 1024 * 1024))
    assert response.status_code == 422
    assert "lebih besar dari 2 MB" in response.get_data(as_text=True)


def test_employee_count_family_name_and_birth_date_import_and_export(client, db, login_as):
    login_as("staff")
    html = _upload(client, "nama;jumlah karyawan\nPT Besar;1.200\nPT Minus;-4\n"
                           "PT Kata;banyak\n").get_data(as_text=True)
    assert re.findall(r'data-row="(\d+)"', html) == ["3", "4"]
    assert "Jumlah karyawan tidak boleh negatif." in html
    token = TOKEN.search(html).group(1)
    response = client.post("/crm/impor/konfirmasi", data={"token": token, "mode": "valid"})
    assert response.status_code == 303
    assert db.session.scalars(select(Company.employee_count)).all() == [1200]
    html = _upload(client, "nama;nama keluarga;tanggal lahir\nAni;Wijaya;1990-05-17\n"
                           "Budi;;2999-01-01\nCici;;17/05/1990\n",
                   kind="contacts").get_data(as_text=True)
    assert re.findall(r'data-row="(\d+)"', html) == ["3", "4"]
    assert "Tanggal lahir tidak boleh di masa depan." in html
    token = TOKEN.search(html).group(1)
    client.post("/crm/impor/konfirmasi", data={"token": token, "mode": "valid"})
    contact = db.session.scalars(select(Contact)).one()
    assert (contact.family_name, str(contact.birth_date)) == ("Wijaya", "1990-05-17")
    exported = client.get("/crm/kontak/ekspor.csv").get_data(as_text=True)
    assert "family_name" in exported.splitlines()[0] and "Wijaya,1990-05-17" in exported
    exported = client.get("/crm/perusahaan/ekspor.csv").get_data(as_text=True)
    assert exported.splitlines()[0].endswith("employee_count")
    assert exported.splitlines()[1].endswith(",1200")
