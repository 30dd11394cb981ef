"""The API's one error format: `{"error": {"code", "message", "fields"}}`.

`code` is stable (clients branch on it), `message` is in the user's language, `fields` maps
a request field (dotted for nested ones, e.g. `items.0.quantity`) to its message. Every
error the API answers goes through `error_response`; views raise `ApiError`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from flask import Response
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from werkzeug.exceptions import HTTPException

from app.accounts.api_tokens import TokenErrorCode
from app.api.error_codes import ApiErrorCode

log = logging.getLogger(__name__)

# status -> (default code, default message)
DEFAULTS: dict[int, tuple[ApiErrorCode, Any]] = {
    400: (ApiErrorCode.BAD_REQUEST, _l("Permintaan tidak valid.")),
    401: (ApiErrorCode.UNAUTHORIZED, _l("Perlu masuk: kirim token akses yang masih berlaku.")),
    403: (ApiErrorCode.FORBIDDEN, _l("Anda tidak memiliki izin untuk tindakan ini.")),
    404: (ApiErrorCode.NOT_FOUND, _l("Data yang Anda cari tidak ada.")),
    405: (ApiErrorCode.METHOD_NOT_ALLOWED, _l("Metode ini tidak didukung di alamat ini.")),
    409: (ApiErrorCode.CONFLICT,
          _l("Tindakan ini bertentangan dengan keadaan data saat ini.")),
    413: (ApiErrorCode.PAYLOAD_TOO_LARGE, _l("Permintaan melebihi batas ukuran.")),
    415: (ApiErrorCode.UNSUPPORTED_MEDIA_TYPE,
          _l("Kirim isi permintaan sebagai application/json.")),
    422: (ApiErrorCode.VALIDATION_FAILED, _l("Data yang dikirim tidak valid.")),
    429: (ApiErrorCode.RATE_LIMITED, _l("Terlalu banyak permintaan. Silakan coba lagi nanti.")),
    500: (ApiErrorCode.SERVER_ERROR,
          _l("Terjadi kesalahan pada server. Kesalahan ini sudah dicatat.")),
}

# Stable codes with their own message (401s of the token lifecycle, and shared 4xx).
MESSAGES: dict[StrEnum, Any] = {
    ApiErrorCode.INVALID_CREDENTIALS: _l("Email atau kata sandi salah."),
    TokenErrorCode.TOKEN_EXPIRED: _l("Token sudah kedaluwarsa."),
    TokenErrorCode.TOKEN_INVALID: _l("Token tidak valid."),
    TokenErrorCode.TOKEN_REVOKED: _l("Token sudah dicabut. Silakan masuk kembali."),
    TokenErrorCode.TOKEN_REUSED: _l(
        "Token pembaruan ini sudah pernah dipakai. Demi keamanan, semua token "
        "dari login ini dicabut; silakan masuk kembali."),
    ApiErrorCode.TOTP_REQUIRED: _l("Masukkan kode verifikasi dua langkah (totp_code)."),
    ApiErrorCode.TOTP_INVALID: _l("Kode verifikasi dua langkah salah."),
    ApiErrorCode.TOTP_SETUP_REQUIRED: _l(
        "Peran Anda wajib memakai verifikasi dua langkah. Aktifkan "
        "dulu melalui situs web."),
    ApiErrorCode.INVALID_JSON: _l("Isi permintaan bukan JSON yang valid."),
    ApiErrorCode.IDEMPOTENCY_KEY_INVALID: _l(
        "Idempotency-Key harus 1-255 karakter ASCII yang terlihat."),
    ApiErrorCode.IDEMPOTENCY_KEY_MISMATCH: _l(
        "Idempotency-Key ini sudah dipakai untuk permintaan yang "
        "berbeda."),
    ApiErrorCode.IDEMPOTENCY_IN_PROGRESS: _l(
        "Permintaan dengan Idempotency-Key ini masih diproses. "
        "Coba lagi sebentar lagi."),
}

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message", "fields"],
        "properties": {
            "code": {"type": "string", "examples": ["validation_failed"]},
            "message": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }},
}


class ApiError(Exception):
    """Raise from an API view to answer `status` in the error format."""

    def __init__(self, status: int, code: StrEnum | None = None, message: object = None,
                 fields: Mapping[str, object] | None = None, headers: dict[str, str] | None = None):
        super().__init__(code or status)
        self.status = status
        self.code = code or DEFAULTS.get(status, DEFAULTS[500])[0]
        self.message = message
        self.fields = fields or {}
        self.headers = headers or {}


def error_response(status: int, code: StrEnum | None = None, message: object = None,
                   fields: Mapping[str, object] | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    default_code, default_message = DEFAULTS.get(status, DEFAULTS[500])
    code = code or default_code
    if message is None:
        message = MESSAGES.get(code, default_message)
    message = str(message)
    # A field named without its own message carries the error's message.
    body = {"error": {"code": code, "message": message,
                      "fields": {name: str(text) or message
                                 for name, text in (fields or {}).items()}}}
    response = Response(json.dumps(body, ensure_ascii=False), status=status,
                        mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def api_error_response(error: ApiError) -> Response:
    return error_response(error.status, error.code, error.message, error.fields, error.headers)


def http_error_response(error: HTTPException) -> Response:
    """A werkzeug HTTPException (routing 404/405, 413, the limiter's 429) in the format."""
    status = error.code or 500
    headers = {}
    methods = getattr(error, "valid_methods", None)  # MethodNotAllowed's
    if status == 405 and methods:
        headers["Allow"] = ", ".join(methods)
    if status == 429:
        from app.core.http import _retry_minutes

        headers["Retry-After"] = str(_retry_minutes() * 60)
    response = error_response(status if status in DEFAULTS else 400, headers=headers)
    return response


# Pydantic's error types whose message says no more than the type -> that message.
_TYPE_MESSAGES: dict[str, Any] = {
    "missing": _l("Wajib diisi."),
    "extra_forbidden": _l("Kolom ini tidak dikenal."),
    "int_parsing": _l("Harus bilangan bulat."),
    "int_type": _l("Harus bilangan bulat."),
    "int_from_float": _l("Harus bilangan bulat."),
    "bool_parsing": _l("Harus true atau false."),
    "bool_type": _l("Harus true atau false."),
    "string_type": _l("Harus berupa teks."),
    "list_type": _l("Harus berupa daftar."),
    "tuple_type": _l("Harus berupa daftar."),
    "set_type": _l("Harus berupa daftar."),
    "dict_type": _l("Harus berupa objek JSON."),
    "model_type": _l("Harus berupa objek JSON."),
    "model_attributes_type": _l("Harus berupa objek JSON."),
    "date_parsing": _l("Tanggal harus berformat YYYY-MM-DD."),
    "date_from_datetime_parsing": _l("Tanggal harus berformat YYYY-MM-DD."),
    "date_type": _l("Tanggal harus berformat YYYY-MM-DD."),
    "date_from_datetime_inexact": _l("Tanggal harus berformat YYYY-MM-DD."),
    "string_pattern_mismatch": _l("Formatnya tidak valid."),
}


def _validation_message(error: ErrorDetails) -> str:
    """Pydantic's error -> a message in the user's language (with the limit in it)."""
    kind = error.get("type", "")
    ctx: dict[str, Any] = error.get("ctx") or {}
    if kind in _TYPE_MESSAGES:
        return str(_TYPE_MESSAGES[kind])
    limited = _limit_message(kind, ctx)
    if limited is not None:
        return limited
    if kind in ("enum", "literal_error"):
        return _("Pilih salah satu: %(choices)s.", choices=ctx.get("expected", ""))
    if kind == "value_error" and ctx.get("error") is not None:
        return str(ctx["error"])
    return _("Nilai tidak valid.")


def _limit_message(kind: str, ctx: dict[str, Any]) -> str | None:
    """The message of a length or range error, naming the limit; None for other errors."""
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return _("Wajib diisi.")
        return _("Minimal %(n)s karakter.", n=ctx.get("min_length"))
    if kind == "string_too_long":
        return _("Maksimal %(n)s karakter.", n=ctx.get("max_length"))
    if kind == "too_short":  # lists
        return _("Minimal %(n)s item.", n=ctx.get("min_length"))
    if kind == "too_long":
        return _("Maksimal %(n)s item.", n=ctx.get("max_length"))
    if kind in ("greater_than_equal", "greater_than"):
        return _("Minimal %(n)s.", n=ctx.get("ge", ctx.get("gt")))
    if kind in ("less_than_equal", "less_than"):
        return _("Maksimal %(n)s.", n=ctx.get("le", ctx.get("lt")))
    return None


def validation_fields(error: ValidationError, prefix: str = "") -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in error.errors(include_url=False):
        name = ".".join(str(part) for part in item.get("loc", ())) or prefix or "body"
        fields.setdefault(name, _validation_message(item))
    return fields


def validation_error(error: ValidationError) -> ApiError:
    return ApiError(422, ApiErrorCode.VALIDATION_FAILED, fields=validation_fields(error))
