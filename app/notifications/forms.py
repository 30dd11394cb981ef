"""Forms: the person's switches (CSRF only: the checkboxes are read as `kind:channel`
pairs) and the admin's bot settings."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import Length, Optional, Regexp


class PrefsForm(FlaskForm):
    pass


class CsrfOnlyForm(FlaskForm):
    pass


class TelegramSettingsForm(FlaskForm):
    token = PasswordField(
        _l("Token bot"), validators=[Optional(), Length(max=200), Regexp(
            r"^\d{3,20}:[A-Za-z0-9_-]{20,120}$",
            message=_l("Token bot berbentuk 123456789:ABC…, seperti yang diberikan @BotFather."))],
        description=_l("Kosongkan untuk mempertahankan token yang tersimpan."))
    remove_token = BooleanField(_l("Hapus token (matikan Telegram)"))
    username = StringField(
        _l("Nama pengguna bot"), validators=[Optional(), Regexp(
            r"^@?[A-Za-z][A-Za-z0-9_]{3,31}$",
            message=_l("Nama pengguna bot: 5–32 huruf, angka, atau garis bawah."))],
        description=_l("Tanpa @, misalnya RacikBot: untuk tautan t.me di halaman profil."))
