"""In-app notices: short messages for one user, listed on /notifikasi until read.

A notice stores its kind and parameters; the text is looked up in `NOTICE_TEXTS` when it
is shown, so it appears in the reader's language. A domain registers its kinds with
`notice_kind(...)` at import time.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext
from sqlalchemy import func, select, update

from app.core.clock import utcnow
from app.core.db import rowcount
from app.core.models import Notice
from app.extensions import db


def N_(msgid: str) -> str:
    """Mark a string for extraction without translating it now (`pybabel -k N_`)."""
    return msgid


NOTICE_TEXTS: dict[str, str] = {}  # kind -> Indonesian msgid with %(name)s placeholders
MESSAGE_MAX = Notice.__table__.c.message.type.length  # 300


def notice_kind(kind: str, msgid: str) -> None:
    """Register the text of a notice kind (the msgid must also be marked for extraction)."""
    NOTICE_TEXTS[kind] = msgid


def notice_send(*, user_id: int, kind: str, params: dict[str, Any], link: str = "") -> Notice:
    # `message` is a fallback copy (shown text comes from the params): cut to its column,
    # as long names in the params overflow it (PostgreSQL refuses the insert).
    message = (NOTICE_TEXTS[kind] % params)[:MESSAGE_MAX]
    notice = Notice(user_id=user_id, kind=kind, message=message, params=params, link=link)
    db.session.add(notice)
    return notice


def notice_text(notice: Notice) -> str:
    msgid = NOTICE_TEXTS.get(notice.kind)
    return gettext(msgid, **notice.params) if msgid else notice.message


def notices_unread_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count(Notice.id)).where(Notice.user_id == user_id, Notice.read_at.is_(None))
    ) or 0


def notices_recent(user_id: int, limit: int = 50) -> list[Notice]:
    return list(db.session.scalars(
        select(Notice).where(Notice.user_id == user_id)
        .order_by(Notice.created_at.desc(), Notice.id.desc()).limit(limit)
    ))


def notices_mark_read(*, user_id: int) -> int:
    return rowcount(db.session.execute(
        update(Notice).where(Notice.user_id == user_id, Notice.read_at.is_(None))
        .values(read_at=utcnow())
    ))
