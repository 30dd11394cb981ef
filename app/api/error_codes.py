"""The stable error codes of the API's answers (`{"error": {"code": ...}}`).

A client branches on these, so a code is never renamed. Views raise
`ApiError(status, ApiErrorCode.X)`; `app.api.errors` maps a code to its default message.
Codes a domain's service reports (cart, tokens) are that domain's enums, passed on as
they are (`app.orders.cart.CartErrorCode`, `app.accounts.api_tokens.TokenErrorCode`).
"""

from __future__ import annotations

from enum import StrEnum


class ApiErrorCode(StrEnum):
    # The defaults of each HTTP status.
    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    VALIDATION_FAILED = "validation_failed"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    # Login and two-factor.
    INVALID_CREDENTIALS = "invalid_credentials"
    TOTP_REQUIRED = "totp_required"
    TOTP_INVALID = "totp_invalid"
    TOTP_SETUP_REQUIRED = "totp_setup_required"
    # The request itself.
    INVALID_JSON = "invalid_json"
    IDEMPOTENCY_KEY_INVALID = "idempotency_key_invalid"
    IDEMPOTENCY_KEY_MISMATCH = "idempotency_key_mismatch"
    IDEMPOTENCY_IN_PROGRESS = "idempotency_in_progress"
    # The state of the data.
    ADDRESS_LIMIT = "address_limit"
    OUT_OF_STOCK = "out_of_stock"
    STOCK_CONFLICT = "stock_conflict"
    ILLEGAL_TRANSITION = "illegal_transition"
    REVIEW_NOT_ALLOWED = "review_not_allowed"
    ALREADY_REPLIED = "already_replied"
    PAYMENT_CLOSED = "payment_closed"
    EXPORT_NOT_READY = "export_not_ready"
    CRM_MANAGER_ONLY = "crm_manager_only"
    CRM_DELETE_REFUSED = "crm_delete_refused"
    CRM_CONFLICT = "crm_conflict"
