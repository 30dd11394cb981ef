"""Writing the audit log.

    audit_record("order.status", object_type="order", object_id=order.number,
                 before={"status": "pending"}, after={"status": "processing"})

`audit_record` adds the row to the caller's transaction: it is kept exactly when the action
it describes is kept. `audit_record_now` writes in a short transaction of its own, for what
must be remembered even though the request's transaction rolls back or writes nothing (a
failed login). The actor defaults to the logged-in user, the IP address and the request id
to the current request's. Values are JSON: never put secrets, password hashes, tokens or
formula compositions in `before`/`after` — name what changed instead.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import insert

from app.audit.models import AuditEntry
from app.core.clock import utcnow
from app.core.db import write_connection
from app.core.logs import current_job_id, current_log_id
from app.extensions import db

log = logging.getLogger(__name__)

# Every action written, with its label on the admin page. A new kind of action is added here.
ACTIONS: dict[str, object] = {
    "auth.login": _l("Masuk"),
    "auth.login_failed": _l("Gagal masuk"),
    "auth.logout": _l("Keluar"),
    "auth.api_token_reuse": _l("Token API dipakai ulang (login API dicabut)"),
    "auth.password_change": _l("Ganti kata sandi"),
    "auth.password_reset": _l("Atur ulang kata sandi"),
    "auth.totp_enable": _l("Verifikasi dua langkah diaktifkan"),
    "auth.totp_disable": _l("Verifikasi dua langkah dimatikan"),
    "auth.totp_failed": _l("Kode verifikasi dua langkah salah"),
    "auth.recovery_code_used": _l("Kode pemulihan dipakai"),
    "auth.recovery_codes_new": _l("Kode pemulihan dibuat ulang"),
    "user.roles": _l("Peran pengguna diubah"),
    "user.deactivate": _l("Pengguna dinonaktifkan"),
    "user.activate": _l("Pengguna diaktifkan"),
    "user.reset_link": _l("Tautan atur ulang kata sandi dikirim admin"),
    "user.session_end": _l("Sesi pengguna diakhiri admin"),
    "settings.change": _l("Pengaturan diubah"),
    "product.price": _l("Harga diubah"),
    "stock.adjust": _l("Stok disesuaikan"),
    "order.status": _l("Status pesanan"),
    "payment.status": _l("Status pembayaran"),
    "payment.decision": _l("Keputusan admin atas pembayaran"),
    "refund.done": _l("Dana dikembalikan"),
    "payment.notification_rejected": _l("Notifikasi gateway ditolak"),
    "payment.gateway_refund": _l("Dana dikembalikan lewat gateway"),
    "audit.archive": _l("Log audit diarsipkan"),
    "maklon.request_submit": _l("Permintaan maklon diajukan"),
    "maklon.request_cancel": _l("Permintaan maklon dibatalkan klien"),
    "maklon.quote_create": _l("Penawaran maklon dibuat"),
    "maklon.quote_approve": _l("Penawaran maklon disetujui admin"),
    "maklon.contract_sign": _l("Kontrak maklon ditandatangani"),
    "maklon.milestone_split": _l("Pembagian termin pembayaran diubah"),
    "maklon.milestone_paid": _l("Termin pembayaran maklon lunas"),
    "maklon.milestone_refunded": _l("Dana termin maklon dikembalikan"),
    "maklon.stage": _l("Tahap produksi maklon"),
    "maklon.goods_moved": _l("Hasil produksi dipindah ke toko"),
    "report.export": _l("Ekspor laporan"),
    "formula.decrypt": _l("Komposisi formula dibuka"),
    "formula.save": _l("Formula disimpan"),
    "formula.rotate": _l("Kunci enkripsi formula diganti"),
    "material.adjust": _l("Stok bahan baku diubah"),
    "material.update": _l("Data bahan baku diubah"),
    "backup.create": _l("Cadangan dibuat"),
    "backup.verify": _l("Cadangan diverifikasi"),
    "backup.restore": _l("Cadangan dipulihkan"),
    "crm.archive": _l("Data CRM diarsipkan"),
    "crm.restore": _l("Data CRM dipulihkan"),
    "crm.delete": _l("Data CRM dihapus"),
}
NOTE_MAX = 300


def _context(actor: Any) -> dict[str, Any]:
    if actor is _CURRENT:
        actor = current_user if has_request_context() and current_user \
            and current_user.is_authenticated else None
    values: dict[str, Any] = {
        "actor_id": getattr(actor, "id", None),
        "actor_label": (getattr(actor, "email", "") or "")[:320],
        # The request's id; in a job, the id of the request that queued it (else the job's).
        "request_id": (current_log_id.get() if current_log_id.get() != "-"
                       else current_job_id.get() or "")[:64],
        "ip_address": "",
    }
    if has_request_context():
        values["ip_address"] = (request.remote_addr or "")[:45]
    return values


_CURRENT = object()  # "the logged-in user of this request, if any"


def _row(action: str, actor: Any, object_type: str, object_id: object,
         before: dict[str, Any] | None, after: dict[str, Any] | None,
         note: str) -> dict[str, Any]:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to ACTIONS")
    return {"action": action, "object_type": object_type[:40],
            "object_id": "" if object_id is None else str(object_id)[:60],
            "before": before, "after": after, "note": (note or "")[:NOTE_MAX],
            "created_at": utcnow(), **_context(actor)}


def audit_record(action: str, *, actor: Any = _CURRENT, object_type: str = "",
                 object_id: object = None, before: dict[str, Any] | None = None,
                 after: dict[str, Any] | None = None, note: str = "") -> AuditEntry:
    """Add an audit row to the current transaction (kept if, and only if, it commits).
    `actor=None` records the system."""
    entry = AuditEntry(**_row(action, actor, object_type, object_id, before, after, note))
    db.session.add(entry)
    return entry


def audit_record_now(action: str, *, actor: Any = _CURRENT, object_type: str = "",
                     object_id: object = None, before: dict[str, Any] | None = None,
                     after: dict[str, Any] | None = None, note: str = "") -> None:
    """Write an audit row at once, in a transaction of its own (kept whatever happens to
    the caller's). Not while the caller's own transaction may hold SQLite's write lock."""
    values = _row(action, actor, object_type, object_id, before, after, note)
    with write_connection() as connection:
        connection.execute(insert(AuditEntry).values(**values))


def audit_changes(before: dict[str, Any], after: dict[str, Any]
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only what changed: ({key: old}, {key: new}) for the keys whose values differ."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def _setting_changed(key: str, *, actor: Any, before: Any, after: Any) -> None:
    audit_record("settings.change", actor=actor, object_type="setting", object_id=key,
                 before={"value": before}, after={"value": after})


def settings_audit_connect() -> None:
    """Audit every changed setting (app.core.settings sends `setting_changed`; core knows
    no domain). Connected once per process; connecting again changes nothing."""
    from app.core.settings import setting_changed

    setting_changed.connect(_setting_changed)
