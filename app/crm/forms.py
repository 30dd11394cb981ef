"""CRM forms. Messages are Indonesian source strings, translated by Flask-Babel."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    DateTimeLocalField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # in WTForms 3.2, missing from its stubs
from wtforms.validators import (
    URL,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from app.accounts.forms import PHONE_PATTERN, EmailAddress
from app.accounts.models import StaffPosition
from app.core.forms import RupiahField, WholeNumberField
from app.crm.models import ActivityKind, LeadSource, TaskPriority
from app.crm.services import CompanyDetails, ContactDetails, LeadDetails

SOURCE_LABELS: dict[str, Any] = {
    LeadSource.WEBSITE_FORM: _l("Formulir situs"),
    LeadSource.EXHIBITION: _l("Pameran"),
    LeadSource.REFERRAL: _l("Referensi"),
    LeadSource.MARKETPLACE_SELLER: _l("Penjual marketplace"),
    LeadSource.OTHER: _l("Lainnya"),
}
PRIORITY_LABELS: dict[str, Any] = {
    TaskPriority.LOW: _l("Rendah"),
    TaskPriority.NORMAL: _l("Normal"),
    TaskPriority.HIGH: _l("Tinggi"),
}
ACTIVITY_LABELS: dict[str, Any] = {
    ActivityKind.CALL: _l("Telepon"),
    ActivityKind.MEETING: _l("Rapat"),
    ActivityKind.EMAIL: _l("Email"),
    ActivityKind.NOTE: _l("Catatan"),
    ActivityKind.STATUS: _l("Status"),
    ActivityKind.ASSIGNMENT: _l("Penugasan"),
    "task": _l("Tugas"),
    "lead": _l("Prospek"),
    "contact": _l("Kontak"),
}
POSITION_LABELS: dict[str, Any] = {
    StaffPosition.SALES: _l("Penjualan"),
    StaffPosition.PRODUCTION: _l("Produksi"),
    StaffPosition.WAREHOUSE: _l("Gudang"),
    StaffPosition.QUALITY: _l("Kontrol mutu"),
    StaffPosition.FINANCE: _l("Keuangan"),
}
NPWP_PATTERN = r"^[0-9.\- ]{15,20}$"


def _required() -> InputRequired:
    return InputRequired(message=_l("Wajib diisi."))


def _max(n: int) -> Length:
    return Length(max=n, message=_l("Maksimal %(max)d karakter."))


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def int_or_none(value) -> int | None:
    """A select/hidden field's id value as an int, or None for empty or garbage."""
    try:
        return int(value) if value not in (None, "", "None") else None
    except (TypeError, ValueError):
        return None


class ChoiceCheck:
    """A select's value must be one of its choices (message in our language)."""

    def __call__(self, form, field) -> None:
        values = {str(choice[0]) if isinstance(choice, tuple) else str(choice.value)
                  for choice in field.choices or []}
        if str(field.data if field.data is not None else "") not in values:
            raise ValidationError(_l("Pilihan tidak valid."))


def _phone():
    return [Optional(), _max(30),
            Regexp(PHONE_PATTERN, message=_l("Nomor telepon tidak valid."))]


class CompanyForm(FlaskForm):
    name = StringField(_l("Nama perusahaan"), filters=[_strip], validators=[_required(),
                                                                            _max(160)])
    business_type = StringField(_l("Jenis usaha"), filters=[_strip], validators=[_max(80)],
                                description=_l("Misalnya: kosmetik, skincare, suplemen"))
    city = StringField(_l("Kota"), filters=[_strip], validators=[_max(80)])
    npwp = StringField(_l("NPWP"), filters=[_strip], validators=[
        Optional(), Regexp(NPWP_PATTERN, message=_l("NPWP harus 15 atau 16 digit."))])
    address = TextAreaField(_l("Alamat"), filters=[_strip], validators=[_max(1000)])
    employee_count = WholeNumberField(
        _l("Jumlah karyawan"), minimum=0, maximum=10_000_000, validators=[Optional()],
        negative_message=_l("Jumlah karyawan tidak boleh negatif."))
    website = StringField(_l("Situs web"), filters=[_strip], validators=[
        Optional(), _max(300),
        # http(s) only, said explicitly: the page links it (a javascript: URL would run).
        URL(require_tld=False, schemes=("http", "https"),
            message=_l("Alamat situs tidak valid (awali dengan https://)."))])
    notes = TextAreaField(_l("Catatan"), filters=[_strip], validators=[_max(5000)])

    def validate_npwp(self, field) -> None:
        digits = [c for c in field.data or "" if c.isdigit()]
        if field.data and len(digits) not in (15, 16):
            raise ValidationError(_l("NPWP harus 15 atau 16 digit."))

    def details(self) -> CompanyDetails:
        """What the web form and the API hand to `company_save`."""
        return CompanyDetails(**{name: getattr(self, name).data or "" for name in (
            "name", "business_type", "city", "npwp", "address", "website", "notes")},
            employee_count=self.employee_count.data)


class ContactForm(FlaskForm):
    name = StringField(_l("Nama"), filters=[_strip], validators=[_required(), _max(120)])
    family_name = StringField(_l("Nama keluarga"), filters=[_strip], validators=[_max(120)])
    birth_date = DateField(_l("Tanggal lahir"), validators=[Optional()],
                           render_kw={"type": "date"})
    company_id = SelectField(_l("Perusahaan"), coerce=str, validators=[ChoiceCheck()])
    position = StringField(_l("Jabatan"), filters=[_strip], validators=[_max(120)])
    phone = TelField(_l("Telepon"), filters=[_strip], validators=_phone())
    email = EmailField(_l("Email"), filters=[_strip],
                       validators=[Optional(), _max(320), EmailAddress()])
    whatsapp = TelField(_l("Nomor WhatsApp"), filters=[_strip], validators=_phone())
    notes = TextAreaField(_l("Catatan"), filters=[_strip], validators=[_max(5000)])

    def details(self) -> ContactDetails:
        """What the web form and the API hand to `contact_save`."""
        return ContactDetails(
            name=self.name.data or "", company_id=int_or_none(self.company_id.data),
            family_name=self.family_name.data or "", birth_date=self.birth_date.data,
            position=self.position.data or "", phone=self.phone.data or "",
            email=self.email.data or "", whatsapp=self.whatsapp.data or "",
            notes=self.notes.data or "")


class LeadForm(FlaskForm):
    title = StringField(_l("Judul"), filters=[_strip], validators=[_required(), _max(200)],
                        description=_l("Misalnya: Serum vitamin C 5.000 pcs"))
    company_id = SelectField(_l("Perusahaan"), coerce=str, validators=[ChoiceCheck()])
    company_name = StringField(_l("Nama perusahaan (jika belum terdaftar)"), filters=[_strip],
                               validators=[_max(160)])
    contact_name = StringField(_l("Nama kontak"), filters=[_strip], validators=[_max(120)])
    contact_email = EmailField(_l("Email kontak"), filters=[_strip],
                               validators=[Optional(), _max(320), EmailAddress()])
    contact_phone = TelField(_l("Telepon kontak"), filters=[_strip], validators=_phone())
    estimated_value = RupiahField(_l("Perkiraan nilai (Rp)"), default=0,
                                  validators=[Optional()], maximum=10**13)
    source = SelectField(_l("Sumber"),
                         choices=[SelectChoice(k, v) for k, v in SOURCE_LABELS.items()],
                         default=LeadSource.OTHER, validate_choice=False,
                         validators=[ChoiceCheck()])
    owner_id = SelectField(_l("Pemilik"), coerce=str, validators=[ChoiceCheck()])
    notes = TextAreaField(_l("Catatan"), filters=[_strip], validators=[_max(5000)])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not self.company_id.data and not (self.company_name.data or "").strip():
            self.company_name.errors = [*self.company_name.errors,
                                        _l("Pilih perusahaan atau tulis namanya.")]
            valid = False
        return valid

    def details(self, contact_id: int | None = None) -> LeadDetails:
        """What the web form and the API hand to `lead_create` / `lead_update` (the form
        has no contact field: `contact_id` is the lead's, kept on edit)."""
        return LeadDetails(
            title=self.title.data or "", source=self.source.data,
            estimated_value=self.estimated_value.data or 0,
            company_id=int_or_none(self.company_id.data),
            contact_id=contact_id,
            company_name=self.company_name.data or "",
            contact_name=self.contact_name.data or "",
            contact_email=self.contact_email.data or "",
            contact_phone=self.contact_phone.data or "", notes=self.notes.data or "",
            owner_id=int_or_none(self.owner_id.data))


class LeadMoveForm(FlaskForm):
    status = HiddenField(_l("Status"), validators=[_required()])
    lost_reason = TextAreaField(_l("Alasan kalah"), filters=[_strip], validators=[_max(2000)])


class TaskForm(FlaskForm):
    title = StringField(_l("Judul"), filters=[_strip], validators=[_required(), _max(200)])
    description = TextAreaField(_l("Deskripsi"), filters=[_strip], validators=[_max(5000)])
    due_date = DateField(_l("Tenggat"), validators=[Optional()],
                         render_kw={"type": "date"})
    priority = SelectField(_l("Prioritas"),
                           choices=[SelectChoice(k, v) for k, v in PRIORITY_LABELS.items()],
                           default=TaskPriority.NORMAL, validate_choice=False,
                           validators=[ChoiceCheck()])
    assignee_id = SelectField(_l("Penanggung jawab"), coerce=str, validators=[ChoiceCheck()])
    company_id = HiddenField()
    contact_id = HiddenField()
    lead_id = HiddenField()

    def validate_assignee_id(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Wajib diisi."))


class TaskEditForm(FlaskForm):
    """Every field of an existing task; `related` is `company:<id>`, `contact:<id>`,
    `lead:<id>` or empty."""

    title = StringField(_l("Judul"), filters=[_strip], validators=[_required(), _max(200)])
    due_date = DateField(_l("Tenggat"), validators=[Optional()], render_kw={"type": "date"})
    assignee_id = SelectField(_l("Penanggung jawab"), coerce=str, validators=[ChoiceCheck()])
    priority = SelectField(_l("Prioritas"),
                           choices=[SelectChoice(k, v) for k, v in PRIORITY_LABELS.items()],
                           default=TaskPriority.NORMAL, validate_choice=False,
                           validators=[ChoiceCheck()])
    related = SelectField(_l("Terkait dengan"), coerce=str, validators=[ChoiceCheck()])
    description = TextAreaField(_l("Catatan"), filters=[_strip], validators=[_max(5000)])

    def validate_assignee_id(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Wajib diisi."))

    def related_ids(self) -> dict[str, int | None]:
        kind, _, value = (self.related.data or "").partition(":")
        ids: dict[str, int | None] = {"company_id": None, "contact_id": None, "lead_id": None}
        if f"{kind}_id" in ids:
            ids[f"{kind}_id"] = int_or_none(value)
        return ids


class ConfirmForm(FlaskForm):
    """The confirm step of archive and delete (its CSRF token is all it carries)."""


class TaskMoveForm(FlaskForm):
    status = HiddenField(_l("Status"), validators=[_required()])


class ActivityForm(FlaskForm):
    kind = SelectField(_l("Jenis"),
                       choices=[SelectChoice(k, ACTIVITY_LABELS[k]) for k in ActivityKind.LOGGED],
                       default=ActivityKind.NOTE, validate_choice=False,
                       validators=[ChoiceCheck()])
    subject = StringField(_l("Ringkasan"), filters=[_strip], validators=[_required(), _max(300)])
    body = TextAreaField(_l("Detail"), filters=[_strip], validators=[_max(5000)])
    occurred_at = DateTimeLocalField(_l("Waktu (WIB)"), format="%Y-%m-%dT%H:%M",
                                     validators=[Optional()],
                                     description=_l("Kosongkan untuk sekarang."))


class ContactEmailForm(FlaskForm):
    subject = StringField(_l("Subjek"), filters=[_strip], validators=[_required(), _max(300)])
    body = TextAreaField(_l("Pesan"), filters=[_strip], validators=[_required(), _max(20000)])


class SettingsForm(FlaskForm):
    threshold = WholeNumberField(
        _l("Batas tugas aktif sebelum dialihkan"), default=10, minimum=1, maximum=1000,
        validators=[InputRequired(message=_l("Masukkan angka 1 sampai 1000."))],
        description=_l("Tugas untuk orang yang sudah memiliki lebih dari jumlah ini dialihkan "
                       "ke rekan dengan posisi yang sama."))
    webhook_url = StringField(_l("URL webhook"), filters=[_strip], validators=[
        Optional(), _max(500),
        URL(require_tld=False, message=_l("URL harus diawali http:// atau https://."))],
        description=_l("Kosongkan untuk mematikan webhook."))
    webhook_secret = PasswordField(_l("Rahasia webhook"), filters=[_strip],
                                   render_kw={"autocomplete": "new-password"},
                                 validators=[Optional(), Length(min=16, max=200, message=_l(
                                     "Rahasia harus 16 sampai 200 karakter."))],
                                 description=_l("Kosongkan untuk mempertahankan rahasia "
                                                "yang tersimpan."))

    def validate_webhook_url(self, field) -> None:
        if field.data and not field.data.lower().startswith(("http://", "https://")):
            raise ValidationError(_l("URL harus diawali http:// atau https://."))


class PositionForm(FlaskForm):
    position = SelectField(
        _l("Posisi"),
        choices=[SelectChoice("", _l("Belum ditentukan"))]
        + [SelectChoice(k, v) for k, v in POSITION_LABELS.items()],
        validate_choice=False, validators=[ChoiceCheck()])


class ImportForm(FlaskForm):
    kind = SelectField(_l("Jenis data"), choices=[SelectChoice("companies", _l("Perusahaan")),
                                                  SelectChoice("contacts", _l("Kontak"))],
                       validate_choice=False, validators=[ChoiceCheck()])
    file = FileField(_l("Berkas CSV"), description=_l(
        "UTF-8, dipisah koma atau titik koma, baris pertama berisi judul kolom; "
        "maksimal 2 MB dan 5.000 baris."))


class ImportConfirmForm(FlaskForm):
    token = HiddenField(validators=[_required()])
    mode = HiddenField(default="all")


class InterestForm(FlaskForm):
    """The public "Ajukan Maklon" form. `website` is the honeypot: hidden from people by
    CSS, filled by bots."""

    name = StringField(_l("Nama Anda"), filters=[_strip], validators=[_required(), _max(120)])
    company_name = StringField(_l("Nama merek atau perusahaan"), filters=[_strip],
                               validators=[_required(), _max(160)])
    email = EmailField(_l("Email"), filters=[_strip],
                       validators=[_required(), _max(320), EmailAddress()])
    phone = TelField(_l("Nomor WhatsApp atau telepon"), filters=[_strip],
                     validators=[_required(), *_phone()[1:]])
    product_type = StringField(_l("Jenis produk"), filters=[_strip], validators=[_max(200)],
                               description=_l("Misalnya: serum, sabun cair, suplemen kapsul"))
    message = TextAreaField(_l("Ceritakan kebutuhan Anda"), filters=[_strip],
                            validators=[_max(3000)])
    website = StringField(_l("Jangan isi kolom ini"), validators=[Optional()])

