"""Who wants which notice on which channel, and the once-per-event guard.

Every kind is on by default: a `NotificationOptOut` row switches one kind off on one
channel. `notification_once` writes a `NotificationSent` row in a savepoint; its unique
constraint makes a second queueing of the same event (a job's retry, a cron rerun, two
workers at once) find the first and send nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum, nonmember
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import RoleName, User
from app.extensions import db
from app.notifications.models import NotificationOptOut, NotificationSent


class Channel(StrEnum):
    EMAIL = "email"
    TELEGRAM = "telegram"
    ALL = nonmember((EMAIL, TELEGRAM))


class Kind(StrEnum):
    TASK_CREATED = "task_created"
    TASK_REASSIGNED = "task_reassigned"
    TASK_DUE = "task_due"
    MAKLON_STAGE = "maklon_stage"
    ORDER_NEW = "order_new"


@dataclass(frozen=True)
class KindInfo:
    kind: str
    label: Any  # lazy string
    roles: tuple[str, ...]  # shown to people holding one of these roles


KINDS: tuple[KindInfo, ...] = (
    KindInfo(Kind.TASK_CREATED, _l("Tugas baru untuk saya"), (RoleName.STAFF, RoleName.ADMIN)),
    KindInfo(Kind.TASK_REASSIGNED, _l("Tugas dialihkan kepada saya"),
             (RoleName.STAFF, RoleName.ADMIN)),
    KindInfo(Kind.TASK_DUE, _l("Tugas jatuh tempo besok"), (RoleName.STAFF, RoleName.ADMIN)),
    KindInfo(Kind.MAKLON_STAGE, _l("Tahap produksi maklon"), (RoleName.CLIENT,)),
    KindInfo(Kind.ORDER_NEW, _l("Pesanan baru di toko saya"), (RoleName.SELLER,)),
)
KIND_NAMES = frozenset(info.kind for info in KINDS)


def kinds_for(user: User) -> list[KindInfo]:
    """The kinds `user` receives (and so can switch): by role."""
    return [info for info in KINDS if user.has_any_role(*info.roles)]


def notification_wanted(user_id: int, kind: str, channel: str) -> bool:
    """False only when the person switched `kind` off on `channel`."""
    return db.session.get(NotificationOptOut, (user_id, kind, channel)) is None


def notification_optouts(user_id: int) -> set[tuple[str, str]]:
    return set(db.session.execute(
        select(NotificationOptOut.kind, NotificationOptOut.channel)
        .where(NotificationOptOut.user_id == user_id)).all())


def notification_prefs_save(*, user: User, enabled: set[tuple[str, str]]) -> None:
    """Store `user`'s switches: every (kind, channel) of their kinds not in `enabled` is
    off. Unknown pairs are ignored. Flushes."""
    shown = {(info.kind, channel) for info in kinds_for(user) for channel in Channel.ALL}
    off = shown - enabled
    db.session.execute(delete(NotificationOptOut).where(NotificationOptOut.user_id == user.id))
    db.session.add_all(NotificationOptOut(user_id=user.id, kind=kind, channel=channel)
                       for kind, channel in sorted(off))
    db.session.flush()


def notification_once(*, user_id: int, kind: str, channel: str, event_key: str) -> bool:
    """Claim the right to notify `user_id` of this event on `channel`: True the first time,
    False when it was already claimed (by this transaction's savepoint or another that
    committed first; PostgreSQL makes a concurrent one wait for the winner)."""
    exists = db.session.scalar(select(NotificationSent.id).where(
        NotificationSent.user_id == user_id, NotificationSent.kind == kind,
        NotificationSent.channel == channel, NotificationSent.event_key == event_key))
    if exists is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(NotificationSent(user_id=user_id, kind=kind, channel=channel,
                                            event_key=event_key[:120]))
    except IntegrityError:
        return False
    return True


def notification_claim(*, user: User, kind: str, channel: str, event_key: str) -> bool:
    """Whether to send: the person is active, wants it, and it was not sent before."""
    return (user.active and notification_wanted(user.id, kind, channel)
            and notification_once(user_id=user.id, kind=kind, channel=channel,
                                  event_key=event_key))
