"""`/media/<key>` serves the public folders only, however a client spells the path (issue 18,
security 1). Private documents — an invoice, a signed contract, a maklon client's file —
live in the same storage root; every traversal spelling of their keys under a public
folder is sent byte for byte over real HTTP (`curl --path-as-is`), to the app and through
the production nginx config, and must never answer the file."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.core.storage import storage_path, storage_put
from tests.conftest import missing_service
from tests.factories import make_order, make_product, make_user
from tests.live import live_log_in, raw_request
from tests.nginx import nginx_binary, nginx_start

# How a client can ask for `key` from under the public folder `products`.
SPELLINGS: dict[str, str] = {
    "dot-dot": "products/../{key}",
    "encoded dots": "products/%2e%2e/{key}",
    "encoded dots, upper case": "products/%2E%2E/{key}",
    "encoded slash": "products/..%2f{key}",
    "encoded slash, upper case": "products/..%2F{key}",
    "mixed encoding": "products/.%2e/{key}",
    "double-encoded dots": "products/%252e%252e/{key}",
    "backslash": "products\\..\\{key}",
    "encoded backslash": "products/..%5c{key}",
    "double slash": "products//../{key}",
    "slash after dot-dot": "products/..//{key}",
    "dot segment": "products/./../{key}",
    "NUL in a segment": "products/..%00/../{key}",
    "NUL before a public suffix": "products/../{key}%00.webp",
    "absolute path": "%2F{absolute}",
    "the key itself": "{key}",
}


@pytest.fixture
def private_files(db) -> dict[str, tuple[str, bytes]]:
    """An invoice, a signed contract and a maklon client's file, made by the services that
    make them in production: {kind: (storage key, the file's bytes)}."""
    from app.maklon.contracts import contract_of
    from app.maklon.requests import Upload, request_file_add
    from app.payments.models import Invoice
    from tests.maklon.factories import (
        make_maklon_client,
        make_maklon_request,
        make_quote,
        sign_contract,
    )

    seller = make_user(roles=("seller",))
    make_order(buyer=make_user(), variant=make_product(store=seller.store).variants[0],
               paid=True)
    invoice = db.session.scalars(select(Invoice)).one()
    client = make_maklon_client()
    request = make_maklon_request(client=client)
    upload = Upload(kind="spec", filename="spesifikasi.pdf",
                    data=b"%PDF-1.4\n% rahasia klien: formula serum\n%%EOF\n")
    spec = request_file_add(request=request, upload=upload, actor=client)
    make_quote(request=request)
    sign_contract(request=request)
    db.session.commit()
    contract = contract_of(request.id)
    files = {"invoice": invoice.file_key, "contract": contract.pdf_key,
             "maklon client file": spec.file_key}
    assert [key.split("/", 1)[0] for key in files.values()] == ["invoices", "contracts",
                                                                 "maklon"]
    db.session.commit()  # end the read transaction: the live server's requests write
    return {kind: (key, storage_path(key).read_bytes()) for kind, key in files.items()}


@pytest.fixture
def product_photo(db) -> tuple[str, bytes]:
    data = b"RIFF\x0c\x00\x00\x00WEBPVP8 photo-of-the-product"
    key = storage_put(data, folder="products", suffix=".webp")
    db.session.commit()
    return key, data


@pytest.fixture(scope="module")
def nginx_url(live_url, tmp_path_factory, request) -> str:
    """docker/nginx.conf (nginx 1.22 as a child process) in front of the live server."""
    binary = nginx_binary()
    if binary is None:
        missing_service("nginx (Debian's, `make chromium` installs it)")
    proxy = nginx_start(upstream=live_url, directory=tmp_path_factory.mktemp("nginx"),
                        binary=binary)
    request.addfinalizer(proxy.stop)
    return proxy.url(443)


def _paths(app, key: str) -> dict[str, str]:
    """{spelling name: the raw request path} for the stored file `key`."""
    with app.app_context():
        absolute = str(storage_path(key)).lstrip("/")
    paths = {name: "/media/" + spelling.format(key=key, absolute=absolute)
             for name, spelling in SPELLINGS.items()}
    paths["backslash"] = paths["backslash"].replace(key, key.replace("/", "\\"))
    return paths


def _leaks(base_url: str, key: str, data: bytes, app) -> list[str]:
    """The spellings of `key` that answer 200 or any of the file's bytes."""
    leaks = []
    for name, path in _paths(app, key).items():
        response = raw_request(base_url, path)
        if response.status == 200 or data[:64] in response.body:
            leaks.append(f"{name}: {path} -> {response.status}")
    return leaks


KINDS = ("invoice", "contract", "maklon client file")


@pytest.mark.parametrize("kind", KINDS)
def test_media_never_serves_a_private_file_by_any_spelling(app, live_url, private_files,
                                                           kind):
    key, data = private_files[kind]
    assert _leaks(live_url, key, data, app) == []


@pytest.mark.parametrize("kind", KINDS)
def test_media_never_serves_a_private_file_behind_the_production_nginx(
        app, nginx_url, private_files, kind):
    key, data = private_files[kind]
    assert _leaks(nginx_url, key, data, app) == []


def test_media_refusals_are_404_from_the_app(app, live_url, private_files):
    """The app's own answer is a plain 404; the one redirect is werkzeug's router merging
    the `//` of an absolute path, and where it leads is a 404 too."""
    key, _data = private_files["invoice"]
    statuses = {}
    for name, path in _paths(app, key).items():
        response = raw_request(live_url, path)
        if response.status == 308:
            response = raw_request(live_url, urlsplit(response.headers["Location"]).path)
        statuses[name] = response.status
    assert statuses == dict.fromkeys(SPELLINGS, 404)


@pytest.mark.parametrize("through", ["app", "nginx"])
def test_a_public_product_photo_is_still_served(request, product_photo, through):
    base_url = request.getfixturevalue("live_url" if through == "app" else "nginx_url")
    key, data = product_photo
    response = raw_request(base_url, f"/media/{key}")
    assert response.status == 200
    assert response.body == data
    assert response.headers["Content-Type"] == "image/webp"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_export_download_serves_only_report_files_to_an_admin(app, live_url, db,
                                                              private_files):
    """The other route that takes a storage key from the URL: `reports/../invoices/…`
    passed its `startswith("reports/")` check."""
    email = make_user(roles=("admin",)).email
    report = storage_put(b"\xef\xbb\xbfNomor\r\n", folder="reports", suffix=".csv")
    db.session.commit()
    session = live_log_in(live_url, email)
    genuine = session.request(f"/admin/laporan/unduh/{report}")
    assert (genuine.status, genuine.body) == (200, b"\xef\xbb\xbfNomor\r\n")
    for kind, (key, data) in private_files.items():
        for name, path in _paths(app, key).items():
            path = path.replace("/media/products", "/admin/laporan/unduh/reports", 1)
            response = session.request(path)
            assert response.status != 200 and data[:64] not in response.body, (kind, name)
