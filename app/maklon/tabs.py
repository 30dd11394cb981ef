"""The tabs of one maklon request's pages (`maklon/_tabs.html`). A tab is shown when its
endpoint exists and `visible(request, user)` is true; each helper appends its lines.

(QUOTE's minimal stand-in: the lead keeps REQ's version at merge and appends the lines
below it.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from app.maklon.models import RequestStatus


@dataclass(frozen=True)
class Tab:
    endpoint: str
    label: object
    visible: Callable[[Any, Any], bool]


TABS: list[Tab] = [
    Tab("maklon.request_detail", _l("Ringkasan"), lambda req, user: True),
    Tab("maklon.quotes", _l("Penawaran"), lambda req, user: req.status != RequestStatus.DRAFT),
    Tab("maklon.contract", _l("Kontrak"), lambda req, user: req.status != RequestStatus.DRAFT),
    Tab("maklon.milestones", _l("Pembayaran"),
        lambda req, user: req.status in (RequestStatus.SIGNED, RequestStatus.COMPLETED)),
]


def tabs_for(req: Any, user: Any) -> list[Tab]:
    return [tab for tab in TABS if tab.endpoint in current_app.view_functions
            and tab.visible(req, user)]
