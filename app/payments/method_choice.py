"""The payment methods on offer (`PAYMENT_METHODS`: value -> label, in the order shown) and
their choice on the checkout and on a maklon milestone, grouped the way Indonesian shoppers
look for them: Virtual Account · E-wallet · QRIS · Gerai retail.

    groups = method_groups(PAYMENT_METHODS, amount=cart.total)
    {% include "payments/_method_choice.html" %}   # a fieldset per group, a radio card each

Each method carries a mark drawn by us (its initials in a tile of its colour, styled in
css/pay-cstore.css): no third-party logo files. A retail outlet above the cashier's limit
(PAYMENT_CSTORE_MAX_AMOUNT) is shown disabled with the reason; the server refuses it too
(`services.payment_method_refusal`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.money import format_rupiah
from app.payments.gateways.base import METHODS

# The methods a buyer or a client may choose (checkout, maklon milestones, the API, the
# filters of the ledger and the reports), in the order shown; each is charged through the
# configured gateway as `gateways.base.METHODS` says.
PAYMENT_METHODS: dict[str, object] = {
    "va_bca": _l("Virtual Account BCA"),
    "va_bni": _l("Virtual Account BNI"),
    "va_bri": _l("Virtual Account BRI"),
    "va_mandiri": _l("Mandiri Bill Payment"),
    "va_permata": _l("Virtual Account Permata"),
    "gopay": _l("GoPay"),
    "ovo": _l("OVO"),
    "dana": _l("DANA"),
    "shopeepay": _l("ShopeePay"),
    "qris": _l("QRIS"),
    "alfamart": _l("Alfamart"),
    "indomaret": _l("Indomaret"),
}

# (group key, legend, the method kinds it holds), in the order shown.
GROUPS = (
    ("va", _l("Virtual Account"), ("va", "bill")),
    ("ewallet", _l("E-wallet"), ("ewallet",)),
    ("qris", _l("QRIS"), ("qris",)),
    ("cstore", _l("Gerai retail"), ("cstore",)),
)
# The initials drawn in each method's tile (its colours: .pay-mark-<method>).
MARKS = {
    "va_bca": "BCA", "va_bni": "BNI", "va_bri": "BRI", "va_mandiri": "MDR",
    "va_permata": "PMT", "gopay": "GP", "ovo": "OVO", "dana": "DANA", "shopeepay": "SP",
    "qris": "QRIS", "alfamart": "ALFA", "indomaret": "INDO",
}
GROUP_HINTS = {
    "va": _l("Transfer dari ATM, m-banking, atau internet banking."),
    "ewallet": _l("Setujui di aplikasi dompet digital Anda."),
    "qris": _l("Pindai dengan aplikasi bank atau e-wallet mana pun."),
    "cstore": _l("Bayar tunai di kasir dengan kode pembayaran."),
}


@dataclass(frozen=True)
class MethodOption:
    value: str
    label: str
    mark: str
    disabled: bool = False


@dataclass
class MethodGroup:
    key: str
    legend: str
    hint: str
    options: list[MethodOption] = field(default_factory=list)
    note: str = ""  # why the group's methods cannot be chosen now

    @property
    def all_disabled(self) -> bool:
        return all(option.disabled for option in self.options)


def method_groups(labels: Mapping[str, object], *, amount: int | None = None
                  ) -> list[MethodGroup]:
    """The methods named in `labels` (value -> label, in that order) grouped by kind; with
    `amount`, retail outlets above the cashier's limit are disabled with a note."""
    limit = int(current_app.config["PAYMENT_CSTORE_MAX_AMOUNT"])
    over_limit = amount is not None and amount > limit
    groups = []
    for key, legend, kinds in GROUPS:
        group = MethodGroup(key=key, legend=str(legend), hint=str(GROUP_HINTS[key]))
        for value, label in labels.items():
            spec = METHODS.get(value)
            if spec is None or spec.kind not in kinds:
                continue
            disabled = spec.kind == "cstore" and over_limit
            group.options.append(MethodOption(value=value, label=str(label),
                                              mark=MARKS.get(value, str(label)[:3]),
                                              disabled=disabled))
        if key == "cstore" and over_limit:
            group.note = _("Tidak tersedia untuk pembayaran di atas %(limit)s.",
                           limit=format_rupiah(limit))
        if group.options:
            groups.append(group)
    return groups


def first_available(groups: list[MethodGroup]) -> str:
    """The method chosen when the buyer has not chosen yet: the first one enabled."""
    for group in groups:
        for option in group.options:
            if not option.disabled:
                return option.value
    return ""
