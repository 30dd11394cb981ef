"""Payment jobs (thin: ids in, one service call, raise on failure so RQ retries)."""

from __future__ import annotations

from typing import Any

from app.payments import services


def settled(payment_id: int) -> dict:
    """A payment settled: its orders become PAID, invoices are queued, people told."""
    return services.payment_settled(payment_id)


def closed(payment_id: int) -> dict:
    """A payment expired, was cancelled or denied: unpaid orders cancelled and restocked."""
    return services.payment_closed(payment_id)


def reconcile() -> dict:
    """Cron: ask the gateway about payments pending past their expiry."""
    return services.payments_reconcile()


def invoice_issue(order_id: int) -> dict:
    """Queue `invoices`: the PDF invoice of one paid order (idempotent per order)."""
    from app.orders.invoicing import order_invoice_issue

    return order_invoice_issue(order_id)


def refund_order(order_id: int, cause: str) -> dict:
    """Record and execute the refund of one order (an accepted return, a paid order
    cancelled); idempotent per order and cause. The order's rules are orders'
    (app.orders.refunds), the execution payments' (app.payments.refunds); the job keeps its
    name here, where it has always been queued (jobs already waiting in Redis find it)."""
    from app.orders.refunds import order_refund

    return order_refund(order_id, cause)


def sandbox_deliver(payloads: list[dict[str, Any]]) -> list[int]:
    """The sandbox gateway's notification delivery to our webhook."""
    from app.payments.gateways.sandbox import sandbox_deliver as deliver

    return deliver(payloads)


def milestone_invoice_issue(milestone_id: int) -> dict:
    """Queue `invoices`: the PDF invoice of one paid maklon milestone (idempotent)."""
    from app.maklon.invoicing import milestone_invoice_issue

    return milestone_invoice_issue(milestone_id)
