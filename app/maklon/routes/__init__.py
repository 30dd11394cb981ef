"""Maklon blueprint. The routes live in one module per area; each imports `bp` from here.
Each module's docstring holds its URL table.

    requests.py    /maklon ... the client's requests, the form, drafts, files, estimate
    quotes.py      quote versions, negotiation messages, admin approval
    contracts.py   contract review, signing, PDF, /kontrak/verifikasi
    milestones.py  paying a milestone, its invoice
    production.py  /produksi board (tablet), stage updates, the client's timeline
    formulas.py    /maklon/formula ... formulas (composition: see access.py)
    materials.py   /bahan-baku raw-material inventory
    goods.py       finished goods into the client's store
"""

from __future__ import annotations

from flask import Blueprint

from app.maklon.invoicing import invoicing_connect
from app.maklon.milestones import payment_news_connect

bp = Blueprint("maklon", __name__)
# Maklon sells milestones through payments: its handlers of the payment signals
# (app.payments.signals) and its invoice kind are connected with the blueprint.
@bp.record_once
def _sell_through_payments(_state) -> None:
    payment_news_connect()
    invoicing_connect()


@bp.app_context_processor
def _stage_progress() -> dict:
    """`stage_progress(stage)` and the six stages for maklon/_progress.html, wherever it is
    included (the client's timeline, the client dashboard)."""
    from app.maklon.labels import STAGE_LABELS
    from app.maklon.models import Stage
    from app.maklon.stages import stage_progress

    return {"stage_progress": stage_progress, "production_steps": Stage.STEPS,
            "production_step_labels": STAGE_LABELS}


from app.core.templating import nav_on_register  # noqa: E402

# The header's entries of this blueprint (core knows no domain: domains register them).
from app.maklon.navigation import MAKLON_NAV  # noqa: E402
from app.maklon.routes import (  # noqa: E402, F401  # noqa: E402,F401
    contracts,
    formulas,
    goods,
    materials,
    milestones,
    production,
    quotes,
    requests,
)

nav_on_register(bp, *MAKLON_NAV)
