"""Stored XSS (issue #9, hardening): every payload of the corpus, saved into every free-text
field a user can write today, renders escaped on every page (and email, and invoice PDF)
that shows it, and no template-looking text is ever evaluated.

The test is two tables, easy to extend (the maklon routes will add rows):

- WRITES: how a field gets a payload (through the real routes where a user types it, else the
  service the route calls), in order; each writer records the exact values it stored.
- READS: which pages show them, and who reads each page.

Each page is checked three ways: (1) no stored value that contains markup characters
appears raw (its escaped form must be there instead, for at least one stored value, so the
page really shows the field); (2) an HTML scan finds no markup we did not write: no event
handler attribute, no script that is not our own static file, no iframe/object/embed/base,
no inline style, no `javascript:`/`vbscript:`/`data:` URL in a link, image or form, no image
from anywhere but our own paths; (3) `{{7*7}}`-style text is never rendered as 49.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape
from sqlalchemy import select

from app.accounts.models import Address, Company, User
from app.catalog.models import Product
from app.catalog.services import OptionGroup, ProductData, product_create, store_settings_update
from app.core.models import EmailOutbox
from app.crm.models import Lead, LeadStatus
from app.crm.services import (
    CompanyDetails,
    ContactDetails,
    LeadDetails,
    activity_log_on,
    company_save,
    contact_email_send,
    contact_save,
    lead_create,
    lead_move,
    task_create,
    task_digest_send,
    wib_today,
)
from app.extensions import db as _db
from app.inventory.models import StockMovement
from app.maklon.milestones import milestone_is_due
from app.maklon.models import (
    ContractSignature,
    Formula,
    MaklonRequest,
    MilestonePayment,
    MilestoneStatus,
    QuoteMessage,
    RawMaterial,
    RequestStatus,
)
from app.maklon.quotes import QuoteTerms, quote_approve, quote_create
from app.maklon.requests import request_number
from app.orders.cart import cart_add
from app.orders.checkout import checkout_place, new_idempotency_key
from app.orders.lifecycle import order_advance, order_cancel, order_confirm
from app.orders.models import Order
from app.orders.returns import return_reject, return_request
from app.orders.reviews import review_create, review_reply
from app.payments.models import Invoice, Payment
from tests.conftest import CsrfClient, log_in
from tests.factories import (
    DEFAULT_PASSWORD,
    make_category,
    make_product,
    make_user,
    pay_checkout,
)
from tests.maklon.factories import make_maklon_request, make_signed_order, pay_milestone_sandbox

LONG = ("<script>alert('panjang')</script>" + "Serum pencerah kulit " * 60
        + '"><img src=x onerror=alert(2)>')

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "javascript:alert(1)",
    '<a href="javascript:alert(1)">klik</a>',
    "<IMG SRC=JaVaScRiPt:alert(1)>",
    '<iframe src="javascript:alert(1)"></iframe>',
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    '" onmouseover="alert(1)',
    "' onfocus='alert(1)' autofocus='",
    "<input autofocus onfocus=alert(1)>",
    "<details open ontoggle=alert(1)>",
    '<div style="background:url(javascript:alert(1))">gaya</div>',
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "q{{7*7}}q",
    "{% raw %}r{{ 7*7 }}r{% endraw %}",
    "t${7*7}t #{7*7} <%= 7*7 %>",
    "%(name)s %s {0} {{0}}",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "＜script＞alert(1)＜/script＞",
    "\u202e<script>alert(1)</script> ‮ünïcødé 🧴",
    "baris satu\n<script>alert(1)</script>\nbaris tiga",
    "Serum \"Glow\" & <b>Bold</b> — O'Reilly",
    LONG,
]
# Template text that must come out literally: (payload, what evaluating it would print).
TEMPLATE_MARKERS = {"q{{7*7}}q": "q49q", "t${7*7}t #{7*7} <%= 7*7 %>": "t49t"}


def fit(payload: str, limit: int) -> str:
    """The payload cut to a column's length (the services strip what they store)."""
    return payload[:limit].strip()


@dataclass
class Scene:
    """What the writers made: ids to build URLs from and every value stored."""

    payload: str
    written: set[str] = field(default_factory=set)
    ids: dict[str, object] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)  # role -> login email

    def put(self, value: str) -> str:
        self.written.add(value)
        return value

    def text(self, limit: int) -> str:
        return self.put(fit(self.payload, limit))


# --- writers (in order) -----------------------------------------------------------------


def write_admin(scene: Scene, clients) -> None:
    """An admin (also the CRM user) whose name is the payload."""
    admin = make_user(roles=("admin", "staff"), name=scene.text(120))
    admin.position = "sales"  # on the CRM team page
    _db.session.commit()
    log_in(clients["admin"], admin.email)
    scene.emails["admin"] = admin.email
    scene.ids["admin"] = admin.id


def write_seller_and_store(scene: Scene, clients) -> None:
    """Seller name; store name, location, description and invoice address (store settings)."""
    seller = make_user(roles=("seller",), name=scene.text(120), store_name=fit(scene.payload, 120))
    store_settings_update(store=seller.store, name=scene.text(120), location=scene.text(120),
                          description=scene.text(5000), low_stock_threshold=5,
                          shipping_cost=10_000, address=scene.text(1000))
    _db.session.commit()
    log_in(clients["seller"], seller.email)
    scene.emails["seller"] = seller.email
    scene.ids.update(seller=seller.id, store=seller.store.id, slug=seller.store.slug)


def write_category(scene: Scene, clients) -> None:
    category = make_category(name=scene.text(80), name_en=scene.text(80))
    _db.session.commit()
    scene.ids["category"] = category.id


def write_product(scene: Scene, clients) -> None:
    """Name, description, a specification row, an option group's name and value."""
    seller = _db.session.get(User, scene.ids["seller"])
    data = ProductData(
        name=scene.text(150), description=scene.text(5000),
        category_id=scene.ids["category"], price=125_000,
        specifications=[(scene.text(60), scene.text(200))],
        option_groups=[OptionGroup(name=scene.text(40), values=[scene.text(60), "Biasa"])],
        initial_stock=50)
    product = product_create(store=seller.store, data=data, actor=seller)
    _db.session.commit()
    variant = next(v for v in product.variants if "Biasa" not in v.options.values())
    scene.ids.update(product=product.id, variant=variant.id)


def write_buyer_by_registering(scene: Scene, clients) -> None:
    """The buyer signs up through /daftar with the payload as name and browser (user agent,
    shown in the session lists)."""
    email = "pembeli-xss@example.test"
    response = clients["buyer"].post("/daftar", headers={"User-Agent": scene.put(
        fit(scene.payload, 300).replace("\n", " "))}, data={
        "account_type": "customer", "name": scene.text(120), "email": email,
        "password": DEFAULT_PASSWORD, "password_confirm": DEFAULT_PASSWORD, "terms": "y"})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    scene.emails["buyer"] = email
    scene.ids["buyer"] = _db.session.scalars(select(User.id).where(User.email == email)).one()


def write_address(scene: Scene, clients) -> None:
    """Label, recipient, street and city through the address form."""
    response = clients["buyer"].post("/akun/alamat/baru", data={
        "label": scene.text(40), "recipient": scene.text(120), "phone": "0812 3456 789",
        "street": scene.text(300), "city": scene.text(80), "province": "Jawa Barat",
        "postal_code": "40111", "make_default": "y"})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    scene.ids["address"] = _db.session.scalars(select(Address.id).where(
        Address.user_id == scene.ids["buyer"])).one()


def _checkout(scene: Scene, note: str = "") -> Order:
    buyer = _db.session.get(User, scene.ids["buyer"])
    cart_add(user=buyer, variant_id=scene.ids["variant"], quantity=1)
    result = checkout_place(buyer=buyer, address=_db.session.get(Address, scene.ids["address"]),
                            payment_method="va_bca", idempotency_key=new_idempotency_key(),
                            notes={scene.ids["store"]: note})
    _db.session.commit()
    return result.checkout.orders[0]


def write_delivered_order(scene: Scene, clients) -> None:
    """A paid order with a note to the seller, shipped with a tracking number, delivered,
    reviewed and replied to, its return requested and rejected (reasons)."""
    order = _checkout(scene, note=scene.text(300))
    pay_checkout(order.checkout)
    seller = _db.session.get(User, scene.ids["seller"])
    buyer = _db.session.get(User, scene.ids["buyer"])
    order_advance(order=order, actor=seller, from_status="pending")
    order_advance(order=order, actor=seller, from_status="processing",
                  tracking_number=scene.text(60))
    order_confirm(order=order, actor=buyer)
    _db.session.commit()
    review = review_create(buyer=buyer, order=order, item=order.items[0], rating=4,
                           comment=scene.text(2000))
    review_reply(seller_store=seller.store, review=review, reply=scene.text(2000))
    request = return_request(order=order, buyer=buyer, reason=scene.text(1000))
    return_reject(request=request, actor=seller, reason=scene.text(1000))
    _db.session.commit()
    scene.ids.update(order_delivered=order.number, checkout_paid=order.checkout.reference)
    scene.ids["invoice"] = _db.session.scalars(select(Invoice.id).where(
        Invoice.order_id == order.id)).one()
    scene.ids["payment"] = _db.session.scalars(select(Payment.id).where(
        Payment.checkout_id == order.checkout_id)).one()


def write_cancelled_order(scene: Scene, clients) -> None:
    """A pending order the seller cancels with a reason."""
    order = _checkout(scene)
    order_cancel(order=order, actor=_db.session.get(User, scene.ids["seller"]), side="seller",
                 reason=scene.text(300))
    _db.session.commit()
    scene.ids.update(order_cancelled=order.number, checkout_cancelled=order.checkout.reference)


def write_cart(scene: Scene, clients) -> None:
    cart_add(user=_db.session.get(User, scene.ids["buyer"]), variant_id=scene.ids["variant"],
             quantity=1)
    _db.session.commit()


def write_interest_form(scene: Scene, clients) -> None:
    """The public "Ajukan Maklon" form (a website lead), then lost with a reason."""
    response = clients["anonymous"].post("/ajukan-maklon", data={
        "name": scene.text(120), "company_name": scene.text(160), "email": "maya@ayu.test",
        "phone": "+62 812 1111 2222", "product_type": "serum", "message": scene.text(3000)})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    lead = _db.session.scalars(select(Lead)).one()
    scene.put(lead.title)
    lead_move(lead=lead, status=LeadStatus.LOST, actor=_db.session.get(User, scene.ids["admin"]),
              lost_reason=scene.text(3000))
    _db.session.commit()
    scene.ids["lead_web"] = lead.id


def write_crm(scene: Scene, clients) -> None:
    """Company, contact, lead, task and activity text fields; an email to the contact; the
    task digest email."""
    admin = _db.session.get(User, scene.ids["admin"])
    company = company_save(details=CompanyDetails(
        name=scene.text(160), business_type=scene.text(80), city=scene.text(80),
        address=scene.text(1000), notes=scene.text(5000)))
    contact = contact_save(details=ContactDetails(
        name=scene.text(120), company_id=company.id, position=scene.text(120),
        email="kontak@ayu.test", notes=scene.text(5000)))
    lead = lead_create(details=LeadDetails(
        title=scene.text(200), company_id=company.id, contact_id=contact.id,
        company_name=scene.text(160), contact_name=scene.text(120), notes=scene.text(5000),
        estimated_value=5_000_000, owner_id=admin.id), actor=admin)
    task = task_create(title=scene.text(200), description=scene.text(5000), assignee=admin,
                       actor=admin, due_date=wib_today(), lead_id=lead.id)
    task.due_date = wib_today() - timedelta(days=1)  # overdue (a new task cannot be)
    activity_log_on(record=lead, kind="note", author=admin, subject=scene.text(300),
                    body=scene.text(5000))
    contact_email_send(contact=contact, subject=scene.text(300), body=scene.text(5000),
                       actor=admin)
    task_digest_send()
    _db.session.commit()
    scene.ids.update(company=company.id, contact=contact.id, lead=lead.id, task=task.id)


# --- maklon (issue #6) --------------------------------------------------------------------
# The fields users type go through the real routes (client, and the admin as staff); each
# writer reads back what was stored, so the checks compare against the exact stored text.

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _post(client, url: str, data: dict, *, expect: int = 303, **kwargs):
    response = client.post(url, data=data, **kwargs)
    assert response.status_code == expect, (url, response.status_code,
                                            response.get_data(as_text=True)[:2000])
    return response


def _wib_today():
    from app.core.clock import to_wib, utcnow

    return to_wib(utcnow()).date()


def write_maklon_client(scene: Scene, clients) -> None:
    """A client (who also sells: finished goods go into their store) named by the payload,
    with a store product to receive the goods; no company yet (the first request makes it)."""
    client = make_user(roles=("client", "seller"), name=scene.text(120),
                       store_name=scene.text(120))
    product = make_product(store=client.store, name=scene.text(150), stock=5)
    _db.session.commit()
    log_in(clients["client"], client.email)
    scene.emails["client"] = client.email
    scene.ids.update(client=client.id, goods_variant=product.variants[0].id)


def write_maklon_request(scene: Scene, clients) -> None:
    """The first request, submitted through /maklon/baru: the company (name, address) is
    created with it; product name, notes and a reference file whose name is the payload
    (slashes would be cut as a path, so they become underscores; quotes and line breaks
    are percent-encoded as a browser sends them in a multipart filename)."""
    filename = fit(scene.payload.replace("/", "_").replace("\\", "_"), 190) + ".pdf"
    filename = filename.replace('"', "%22").replace("\n", "%0A").replace("\r", "%0D")
    _post(clients["client"], "/maklon/baru", {
        "action": "submit", "company_name": fit(scene.payload, 160), "company_npwp": "",
        "company_address": fit(scene.payload, 500), "product_name": fit(scene.payload, 120),
        "product_type": "skincare", "packaging": "bottle", "size": "30", "size_unit": "ml",
        "length_mm": "", "width_mm": "", "height_mm": "", "quantity": "2000",
        "formula_choice": "develop", "formula_id": "",
        "desired_date": (_wib_today() + timedelta(days=150)).isoformat(),
        "notes": fit(scene.payload, 2000),
        "reference_file": (io.BytesIO(PDF_BYTES), filename)},
        content_type="multipart/form-data")
    request = _db.session.scalars(select(MaklonRequest).where(
        MaklonRequest.client_id == scene.ids["client"])).one()
    assert request.status == RequestStatus.SUBMITTED
    company = _db.session.get(Company, request.company_id)
    for value in (request.product_name, request.notes, company.name, company.address,
                  request.files[0].filename):
        scene.put(value)
    scene.ids.update(mk=request.number, mk_id=request.id, client_company=company.id)


def write_raw_material(scene: Scene, clients) -> None:
    """Staff add a raw material (name, INCI name; the code's format refuses markup) and
    restock it with a note."""
    _post(clients["admin"], "/bahan-baku/baru", {
        "kode": "RM-XSS-01", "nama": fit(scene.payload, 120), "inci": fit(scene.payload, 200),
        "satuan": "g", "asal": "local", "batas": "1000", "harga": "0,5",
        "stok_awal": "100000"})
    material = _db.session.scalars(select(RawMaterial).where(
        RawMaterial.code == "RM-XSS-01")).one()
    _post(clients["admin"], f"/bahan-baku/{material.id}/stok", {
        "arah": "restock", "jumlah": "500", "catatan": scene.payload})
    movement = _db.session.scalars(select(StockMovement).where(
        StockMovement.raw_material_id == material.id)
        .order_by(StockMovement.id.desc())).first()
    for value in (material.name, material.inci_name, movement.reference):
        scene.put(value)
    scene.ids["material"] = material.id


def write_formula(scene: Scene, clients) -> None:
    """The client saves a formula of their company (name) with the raw material."""
    _post(clients["client"], "/maklon/formula/baru", {
        "nama": fit(scene.payload, 120), "jenis": "skincare",
        "bahan": [str(scene.ids["material"])], "jumlah": ["0,5"]})
    formula = _db.session.scalars(select(Formula).where(
        Formula.company_id == scene.ids["client_company"])).one()
    scene.put(formula.name)
    scene.ids["formula"] = formula.id


def _quote_terms(note: str) -> dict[str, str]:
    today = _wib_today()
    return {"quantity": "", "margin_pct": "", "discount_pct": "",
            "delivery_date": (today + timedelta(days=150)).isoformat(),
            "valid_until": (today + timedelta(days=14)).isoformat(),
            "split_dp": "30", "split_mid": "40", "split_final": "30", "note": note}


def write_quote_and_messages(scene: Scene, clients) -> None:
    """Staff make v1 with a note, the admin approves it (email to the client), and both
    sides write on the negotiation thread."""
    number = scene.ids["mk"]
    _post(clients["admin"], f"/maklon/{number}/penawaran", _quote_terms(
        fit(scene.payload, 2000)))
    _post(clients["admin"], f"/maklon/{number}/penawaran/v1/setujui", {})
    for who in ("client", "admin"):
        _post(clients[who], f"/maklon/{number}/pesan", {
            "body": fit(scene.payload, 2000), "counter_unit_price": "",
            "counter_quantity": "", "counter_date": ""})
    request = _db.session.get(MaklonRequest, scene.ids["mk_id"])
    scene.put(request.quotes[0].note)
    for message in _db.session.scalars(select(QuoteMessage).where(
            QuoteMessage.request_id == request.id)):
        scene.put(message.body)


def write_contract_signed(scene: Scene, clients) -> None:
    """The client signs with the password; the browser (user agent) is the payload."""
    _post(clients["client"], f"/maklon/{scene.ids['mk']}/kontrak/setuju",
          {"secret": DEFAULT_PASSWORD},
          headers={"User-Agent": fit(scene.payload, 300).replace("\n", " ")})
    row = _db.session.scalars(select(ContractSignature).where(
        ContractSignature.request_id == scene.ids["mk_id"])).one()
    scene.put(row.user_agent)
    scene.ids["contract_code"] = row.verification_code


def pay_due_milestones(scene: Scene) -> None:
    """Every milestone that is due and unpaid, paid through the sandbox (invoices and
    emails by the jobs), as a client pays each one when it falls due."""
    request = _db.session.get(MaklonRequest, scene.ids["mk_id"])
    for milestone in _db.session.scalars(select(MilestonePayment).where(
            MilestonePayment.request_id == scene.ids["mk_id"])
            .order_by(MilestonePayment.position)).all():
        if milestone.status == MilestoneStatus.PAID or not milestone_is_due(milestone, request):
            continue
        payment = pay_milestone_sandbox(milestone)
        scene.ids.setdefault("ms_payment", payment.id)
        scene.ids.setdefault("ms_reference", payment.reference)


def write_milestones_paid(scene: Scene, clients) -> None:
    """The milestone due after signing (the DP) paid through the sandbox; the later ones
    are paid as production reaches them (`write_production`)."""
    pay_due_milestones(scene)
    invoice = _db.session.scalars(select(Invoice).where(Invoice.milestone_id.is_not(None))
                                  .order_by(Invoice.id)).first()
    scene.ids.update(ms_invoice=invoice.id, ms_invoice_code=invoice.verification_code)


# (from, qc result) of each step the staff take on the board, QC failing once.
PRODUCTION_STEPS = [("concept_approved", ""), ("material_purchase", ""), ("formulation", ""),
                    ("qc", "fail"), ("formulation", ""), ("qc", "pass"), ("packaging", ""),
                    ("shipping_scheduled", "")]


def write_production(scene: Scene, clients) -> None:
    """Staff take the order through every stage with a note each (QC fails once, with its
    note) until it is done; then the client moves the goods into their store product."""
    number = scene.ids["mk"]
    for from_stage, qc in PRODUCTION_STEPS:
        pay_due_milestones(scene)
        _post(clients["admin"], f"/produksi/{number}/lanjut", {
            "dari": from_stage, "catatan": fit(scene.payload, 1000), "qc": qc})
    request = _db.session.get(MaklonRequest, scene.ids["mk_id"])
    assert request.status == RequestStatus.COMPLETED
    for row in request.stages:
        scene.put(row.note)
    _post(clients["client"], f"/maklon/{number}/hasil-produksi",
          {"varian": str(scene.ids["goods_variant"])})


def write_more_maklon_orders(scene: Scene, clients) -> None:
    """Three more requests of the company (through the services): one negotiating with an
    approved quote (the staff quote form, the client's sign form and draft PDF), one
    signed, waiting for its DP on the board (the card and the confirm page), and a draft
    (its edit form holds the stored text in inputs and a textarea)."""
    client = _db.session.get(User, scene.ids["client"])
    admin = _db.session.get(User, scene.ids["admin"])
    negotiating = make_maklon_request(client=client, number=request_number(),
                                      product_name=scene.text(120), notes=scene.text(2000))
    today = _wib_today()
    quote = quote_create(request=negotiating, actor=admin, terms=QuoteTerms(
        delivery_date=today + timedelta(days=150), valid_until=today + timedelta(days=14),
        split={"dp": 30, "mid": 40, "final": 30}, note=scene.text(2000)))
    quote_approve(quote=quote, actor=admin)
    waiting = make_signed_order(client=client, number=request_number(),
                                product_name=scene.text(120))
    draft = make_maklon_request(client=client, number=request_number(),
                                status=RequestStatus.DRAFT, product_name=scene.text(120),
                                notes=scene.text(2000))
    _db.session.commit()
    scene.ids.update(mk2=negotiating.number, mk3=waiting.number, draft=draft.number)


MAKLON_EMAILS = ("maklon_stage", "maklon_quote_approved", "maklon_contract_signed",
                 "maklon_milestone_paid", "maklon_milestone_invoice")

MAKLON_WRITES: list[Callable[[Scene, dict], None]] = [
    write_maklon_client, write_maklon_request, write_raw_material, write_formula,
    write_quote_and_messages, write_contract_signed, write_milestones_paid, write_production,
    write_more_maklon_orders,
]

WRITES: list[Callable[[Scene, dict], None]] = [
    write_admin, write_seller_and_store, write_category, write_product,
    write_buyer_by_registering, write_address, write_delivered_order, write_cancelled_order,
    write_cart, write_interest_form, write_crm, *MAKLON_WRITES,
]


# --- readers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    who: str  # anonymous, buyer, seller, admin, client
    url: Callable[[Scene], str]
    shows: bool = True  # the page shows at least one stored value (proves it is not vacuous)
    status: int = 200
    # A POST reader: the form it sends (a fresh dict per call: files are read once). It
    # must write nothing (a refused form, a check), so the readers after it see the same.
    post: Callable[[Scene], dict] | None = None
    htmx: bool = False  # ask for the fragment htmx swaps in (HX-Request)
    says: str = ""  # text the answer must contain (what the page concluded)


def _u(template: str) -> Callable[[Scene], str]:
    return lambda scene: template.format(**scene.ids)


READS: dict[str, Read] = {
    "home": Read("anonymous", _u("/"), shows=False),
    "search (all)": Read("anonymous", _u("/produk")),
    "search (the payload as query)": Read(
        "anonymous", lambda s: "/produk?" + _query(s.payload[:200])),
    "product page": Read("anonymous", _u("/produk/{product}")),
    "product reviews": Read("anonymous", _u("/produk/{product}/ulasan")),
    "store page": Read("anonymous", _u("/toko/{slug}")),
    "invoice verification": Read("anonymous", lambda s: "/invoice/verifikasi/" + _code(s)),
    "cart": Read("buyer", _u("/keranjang")),
    "checkout": Read("buyer", _u("/checkout")),
    "payment page (paid)": Read("buyer", _u("/checkout/{checkout_paid}")),
    "payment page (cancelled)": Read("buyer", _u("/checkout/{checkout_cancelled}")),
    "my orders": Read("buyer", _u("/pesanan")),
    "order (delivered, buyer)": Read("buyer", _u("/pesanan/{order_delivered}")),
    # A final order's polled block answers 286 (stop polling), with the block.
    "order status block": Read("buyer", _u("/pesanan/{order_delivered}/status"), status=286),
    "order (cancelled, buyer)": Read("buyer", _u("/pesanan/{order_cancelled}")),
    "profile": Read("buyer", _u("/akun")),
    "addresses": Read("buyer", _u("/akun/alamat")),
    "address form": Read("buyer", _u("/akun/alamat/{address}/ubah")),
    "sessions": Read("buyer", _u("/akun/sesi")),
    "notices (buyer)": Read("buyer", _u("/notifikasi")),
    "seller products": Read("seller", _u("/seller/produk")),
    "product form": Read("seller", _u("/seller/produk/{product}/ubah")),
    "inventory": Read("seller", _u("/seller/inventaris")),
    "inventory variant": Read("seller", _u("/seller/varian/{variant}")),
    "store settings": Read("seller", _u("/seller/toko")),
    "seller orders": Read("seller", _u("/seller/pesanan")),
    "order (delivered, seller)": Read("seller", _u("/seller/pesanan/{order_delivered}")),
    "order (cancelled, seller)": Read("seller", _u("/seller/pesanan/{order_cancelled}")),
    "packing slip": Read("seller", _u("/seller/pesanan/{order_delivered}/slip")),
    "seller reviews": Read("seller", _u("/seller/ulasan")),
    "notices (seller)": Read("seller", _u("/notifikasi")),
    "admin users": Read("admin", _u("/admin/pengguna")),
    "admin user (buyer)": Read("admin", _u("/admin/pengguna/{buyer}")),
    "admin user (seller)": Read("admin", _u("/admin/pengguna/{seller}")),
    "audit log": Read("admin", _u("/admin/audit")),
    "payments ledger": Read("admin", _u("/admin/pembayaran")),
    "payment detail": Read("admin", _u("/admin/pembayaran/{payment}")),
    "email outbox": Read("admin", _u("/admin/email")),
    "categories": Read("admin", _u("/admin/kategori")),
    "category form": Read("admin", _u("/admin/kategori/{category}")),
    "crm board": Read("admin", _u("/crm/")),
    "crm leads": Read("admin", _u("/crm/prospek")),
    "crm lead": Read("admin", _u("/crm/prospek/{lead}")),
    "crm lead (website form, lost)": Read("admin", _u("/crm/prospek/{lead_web}")),
    "crm lead form": Read("admin", _u("/crm/prospek/{lead}/ubah")),
    "crm companies": Read("admin", _u("/crm/perusahaan")),
    "crm company": Read("admin", _u("/crm/perusahaan/{company}")),
    "crm company form": Read("admin", _u("/crm/perusahaan/{company}/ubah")),
    "crm contacts": Read("admin", _u("/crm/kontak")),
    "crm contact": Read("admin", _u("/crm/kontak/{contact}")),
    "crm contact form": Read("admin", _u("/crm/kontak/{contact}/ubah")),
    "crm tasks": Read("admin", _u("/crm/tugas")),
    "crm task": Read("admin", _u("/crm/tugas/{task}")),
    "crm team": Read("admin", _u("/crm/tim")),
    # maklon: the client ({mk} completed, {mk2} negotiating, {mk3} waiting for its DP)
    "maklon requests (client)": Read("client", _u("/maklon")),
    # Reports (issue #7): product, store, company and request names in every figure.
    "maklon dashboard (client)": Read("client", _u("/maklon/dasbor")),
    "seller analytics": Read("seller", _u("/seller/analitik")),
    "admin dashboard": Read("admin", _u("/admin/dasbor"), shows=False),
    "admin report: orders": Read("admin", _u("/admin/laporan?laporan=pesanan")),
    "admin report: invoices": Read("admin", _u("/admin/laporan?laporan=faktur"), shows=False),
    "admin report: payments": Read("admin", _u("/admin/laporan?laporan=pembayaran"),
                                   shows=False),
    "admin report: maklon balances": Read("admin", _u("/admin/laporan?laporan=piutang")),
    "admin backups": Read("admin", _u("/admin/cadangan"), shows=False),
    "maklon request form (client)": Read("client", _u("/maklon/baru")),
    "maklon draft edit form (client)": Read("client", _u("/maklon/{draft}/ubah")),
    "maklon request (client)": Read("client", _u("/maklon/{mk}")),
    "maklon quotes (client)": Read("client", _u("/maklon/{mk}/penawaran")),
    "maklon quotes (client, negotiating)": Read("client", _u("/maklon/{mk2}/penawaran")),
    "maklon contract (client, signed)": Read("client", _u("/maklon/{mk}/kontrak")),
    "maklon contract (client, to sign)": Read("client", _u("/maklon/{mk2}/kontrak")),
    "maklon payments (client)": Read("client", _u("/maklon/{mk}/pembayaran")),
    "maklon milestone payment page": Read(
        "client", _u("/maklon/{mk}/pembayaran/bayar/{ms_reference}"), shows=False),
    "maklon production (client)": Read("client", _u("/maklon/{mk}/produksi")),
    "maklon production status block": Read("client", _u("/maklon/{mk}/produksi/status"),
                                           status=286),
    "maklon production (client, waiting)": Read("client", _u("/maklon/{mk3}/produksi")),
    "maklon finished goods (client)": Read("client", _u("/maklon/{mk}/hasil-produksi")),
    "maklon formulas (client)": Read("client", _u("/maklon/formula")),
    "maklon formula (client)": Read("client", _u("/maklon/formula/{formula}")),
    "maklon formula form": Read("client", _u("/maklon/formula/{formula}/ubah")),
    "notices (client)": Read("client", _u("/notifikasi"), shows=False),
    "maklon request form refused, typed (client)": Read(
        "client", _u("/maklon/baru"), status=422,
        post=lambda s: {"action": "submit", "product_name": s.payload[:120],
                        "product_type": "skincare", "packaging": "bottle", "size": "30",
                        "size_unit": "ml", "quantity": "1", "formula_choice": "develop",
                        "notes": s.payload[:2000]}),
    "maklon formula form refused, typed": Read(
        "client", _u("/maklon/formula/{formula}/ubah"), status=422,
        post=lambda s: {"nama": s.payload[:120], "jenis": "skincare", "bahan": ["x"],
                        "jumlah": ["0"]}),
    "maklon thread (htmx, refused message typed)": Read(
        "client", _u("/maklon/{mk2}/pesan"), status=422, htmx=True,
        post=lambda s: {"body": s.payload[:2000], "counter_unit_price": "<b>"}),
    # maklon: staff and admin
    "maklon staff requests": Read("admin", _u("/maklon/staf")),
    "admin user (client)": Read("admin", _u("/admin/pengguna/{client}")),
    "crm company (the client's, made by the first request)": Read(
        "admin", _u("/crm/perusahaan/{client_company}")),
    "maklon request (staff)": Read("admin", _u("/maklon/{mk}")),
    "maklon quotes (staff)": Read("admin", _u("/maklon/{mk}/penawaran")),
    "maklon quotes with the quote form (staff)": Read("admin", _u("/maklon/{mk2}/penawaran")),
    "maklon quote form refused, the note typed (staff)": Read(
        "admin", _u("/maklon/{mk2}/penawaran"), status=422,
        post=lambda s: {**_quote_terms(s.payload[:2000]), "split_final": "31"}),
    "maklon contract (staff)": Read("admin", _u("/maklon/{mk}/kontrak")),
    "maklon payments (staff)": Read("admin", _u("/maklon/{mk}/pembayaran")),
    "maklon production (staff)": Read("admin", _u("/maklon/{mk}/produksi")),
    "maklon production with the step form (staff)": Read("admin", _u("/maklon/{mk3}/produksi")),
    "maklon finished goods (staff)": Read("admin", _u("/maklon/{mk}/hasil-produksi")),
    "production board": Read("admin", _u("/produksi")),
    "stage confirm": Read("admin", _u("/produksi/{mk3}/lanjut")),
    "stage step refused, the note typed": Read(
        "admin", _u("/produksi/{mk3}/lanjut"), status=409,
        post=lambda s: {"dari": "concept_approved", "catatan": s.payload[:1000], "qc": ""}),
    "production board (htmx)": Read("admin", _u("/produksi"), htmx=True),
    "stage confirm (htmx: the card as the form)": Read(
        "admin", _u("/produksi/{mk3}/lanjut"), htmx=True),
    "raw materials": Read("admin", _u("/bahan-baku")),
    "raw material row (htmx)": Read("admin", _u("/bahan-baku/{material}"), htmx=True),
    "raw material edit row (htmx)": Read("admin", _u("/bahan-baku/{material}/ubah"),
                                         htmx=True),
    "raw material stock row (htmx)": Read("admin", _u("/bahan-baku/{material}/ubah?stok=1"),
                                          htmx=True),
    "raw material form refused, typed": Read(
        "admin", _u("/bahan-baku/baru"), status=422,
        post=lambda s: {"kode": "<b>", "nama": s.payload[:120], "inci": s.payload[:200],
                        "satuan": "g", "asal": "local", "batas": "0", "harga": "1"}),
    "raw materials (the payload as query)": Read(
        "admin", lambda s: "/bahan-baku?" + _query(s.payload[:100])),
    "raw material edit row": Read("admin", _u("/bahan-baku?ubah={material}")),
    "raw material stock row": Read("admin", _u("/bahan-baku?stok={material}")),
    "raw material history": Read("admin", _u("/bahan-baku/{material}/riwayat")),
    "maklon formulas (staff)": Read("admin", _u("/maklon/formula")),
    "maklon formula (admin)": Read("admin", _u("/maklon/formula/{formula}")),
    "audit log (maklon requests)": Read("admin", _u("/admin/audit?objek=maklon_request")),
    "audit log (raw materials)": Read("admin", _u("/admin/audit?objek=raw_material")),
    "payment detail (milestone)": Read("admin", _u("/admin/pembayaran/{ms_payment}")),
    "notices (admin)": Read("admin", _u("/notifikasi")),
    "invoice verification (milestone)": Read(
        "anonymous", _u("/invoice/verifikasi/{ms_invoice_code}"), shows=False),
    "contract verification (the signed PDF and its code)": Read(
        "anonymous", _u("/kontrak/verifikasi"), shows=False,
        says='data-testid="contract-valid"',  # the seal covers the payload user agent
        post=lambda s: {"kode": s.ids["contract_code"],
                        "pdf": (io.BytesIO(_contract_pdf(s)), "kontrak.pdf")}),
}


def _query(text: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"q": text})


def _code(scene: Scene) -> str:
    return _db.session.get(Invoice, scene.ids["invoice"]).verification_code


def _contract_pdf(scene: Scene) -> bytes:
    from app.core.storage import storage_path

    row = _db.session.scalars(select(ContractSignature).where(
        ContractSignature.verification_code == scene.ids["contract_code"])).one()
    return storage_path(row.pdf_key).read_bytes()


# --- the checks -------------------------------------------------------------------------

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "hx-get", "hx-post", "hx-put",
                  "hx-delete", "hx-patch", "xlink:href", "poster", "background", "srcset"}
FORBIDDEN_TAGS = {"iframe", "object", "embed", "base", "frame", "frameset", "applet"}
CONTROL = re.compile(r"[\x00-\x20\u00a0\u200b-\u200f\u2028-\u202e\ufeff]+")


class MarkupScan(HTMLParser):
    """Every tag and attribute of a page; collects what a stored payload could have added."""

    def __init__(self, *, email: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.email = email
        self.problems: list[str] = []
        self.in_qr = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        where = f"<{tag} {values}>"
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"forbidden tag {where}")
        if tag == "svg":
            # Ours: the server-drawn QR codes, the analytics charts (app/reports/charts.py)
            # the header's icons (_macros/icons.html) and the home page's mark.
            classes = values.get("class", "").split()
            self.in_qr = bool({"qr-code", "chart", "icon", "home-mark"} & set(classes))
            if not self.in_qr:
                self.problems.append(f"svg that is not our QR code, chart, icon or mark {where}")
        if tag == "script" and not values.get("src", "").startswith("/static/"):
            self.problems.append(f"script that is not our static file {where}")
        if tag == "img":
            src = values.get("src", "")
            if not (src.startswith(("/media/", "/static/")) or self.email):
                self.problems.append(f"image from elsewhere {where}")
        for name, value in values.items():
            if name.startswith("on"):
                self.problems.append(f"event handler {name} {where}")
            if name == "style":
                if not self.email:
                    self.problems.append(f"inline style {where}")
                elif re.search(r"url\(|expression|javascript", value, re.I):
                    self.problems.append(f"style with a URL or script {where}")
            if name in URL_ATTRIBUTES:
                bare = CONTROL.sub("", value).lower()
                if bare.startswith(("javascript:", "vbscript:", "data:", "livescript:")):
                    self.problems.append(f"script URL in {name} {where}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.in_qr = False


def check_html(html: str, scene: Scene, where: str, *, email: bool = False,
               shows: bool = True) -> None:
    where = f"{where} [payload {scene.payload[:80]!r}]"  # each failure names its payload
    raw = [v for v in scene.written if v and str(escape(v)) != v and v in html]
    assert not raw, f"{where}: stored value rendered unescaped: {raw[0][:120]!r}"
    if shows:
        assert any(str(escape(v)) in html for v in scene.written if v), (
            f"{where}: shows none of the stored values (is the read table right?)")
    scan = MarkupScan(email=email)
    scan.feed(html)
    scan.close()
    assert not scan.problems, f"{where}: {scan.problems[0][:300]}"
    for payload, evaluated in TEMPLATE_MARKERS.items():
        if payload == scene.payload:
            assert evaluated not in html, f"{where}: template text was evaluated"
    if scene.payload.startswith("{% raw %}"):
        assert html.count("r{{ 7*7 }}r") == html.count("{% raw %}r{{ 7*7 }}r"), where


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(data)
    result = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                            check=True)
    return result.stdout


# --- the test ---------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS, ids=[f"p{n:02d}" for n in range(len(PAYLOADS))])
def test_stored_payload_renders_escaped_everywhere(app, db, tmp_path, payload):
    app.test_client_class = CsrfClient
    clients = {who: app.test_client() for who in ("anonymous", "buyer", "seller", "admin",
                                                  "client")}
    scene = Scene(payload=payload)
    for write in WRITES:
        write(scene, clients)
    assert len(READS) >= 50

    for name, read in READS.items():
        url = read.url(scene)
        headers = {"HX-Request": "true"} if read.htmx else {}
        if read.post is None:
            response = clients[read.who].get(url, headers=headers)
        else:
            response = clients[read.who].post(url, data=read.post(scene), headers=headers,
                                              content_type="multipart/form-data")
        assert response.status_code == read.status, f"{name} ({url}): {response.status_code}"
        assert read.says in response.get_data(as_text=True), f"{name}: {read.says}"
        check_html(response.get_data(as_text=True), scene, name, shows=read.shows)

    rows = db.session.scalars(select(EmailOutbox).order_by(EmailOutbox.id)).all()
    # Every email went out (a subject with a line break once stopped one: header injection).
    assert {row.status for row in rows} == {"sent"}, [(r.template, r.status) for r in rows]
    templates = {row.template for row in rows}
    assert {"welcome", "order_confirmation", "order_status", "return_requested",
            "return_decided", "invoice", "crm_contact_email", "crm_task_digest",
            *MAKLON_EMAILS} <= templates
    for row in rows:
        check_html(row.body_html, scene, f"email {row.template}", email=True, shows=False)
        assert "\n" not in row.subject and "\r" not in row.subject, row.template
    for template in ("order_confirmation", "return_decided", "crm_contact_email",
                     "crm_task_digest", *MAKLON_EMAILS):
        html = " ".join(r.body_html for r in rows if r.template == template)
        assert any(str(escape(v)) in html for v in scene.written), f"email {template}"

    # The invoice PDF: reportlab reads markup in its paragraphs; the payload must come out
    # as the literal text it is (and not break the document).
    pdf = clients["buyer"].get(f"/invoice/{scene.ids['invoice']}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    if shutil.which("pdftotext") and payload.isascii():
        text = re.sub(r"\s+", "", pdf_text(pdf.data, tmp_path))
        product = re.sub(r"\s+", "", db.session.get(Product, scene.ids["product"]).name)
        assert product[:30] in text

    # The reference file comes back as an attachment under its display name: one header
    # line, whatever the name holds.
    file_id = db.session.get(MaklonRequest, scene.ids["mk_id"]).files[0].id
    download = clients["client"].get(f"/maklon/{scene.ids['mk']}/berkas/{file_id}")
    disposition = download.headers["Content-Disposition"]
    assert download.status_code == 200 and disposition.startswith("attachment")
    assert not re.search(r"[\r\n]", disposition)

    # The maklon PDFs (reportlab too): the signed contract prints the product, the
    # company and its address, the quote's note and the signer; the draft contract the
    # same but the signer; a milestone invoice the company and the product.
    client = db.session.get(User, scene.ids["client"])
    signed = db.session.get(MaklonRequest, scene.ids["mk_id"])
    negotiating = db.session.scalars(select(MaklonRequest).where(
        MaklonRequest.number == scene.ids["mk2"])).one()
    company = signed.company
    for name, url, printed in (
            ("signed contract", f"/maklon/{signed.number}/kontrak.pdf",
             [signed.product_name, company.name, company.address, signed.quotes[0].note,
              client.name]),
            ("draft contract", f"/maklon/{negotiating.number}/kontrak.pdf",
             [negotiating.product_name, company.name, negotiating.quotes[0].note]),
            ("milestone invoice", f"/invoice/{scene.ids['ms_invoice']}.pdf",
             [company.name, company.address, signed.product_name])):
        pdf = clients["client"].get(url)
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf", name
        if not shutil.which("pdftotext"):
            continue
        text = re.sub(r"\s+", "", pdf_text(pdf.data, tmp_path))  # the document is readable
        if payload.isascii():
            for value in printed:
                assert re.sub(r"\s+", "", value)[:30] in text, (name, value[:60])


def test_company_website_must_be_a_web_address(client, db):
    """A `javascript:` link passes a plain URL check (`javascript://x%0Aalert(1)`); the form
    takes http(s) only, and the company page never links anything else."""
    admin = make_user(roles=("admin",))
    db.session.commit()
    log_in(client, admin.email)
    for website in ("javascript://x%0Aalert(1)", "JavaScript://evil.test/%0Aalert(1)",
                    "data://x/text/html", "ftp://files.example.test"):
        response = client.post("/crm/perusahaan/baru", data={"name": "PT Aman",
                                                             "website": website})
        assert response.status_code == 422, website
    assert client.post("/crm/perusahaan/baru", data={
        "name": "PT Aman", "website": "https://aman.example.test"}).status_code == 303
    # A value stored before this rule (or by an import) is shown, not linked.
    company = company_save(details=CompanyDetails(name="PT Lama",
                                                  website="javascript://x%0Aalert(1)"))
    db.session.commit()
    html = client.get(f"/crm/perusahaan/{company.id}").get_data(as_text=True)
    assert 'href="javascript' not in html.lower()
    assert "javascript://x%0Aalert(1)" in html
