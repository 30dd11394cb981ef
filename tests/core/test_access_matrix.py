"""The role matrix: every route by every role (anonymous included).

Every rule in `app.url_map` must be declared in ACCESS below, so a new route cannot ship
without a decision about who may use it. Each entry maps a method to the expected outcome
per role: an HTTP status, or LOGIN (redirect to the login page).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.core.models import EmailOutbox, JobRecord
from tests.conftest import log_in
from tests.factories import make_category, make_checkout, make_order, make_product, make_user

ANON = "anonymous"
ROLES = (ANON, "customer", "seller", "client", "staff", "admin")
LOGIN = "login"  # 302 to /masuk?next=...
HOME = "home"  # 302/303 to /


def everyone(status) -> dict[str, object]:
    return dict.fromkeys(ROLES, status)


def logged_in(status, anon=LOGIN) -> dict[str, object]:
    return {ANON: anon, **dict.fromkeys(ROLES[1:], status)}


def only(allowed: set[str], status=200, denied=403) -> dict[str, object]:
    return {ANON: LOGIN, **{r: (status if r in allowed else denied) for r in ROLES[1:]}}


def guests(status, member=HOME) -> dict[str, object]:
    return {ANON: status, **dict.fromkeys(ROLES[1:], member)}


CRM = {"staff", "admin"}

# endpoint -> method -> role -> expected. POSTs are sent with a valid CSRF token and an
# empty form, so a reachable form answers 422 (re-rendered with field messages).
ACCESS: dict[str, dict[str, dict[str, object]]] = {
    "static": {"GET": everyone(200)},
    "main.index": {"GET": everyone(200)},
    "core.healthz": {"GET": everyone(200)},
    "core.switch_language": {"POST": everyone(303)},
    "core.job_status": {"GET": only({"admin"}, denied=404)},  # someone else's job: 404
    "accounts.register": {"GET": guests(200), "POST": guests(422)},
    "accounts.login": {"GET": guests(200), "POST": guests(422)},
    "accounts.logout": {"POST": everyone(303)},
    "accounts.profile": {"GET": logged_in(200), "POST": logged_in(422)},
    "accounts.change_password": {"GET": logged_in(200), "POST": logged_in(422)},
    "admin.jobs": {"GET": only({"admin"})},
    "admin.jobs_test_email": {"POST": only({"admin"}, status=303)},
    "admin.outbox": {"GET": only({"admin"})},
    "admin.outbox_resend": {"POST": only({"admin"}, status=303)},
    # User management: a fresh customer per route (with one live session). An empty roles
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
    # Audit log: read-only (no write route exists); an archive file is for admins only.
    "audit.index": {"GET": only({"admin"})},
    "audit.archive_download": {"GET": only({"admin"})},
    "core.media": {"GET": everyone(200)},
    # No session needed; an unsigned (empty) notification is malformed: 400.
    "payments.notify": {"POST": everyone(400)},
    # Admin payments ledger. The payment under test is pending (not flagged) and its refund
    # done, so an admin's decision or refund action is a 409 (nothing to change).
    "payments.ledger": {"GET": only({"admin"})},
    "payments.payment_detail": {"GET": only({"admin"})},
    "payments.payment_accept": {"POST": only({"admin"}, status=409)},
    "payments.payment_refund": {"POST": only({"admin"}, status=409)},
    "payments.refund_done": {"POST": only({"admin"}, status=409)},
    "payments.refund_again": {"POST": only({"admin"}, status=409)},
    # The payment page's status block and "Coba lagi": the checkout's buyer only (another
    # buyer's: 404). The sandbox simulator: any logged-in tester; an empty form is a 422.
    "payments.pay_status": {"GET": only({"customer"}, status=404)},
    "payments.pay_retry": {"POST": only({"customer"}, status=404)},
    "payments.sandbox_pay": {"GET": logged_in(200), "POST": logged_in(422)},
    "core.notices": {"GET": logged_in(200)},
    "core.notices_read": {"POST": logged_in(303)},
    # Catalog: public pages; the seller's pages (another store's product: 404); categories.
    "catalog.search": {"GET": everyone(200)},
    "catalog.product": {"GET": everyone(200)},
    "catalog.store": {"GET": everyone(200)},
    "catalog.seller_products": {"GET": only({"seller"})},
    "catalog.product_new": {"GET": only({"seller"}), "POST": only({"seller"}, status=422)},
    "catalog.product_edit": {"GET": only({"seller"}, status=404),
                             "POST": only({"seller"}, status=404)},
    "catalog.variants_save": {"POST": only({"seller"}, status=404)},
    "catalog.product_archive_route": {"POST": only({"seller"}, status=404)},
    "catalog.product_restore_route": {"POST": only({"seller"}, status=404)},
    "catalog.photos_upload": {"POST": only({"seller"}, status=404)},
    "catalog.photo_delete": {"POST": only({"seller"}, status=404)},
    "catalog.photo_move": {"POST": only({"seller"}, status=404)},
    "catalog.store_settings": {"GET": only({"seller"}), "POST": only({"seller"}, status=422)},
    "catalog.categories": {"GET": only({"admin"}), "POST": only({"admin"}, status=422)},
    "catalog.category_edit": {"GET": only({"admin"}), "POST": only({"admin"}, status=422)},
    "catalog.category_delete_route": {"POST": only({"admin"}, status=303)},
    # Inventory: the seller's own variants only (another store's variant: 404).
    "inventory.index": {"GET": only({"seller"})},
    "inventory.row": {"GET": only({"seller"}, status=404)},
    "inventory.edit": {"GET": only({"seller"}, status=404)},
    "inventory.stock_update": {"POST": only({"seller"}, status=404)},
    "inventory.stock_add": {"POST": only({"seller"}, status=404)},
    "inventory.stock_clear": {"POST": only({"seller"}, status=404)},
    "inventory.variant": {"GET": only({"seller"}, status=404)},
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
    "crm.import_upload": {"GET": only(CRM), "POST": only(CRM, status=422)},
    "crm.import_confirm": {"POST": only(CRM, status=422)},
    "crm.team": {"GET": only({"admin"})},
    "crm.team_position": {"POST": only({"admin"}, status=303)},  # empty = no position
    "crm.settings": {"GET": only({"admin"}), "POST": only({"admin"}, status=422)},
    "crm_public.interest": {"GET": everyone(200), "POST": everyone(422)},
    "crm_public.interest_thanks": {"GET": everyone(200)},
    # Sessions: the user's own (another user's session, or this one: 404).
    "accounts.sessions": {"GET": logged_in(200)},
    "accounts.sessions_end_others": {"POST": logged_in(303)},
    "accounts.session_end": {"POST": logged_in(404)},
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
    # Addresses: the user's own (another user's address: 404).
    "accounts.addresses": {"GET": logged_in(200)},
    "accounts.address_new": {"GET": logged_in(200), "POST": logged_in(422)},
    "accounts.address_edit": {"GET": logged_in(404), "POST": logged_in(404)},
    "accounts.address_default_route": {"POST": logged_in(404)},
    "accounts.address_delete_route": {"POST": logged_in(404)},
    # Cart and checkout: customers; another buyer's cart line or checkout is a 404. An
    # empty "add" form is a 400 (no product to go back to); an empty checkout form a 422.
    "orders.cart": {"GET": only({"customer"})},
    "orders.cart_add_route": {"POST": only({"customer"}, status=400)},
    "orders.cart_update": {"POST": only({"customer"}, status=404)},
    "orders.cart_remove_route": {"POST": only({"customer"}, status=404)},
    "orders.checkout": {"GET": only({"customer"}), "POST": only({"customer"}, status=422)},
    "orders.checkout_detail": {"GET": only({"customer"}, status=404)},
    # Order pages and lifecycle: the buyer's own orders, the seller's own store's orders
    # (another buyer's / store's order: 404; POSTs with an empty form reach ownership first).
    "orders.my_orders": {"GET": only({"customer"})},
    "orders.order_detail": {"GET": only({"customer"}, status=404)},
    "orders.order_status": {"GET": only({"customer"}, status=404)},
    "orders.order_cancel_route": {"POST": only({"customer"}, status=404)},
    "orders.order_confirm": {"POST": only({"customer"}, status=404)},
    "orders.return_request": {"GET": only({"customer"}, status=404),
                              "POST": only({"customer"}, status=404)},
    "orders.seller_orders": {"GET": only({"seller"})},
    "orders.seller_order": {"GET": only({"seller"}, status=404)},
    "orders.seller_advance": {"POST": only({"seller"}, status=404)},
    "orders.seller_cancel": {"POST": only({"seller"}, status=404)},
    "orders.packing_slip": {"GET": only({"seller"}, status=404)},
    "orders.return_accept": {"POST": only({"seller"}, status=404)},
    "orders.return_reject": {"POST": only({"seller"}, status=404)},
    # Reviews: the buyer's form for an item of another buyer's delivered order (404), the
    # public product reviews, the seller's reviews and the reply to another store's (404).
    "orders.review_new": {"GET": only({"customer"}, status=404),
                          "POST": only({"customer"}, status=404)},
    "orders.product_reviews": {"GET": everyone(200)},
    "orders.seller_reviews": {"GET": only({"seller"})},
    "orders.review_reply_route": {"POST": only({"seller"}, status=404)},
    # Invoices: the PDF for its buyer, its seller and admins (anyone else 404); the public
    # verification page by the code printed on the invoice.
    "payments.invoice_download": {"GET": only({"admin"}, denied=404)},
    "payments.invoice_verify": {"GET": everyone(200)},
    # Maklon requests: clients create (the matrix client has no company yet: the empty form
    # comes back 422 asking for one); a request of a foreign company is a 404 for the client
    # and readable by staff and admins; the estimate of an empty form says what is missing.
    "maklon.requests": {"GET": only({"client"})},
    "maklon.request_new": {"GET": only({"client"}), "POST": only({"client"}, status=422)},
    "maklon.estimate": {"POST": only({"client"})},
    "maklon.request_edit": {"GET": only({"client"}, status=404),
                            "POST": only({"client"}, status=404)},
    "maklon.request_detail": {"GET": {**only({"client", "staff", "admin"}), "client": 404}},
    "maklon.request_cancel_route": {"POST": only({"client"}, status=404)},
    "maklon.request_file_upload": {"POST": only({"client"}, status=404)},
    "maklon.request_file": {"GET": {**only({"client", "staff", "admin"}), "client": 404}},
    "maklon.staff_requests": {"GET": only({"staff", "admin"})},
    # Maklon formulas (FORM): names for staff, the company's own for a client (the matrix
    # client has no company: creating is 403, a foreign formula 404); edits by the owning
    # client only. Raw materials: staff and admin (row/edit GETs without htmx redirect, an
    # empty form is 422). Finished goods of a foreign company's completed request: the
    # client 404, staff look (200) but only a client may move (403).
    "maklon.formulas": {"GET": only({"client", "staff", "admin"})},
    "maklon.formula_new": {"GET": only(set(), denied=403), "POST": only(set(), denied=403)},
    "maklon.formula_detail": {"GET": {**only({"staff", "admin"}), "client": 404}},
    "maklon.formula_edit": {"GET": {**only(set()), "client": 404},
                            "POST": {**only(set()), "client": 404}},
    "maklon.materials": {"GET": only(CRM)},
    "maklon.material_new": {"GET": only(CRM), "POST": only(CRM, status=422)},
    "maklon.material_row": {"GET": only(CRM, status=303)},
    "maklon.material_edit": {"GET": only(CRM, status=303), "POST": only(CRM, status=422)},
    "maklon.material_stock": {"POST": only(CRM, status=422)},
    "maklon.material_history": {"GET": only(CRM)},
    "maklon.goods": {"GET": {**only({"staff", "admin"}), "client": 404},
                     "POST": {**only(set()), "client": 404}},
    # Maklon production: the board is staff-only (403); the request's Produksi tab, its
    # live block and stage photos follow app.maklon.access (another company's request and
    # anyone who is not a client of it: 404). The empty step form answers 422.
    "maklon.board": {"GET": only(CRM)},
    "maklon.stage_confirm": {"GET": only(CRM)},
    "maklon.stage_advance_route": {"POST": only(CRM, status=422)},
    "maklon.production": {"GET": only(CRM, denied=404)},
    "maklon.production_status": {"GET": only(CRM, denied=404)},
    "maklon.stage_photo": {"GET": only(CRM, denied=404)},
    # Maklon quotes, contract and milestone payments of a signed request of a foreign
    # company (nobody under test): staff and admins see it, any other user gets 404 (a
    # client of another company included). Staff-only actions are 403 for other roles;
    # empty forms are 422 (checked before the state), approving an accepted quote 409.
    "maklon.quotes": {"GET": only(CRM, denied=404)},
    "maklon.quote_create_route": {"POST": only(CRM, status=422)},
    "maklon.quote_approve_route": {"POST": only({"admin"}, status=409)},
    "maklon.quote_message": {"POST": only(CRM, status=422, denied=404)},
    "maklon.contract": {"GET": only(CRM, denied=404)},
    "maklon.contract_download": {"GET": only(CRM, denied=404)},
    "maklon.contract_sign_route": {"POST": only({"client"}, status=404)},
    "maklon.contract_verify_page": {"GET": everyone(200), "POST": everyone(422)},
    "maklon.milestones": {"GET": only(CRM, denied=404)},
    "maklon.milestone_pay": {"POST": only({"client"}, status=404)},
    "maklon.milestone_payment": {"GET": only(CRM, denied=404)},
    "maklon.milestone_pay_status": {"GET": only(CRM, denied=404)},
}


MAKLON_PRODUCTION_ENDPOINTS = {
    "maklon.stage_confirm", "maklon.stage_advance_route", "maklon.production",
    "maklon.production_status", "maklon.stage_photo",
}


def _maklon_production_url_args(endpoint: str) -> dict:
    """A signed maklon order of a company nobody under test belongs to, whose latest stage
    row has a photo."""
    from app.core.storage import storage_path
    from app.extensions import db
    from app.maklon.models import MaklonRequest, ProductionStage
    from tests.maklon.factories import make_maklon_client, make_signed_order

    # The order with stage rows (FORM's completed request for the goods tab has none).
    order = db.session.scalars(select(MaklonRequest).where(MaklonRequest.stages.any())
                               .limit(1)).first()
    if order is None:
        order = make_signed_order(client=make_maklon_client(email="foreign-client@example.test"))
        key = "maklon-stages/2026/01/matrix-stage.webp"
        path = storage_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"RIFF")
        db.session.scalars(select(ProductionStage).where(
            ProductionStage.request_id == order.id)).one().photo_key = key
        db.session.commit()
    if endpoint == "maklon.stage_photo":
        return {"number": order.number, "stage_id": order.stages[0].id}
    return {"number": order.number}


def _foreign_product():
    """A product (with a variant and a photo) of a store that belongs to nobody under test."""
    from app.catalog.models import Product, ProductImage
    from app.core.storage import storage_path
    from app.extensions import db

    product = db.session.scalars(select(Product).limit(1)).first()
    if product is None:
        owner = make_user(email="foreign-seller@example.test", roles=("seller",))
        product = make_product(store=owner.store, name="Serum Milik Toko Lain")
        key = "products/2026/01/matrix-photo.webp"
        path = storage_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"RIFF")
        product.images.append(ProductImage(display_key=key, thumb_key=key, width=1, height=1))
        db.session.commit()
    return product


MAKLON_QUOTE_ENDPOINTS = {
    "maklon.quotes", "maklon.quote_create_route", "maklon.quote_approve_route",
    "maklon.quote_message", "maklon.contract", "maklon.contract_download",
    "maklon.contract_sign_route", "maklon.milestones", "maklon.milestone_pay",
    "maklon.milestone_payment", "maklon.milestone_pay_status",
}

ORDER_ENDPOINTS = {
    "orders.order_detail", "orders.order_status", "orders.order_cancel_route",
    "orders.order_confirm", "orders.return_request", "orders.seller_order",
    "orders.seller_advance", "orders.seller_cancel", "orders.packing_slip",
    "orders.return_accept", "orders.return_reject",
}


def _foreign_order():
    """A pending order placed by a buyer nobody under test is, at a foreign store."""
    from app.extensions import db
    from app.orders.models import Order

    order = db.session.scalars(select(Order).limit(1)).first()
    if order is None:
        product = _foreign_product()
        buyer = make_user(email="foreign-buyer@example.test")
        order = make_order(buyer=buyer, variant=product.variants[0])
        db.session.commit()
    return order


def _foreign_invoice():
    """The invoice of a paid order of a foreign buyer at a foreign store."""
    from app.extensions import db
    from app.payments.models import Invoice

    invoice = db.session.scalars(select(Invoice).limit(1)).first()
    if invoice is None:
        buyer = make_user(email="invoice-buyer@example.test")
        make_order(buyer=buyer, variant=_foreign_product().variants[0], paid=True)
        invoice = db.session.scalars(select(Invoice).limit(1)).one()
        db.session.commit()
    return invoice


def _audit_archive():
    """An archive of one old audit row, made by the real archive service."""
    from datetime import timedelta

    from app.audit.archive import audit_archive
    from app.audit.models import AuditArchive, AuditEntry
    from app.core.clock import utcnow
    from app.extensions import db

    archive = db.session.scalars(select(AuditArchive).limit(1)).first()
    if archive is None:
        db.session.add(AuditEntry(action="auth.login", created_at=utcnow() - timedelta(
            days=400)))
        db.session.commit()
        audit_archive()
        db.session.commit()
        archive = db.session.scalars(select(AuditArchive)).one()
    return archive


def _url_args(app, endpoint: str) -> dict:
    """Values for a rule's URL parameters: objects that belong to nobody in particular."""
    with app.app_context():
        from app.extensions import db

        if endpoint == "core.job_status":
            owner = make_user(email="job-owner@example.test")
            record = JobRecord(job_id="matrix-job", name="jobs.mail.sweep", owner_id=owner.id)
            db.session.add(record)
            db.session.commit()
            return {"job_id": record.id}
        if endpoint == "admin.outbox_resend":
            row = db.session.scalars(select(EmailOutbox)).first()
            if row is None:
                row = EmailOutbox(to_address="x@example.test", subject="s", body_text="t",
                                  body_html="<p>t</p>", template="test", message_id="<m@x>",
                                  status="failed")
                db.session.add(row)
                db.session.commit()
            return {"outbox_id": row.id}
        if endpoint.startswith("admin.user_"):
            return _user_admin_url_args(endpoint)
        if endpoint == "admin.settings_save":
            return {"section": "pajak"}
        if endpoint == "admin.settings_logo":
            _company_logo()
            return {}
        if endpoint == "audit.archive_download":
            return {"archive_id": _audit_archive().id}
        if endpoint == "static":
            return {"filename": "css/app.css"}
        if endpoint.startswith(("catalog.", "inventory.")) or endpoint == "core.media":
            product = _foreign_product()
            if endpoint == "core.media":
                return {"key": product.images[0].display_key}
            if endpoint == "catalog.store":
                return {"slug": product.store.slug}
            if endpoint.startswith("inventory.") and endpoint != "inventory.index":
                return {"variant_id": product.variants[0].id}
            if endpoint in ("catalog.photo_delete", "catalog.photo_move"):
                return {"product_id": product.id, "image_id": product.images[0].id}
            if endpoint.startswith("catalog.category_"):
                category = make_category(name="Kosong", name_en="Empty")
                db.session.commit()
                return {"category_id": category.id}
            if endpoint in ("catalog.product", "catalog.product_edit", "catalog.variants_save",
                            "catalog.product_archive_route", "catalog.product_restore_route",
                            "catalog.photos_upload"):
                return {"product_id": product.id}
        if endpoint.startswith("crm."):
            return _crm_url_args(endpoint)
        if endpoint in FORM_ENDPOINTS:
            return _form_url_args(endpoint)
        if endpoint in MAKLON_PRODUCTION_ENDPOINTS:
            return _maklon_production_url_args(endpoint)
        if endpoint == "payments.notify":
            return {"gateway": "sandbox"}
        if endpoint in ("payments.payment_detail", "payments.payment_accept",
                        "payments.payment_refund", "payments.refund_done",
                        "payments.refund_again"):
            return _payment_url_args(endpoint)
        if endpoint in ("payments.pay_status", "payments.pay_retry", "payments.sandbox_pay"):
            return {"reference": _foreign_charged_checkout().reference}
        if endpoint == "payments.invoice_download":
            return {"invoice_id": _foreign_invoice().id}
        if endpoint == "payments.invoice_verify":
            return {"code": _foreign_invoice().verification_code}
        if endpoint in ("orders.checkout_detail",):
            return {"reference": "CO-20260101-000001"}
        # Order pages: an order of a foreign buyer at a foreign store (nobody under test).
        if endpoint in ORDER_ENDPOINTS:
            return {"number": _foreign_order().number}
        if endpoint in ("orders.review_new", "orders.product_reviews",
                        "orders.review_reply_route"):
            return _review_url_args(endpoint)
        if endpoint in MAKLON_QUOTE_ENDPOINTS:
            return _maklon_quote_url_args(endpoint)
        if endpoint.startswith("maklon.request_") and endpoint != "maklon.request_new":
            return _maklon_url_args(endpoint)
        if endpoint == "accounts.reset_password":
            return {"token": "no-such-link"}
        if endpoint == "accounts.session_end":
            return {"session_id": 999_999}
        if endpoint.startswith(("orders.", "accounts.address")):
            values = _orders_url_args(endpoint)
            if values is not None:
                return values
        if endpoint in ("orders.seller_order", "orders.order_detail"):
            return {"number": "RCK-20260101-000001"}
    return {}


FORM_ENDPOINTS = {"maklon.formula_detail", "maklon.formula_edit", "maklon.material_row",
                  "maklon.material_edit", "maklon.material_stock", "maklon.material_history",
                  "maklon.goods"}


def _form_url_args(endpoint: str) -> dict:
    """A foreign company's formula, a raw material, a foreign company's completed request."""
    from app.accounts.models import Company
    from app.core.clock import utcnow
    from app.extensions import db
    from app.maklon.models import Formula, MaklonRequest, RawMaterial, RequestStatus
    from tests.maklon.factories import (
        make_formula,
        make_maklon_client,
        make_maklon_request,
        make_raw_material,
    )

    material = db.session.scalars(select(RawMaterial).limit(1)).first()
    if material is None:
        material = make_raw_material(name="Bahan Matriks")
        db.session.commit()
    if endpoint.startswith("maklon.material_"):
        return {"material_id": material.id}
    if endpoint.startswith("maklon.formula_"):
        formula = db.session.scalars(select(Formula).limit(1)).first()
        if formula is None:
            owner = make_maklon_client(email="formula-owner@example.test")
            formula = make_formula(company=db.session.get(Company, owner.company_id),
                                   lines=[(material, "1")])
            db.session.commit()
        return {"formula_id": formula.id}
    done = db.session.scalars(select(MaklonRequest).where(
        MaklonRequest.status == RequestStatus.COMPLETED).limit(1)).first()
    if done is None:
        owner = make_maklon_client(email="goods-owner@example.test",
                                   roles=("client", "seller"))
        done = make_maklon_request(client=owner, status=RequestStatus.COMPLETED,
                                   stage="done", completed_at=utcnow())
        db.session.commit()
    return {"number": done.number}


def _maklon_quote_url_args(endpoint: str) -> dict:
    """A signed request of a foreign company (nobody under test) with a charged, pending
    DP payment (created once per test)."""
    from app.accounts.models import Company
    from app.extensions import db
    from app.maklon.milestones import milestone_payment_start
    from app.maklon.models import MaklonRequest, MilestonePayment
    from app.payments.models import Payment
    from app.payments.services import payment_charge
    from tests.maklon.factories import make_company, make_maklon_client, make_signed_request

    req = db.session.scalars(select(MaklonRequest).join(
        Company, Company.id == MaklonRequest.company_id).where(
        Company.name == "PT Matriks Kontrak")).first()
    if req is None:
        req = make_signed_request(client=make_maklon_client(
            company=make_company(name="PT Matriks Kontrak")))
        milestone = db.session.scalars(select(MilestonePayment).where(
            MilestonePayment.request_id == req.id, MilestonePayment.kind == "dp")).one()
        payment, _ = milestone_payment_start(milestone=milestone, payer=req.client,
                                             method="va_bca")
        db.session.commit()
        payment_charge(payment)
        db.session.commit()
    payment = db.session.scalars(select(Payment).join(
        MilestonePayment, MilestonePayment.id == Payment.milestone_id).where(
        MilestonePayment.request_id == req.id)).first()
    by_endpoint = {
        "maklon.quote_approve_route": {"number": req.number, "version": 1},
        "maklon.milestone_pay": {"number": req.number, "kind": "mid"},
        "maklon.milestone_payment": {"number": req.number, "reference": payment.reference},
        "maklon.milestone_pay_status": {"number": req.number,
                                        "reference": payment.reference},
    }
    return by_endpoint.get(endpoint, {"number": req.number})


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


def _user_admin_url_args(endpoint: str) -> dict:
    """A fresh customer (nobody under test) with one live session."""
    from app.accounts.models import UserSession
    from app.core.clock import utcnow
    from app.extensions import db

    target = make_user()
    now = utcnow()
    row = UserSession(user_id=target.id, token_hash=f"matrix-{target.id}".ljust(64, "0"),
                      created_at=now, last_seen_at=now, expires_at=now + timedelta(days=1))
    db.session.add(row)
    db.session.commit()
    if endpoint == "admin.user_session_end_route":
        return {"user_id": target.id, "session_id": row.id}
    return {"user_id": target.id}


def _payment_url_args(endpoint: str) -> dict:
    """The foreign order's pending payment and a refund already done on it."""
    from app.extensions import db
    from app.payments.models import Payment, Refund

    order = _foreign_order()
    payment = db.session.scalars(select(Payment).where(
        Payment.checkout_id == order.checkout_id)).one()
    if endpoint.startswith("payments.refund_"):
        refund = db.session.scalars(select(Refund)).first()
        if refund is None:
            refund = Refund(payment_id=payment.id, order_id=order.id,
                            refund_key=f"{order.number}-matrix", amount=1000, status="done")
            db.session.add(refund)
            db.session.commit()
        return {"refund_id": refund.id}
    return {"payment_id": payment.id}


def _foreign_checkout():
    """A checkout (with its order, address and a cart line) of a buyer nobody logs in as."""
    from app.accounts.models import Address
    from app.extensions import db
    from app.orders.models import CartItem, Checkout

    product = _foreign_product()
    checkout = db.session.scalars(select(Checkout).limit(1)).first()
    if checkout is None:
        buyer = make_user(email="foreign-checkout-buyer@example.test")
        checkout = make_checkout(buyer=buyer, lines=[(product.variants[0], 1)])
    if db.session.scalars(select(CartItem).where(
            CartItem.user_id == checkout.buyer_id)).first() is None:
        db.session.add(CartItem(user_id=checkout.buyer_id,
                                variant_id=product.variants[0].id, quantity=1))
    db.session.commit()
    address = db.session.scalars(select(Address).where(
        Address.user_id == checkout.buyer_id)).first()
    item = db.session.scalars(select(CartItem).where(
        CartItem.user_id == checkout.buyer_id)).first()
    return checkout, address, item


def _foreign_charged_checkout():
    """The foreign checkout, its payment charged at the sandbox (the simulator has a
    transaction to show)."""
    from app.extensions import db
    from app.payments.services import payment_charge, payment_of_checkout

    checkout, _, _ = _foreign_checkout()
    payment_charge(payment_of_checkout(checkout.id))
    db.session.commit()
    return checkout


def _orders_url_args(endpoint: str) -> dict | None:
    checkout, address, item = _foreign_checkout()
    by_endpoint = {
        "orders.checkout_detail": {"reference": checkout.reference},
        "orders.cart_update": {"item_id": item.id},
        "orders.cart_remove_route": {"item_id": item.id},
        "accounts.address_edit": {"address_id": address.id},
        "accounts.address_default_route": {"address_id": address.id},
        "accounts.address_delete_route": {"address_id": address.id},
    }
    return by_endpoint.get(endpoint)


def _review_url_args(endpoint: str) -> dict:
    """A delivered order of the foreign product by a buyer nobody under test is, and that
    buyer's review of it (created once per test)."""
    from app.core.clock import utcnow
    from app.extensions import db
    from app.orders.models import Order, Review
    from tests.factories import make_order

    product = _foreign_product()
    if endpoint == "orders.product_reviews":
        return {"product_id": product.id}
    review = db.session.scalars(select(Review)).first()
    if review is None:
        buyer = make_user(email="review-buyer@example.test")
        order = make_order(buyer=buyer, variant=product.variants[0])
        # Delivered directly: the lifecycle service is not what this matrix tests.
        order.status, order.delivered_at = "delivered", utcnow()
        review = Review(product_id=product.id, store_id=product.store_id, order_id=order.id,
                        buyer_id=buyer.id, rating=5)
        db.session.add(review)
        db.session.commit()
    if endpoint == "orders.review_reply_route":
        return {"review_id": review.id}
    order = db.session.get(Order, review.order_id)
    return {"number": order.number, "item_id": order.items[0].id}


def _crm_url_args(endpoint: str) -> dict:
    """A company, contact, lead, task and staff member (created once per test)."""
    from app.accounts.models import Company, User
    from app.crm.models import Contact, Lead, Task
    from app.extensions import db

    staff = db.session.scalars(select(User).where(User.email == "crm-staff@example.test")
                               ).first() or make_user(email="crm-staff@example.test",
                                                      roles=("staff",))
    company = db.session.scalars(select(Company)).first()
    if company is None:
        company = Company(name="PT Matriks")
        db.session.add(company)
        db.session.flush()
        contact = Contact(name="Kontak Matriks", company_id=company.id, email="k@example.test")
        lead = Lead(title="Prospek Matriks", company_id=company.id)
        db.session.add_all([contact, lead])
        db.session.flush()
        db.session.add(Task(title="Tugas Matriks", assignee_id=staff.id))
    db.session.commit()
    contact = db.session.scalars(select(Contact)).first()
    lead = db.session.scalars(select(Lead)).first()
    task = db.session.scalars(select(Task)).first()
    by_endpoint = {
        "crm.lead_detail": {"lead_id": lead.id},
        "crm.lead_edit": {"lead_id": lead.id},
        "crm.lead_status": {"lead_id": lead.id},
        "crm.company_detail": {"company_id": company.id},
        "crm.company_edit": {"company_id": company.id},
        "crm.contact_detail": {"contact_id": contact.id},
        "crm.contact_edit": {"contact_id": contact.id},
        "crm.contact_email": {"contact_id": contact.id},
        "crm.activity_new": {"record_type": "kontak", "record_id": contact.id},
        "crm.task_detail": {"task_id": task.id},
        "crm.task_status": {"task_id": task.id},
        "crm.team_position": {"user_id": staff.id},
    }
    return by_endpoint.get(endpoint, {})


def _foreign_maklon_request():
    """A draft maklon request (with a stored file) of a company nobody under test is in."""
    from app.core.storage import storage_put
    from app.extensions import db
    from app.maklon.models import MaklonFile, MaklonRequest, RequestStatus
    from tests.maklon.factories import make_maklon_client, make_maklon_request

    req = db.session.scalars(select(MaklonRequest).where(
        MaklonRequest.product_name == "Serum Matriks")).first()
    if req is None:
        owner = make_maklon_client(email="foreign-request-client@example.test")
        req = make_maklon_request(client=owner, status=RequestStatus.DRAFT,
                                  product_name="Serum Matriks")
        key = storage_put(b"%PDF-1.4 matrix", folder="maklon", suffix=".pdf")
        db.session.add(MaklonFile(request_id=req.id, kind="reference", file_key=key,
                                  filename="spec.pdf", content_type="application/pdf",
                                  size=15))
        db.session.commit()
    return req


def _maklon_url_args(endpoint: str) -> dict:
    req = _foreign_maklon_request()
    if endpoint == "maklon.request_file":
        return {"number": req.number, "file_id": req.files[0].id}
    return {"number": req.number}


def test_every_route_is_declared_in_the_matrix(app):
    declared = {(endpoint, method) for endpoint, methods in ACCESS.items() for method in methods}
    present = set()
    for rule in app.url_map.iter_rules():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            present.add((rule.endpoint, method))
    assert present - declared == set(), "declare who may use these routes in ACCESS"
    assert declared - present == set(), "ACCESS lists routes that no longer exist"


@pytest.mark.parametrize("role", ROLES)
def test_route_access_by_role(app, client, role):
    if role != ANON:
        user = None
        with app.app_context():
            from app.extensions import db

            user = make_user(roles=(role,))
            db.session.commit()
            email = user.email
        log_in(client, email)
    mismatches = []
    for endpoint, methods in ACCESS.items():
        for method, expected_by_role in methods.items():
            expected = expected_by_role[role]
            with app.test_request_context():
                from flask import url_for

                url = url_for(endpoint, **_url_args(app, endpoint))
            if endpoint == "accounts.logout" or endpoint == "core.switch_language":
                continue  # checked below, after the others (logout ends the session)
            response = client.open(url, method=method, data={} if method == "POST" else None)
            outcome = _outcome(response)
            if outcome != expected:
                mismatches.append(f"{method} {url} as {role}: got {outcome}, want {expected}")
    for endpoint in ("core.switch_language", "accounts.logout"):
        with app.test_request_context():
            from flask import url_for

            url = url_for(endpoint)
        response = client.post(url, data={"lang": "id"})
        outcome = _outcome(response)
        if outcome != ACCESS[endpoint]["POST"][role]:
            mismatches.append(f"POST {url} as {role}: got {outcome}")
    assert mismatches == []


def _outcome(response) -> object:
    location = response.headers.get("Location", "")
    if response.status_code == 302 and "/masuk" in location:
        return LOGIN
    if response.status_code in (302, 303) and location.rstrip("/") in ("", "http://localhost"):
        return HOME if response.status_code == 302 else 303
    return response.status_code
