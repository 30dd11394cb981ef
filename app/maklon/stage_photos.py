"""The photo of a production stage as a response: the web's request page and the API answer
with the same file and the same cache rules."""

from __future__ import annotations

from sqlalchemy import select

from app.core.security import owned_or_404
from app.core.storage import storage_send
from app.maklon.models import ProductionStage


def stage_photo_response(req, stage_id: int):
    """The photo of one stage of `req` (which the caller may see), or 404."""
    row = owned_or_404(select(ProductionStage).where(ProductionStage.id == stage_id,
                                                     ProductionStage.request_id == req.id,
                                                     ProductionStage.photo_key != ""))
    response = storage_send(row.photo_key, public_only=False)
    # Only for those who may see the request: never in a shared cache.
    response.cache_control.public = False
    response.cache_control.private = True
    return response
