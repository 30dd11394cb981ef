"""Idempotent demo data for `make run` (never in production).

Each feature extends `demo_load` so a new user sees a living shop. Running it twice changes
nothing: rows are looked up by their natural keys before being created.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from app.accounts.models import RoleName, User
from app.accounts.passwords import password_hash
from app.accounts.services import role_get, store_create, user_by_email
from app.extensions import db

DEMO_PASSWORD = "racik-demo-2026"  # noqa: S105 - documented demo credential


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    roles: tuple[str, ...]
    store: tuple[str, str] | None = None  # (name, location)


DEMO_ACCOUNTS = (
    DemoAccount("admin@racik.test", "Admin Racik", (RoleName.ADMIN,)),
    DemoAccount("staff@racik.test", "Sari Produksi", (RoleName.STAFF,)),
    DemoAccount("seller@racik.test", "Dewi Lestari", (RoleName.SELLER, RoleName.CUSTOMER),
                ("Glow Nusantara", "Bandung")),
    DemoAccount("seller2@racik.test", "Budi Santoso", (RoleName.SELLER, RoleName.CUSTOMER),
                ("Herbal Jaya", "Surabaya")),
    DemoAccount("client@racik.test", "Rina Wijaya", (RoleName.CLIENT, RoleName.SELLER,
                                                     RoleName.CUSTOMER),
                ("Rina Beauty", "Jakarta Selatan")),
    DemoAccount("buyer@racik.test", "Andi Pratama", (RoleName.CUSTOMER,)),
)


class DemoRefused(RuntimeError):
    pass


def demo_load() -> list[DemoAccount]:
    """Create the demo accounts (and their stores) that do not exist yet. Flushes only."""
    if not current_app.config.get("DEMO_DATA_ALLOWED"):
        raise DemoRefused("demo data is never created in production")
    for account in DEMO_ACCOUNTS:
        user = user_by_email(account.email)
        if user is None:
            user = User(email=account.email, name=account.name,
                        password_hash=password_hash(DEMO_PASSWORD))
            db.session.add(user)
            db.session.flush()
        for role in account.roles:
            if not user.has_role(role):
                user.roles.append(role_get(role))
        if account.store and user.store is None:
            store_create(owner=user, name=account.store[0], location=account.store[1])
    db.session.flush()
    _demo_crm()
    return list(DEMO_ACCOUNTS)


DEMO_COMPANIES = (
    # name, business type, city, contact name, position, phone, email
    ("PT Ayu Cantik Indonesia", "skincare", "Jakarta Selatan", "Maya Kusuma", "Pemilik merek",
     "+62 812 1111 2222", "maya@ayucantik.test"),
    ("CV Herbal Sehat Nusantara", "suplemen", "Surabaya", "Hendra Wijaya", "Direktur",
     "+62 813 3333 4444", "hendra@herbalsehat.test"),
    ("Glow Lab Bandung", "kosmetik", "Bandung", "Citra Lestari", "Manajer produk",
     "+62 815 5555 6666", "citra@glowlab.test"),
    ("Rumah Sabun Bali", "sabun & perawatan tubuh", "Denpasar", "Made Arta", "Pemilik",
     "+62 817 7777 8888", "made@rumahsabun.test"),
)
# title, company index, status, value (Rp), source
DEMO_LEADS = (
    ("Serum vitamin C 5.000 pcs", 0, "new", 150_000_000, "website_form"),
    ("Kapsul temulawak 10.000 botol", 1, "contacted", 320_000_000, "exhibition"),
    ("Lip cream 12 warna", 2, "qualified", 210_000_000, "referral"),
    ("Sabun cair lavender 3.000 pcs", 3, "proposal", 75_000_000, "marketplace_seller"),
    ("Toner niacinamide", 0, "won", 95_000_000, "referral"),
    ("Masker wajah sachet", 2, "lost", 40_000_000, "other"),
)
# title, due in days from today (negative: overdue), priority
DEMO_TASKS = (
    ("Telepon Maya soal sampel serum", -2, "high"),
    ("Kirim katalog kemasan ke Hendra", -1, "normal"),
    ("Siapkan proposal sabun cair", 0, "high"),
    ("Jadwalkan kunjungan pabrik Glow Lab", 3, "normal"),
)


def _demo_crm() -> None:
    """A small CRM: companies with contacts, a lead in every stage, tasks (some overdue)
    for the demo staff member, whose position is sales. Looked up by name first."""
    from datetime import timedelta

    from sqlalchemy import select

    from app.accounts.models import Company, StaffPosition
    from app.crm.models import Contact, Lead, LeadStatus, Task
    from app.crm.services import wib_today

    staff = user_by_email("staff@racik.test")
    if staff is None:
        return
    if staff.position is None:
        staff.position = StaffPosition.SALES
    companies = []
    for name, business_type, city, contact_name, position, phone, email in DEMO_COMPANIES:
        company = db.session.scalars(select(Company).where(Company.name == name)).first()
        if company is None:
            company = Company(name=name, business_type=business_type, city=city)
            db.session.add(company)
            db.session.flush()
            db.session.add(Contact(company_id=company.id, name=contact_name, position=position,
                                   phone=phone, whatsapp=phone, email=email))
        companies.append(company)
    for title, index, status, value, source in DEMO_LEADS:
        if db.session.scalars(select(Lead).where(Lead.title == title)).first() is not None:
            continue
        company = companies[index]
        db.session.add(Lead(
            title=title, company_id=company.id, company_name=company.name, status=status,
            estimated_value=value, source=source, owner_id=staff.id,
            lost_reason="Harga kemasan di atas anggaran" if status == LeadStatus.LOST else "",
        ))
        if status == LeadStatus.WON:
            company.is_client = True
    today = wib_today()
    for title, days, priority in DEMO_TASKS:
        if db.session.scalars(select(Task).where(Task.title == title)).first() is not None:
            continue
        db.session.add(Task(title=title, due_date=today + timedelta(days=days),
                            priority=priority, assignee_id=staff.id, created_by_id=staff.id,
                            company_id=companies[0].id if days < 0 else None))
    db.session.flush()
