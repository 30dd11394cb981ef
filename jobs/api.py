"""API housekeeping job (thin: service calls, committed by the runner)."""

from __future__ import annotations

from app.accounts.api_tokens import families_sweep
from app.api.idempotency import idempotency_sweep


def sweep() -> dict:
    """Cron, hourly: forget Idempotency-Keys older than a day and API logins that can no
    longer be used (safe to run twice)."""
    return {"idempotency_keys": idempotency_sweep(), "token_families": families_sweep()}
