"""What the maklon vocabularies are called on screen (Indonesian source strings).

Every page and email of the maklon area takes its labels from here, so a status or a
product type reads the same everywhere."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from app.maklon.models import (
    FormulaChoice,
    MilestoneKind,
    MilestoneStatus,
    Packaging,
    ProductType,
    QuoteStatus,
    RequestStatus,
    Stage,
)
from app.maklon.pricing import (
    LINE_DEVELOPMENT,
    LINE_IMPORT,
    LINE_LABOUR,
    LINE_LOCAL,
    LINE_PACKAGING,
)

PRODUCT_TYPE_LABELS: dict[str, Any] = {
    ProductType.SKINCARE: _l("Perawatan kulit (skincare)"),
    ProductType.BODY_CARE: _l("Perawatan tubuh (body care)"),
    ProductType.HAIR_CARE: _l("Perawatan rambut (hair care)"),
    ProductType.DECORATIVE: _l("Kosmetik dekoratif"),
    ProductType.SUPPLEMENT: _l("Suplemen"),
    ProductType.OTHER: _l("Lainnya"),
}

PACKAGING_LABELS: dict[str, Any] = {
    Packaging.BOTTLE: _l("Botol"),
    Packaging.JAR: _l("Jar (pot)"),
    Packaging.TUBE: _l("Tube"),
    Packaging.AIRLESS: _l("Airless pump"),
    Packaging.SACHET: _l("Sachet"),
    Packaging.POUCH: _l("Pouch"),
    Packaging.CUSTOM: _l("Kemasan khusus (ukuran sendiri)"),
}

FORMULA_CHOICE_LABELS: dict[str, Any] = {
    FormulaChoice.STORED: _l("Pakai formula perusahaan yang tersimpan"),
    FormulaChoice.DEVELOP: _l("Minta formula dikembangkan oleh kami"),
    FormulaChoice.UPLOAD: _l("Unggah spesifikasi formula sendiri"),
}

REQUEST_STATUS_LABELS: dict[str, Any] = {
    RequestStatus.DRAFT: _l("Draf"),
    RequestStatus.SUBMITTED: _l("Diajukan"),
    RequestStatus.NEGOTIATING: _l("Negosiasi"),
    RequestStatus.SIGNED: _l("Kontrak ditandatangani"),
    RequestStatus.COMPLETED: _l("Selesai"),
    RequestStatus.CANCELLED: _l("Dibatalkan"),
}

PRICE_LINE_LABELS = {
    LINE_LOCAL: _l("Bahan baku lokal"),
    LINE_IMPORT: _l("Bahan baku impor (termasuk biaya tambahan impor)"),
    LINE_PACKAGING: _l("Kemasan"),
    LINE_LABOUR: _l("Tenaga kerja & overhead"),
    LINE_DEVELOPMENT: _l("Pengembangan formula"),
}

FILE_KIND_LABELS = {
    "spec": _l("Spesifikasi formula"),
    "reference": _l("Referensi"),
}

SIZE_UNITS = ("ml", "g")

STAGE_LABELS: dict[str, Any] = {
    Stage.CONCEPT_APPROVED: _l("Konsep Disetujui"),
    Stage.MATERIAL_PURCHASE: _l("Pembelian Bahan Baku"),
    Stage.FORMULATION: _l("Proses Formulasi"),
    Stage.QC: _l("Kontrol Kualitas"),
    Stage.PACKAGING: _l("Pengemasan"),
    Stage.SHIPPING_SCHEDULED: _l("Pengiriman Dijadwalkan"),
    Stage.DONE: _l("Selesai"),
}
QC_LABELS = {"pass": _l("Lulus"), "fail": _l("Gagal")}
# How the client confirmed the contract (ContractSignature.auth_method).
SIGN_METHOD_LABELS = {"password": _l("kata sandi"), "totp": _l("kode autentikator"),
                      "recovery": _l("kode pemulihan")}

QUOTE_STATUS_LABELS: dict[str, Any] = {
    QuoteStatus.PENDING_APPROVAL: _l("Menunggu persetujuan admin"),
    QuoteStatus.APPROVED: _l("Disetujui"),
    QuoteStatus.SUPERSEDED: _l("Digantikan versi baru"),
    QuoteStatus.ACCEPTED: _l("Diterima (kontrak)"),
}

MILESTONE_LABELS: dict[str, Any] = {
    MilestoneKind.DP: _l("DP"),
    MilestoneKind.MID: _l("Termin tengah"),
    MilestoneKind.FINAL: _l("Pelunasan"),
}
# The same, inside a sentence ("Menunggu pembayaran termin tengah 40% ...").
MILESTONE_PHRASES: dict[str, Any] = {
    MilestoneKind.DP: _l("DP"),
    MilestoneKind.MID: _l("termin tengah"),
    MilestoneKind.FINAL: _l("pelunasan"),
}
MILESTONE_STATUS_LABELS: dict[str, Any] = {MilestoneStatus.UNPAID: _l("Belum dibayar"),
                           MilestoneStatus.PAID: _l("Lunas")}

DIFF_LABELS = {
    "quantity": _l("Jumlah"),
    "unit_price": _l("Harga satuan"),
    "total": _l("Total"),
    "delivery_date": _l("Tanggal kirim"),
    "valid_until": _l("Berlaku sampai"),
    "split": _l("Pembagian termin"),
    "margin": _l("Margin %"),
    "discount": _l("Diskon %"),
}
