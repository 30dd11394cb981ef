"""The answer of a self-polling status block (htmx `hx-trigger="every Ns"`), written once.

    etag = poll_etag(order.number, order.status, order.updated_at)
    return poll_answer(etag=etag, final=order.status in OrderStatus.FINAL,
                       render=lambda: render_template("orders/_status.html", order=order))

Unchanged state costs a 304 (the ETag names what the block shows, in the viewer's
language); a block that reached a final state answers 286, which tells htmx to stop
polling (htmx docs, "Polling"). Every answer says `Cache-Control: private, no-cache`: the
browser revalidates each time but may send If-None-Match (not no-store).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

from flask import Response, make_response, request
from flask_babel import get_locale

# HTTP 286 tells htmx to stop polling (htmx docs: "Polling", stop with status 286).
STOP_POLLING = 286
REVALIDATE = "private, no-cache"


def poll_etag(*parts: object) -> str:
    """A short ETag for what a status block shows: its parts (datetimes as ISO text) and
    the current language (the block is rendered in it)."""
    text = "|".join(part.isoformat() if isinstance(part, datetime) else str(part)
                    for part in (*parts, get_locale()))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def poll_answer(*, etag: str, final: bool, render: Callable[[], object]) -> Response:
    """304 when the block is not final and the browser already has `etag`; else the block
    (`render()`, called only then), with status 286 when `final` (htmx stops polling; no
    ETag: it is never asked for again) or with the ETag to revalidate next time."""
    if not final and etag in request.if_none_match:
        response = make_response("", 304)
    else:
        response = make_response(render())
    if final:
        response.status_code = STOP_POLLING
    else:
        response.set_etag(etag)
    response.headers["Cache-Control"] = REVALIDATE
    return response
