"""Reads of payments shared by the web pay page (app.payments.routes.pay) and the API
(app.api.routes.payments)."""

from __future__ import annotations

from sqlalchemy import Select, select

from app.payments.models import Payment


def buyer_payment(buyer_id: int, reference: str) -> Select:
    """For `owned_or_404`: the checkout payment `reference` only if this buyer pays it."""
    return select(Payment).where(Payment.reference == reference,
                                 Payment.payer_id == buyer_id,
                                 Payment.checkout_id.is_not(None))
