"""Money is an integer number of Rupiah; taxes use Decimal rounded half-up."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def format_rupiah(amount: int | None) -> str:
    """Render an integer Rupiah amount as `Rp 1.250.000` (negative: `-Rp 1.250.000`)."""
    if amount is None:
        return ""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError("money must be an int number of Rupiah")
    sign = "-" if amount < 0 else ""
    grouped = f"{abs(amount):,}".replace(",", ".")
    return f"{sign}Rp {grouped}"


def format_rupiah_shown(amount: int | None) -> str:
    """`format_rupiah` for people to read (the `rupiah` template filter): a non-breaking
    space between "Rp" and the number, so an amount never wraps in a narrow column.
    Documents whose bytes are signed or parsed (contract digests, CSV) keep format_rupiah."""
    return format_rupiah(amount).replace("Rp ", "Rp\u00a0", 1)


def round_rupiah(value: Decimal) -> int:
    """Round a Decimal amount half-up to whole Rupiah."""
    return int(value.quantize(Decimal("1"), rounding=ROUND_HALF_UP))
