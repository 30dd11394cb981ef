"""My notification switches (the web's /akun/notifikasi), for any token holder.

    GET /me/notifications    each kind of notice I receive, on or off per channel, and
                             whether my Telegram chat is linked
    PUT /me/notifications    switch kinds on or off (the kinds not named keep their state)

Only the kinds of the caller's roles can be set (staff and admins: tasks; clients: production
stages; sellers: new orders); another kind is a 422 naming it. The switches are written by
the web's service (app/notifications/prefs.py). Linking Telegram needs the bot and a code
sent from the chat, so it stays on the web page.
"""

from __future__ import annotations

from flask_login import current_user
from pydantic import Field

from app.api import bp
from app.api.error_codes import ApiErrorCode
from app.api.errors import ApiError
from app.api.schemas import Input, Output
from app.api.spec import operation
from app.extensions import db
from app.notifications.prefs import (
    Channel,
    Kind,
    kinds_for,
    notification_optouts,
    notification_prefs_save,
)
from app.notifications.telegram import telegram_chat_of, telegram_configured

TAG = "Notifikasi"
KindName = Kind


class SwitchOut(Output):
    kind: str = Field(description="task_created, task_reassigned, task_due, maklon_stage or "
                                  "order_new.")
    label: str = Field(description="The kind's name in the caller's language.")
    email: bool
    telegram: bool


class NotificationsOut(Output):
    switches: list[SwitchOut]
    telegram_configured: bool = Field(description="The admin has set up the bot.")
    telegram_linked: bool = Field(description="My chat is linked (from the web page).")


class SwitchIn(Input):
    kind: KindName
    email: bool
    telegram: bool


class NotificationsIn(Input):
    switches: list[SwitchIn] = Field(max_length=20)


def _current() -> NotificationsOut:
    off = notification_optouts(current_user.id)
    return NotificationsOut(
        switches=[SwitchOut(kind=info.kind, label=str(info.label),
                            email=(info.kind, Channel.EMAIL) not in off,
                            telegram=(info.kind, Channel.TELEGRAM) not in off)
                  for info in kinds_for(current_user)],
        telegram_configured=telegram_configured(),
        telegram_linked=telegram_chat_of(current_user.id) is not None)


@operation(bp, "/me/notifications", "GET", tag=TAG, summary="My notification switches",
           response=NotificationsOut)
def notifications_get():
    """Every kind is on until switched off."""
    return _current()


@operation(bp, "/me/notifications", "PUT", tag=TAG, summary="Switch notices on or off",
           body=NotificationsIn, response=NotificationsOut)
def notifications_put(body: NotificationsIn):
    """422 naming a kind the caller does not receive (nothing saved)."""
    mine = {info.kind for info in kinds_for(current_user)}
    foreign = sorted({switch.kind for switch in body.switches} - mine)
    if foreign:
        raise ApiError(422, ApiErrorCode.VALIDATION_FAILED, fields={
            "switches": f"not one of your kinds: {', '.join(foreign)}"})
    off = notification_optouts(current_user.id)
    enabled = {(kind, channel) for kind in mine for channel in Channel.ALL
               if (kind, channel) not in off}
    for switch in body.switches:
        for channel, on in ((Channel.EMAIL, switch.email), (Channel.TELEGRAM, switch.telegram)):
            if on:
                enabled.add((switch.kind, channel))
            else:
                enabled.discard((switch.kind, channel))
    notification_prefs_save(user=current_user, enabled=enabled)
    db.session.commit()
    return _current()
