"""The access matrix: every route of `app.url_map` by eight actors, on objects owned by A.

Every rule in `app.url_map` must be declared in ACCESS below, so a new route cannot ship
without a decision about who may use it. Each entry maps a method to the expected outcome
per actor: an HTTP status, or LOGIN (redirect to the login page).

The actors (built once for the module, with every object below, see `world`):

    anonymous   nobody logged in
    customer    buyer A: owns the address, cart line, checkout, orders, invoice, session
                and job under test
    seller A    owns the store, product, variant and photo; the orders placed at the store
                and the review replies
    seller B    another store (and, as every registered seller, also a customer)
    client A    a client of company A: owns the maklon requests (draft, quoted and signed,
                in production, completed), the quote, contract, milestone payment, formula,
                file and stage photo
    client B    a client of company B (also a customer)
    staff       staff
    admin       admin

When a route has URL parameters naming an object, the object is A's, so each B cell proves
ownership: A gets the success status, B gets 404 (ownership in the query), a role without
access 403 (anonymous: LOGIN), staff and admin as the route's rules say. There is no
customer B: for the buyer's own objects (address, cart line, checkout, orders, reviews to
write, session, job) the proof of ownership is the seller-B and client-B columns (both are
customers too, so they pass the role check and must get 404 from the query). Objects that
belong to nobody (a category, a raw material, a CRM record, an outbox email, a user
managed by the admin) are what the route's role allows.

POSTs are sent with a valid CSRF token and an empty form, so a reachable form answers 422
(re-rendered with field messages). A POST whose success changes its object (cancel,
archive, delete...) gets a fresh A-owned object per cell (FRESH); every other cell shares
the objects built once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app.core.models import EmailOutbox, JobRecord
from tests.conftest import empty_tables, log_in
from tests.crm.access import CRM_FRESH
from tests.factories import (
    make_address,
    make_category,
    make_checkout,
    make_order,
    make_product,
    make_user,
)

ANON = "anonymous"
CUSTOMER = "customer"
SELLER_A, SELLER_B = "seller A", "seller B"
CLIENT_A, CLIENT_B = "client A", "client B"
STAFF, ADMIN = "staff", "admin"
ACTORS = (ANON, CUSTOMER, SELLER_A, SELLER_B, CLIENT_A, CLIENT_B, STAFF, ADMIN)
# The roles each actor holds (the B actors are customers too, like every registered user).
ACTOR_ROLES: dict[str, frozenset[str]] = {
    ANON: frozenset(),
    CUSTOMER: frozenset({"customer"}),
    SELLER_A: frozenset({"seller"}),
    SELLER_B: frozenset({"seller", "customer"}),
    CLIENT_A: frozenset({"client"}),
    CLIENT_B: frozenset({"client", "customer"}),
    STAFF: frozenset({"staff"}),
    ADMIN: frozenset({"admin"}),
}
# The actor that owns A's objects for a role, and the actors that must not see them.
OWNER_ROLE = {CUSTOMER: "customer", SELLER_A: "seller", CLIENT_A: "client"}
LOGIN = "login"  # 302 to /masuk?next=...
HOME = "home"  # 302/303 to /

Expected = dict[str, object]


def everyone(status) -> Expected:
    return dict.fromkeys(ACTORS, status)


def logged_in(status, anon=LOGIN) -> Expected:
    return {ANON: anon, **dict.fromkeys(ACTORS[1:], status)}


def only(roles: set[str], status=200, denied=403) -> Expected:
    """Actors holding one of `roles` get `status`, the other logged-in actors `denied`."""
    return {ANON: LOGIN, **{a: (status if ACTOR_ROLES[a] & roles else denied)
                            for a in ACTORS[1:]}}


def guests(status, member=HOME) -> Expected:
    return {ANON: status, **dict.fromkeys(ACTORS[1:], member)}


def owned(owner: str, status=200, *, other=404, denied=403, **also: object) -> Expected:
    """A's object behind the owner's role: `owner` gets `status`, the other actors holding
    that role (B) get `other` (404: ownership in the query), everyone else `denied`
    (anonymous: LOGIN). `also` sets more actors by their key (staff=200, admin=200)."""
    role = OWNER_ROLE[owner]
    expected = {**only({role}, status=other, denied=denied), owner: status}
    for key, value in also.items():
        expected[{"staff": STAFF, "admin": ADMIN}[key]] = value
    return expected


def staff_too(expected: Expected, status=200) -> Expected:
    return {**expected, STAFF: status, ADMIN: status}


def mine(owner: str, status=200, *, other=404) -> Expected:
    """A's object any logged-in user may ask for: only `owner` finds it (others 404)."""
    return {**logged_in(other), owner: status}


CRM = {"staff", "admin"}

# endpoint -> method -> actor -> expected.
ACCESS: dict[str, dict[str, Expected]] = {
    "static": {"GET": everyone(200)},
    "main.index": {"GET": everyone(200)},
    "core.healthz": {"GET": everyone(200)},
    "core.livez": {"GET": everyone(200)},
    # The test client comes from 127.0.0.1, an inside address (tests/ops for outsiders).
    "core.metrics": {"GET": everyone(200)},
    "core.switch_language": {"POST": everyone(303)},
    "core.switch_language_link": {"GET": everyone(303)},
    # Buyer A's job: its owner and admins; anyone else 404.
    "core.job_status": {"GET": {**mine(CUSTOMER), ADMIN: 200}},
    "accounts.register": {"GET": guests(200), "POST": guests(422)},
    "accounts.login": {"GET": guests(200), "POST": guests(422)},
    "accounts.logout": {"POST": everyone(303)},
    "accounts.profile": {"GET": logged_in(200), "POST": logged_in(422)},
    # Notification switches and Telegram (crm-events). An empty form switches everything
    # off (303); Telegram is not configured in the matrix: a code is 409, the webhook 404.
    "notifications.preferences": {"GET": logged_in(200), "POST": logged_in(303)},
    "notifications.telegram_code": {"POST": logged_in(409)},
    "notifications.telegram_unlink": {"POST": logged_in(303)},
    "notifications.telegram_settings": {"GET": only({"admin"}), "POST": only({"admin"}, 303)},
    "notifications.telegram_webhook_register": {"POST": only({"admin"}, 303)},
    "notifications.telegram_webhook": {"POST": everyone(404)},
    "accounts.change_password": {"GET": logged_in(200), "POST": logged_in(422)},
    "admin.jobs": {"GET": only({"admin"})},
    "admin.jobs_test_email": {"POST": only({"admin"}, status=303)},
    "admin.outbox": {"GET": only({"admin"})},
    "admin.outbox_resend": {"POST": only({"admin"}, status=303)},
    # User management: a fresh customer per cell (with one live session). An empty roles
    # form is a 422 (at least one role); deactivate, activate, a reset link and ending the
    # session are done (303).
    "admin.users": {"GET": only({"admin"})},
    "admin.user_detail": {"GET": only({"admin"})},
    "admin.user_roles": {"POST": only({"admin"}, status=422)},
    "admin.user_deactivate_route": {"POST": only({"admin"}, status=303)},
    "admin.user_activate_route": {"POST": only({"admin"}, status=303)},
    "admin.user_reset_link": {"POST": only({"admin"}, status=303)},
    "admin.user_session_end_route": {"POST": only({"admin"}, status=303)},
    # Settings: an empty tax form is a 422 (both values required); the logo exists.
    "admin.settings": {"GET": only({"admin"})},
    "admin.settings_save": {"POST": only({"admin"}, status=422)},
    "admin.settings_logo": {"GET": only({"admin"})},
    # Backups: admin only; both buttons enqueue a tracked job (sync here) and redirect. The
    # backup under test has no file, so its verification fails (recorded, not a 500).
    "backups.index": {"GET": only({"admin"})},
    "backups.create": {"POST": only({"admin"}, status=303)},
    "backups.verify": {"POST": only({"admin"}, status=303)},
    # Audit log: read-only (no write route exists); an archive file is for admins only.
    "audit.index": {"GET": only({"admin"})},
    "audit.archive_download": {"GET": only({"admin"})},
    "core.media": {"GET": everyone(200)},
    # No session needed; an unsigned (empty) notification is malformed: 400.
    "payments.notify": {"POST": everyone(400)},
    # Admin payments ledger: buyer A's payment is pending (not flagged) and its refund done,
    # so an admin's decision or refund action is a 409 (nothing to change).
    "payments.ledger": {"GET": only({"admin"})},
    "payments.payment_detail": {"GET": only({"admin"})},
    "payments.payment_accept": {"POST": only({"admin"}, status=409)},
    "payments.payment_refund": {"POST": only({"admin"}, status=409)},
    "payments.refund_done": {"POST": only({"admin"}, status=409)},
    "payments.refund_again": {"POST": only({"admin"}, status=409)},
    # The payment page's status block and "Coba lagi" (already charged: back to the
    # checkout, 303): buyer A only. The sandbox simulator: any logged-in tester; an empty
    # form is a 422.
    "payments.pay_status": {"GET": owned(CUSTOMER)},
    "payments.pay_retry": {"POST": owned(CUSTOMER, 303)},
    "payments.sandbox_pay": {"GET": logged_in(200), "POST": logged_in(422)},
    "core.notices": {"GET": logged_in(200)},
    "core.notices_read": {"POST": logged_in(303)},
    # Catalog: public pages; seller A's product pages (seller B: 404); categories. Archiving
    # and restoring answer 303, a photo deleted or moved too (a fresh product each).
    "catalog.search": {"GET": everyone(200)},
    "catalog.product": {"GET": everyone(200)},
    "catalog.store": {"GET": everyone(200)},
    "catalog.seller_products": {"GET": only({"seller"})},
    "catalog.product_new": {"GET": only({"seller"}), "POST": only({"seller"}, status=422)},
    "catalog.product_edit": {"GET": owned(SELLER_A), "POST": owned(SELLER_A, 422)},
    "catalog.variants_save": {"POST": owned(SELLER_A, 303)},  # nothing to change
    "catalog.product_archive_route": {"POST": owned(SELLER_A, 303)},
    "catalog.product_restore_route": {"POST": owned(SELLER_A, 303)},
    "catalog.photos_upload": {"POST": owned(SELLER_A, 422)},
    "catalog.photo_delete": {"POST": owned(SELLER_A, 303)},
    "catalog.photo_move": {"POST": owned(SELLER_A, 303)},
    "catalog.store_settings": {"GET": only({"seller"}), "POST": only({"seller"}, status=422)},
    "catalog.categories": {"GET": only({"admin"}), "POST": only({"admin"}, status=422)},
    "catalog.category_edit": {"GET": only({"admin"}), "POST": only({"admin"}, status=422)},
    "catalog.category_delete_route": {"POST": only({"admin"}, status=303)},
    # Inventory: seller A's variant (seller B: 404). The row and edit GETs without htmx go
    # back to the list (303); an empty "add" adds the quick amount (303).
    "inventory.index": {"GET": only({"seller"})},
    "reports.seller_analytics_page": {"GET": only({"seller"})},
    "inventory.row": {"GET": owned(SELLER_A, 303)},
    "inventory.edit": {"GET": owned(SELLER_A, 303)},
    "inventory.stock_update": {"POST": owned(SELLER_A, 422)},
    "inventory.stock_add": {"POST": owned(SELLER_A, 303)},
    "inventory.stock_clear": {"POST": owned(SELLER_A, 303)},
    "inventory.stock_clear_confirm": {"GET": owned(SELLER_A, 303)},
    "inventory.variant": {"GET": owned(SELLER_A)},
    # CRM: staff and admin only; team and settings admin only.
    "crm.board": {"GET": only(CRM)},
    "crm.leads": {"GET": only(CRM)},
    "crm.lead_new": {"GET": only(CRM), "POST": only(CRM, status=422)},
    "crm.lead_detail": {"GET": only(CRM)},
    "crm.lead_edit": {"GET": only(CRM), "POST": only(CRM, status=422)},
    "crm.lead_status": {"POST": only(CRM, status=422)},
    "crm.companies": {"GET": only(CRM)},
    "crm.company_new": {"GET": only(CRM), "POST": only(CRM, status=422)},
    "crm.company_detail": {"GET": only(CRM)},
    "crm.company_edit": {"GET": only(CRM), "POST": only(CRM, status=422)},
    "crm.companies_export": {"GET": only(CRM)},
    "crm.contacts": {"GET": only(CRM)},
    "crm.contact_new": {"GET": only(CRM), "POST": only(CRM, status=422)},
    "crm.contact_detail": {"GET": only(CRM)},
    "crm.contact_edit": {"GET": only(CRM), "POST": only(CRM, status=422)},
    "crm.contact_email": {"GET": only(CRM), "POST": only(CRM, status=422)},
    "crm.contacts_export": {"GET": only(CRM)},
    "crm.activity_new": {"POST": only(CRM, status=422)},
    "crm.tasks": {"GET": only(CRM)},
    "crm.task_new": {"GET": only(CRM), "POST": only(CRM, status=422)},
    "crm.task_detail": {"GET": only(CRM)},
    "crm.task_status": {"POST": only(CRM, status=422)},
    "crm.task_edit": {"GET": only(CRM), "POST": only(CRM, status=422)},
    "crm.activity_edit": {"GET": only(CRM), "POST": only(CRM, status=422)},
    # A fresh record per cell (tests/crm/access.py): the confirm step, then the action.
    "crm.record_archive_route": {"GET": only(CRM), "POST": only(CRM, status=303)},
    "crm.record_delete_route": {"GET": only(CRM), "POST": only(CRM, status=303)},
    # Restoring is the CRM manager's (admin): staff are refused.
    "crm.record_restore_route": {"POST": {**only(CRM, status=303), STAFF: 403}},
    "crm.import_upload": {"GET": only(CRM), "POST": only(CRM, status=422)},
    "crm.import_confirm": {"POST": only(CRM, status=422)},
    "crm.team": {"GET": only({"admin"})},
    "crm.team_position": {"POST": only({"admin"}, status=303)},  # empty = no position
    "crm.settings": {"GET": only({"admin"}), "POST": only({"admin"}, status=422)},
    "crm_public.interest": {"GET": everyone(200), "POST": everyone(422)},
    "crm_public.interest_thanks": {"GET": everyone(200)},
    # Sessions: the user's own. Buyer A ends another of their sessions (a fresh one, 303);
    # anyone else asking for it gets 404.
    "accounts.sessions": {"GET": logged_in(200)},
    "accounts.sessions_end_others": {"POST": logged_in(303)},
    "accounts.session_end": {"POST": mine(CUSTOMER, 303)},
    # Two-factor login. The second step without a pending login goes back to the login page
    # (a logged-in user: home). Re-authentication and the 2FA pages: any logged-in user (a
    # fresh login counts as confirmed); switching off or renewing codes while 2FA is off: 409.
    "accounts.login_verify": {"GET": guests(LOGIN), "POST": guests(LOGIN)},
    "accounts.reauth": {"GET": logged_in(200), "POST": logged_in(422)},
    "accounts.totp": {"GET": logged_in(200), "POST": logged_in(422)},
    "accounts.totp_disable_route": {"POST": logged_in(409)},
    "accounts.recovery_codes_route": {"POST": logged_in(409)},
    # Forgotten password: anyone may ask (same answer for every email); a link that does
    # not exist is 410 Gone.
    "accounts.forgot_password": {"GET": everyone(200), "POST": everyone(422)},
    "accounts.forgot_password_sent": {"GET": everyone(200)},
    "accounts.reset_password": {"GET": everyone(410), "POST": everyone(410)},
    # Addresses: buyer A's (anyone else: 404). Deleting one: a fresh address each.
    "accounts.addresses": {"GET": logged_in(200)},
    "accounts.address_new": {"GET": logged_in(200), "POST": logged_in(422)},
    "accounts.address_edit": {"GET": mine(CUSTOMER), "POST": mine(CUSTOMER, 422)},
    "accounts.address_default_route": {"POST": mine(CUSTOMER, 303)},
    "accounts.address_delete_route": {"POST": mine(CUSTOMER, 303)},
    # Cart and checkout: customers; buyer A's cart line and checkout (B: 404). An empty
    # "add" form is a 400 (no product to go back to); an empty checkout form a 422.
    "orders.cart": {"GET": only({"customer"})},
    "orders.cart_add_route": {"POST": only({"customer"}, status=400)},
    "orders.cart_update": {"POST": owned(CUSTOMER, 422)},
    "orders.cart_remove_route": {"POST": owned(CUSTOMER, 303)},
    "orders.checkout": {"GET": only({"customer"}), "POST": only({"customer"}, status=422)},
    "orders.checkout_detail": {"GET": owned(CUSTOMER)},
    # Order pages and lifecycle: buyer A's pending order at seller A's store. The buyer
    # cancels it (303, a fresh order); it cannot be confirmed nor returned yet (409). Seller
    # A's side: the order (B: 404), moving it on or cancelling it needs the form (422); a
    # delivered order with a return requested: accepting it (303, a fresh one each),
    # rejecting it needs a reason (422).
    "orders.my_orders": {"GET": only({"customer"})},
    "orders.order_detail": {"GET": owned(CUSTOMER)},
    "orders.order_status": {"GET": owned(CUSTOMER)},
    "orders.order_cancel_route": {"POST": owned(CUSTOMER, 303)},
    "orders.order_confirm": {"POST": owned(CUSTOMER, 409)},
    "orders.return_request": {"GET": owned(CUSTOMER), "POST": owned(CUSTOMER, 409)},
    # Shipping (app/shipping): a plain POST of the checkout's rates goes back to /checkout.
    "orders.checkout_rates": {"POST": only({"customer"}, status=303)},
    "shipping.store_couriers": {"GET": only({"seller"}), "POST": only({"seller"}, status=303)},
    "shipping.admin_rates": {"GET": only({"admin"})},
    "shipping.admin_rate_update": {"POST": only({"admin"}, status=422)},
    "orders.order_track": {"POST": owned(CUSTOMER, 303)},
    "orders.seller_orders": {"GET": only({"seller"})},
    "orders.seller_order": {"GET": owned(SELLER_A)},
    "orders.seller_advance": {"POST": owned(SELLER_A, 422)},
    "orders.seller_cancel": {"POST": owned(SELLER_A, 422)},
    "orders.packing_slip": {"GET": owned(SELLER_A)},
    "orders.return_accept": {"POST": owned(SELLER_A, 303)},
    "orders.return_reject": {"POST": owned(SELLER_A, 422)},
    # Reviews: buyer A's form for an item of their delivered order, the public product
    # reviews, the seller's reviews and seller A's reply to a review of their product.
    "orders.review_new": {"GET": owned(CUSTOMER), "POST": owned(CUSTOMER, 422)},
    "orders.product_reviews": {"GET": everyone(200)},
    "orders.seller_reviews": {"GET": only({"seller"})},
    "orders.review_reply_route": {"POST": owned(SELLER_A, 422)},
    # Invoices: the PDF for its buyer, its seller and admins (anyone else 404); the public
    # verification page by the code printed on the invoice.
    "payments.invoice_download": {"GET": {**mine(CUSTOMER), SELLER_A: 200, ADMIN: 200}},
    "payments.invoice_verify": {"GET": everyone(200)},
    # Maklon requests: clients create (an empty form is saved as a draft: 303); client A's
    # draft (client B: 404) is readable by staff and admins; saving it empty and cancelling
    # it are 303s (a fresh draft each).
    "maklon.requests": {"GET": only({"client"})},
    "maklon.request_new": {"GET": only({"client"}), "POST": only({"client"}, status=303)},
    "maklon.estimate": {"POST": only({"client"})},
    "maklon.request_edit": {"GET": owned(CLIENT_A), "POST": owned(CLIENT_A, 303)},
    "maklon.request_detail": {"GET": staff_too(owned(CLIENT_A))},
    "maklon.request_cancel_route": {"POST": owned(CLIENT_A, 303)},
    "maklon.request_file_upload": {"POST": owned(CLIENT_A, 422)},
    "maklon.request_file": {"GET": staff_too(owned(CLIENT_A))},
    "maklon.staff_requests": {"GET": only({"staff", "admin"})},
    # Maklon formulas (FORM): names for staff, company A's formula for client A (client B
    # 404); edits by the owning client only. Raw materials: staff and admin (row/edit GETs
    # without htmx redirect, an empty form is 422). Finished goods of client A's completed
    # request: staff look (200) but only a client may move (403); an empty move is 422.
    "maklon.formulas": {"GET": only({"client", "staff", "admin"})},
    "maklon.formula_new": {"GET": only({"client"}), "POST": only({"client"}, status=422)},
    "maklon.formula_detail": {"GET": staff_too(owned(CLIENT_A))},
    "maklon.formula_edit": {"GET": owned(CLIENT_A), "POST": owned(CLIENT_A, 422)},
    "maklon.materials": {"GET": only(CRM)},
    "maklon.material_new": {"GET": only(CRM), "POST": only(CRM, status=422)},
    "maklon.material_row": {"GET": only(CRM, status=303)},
    "maklon.material_edit": {"GET": only(CRM, status=303), "POST": only(CRM, status=422)},
    "maklon.material_stock": {"POST": only(CRM, status=422)},
    "maklon.material_history": {"GET": only(CRM)},
    "maklon.goods": {"GET": staff_too(owned(CLIENT_A)),
                     "POST": owned(CLIENT_A, 422)},
    # Maklon production: the board is staff-only (403); the request's Produksi tab, its
    # live block and stage photos follow app.maklon.access (client A's order: client B and
    # anyone who is not a client of it get 404). The empty step form answers 422.
    "maklon.board": {"GET": only(CRM)},
    "maklon.stage_confirm": {"GET": only(CRM)},
    "maklon.stage_advance_route": {"POST": only(CRM, status=422)},
    "maklon.production": {"GET": {**only(CRM, denied=404), CLIENT_A: 200}},
    "maklon.production_status": {"GET": {**only(CRM, denied=404), CLIENT_A: 200}},
    "maklon.stage_photo": {"GET": {**only(CRM, denied=404), CLIENT_A: 200}},
    # Maklon quotes, contract and milestone payments of client A's signed request with a
    # charged, pending DP payment: client A, staff and admins see it, any other user gets
    # 404 (client B included). Staff-only actions are 403 for other roles; empty forms are
    # 422 (checked before the state), approving an accepted quote 409.
    "maklon.quotes": {"GET": {**only(CRM, denied=404), CLIENT_A: 200}},
    "maklon.quote_create_route": {"POST": only(CRM, status=422)},
    "maklon.quote_approve_route": {"POST": only({"admin"}, status=409)},
    "maklon.quote_message": {"POST": {**only(CRM, status=422, denied=404), CLIENT_A: 422}},
    "maklon.contract": {"GET": {**only(CRM, denied=404), CLIENT_A: 200}},
    "maklon.contract_download": {"GET": {**only(CRM, denied=404), CLIENT_A: 200}},
    "maklon.contract_sign_route": {"POST": owned(CLIENT_A, 409)},  # signed already
    "maklon.contract_verify_page": {"GET": everyone(200), "POST": everyone(422)},
    "maklon.milestones": {"GET": {**only(CRM, denied=404), CLIENT_A: 200}},
    "maklon.milestone_pay": {"POST": owned(CLIENT_A, 422)},
    "maklon.milestone_payment": {"GET": {**only(CRM, denied=404), CLIENT_A: 200}},
    "maklon.milestone_pay_status": {"GET": {**only(CRM, denied=404), CLIENT_A: 200}},
    # Dashboards and reports (issue 7): a client's dashboard shows their own company (B
    # too: their own, empty of A's); the admin's pages and exports are admin-only; an empty
    # export form is 422; an export job's file (random key) admins only.
    "reports.client_dashboard_page": {"GET": only({"client"})},
    "reports.admin_dashboard_page": {"GET": only({"admin"})},
    "reports.reports_page": {"GET": only({"admin"})},
    "reports.export": {"POST": only({"admin"}, status=422)},
    # Own history (the owner from the login, never the URL); an export without ?format=
    # is refused with the page (422). A finished export job's file: its owner's only.
    "reports.client_history": {"GET": only({"client"})},
    "reports.client_history_export": {"POST": only({"client"}, status=422)},
    "reports.seller_history": {"GET": only({"seller"})},
    "reports.seller_history_export": {"POST": only({"seller"}, status=422)},
    "reports.history_download": {"GET": mine(CLIENT_A)},
    "reports.export_download": {"GET": only({"admin"})},
}


# The world: the eight actors and A's objects, built once for the module -----------------

def _photo_product(store, name: str):
    """A product of `store` with a variant and one photo (a stored file)."""
    from app.catalog.models import ProductImage
    from app.core.storage import storage_put
    from app.extensions import db

    product = make_product(store=store, name=name, stock=1_000)
    key = storage_put(b"RIFF", folder="products", suffix=".webp")
    product.images.append(ProductImage(display_key=key, thumb_key=key, width=1, height=1))
    db.session.flush()
    return product


def _delivered(order) -> None:
    """Delivered directly: the lifecycle service is not what this matrix tests."""
    from app.core.clock import utcnow

    order.status, order.delivered_at = "delivered", utcnow()


def _build_world() -> SimpleNamespace:
    from app.accounts.models import Company, User
    from app.audit.archive import audit_archive
    from app.audit.models import AuditArchive, AuditEntry
    from app.core.clock import utcnow
    from app.core.storage import storage_put
    from app.crm.models import Activity, Contact, Lead, Task
    from app.extensions import db
    from app.maklon.milestones import milestone_payment_start
    from app.maklon.models import MaklonFile, MilestonePayment, ProductionStage, RequestStatus
    from app.orders.models import CartItem, Review
    from app.payments.models import Invoice, Refund
    from app.payments.services import payment_charge, payment_of_checkout
    from tests.maklon.factories import (
        make_company,
        make_formula,
        make_maklon_client,
        make_maklon_request,
        make_raw_material,
        make_signed_order,
        make_signed_request,
    )

    w = SimpleNamespace()
    buyer = make_user(email="buyer-a@example.test")
    seller_a = make_user(email="seller-a@example.test", roles=("seller",))
    seller_b = make_user(email="seller-b@example.test", roles=("seller", "customer"))
    company_a = make_company(name="PT Matriks A")
    client_a = make_maklon_client(company=company_a, email="client-a@example.test")
    client_b = make_maklon_client(company=make_company(name="PT Matriks B"),
                                  email="client-b@example.test", roles=("client", "customer"))
    staff = make_user(email="staff@example.test", roles=("staff",))
    admin = make_user(email="admin@example.test", roles=("admin",))
    w.emails = {CUSTOMER: buyer.email, SELLER_A: seller_a.email, SELLER_B: seller_b.email,
                CLIENT_A: client_a.email, CLIENT_B: client_b.email, STAFF: staff.email,
                ADMIN: admin.email}
    w.buyer_id, w.seller_a_id, w.client_a_id = buyer.id, seller_a.id, client_a.id
    make_product(store=seller_b.store, name="Serum Toko B")  # seller B has a shop too

    # Seller A's product, variant, photo and store.
    product = _photo_product(seller_a.store, "Serum Toko A")
    w.product_id, w.variant_id = product.id, product.variants[0].id
    w.image_id, w.photo_key = product.images[0].id, product.images[0].display_key
    w.store_slug = seller_a.store.slug

    # Buyer A: an address, a charged pending checkout (one order at seller A's store) with a
    # refund done on it, a delivered order with a review, a delivered order to review, a
    # paid order with its invoice, a job.
    w.address_id = make_address(user=buyer).id
    checkout = make_checkout(buyer=buyer, lines=[(product.variants[0], 1)])
    db.session.commit()
    payment = payment_of_checkout(checkout.id)
    payment_charge(payment)
    db.session.commit()
    w.checkout_ref, w.order_number, w.payment_id = (checkout.reference,
                                                     checkout.orders[0].number, payment.id)
    refund = Refund(payment_id=payment.id, order_id=checkout.orders[0].id,
                    refund_key=f"{w.order_number}-matrix", amount=1000, status="done")
    db.session.add(refund)
    reviewed = make_order(buyer=buyer, variant=product.variants[0])
    _delivered(reviewed)
    review = Review(product_id=product.id, store_id=product.store_id, order_id=reviewed.id,
                    buyer_id=buyer.id, rating=5)
    db.session.add(review)
    to_review = make_order(buyer=buyer, variant=_photo_product(
        seller_a.store, "Toner Toko A").variants[0])
    _delivered(to_review)
    db.session.flush()
    w.refund_id, w.review_id = refund.id, review.id
    w.returned_number = _returned_order(w)["number"]
    w.review_number, w.review_item_id = to_review.number, to_review.items[0].id
    make_order(buyer=buyer, variant=product.variants[0], paid=True)  # commits
    invoice = db.session.scalars(select(Invoice)).one()
    w.invoice_id, w.invoice_code = invoice.id, invoice.verification_code
    db.session.add(CartItem(user_id=buyer.id, variant_id=product.variants[0].id, quantity=1))
    job = JobRecord(job_id="matrix-job", name="jobs.mail.sweep", owner_id=buyer.id)
    db.session.add(job)
    db.session.flush()
    w.job_id = job.id

    # Client A's company: a raw material's formula, a draft with a file, a completed request,
    # an order in production with a stage photo, a signed request with a charged DP payment.
    material = make_raw_material(name="Bahan Matriks")
    w.material_id = material.id
    w.formula_id = make_formula(company=company_a, lines=[(material, "1")]).id
    draft = make_maklon_request(client=client_a, status=RequestStatus.DRAFT,
                                product_name="Serum Matriks")
    key = storage_put(b"%PDF-1.4 matrix", folder="maklon", suffix=".pdf")
    spec = MaklonFile(request_id=draft.id, kind="reference", file_key=key,
                      filename="spec.pdf", content_type="application/pdf", size=15)
    db.session.add(spec)
    db.session.flush()
    w.draft_number, w.draft_file_id = draft.number, spec.id
    w.done_number = make_maklon_request(client=client_a, status=RequestStatus.COMPLETED,
                                        stage="done", completed_at=utcnow()).number
    in_production = make_signed_order(client=client_a)
    stage = db.session.scalars(select(ProductionStage).where(
        ProductionStage.request_id == in_production.id)).one()
    stage.photo_key = storage_put(b"RIFF", folder="maklon-stages", suffix=".webp")
    w.production_number, w.stage_id = in_production.number, stage.id
    signed = make_signed_request(client=client_a)  # commits
    dp = db.session.scalars(select(MilestonePayment).where(
        MilestonePayment.request_id == signed.id, MilestonePayment.kind == "dp")).one()
    dp_payment, _ = milestone_payment_start(milestone=dp, payer=client_a, method="va_bca")
    db.session.commit()
    payment_charge(dp_payment)
    w.signed_number, w.dp_reference = signed.number, dp_payment.reference

    # Objects of nobody in particular: an outbox email, an audit archive, the company logo,
    # CRM records and their staff member.
    outbox = EmailOutbox(to_address="x@example.test", subject="s", body_text="t",
                         body_html="<p>t</p>", template="test", message_id="<m@x>",
                         status="failed")
    db.session.add(outbox)
    db.session.add(AuditEntry(action="auth.login", created_at=utcnow() - timedelta(days=400)))
    db.session.commit()
    audit_archive()
    _company_logo()
    w.outbox_id = outbox.id
    from app.backups.models import BackupRecord

    backup = BackupRecord(filename="racik-matriks.rbk", sha256="0" * 64)
    db.session.add(backup)
    db.session.commit()
    w.backup_id = backup.id
    w.archive_id = db.session.scalars(select(AuditArchive)).one().id
    crm_staff = make_user(email="crm-staff@example.test", roles=("staff",))
    crm_company = Company(name="PT Matriks CRM")
    db.session.add(crm_company)
    db.session.flush()
    contact = Contact(name="Kontak Matriks", company_id=crm_company.id, email="k@example.test")
    lead = Lead(title="Prospek Matriks", company_id=crm_company.id)
    task = Task(title="Tugas Matriks", assignee_id=crm_staff.id)
    db.session.add_all([contact, lead, task])
    db.session.flush()
    activity = Activity(kind="note", subject="Catatan Matriks", contact_id=contact.id)
    db.session.add(activity)
    db.session.commit()
    w.crm = {"company_id": crm_company.id, "contact_id": contact.id, "lead_id": lead.id,
             "task_id": task.id, "user_id": crm_staff.id, "activity_id": activity.id}
    w.report_key = storage_put(b"\xef\xbb\xbfNomor\r\n", folder="reports", suffix=".csv")
    # Client A's finished history export (its file is the report file above).
    history_job = JobRecord(job_id="matrix-history-export",
                            name="jobs.reports.export_history", owner_id=client_a.id,
                            status="finished",
                            result={"key": w.report_key, "filename": "riwayat.csv"})
    db.session.add(history_job)
    db.session.commit()
    w.history_job_id = history_job.id
    assert db.session.get(User, buyer.id).roles  # the world is committed
    return w


def _company_logo() -> None:
    """A company logo in storage and in the settings (what /admin/pengaturan/logo serves)."""
    import io

    from PIL import Image

    from app.core.settings import setting_set
    from app.core.storage import storage_put
    from app.extensions import db

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (15, 118, 110)).save(buffer, "WEBP")
    setting_set(key="company.logo",
                value=storage_put(buffer.getvalue(), folder="company", suffix=".webp"))
    db.session.commit()


# Fresh A-owned objects, for the cells whose success changes their object ----------------

def _fresh_product(w) -> dict:
    from app.accounts.models import User
    from app.extensions import db

    product = _photo_product(db.session.get(User, w.seller_a_id).store, "Serum Segar")
    return {"product_id": product.id, "image_id": product.images[0].id,
            "variant_id": product.variants[0].id}


def _fresh_order(w) -> dict:
    from app.accounts.models import User
    from app.catalog.models import Variant
    from app.extensions import db

    order = make_order(buyer=db.session.get(User, w.buyer_id),
                       variant=db.session.get(Variant, w.variant_id))
    return {"number": order.number}


def _returned_order(w) -> dict:
    """A delivered order of buyer A at seller A's store, with a return requested."""
    from app.accounts.models import User
    from app.catalog.models import Variant
    from app.extensions import db
    from app.orders.returns import return_request

    buyer = db.session.get(User, w.buyer_id)
    order = make_order(buyer=buyer, variant=db.session.get(Variant, w.variant_id))
    _delivered(order)
    return_request(order=order, buyer=buyer, reason="Kemasan rusak")
    return {"number": order.number}


def _fresh_address(w) -> dict:
    from app.accounts.models import User
    from app.extensions import db

    return {"address_id": make_address(user=db.session.get(User, w.buyer_id),
                                       default=False).id}


def _fresh_session(w) -> dict:
    from app.accounts.models import UserSession
    from app.core.clock import utcnow
    from app.extensions import db

    now = utcnow()
    row = UserSession(user_id=w.buyer_id, token_hash=f"matrix-{next(_tokens):057d}",
                      created_at=now, last_seen_at=now, expires_at=now + timedelta(days=1))
    db.session.add(row)
    db.session.flush()
    return {"session_id": row.id}


def _fresh_draft(w) -> dict:
    from app.accounts.models import User
    from app.extensions import db
    from app.maklon.models import RequestStatus
    from tests.maklon.factories import make_maklon_request

    return {"number": make_maklon_request(client=db.session.get(User, w.client_a_id),
                                          status=RequestStatus.DRAFT).number}


def _fresh_category(w) -> dict:
    return {"category_id": make_category(name="Kosong", name_en="Empty").id}


def _fresh_managed_user(endpoint: str) -> Callable[[SimpleNamespace], dict]:
    """A fresh customer (nobody under test) with one live session, for user management."""

    def build(w) -> dict:
        target = make_user()
        values = {"user_id": target.id}
        if endpoint == "admin.user_session_end_route":
            values["session_id"] = _fresh_session(SimpleNamespace(buyer_id=target.id))[
                "session_id"]
        return values

    return build


def _cart_line(w) -> dict:
    """Buyer A's cart line of seller A's variant (put back when a cell removed it)."""
    from app.extensions import db
    from app.orders.models import CartItem

    item = db.session.scalars(select(CartItem).where(
        CartItem.user_id == w.buyer_id, CartItem.variant_id == w.variant_id)).first()
    if item is None:
        item = CartItem(user_id=w.buyer_id, variant_id=w.variant_id, quantity=1)
        db.session.add(item)
        db.session.flush()
    return {"item_id": item.id}


_tokens = iter(range(1, 10**9))

def _fresh_shipping_rate(w) -> dict:
    """A rate table row of its own (the shared world has none)."""
    from app.extensions import db
    from app.shipping.models import ShippingRate

    n = next(_RATE_NUMBERS)
    rate = ShippingRate(service="jne:REG", origin_zone=f"M{n}", dest_zone="LAIN",
                        price_per_kg=9000, etd_min=1, etd_max=2)
    db.session.add(rate)
    db.session.flush()
    return {"rate_id": rate.id}


_RATE_NUMBERS = itertools.count(1)


FRESH: dict[str, Callable[[SimpleNamespace], dict]] = {
    "catalog.product_archive_route": _fresh_product,
    "catalog.product_restore_route": _fresh_product,
    "catalog.photo_delete": _fresh_product,
    "catalog.photo_move": _fresh_product,
    "inventory.stock_clear": lambda w: {"variant_id": _fresh_product(w)["variant_id"]},
    "catalog.category_edit": _fresh_category,
    "catalog.category_delete_route": _fresh_category,
    "orders.order_cancel_route": _fresh_order,
    "orders.return_accept": _returned_order,
    "accounts.address_delete_route": _fresh_address,
    "accounts.session_end": _fresh_session,
    "maklon.request_cancel_route": _fresh_draft,
    "maklon.request_edit": _fresh_draft,
    **CRM_FRESH,
    "orders.cart_update": _cart_line,
    "orders.cart_remove_route": _cart_line,
    "shipping.admin_rate_update": _fresh_shipping_rate,
    **{f"admin.user_{name}": _fresh_managed_user(f"admin.user_{name}")
       for name in ("detail", "roles", "deactivate_route", "activate_route", "reset_link",
                    "session_end_route")},
}



# URL arguments naming the shared objects ------------------------------------------------

def _args(w) -> dict[str, dict]:
    product = {"product_id": w.product_id}
    variant = {"variant_id": w.variant_id}
    order = {"number": w.order_number}
    checkout = {"reference": w.checkout_ref}
    signed = {"number": w.signed_number}
    production = {"number": w.production_number}
    draft = {"number": w.draft_number}
    crm = w.crm
    return {
        "static": {"filename": "css/app.css"},
        "core.job_status": {"job_id": w.job_id},
        "core.media": {"key": w.photo_key},
        "admin.outbox_resend": {"outbox_id": w.outbox_id},
        "backups.verify": {"backup_id": w.backup_id},
        "admin.settings_save": {"section": "pajak"},
        "audit.archive_download": {"archive_id": w.archive_id},
        "accounts.reset_password": {"token": "no-such-link"},
        "accounts.address_edit": {"address_id": w.address_id},
        "accounts.address_default_route": {"address_id": w.address_id},
        "catalog.store": {"slug": w.store_slug},
        "core.switch_language_link": {"language": "id"},
        **dict.fromkeys(("catalog.product", "catalog.product_edit", "catalog.variants_save",
                         "catalog.photos_upload", "orders.product_reviews"), product),
        **dict.fromkeys(("inventory.row", "inventory.edit", "inventory.stock_update",
                         "inventory.stock_add", "inventory.variant",
                         "inventory.stock_clear_confirm"), variant),
        **dict.fromkeys(("orders.order_detail", "orders.order_status", "orders.order_confirm",
                         "orders.order_track",
                         "orders.return_request", "orders.seller_order",
                         "orders.seller_advance", "orders.seller_cancel",
                         "orders.packing_slip"), order),
        "orders.return_reject": {"number": w.returned_number},
        "orders.review_new": {"number": w.review_number, "item_id": w.review_item_id},
        "orders.review_reply_route": {"review_id": w.review_id},
        **dict.fromkeys(("orders.checkout_detail", "payments.pay_status",
                         "payments.pay_retry", "payments.sandbox_pay"), checkout),
        "payments.notify": {"gateway": "sandbox"},
        **{key: {"payment_id": w.payment_id} for key in (
            "payments.payment_detail", "payments.payment_accept", "payments.payment_refund")},
        **{key: {"refund_id": w.refund_id} for key in (
            "payments.refund_done", "payments.refund_again")},
        "payments.invoice_download": {"invoice_id": w.invoice_id},
        "payments.invoice_verify": {"code": w.invoice_code},
        **{f"crm.{name}": {"lead_id": crm["lead_id"]}
           for name in ("lead_detail", "lead_edit", "lead_status")},
        **{f"crm.{name}": {"company_id": crm["company_id"]}
           for name in ("company_detail", "company_edit")},
        **{f"crm.{name}": {"contact_id": crm["contact_id"]}
           for name in ("contact_detail", "contact_edit", "contact_email")},
        "crm.activity_new": {"record_type": "kontak", "record_id": crm["contact_id"]},
        "crm.task_detail": {"task_id": crm["task_id"]},
        "crm.task_status": {"task_id": crm["task_id"]},
        "crm.task_edit": {"task_id": crm["task_id"]},
        "crm.activity_edit": {"activity_id": crm["activity_id"]},
        "crm.team_position": {"user_id": crm["user_id"]},
        **dict.fromkeys(("maklon.request_edit", "maklon.request_detail",
                         "maklon.request_file_upload"), draft),
        "maklon.request_file": {**draft, "file_id": w.draft_file_id},
        "maklon.formula_detail": {"formula_id": w.formula_id},
        "maklon.formula_edit": {"formula_id": w.formula_id},
        **{f"maklon.material_{name}": {"material_id": w.material_id}
           for name in ("row", "edit", "stock", "history")},
        "maklon.goods": {"number": w.done_number},
        **dict.fromkeys(("maklon.stage_confirm", "maklon.stage_advance_route",
                         "maklon.production", "maklon.production_status"), production),
        "maklon.stage_photo": {**production, "stage_id": w.stage_id},
        **dict.fromkeys(("maklon.quotes", "maklon.quote_create_route",
                         "maklon.quote_message", "maklon.contract",
                         "maklon.contract_download", "maklon.contract_sign_route",
                         "maklon.milestones"), signed),
        "maklon.quote_approve_route": {**signed, "version": 1},
        "maklon.milestone_pay": {**signed, "kind": "mid"},
        "maklon.milestone_payment": {**signed, "reference": w.dp_reference},
        "maklon.milestone_pay_status": {**signed, "reference": w.dp_reference},
        "reports.export_download": {"key": w.report_key},
        "reports.history_download": {"key": w.report_key},
    }


@pytest.fixture(autouse=True)
def _clean_state():
    """Overrides conftest's per-test emptying: the world lives for the whole module and
    `world` empties the tables after its last test. Rate limits reset per test."""
    from app.extensions import limiter

    limiter.reset()
    yield


@pytest.fixture(scope="module")
def world(app):
    try:
        with app.app_context():
            built = _build_world()
            built.args = _args(built)
        yield built
    finally:
        empty_tables(app)


def cell_url(app, w, endpoint: str, fresh: dict, args: dict) -> str:
    """The URL of `endpoint` for one cell: a fresh object's (FRESH) or the shared ones'."""
    from flask import url_for

    from app.extensions import db

    with app.app_context():
        values = fresh[endpoint](w) if endpoint in fresh else args.get(endpoint, {})
        db.session.commit()
    with app.test_request_context():
        return url_for(endpoint, **values)


def _url(app, w, endpoint: str) -> str:
    return cell_url(app, w, endpoint, FRESH, w.args)


def test_every_route_is_declared_in_the_matrix(app):
    declared = {(endpoint, method) for endpoint, methods in ACCESS.items() for method in methods}
    present = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            continue  # the JSON API has its own matrix: tests/api/test_access_matrix.py
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            present.add((rule.endpoint, method))
    assert present - declared == set(), "declare who may use these routes in ACCESS"
    assert declared - present == set(), "ACCESS lists routes that no longer exist"
    assert all(set(by_actor) == set(ACTORS) for methods in ACCESS.values()
               for by_actor in methods.values()), "every cell names all eight actors"


LAST = ("core.switch_language", "accounts.logout")  # after the others (logout ends it)


@pytest.mark.parametrize("actor", ACTORS)
def test_route_access_by_actor(app, client, world, actor):
    if actor != ANON:
        log_in(client, world.emails[actor])
    mismatches = []
    for endpoint, methods in ACCESS.items():
        if endpoint in LAST:
            continue
        for method, expected_by_actor in methods.items():
            url = _url(app, world, endpoint)
            response = client.open(url, method=method, data={} if method == "POST" else None)
            outcome = _outcome(response)
            if outcome != expected_by_actor[actor]:
                mismatches.append(f"{method} {url} ({endpoint}) as {actor}: got {outcome}, "
                                  f"want {expected_by_actor[actor]}")
    for endpoint in LAST:
        response = client.post(_url(app, world, endpoint), data={"lang": "id"})
        outcome = _outcome(response)
        if outcome != ACCESS[endpoint]["POST"][actor]:
            mismatches.append(f"POST {endpoint} as {actor}: got {outcome}")
    assert not mismatches, "\n".join(mismatches)


def _outcome(response) -> object:
    location = response.headers.get("Location", "")
    if response.status_code == 302 and "/masuk" in location:
        return LOGIN
    if response.status_code in (302, 303) and location.rstrip("/") in ("", "http://localhost"):
        return HOME if response.status_code == 302 else 303
    return response.status_code
