"""The header's navigation by role: the areas grouped into <details> menus (no script
needed), the cart and notices as icon + count with a label, the account menu (profile,
sessions, language, logout), the storefront search, and the admin console's own section
navigation on every admin page."""

from __future__ import annotations

import re

import pytest

from app.core.templating import NAV_GROUPS, nav_items
from app.extensions import db as _db
from app.orders.cart import cart_add
from tests.conftest import log_in
from tests.factories import make_product, make_user


def _header(html: str) -> str:
    return html.split("<header", 1)[1].split("</header>", 1)[0]


def _menus(html: str) -> list[str]:
    """The labels of the header's group menus, in order."""
    return re.findall(r'<details class="menu nav-group" data-menu>\s*<summary[^>]*>([^<]+)',
                      _header(html))


@pytest.mark.parametrize(("roles", "menus"), [
    (("customer",), ["Belanja"]),
    (("seller", "customer"), ["Belanja", "Toko saya"]),
    (("client", "seller", "customer"), ["Belanja", "Toko saya", "Maklon"]),
    (("staff",), ["Maklon", "Produksi", "CRM"]),
    (("admin",), ["Maklon", "Produksi", "CRM", "Admin"]),
    (("admin", "staff", "client", "seller", "customer"),
     ["Belanja", "Toko saya", "Maklon", "Produksi", "CRM", "Admin"]),
])
def test_each_role_sees_its_areas_grouped_into_menus(app, client, db, roles, menus):
    user = make_user(roles=roles)
    _db.session.commit()
    log_in(client, user.email)
    html = client.get("/akun").get_data(as_text=True)
    assert [m.strip() for m in _menus(html)] == menus
    header = _header(html)
    # Every item the role may use is in the header, once.
    for item in nav_items(app):
        if item.roles is None or set(item.roles) & set(roles):
            assert header.count(f'data-testid="nav-{item.endpoint}"') == 1, item.endpoint
        else:
            assert f'data-testid="nav-{item.endpoint}"' not in header, item.endpoint
    # The account menu: profile, sessions, both languages, logout.
    account = header.split('class="menu account-menu"', 1)[1]
    for needle in ('href="/akun"', 'href="/akun/sesi"', 'value="id"', 'value="en"',
                   'data-testid="logout"'):
        assert needle in account, needle


def test_every_nav_item_has_a_known_group(app):
    keys = {group.key for group in NAV_GROUPS}
    assert all(item.group in keys for item in nav_items(app))


def test_anonymous_header_has_login_register_language_and_search(client, db):
    header = _header(client.get("/").get_data(as_text=True))
    assert 'href="/masuk"' in header and 'href="/daftar"' in header
    # The anonymous home is shared (core.cache): the language switch is links, no token.
    assert 'data-lang="en"' in header and "nav-group" not in header
    assert re.search(r'<form method="get" action="/produk"[^>]*role="search"', header)
    assert 'name="q"' in header


def test_search_box_is_on_storefront_pages_not_on_the_staff_board(client, db):
    staff = make_user(roles=("staff",))
    _db.session.commit()
    log_in(client, staff.email)
    assert 'id="header-q"' not in _header(client.get("/produksi").get_data(as_text=True))
    assert 'id="header-q"' in _header(client.get("/").get_data(as_text=True))


def test_cart_and_notices_are_icons_with_a_label_and_a_separate_count(client, db):
    buyer = make_user(roles=("customer",))
    _db.session.commit()
    log_in(client, buyer.email)
    header = _header(client.get("/").get_data(as_text=True))
    cart = re.search(r'<a class="icon-link"[^>]*data-testid="nav-orders.cart".*?</a>',
                     header, re.S).group(0)
    assert '<svg class="icon"' in cart and 'aria-hidden="true"' in cart
    assert '<span class="visually-hidden">Keranjang</span>' in cart
    assert 'id="cart-badge" class="count count-empty"' in cart
    # With something in the cart the count shows, with its label.
    seller = make_user(roles=("seller",))
    product = make_product(store=seller.store)
    cart_add(user=_db.session.get(type(buyer), buyer.id), variant_id=product.variants[0].id,
             quantity=2)
    _db.session.commit()
    header = _header(client.get("/").get_data(as_text=True))
    assert re.search(r'id="cart-badge" class="count"\s+role="img" '
                     r'aria-label="1 barang di keranjang">1</span>', header)
    notices = re.search(r'<a class="icon-link"[^>]*data-testid="notices-link".*?</a>',
                        header, re.S).group(0)
    assert '<span class="visually-hidden">Notifikasi</span>' in notices


def test_group_summary_shows_the_sum_of_its_badges(client, db, monkeypatch):
    monkeypatch.setattr("app.orders.queries.seller_new_orders_badge", lambda user: 2)
    monkeypatch.setattr("app.orders.reviews.unreplied_reviews_badge", lambda user: 3)
    seller = make_user(roles=("seller",))
    _db.session.commit()
    log_in(client, seller.email)
    header = _header(client.get("/").get_data(as_text=True))
    assert re.search(r'<summary>Toko saya <span class="count">5</span></summary>', header)
    assert re.search(r'data-testid="nav-orders.seller_orders">Kelola pesanan '
                     r'<span class="count">2</span>', header)


def test_every_admin_page_has_the_console_section_navigation(app, client, db):
    admin = make_user(roles=("admin",))
    _db.session.commit()
    log_in(client, admin.email)
    admin_items = [item for item in nav_items(app) if item.group == "admin"]
    with app.test_request_context():
        from flask import url_for
        paths = {item.endpoint: url_for(item.endpoint) for item in admin_items}
    # dashboard, users, settings, payments, categories, reports, jobs, outbox, audit, backups,
    # shipping rates
    assert len(paths) == 11
    for endpoint, path in paths.items():
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        side = html.split('<details class="admin-nav">', 1)
        assert len(side) == 2, f"{path}: no admin section navigation"
        nav = side[1].split("</details>", 1)[0]
        for other in admin_items:
            assert f'data-testid="admin-nav-{other.endpoint}"' in nav
        assert re.search(rf'aria-current="page" data-testid="admin-nav-{re.escape(endpoint)}"',
                         nav), f"{path}: its own entry is not marked current"


def test_a_non_admin_page_has_no_admin_navigation(client, db):
    admin = make_user(roles=("admin",))
    _db.session.commit()
    log_in(client, admin.email)
    assert 'class="admin-nav"' not in client.get("/produksi").get_data(as_text=True)


def test_domains_register_the_header_in_its_old_order(app):
    """Core names no domain: each blueprint registers its entries (and badges) with the
    navigation when it is registered, and the header keeps one order across domains."""
    assert [item.endpoint for item in nav_items(app)] == [
        "orders.cart", "orders.my_orders", "orders.seller_orders", "catalog.seller_products",
        "inventory.index", "reports.seller_analytics_page", "orders.seller_reviews",
        "reports.client_dashboard_page", "maklon.requests", "maklon.staff_requests",
        "maklon.formulas", "maklon.board", "maklon.materials", "crm.board", "crm.tasks",
        "reports.admin_dashboard_page", "admin.users", "admin.settings", "payments.ledger",
        "catalog.categories", "reports.reports_page", "admin.jobs", "admin.outbox",
        "audit.index", "backups.index", "shipping.admin_rates"]
    # Badges are the domains' own functions, not "module:function" strings core imports.
    assert all(item.badge is None or callable(item.badge) for item in nav_items(app))


def test_a_blueprint_not_registered_adds_nothing_to_the_header():
    from flask import Flask

    assert nav_items(Flask("bare")) == []
