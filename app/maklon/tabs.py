"""The tabs of one request's pages (`maklon/_tabs.html`, shown by `maklon/request_base.html`).

A tab is shown when its endpoint exists (`current_app.view_functions`) and `visible(req,
user)` is true. Every tab page takes `<number>` in its URL, loads the request with
`request_or_404(current_user, number)`, extends `maklon/request_base.html` with `req` (the
MaklonRequest) in its context and fills the block `tab_content`. Each area appends ONE line
per tab page below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from app.accounts.models import User
from app.maklon.models import MaklonRequest


@dataclass(frozen=True)
class Tab:
    endpoint: str  # takes `number`
    label: Any  # lazy string
    visible: Callable[[MaklonRequest, User], bool]


TABS: list[Tab] = [
    Tab("maklon.request_detail", _l("Ringkasan"), lambda req, user: True),
    Tab("maklon.quotes", _l("Penawaran"), lambda req, user: req.status != "draft"),
    Tab("maklon.contract", _l("Kontrak"), lambda req, user: req.status != "draft"),
    Tab("maklon.milestones", _l("Pembayaran"), lambda req, user: req.signed_at is not None),
    Tab("maklon.production", _l("Produksi"), lambda req, user: req.stage is not None),
    Tab("maklon.goods", _l("Hasil produksi"), lambda req, user: _goods_visible(req, user)),
]


def _goods_visible(req: MaklonRequest, user: User) -> bool:
    from app.maklon.goods import goods_tab_visible

    return goods_tab_visible(req, user)


def tabs_for(req: MaklonRequest, user: User) -> list[Tab]:
    """The tabs `user` sees on `req`'s pages, in order."""
    return [tab for tab in TABS
            if tab.endpoint in current_app.view_functions and tab.visible(req, user)]
