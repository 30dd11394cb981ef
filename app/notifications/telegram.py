"""Telegram: the Bot API adapter, chat linking, and an outbox sent by RQ jobs.

Configuration: the admin stores the bot token (`telegram.bot_token`, a secret: the audit log
only says it changed, nothing logs it) and the bot's username at /admin/telegram; saving a
token makes a random webhook secret (`telegram.webhook_secret`) and "Daftarkan webhook"
asks Telegram (`setWebhook`, from a job) to POST updates to /telegram/webhook with that
secret in `X-Telegram-Bot-Api-Secret-Token`. The API's base URL is `TELEGRAM_API_URL`.

Linking: a person asks for a one-time code on their profile (valid 15 minutes, only its
SHA-256 stored) and sends `/start CODE` to the bot (or opens t.me/<bot>?start=CODE); the
webhook links that chat to them.

Sending: `telegram_queue(...)` writes a `TelegramMessage` in the business transaction (only
for a linked chat whose owner did not switch the kind off, once per event) and enqueues
`jobs.notifications.telegram_send` after commit, so a request never waits for Telegram.
`telegram_send` claims the row with a conditional UPDATE (a retry never sends twice), waits
for its rate-limit slot (30 a second overall, 1 a second per chat), then calls
`sendMessage`:

- 200: sent;
- 429: `retry_after` is waited out in the job when short (TELEGRAM_INLINE_WAIT_MAX), else
  the row waits for the sweep until then;
- 403 (the bot was blocked, the user is gone): the chat is unlinked, the message failed;
- other 4xx: failed (a retry cannot help);
- 5xx or no answer: back-off, the job raises so RQ retries; the sweep (every minute)
  catches what RQ gave up on, up to TELEGRAM_MAX_ATTEMPTS.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import or_, select, update

from app.accounts.models import User
from app.core.app_object import current_app_object
from app.core.clock import utcnow
from app.core.db import rowcount
from app.core.queue import enqueue_after_commit, redis_connection
from app.core.settings import setting_get, setting_set
from app.extensions import db
from app.notifications.models import TelegramLink, TelegramMessage, TelegramStatus
from app.notifications.prefs import Channel, notification_claim

log = logging.getLogger(__name__)

SETTING_TOKEN = "telegram.bot_token"  # noqa: S105 - a settings key, not a secret
SETTING_USERNAME = "telegram.bot_username"
SETTING_WEBHOOK_SECRET = "telegram.webhook_secret"  # noqa: S105 - a settings key
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
CODE_TTL = timedelta(minutes=15)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a screen
CODE_LENGTH = 8
BACKOFF_SECONDS = (30, 120, 600, 1800, 3600)
STALE_CLAIM = timedelta(minutes=2)
MAX_TEXT = 4096  # Telegram's limit for one message
SEND_JOB = "jobs.notifications.telegram_send"


class TelegramError(RuntimeError):
    """Telegram did not take the message this time (RQ retries the job)."""


@dataclass(frozen=True)
class ApiAnswer:
    status: int  # HTTP status; 0 when there was no answer
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.body.get("ok"))

    @property
    def description(self) -> str:
        return str(self.body.get("description") or "")[:500]

    @property
    def retry_after(self) -> int:
        try:
            return max(1, int((self.body.get("parameters") or {}).get("retry_after", 1)))
        except (TypeError, ValueError):
            return 1


# -- configuration ----------------------------------------------------------------------

def telegram_token() -> str:
    return str(setting_get(SETTING_TOKEN, "") or "")


def telegram_configured() -> bool:
    return bool(telegram_token())


def telegram_bot_username() -> str:
    return str(setting_get(SETTING_USERNAME, "") or "")


def telegram_webhook_secret() -> str:
    return str(setting_get(SETTING_WEBHOOK_SECRET, "") or "")


def telegram_settings_save(*, token: str | None, username: str, actor: User) -> None:
    """Store the bot's settings; `token=None` keeps the current token, "" removes it. A new
    token gets a new webhook secret. Flushes."""
    if token is not None and token != telegram_token():
        setting_set(key=SETTING_TOKEN, value=token, actor=actor)
        setting_set(key=SETTING_WEBHOOK_SECRET,
                    value=secrets.token_urlsafe(32) if token else "", actor=actor)
    setting_set(key=SETTING_USERNAME, value=username.lstrip("@"), actor=actor)
    db.session.flush()


def telegram_api(method: str, payload: dict[str, Any], *, token: str | None = None) -> ApiAnswer:
    """POST `payload` as JSON to the Bot API method. Never raises for an HTTP status; no
    answer at all is status 0. The token is in the URL: nothing here logs the URL."""
    token = token if token is not None else telegram_token()
    base = current_app.config["TELEGRAM_API_URL"].rstrip("/")
    request = urllib.request.Request(  # noqa: S310 - our configured API base URL
        f"{base}/bot{token}/{method}",
        data=json.dumps(payload, ensure_ascii=False).encode(),
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8",
                 "User-Agent": "Racik-Telegram/1"},
    )
    try:
        with urllib.request.urlopen(  # noqa: S310
                request, timeout=current_app.config["TELEGRAM_TIMEOUT"]) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return ApiAnswer(0, {"description": f"{type(error).__name__}: {reason}"})
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = {}
    return ApiAnswer(status, body if isinstance(body, dict) else {})


def telegram_webhook_register(*, url: str) -> dict[str, Any]:
    """Ask Telegram to POST updates to `url` with our secret header (a job: it is a network
    call). Raises TelegramError when Telegram refuses."""
    if not telegram_configured():
        return {"skipped": True}
    answer = telegram_api("setWebhook", {"url": url, "secret_token": telegram_webhook_secret(),
                                         "allowed_updates": ["message"]})
    if not answer.ok:
        raise TelegramError(f"setWebhook answered HTTP {answer.status}: {answer.description}")
    log.info("telegram webhook registered")
    return {"registered": True}


# -- linking a chat -----------------------------------------------------------------------

def _code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def telegram_link_of(user_id: int) -> TelegramLink | None:
    return db.session.get(TelegramLink, user_id)


def telegram_chat_of(user_id: int) -> int | None:
    link = telegram_link_of(user_id)
    return link.chat_id if link is not None else None


def telegram_code_create(*, user: User) -> str:
    """A fresh one-time code for `user` (replacing any earlier one). Flushes."""
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    link = telegram_link_of(user.id)
    if link is None:
        link = TelegramLink(user_id=user.id)
        db.session.add(link)
    link.code_hash = _code_hash(code)
    link.code_expires_at = utcnow() + CODE_TTL
    db.session.flush()
    return code


def telegram_unlink(*, user_id: int, reason: str = "user") -> bool:
    """Forget `user_id`'s chat (messages still waiting for it are dropped). Flushes."""
    link = telegram_link_of(user_id)
    if link is None or link.chat_id is None:
        return False
    chat_id = link.chat_id
    link.chat_id = None
    link.linked_at = None
    link.unlinked_reason = reason
    db.session.execute(
        update(TelegramMessage)
        .where(TelegramMessage.user_id == user_id, TelegramMessage.chat_id == chat_id,
               TelegramMessage.status == TelegramStatus.PENDING)
        .values(status=TelegramStatus.FAILED, last_error=f"unlinked: {reason}")
        .execution_options(synchronize_session=False))
    db.session.flush()
    log.info("telegram chat of user %s unlinked (%s)", user_id, reason)
    return True


def telegram_update_handle(update_: dict[str, Any]) -> str:
    """Handle one update from the webhook. `/start CODE` in a private chat links that chat
    to the code's owner and answers in the chat. Returns what happened ("linked", "bad-code",
    "ignored"). Flushes."""
    message = update_.get("message") if isinstance(update_, dict) else None
    if not isinstance(message, dict):
        return "ignored"
    chat = message.get("chat") or {}
    text = message.get("text")
    chat_id = chat.get("id") if isinstance(chat, dict) else None
    if (not isinstance(text, str) or not isinstance(chat_id, int) or isinstance(chat_id, bool)
            or chat.get("type") != "private" or not text.startswith("/start")):
        return "ignored"
    parts = text.split()
    code = parts[1] if len(parts) > 1 else ""
    link = None
    if code and len(code) <= 32:
        link = db.session.scalar(select(TelegramLink).where(
            TelegramLink.code_hash == _code_hash(code)).with_for_update())
    if link is None or link.code_expires_at is None or link.code_expires_at < utcnow():
        _reply(chat_id, "telegram/bad_code.txt", locale="id")
        return "bad-code"
    link.chat_id = chat_id
    link.linked_at = utcnow()
    link.code_hash = None
    link.code_expires_at = None
    link.unlinked_reason = ""
    db.session.flush()
    user = db.session.get_one(User, link.user_id)
    _reply(chat_id, "telegram/linked.txt", locale=user.locale, user_id=user.id,
           name=user.name)
    log.info("telegram chat linked to user %s", link.user_id)
    return "linked"


def _reply(chat_id: int, template: str, *, locale: str, user_id: int | None = None,
           **context: Any) -> TelegramMessage:
    with force_locale(locale):
        text = render_template(template, **context).strip()
    return _message_add(user_id=user_id, chat_id=chat_id, kind="link", text=text)


# -- the outbox ---------------------------------------------------------------------------

def _message_add(*, user_id: int | None, chat_id: int, kind: str, text: str) -> TelegramMessage:
    row = TelegramMessage(user_id=user_id, chat_id=chat_id, kind=kind, text=text[:MAX_TEXT],
                          status=TelegramStatus.PENDING, next_attempt_at=utcnow())
    db.session.add(row)
    db.session.flush()
    enqueue_after_commit(SEND_JOB, row.id, queue="default", retries=5, timeout=120)
    return row


def telegram_queue(*, user: User, kind: str, event_key: str, template: str,
                   **context: Any) -> TelegramMessage | None:
    """Queue `telegram/<template>.txt`, rendered in `user`'s language, for `user`'s linked
    chat, once per (kind, event_key), unless Telegram is not configured, the chat is not
    linked or the person switched `kind` off for Telegram. Sent after commit by a job."""
    if not telegram_configured():
        return None
    chat_id = telegram_chat_of(user.id)
    if chat_id is None:
        return None
    if not notification_claim(user=user, kind=kind, channel=Channel.TELEGRAM,
                              event_key=event_key):
        return None
    with force_locale(user.locale):
        text = render_template(f"telegram/{template}.txt", **context).strip()
    return _message_add(user_id=user.id, chat_id=chat_id, kind=kind, text=text)


def _claimant() -> str:
    from rq import get_current_job

    job = get_current_job()
    return f"rq:{job.id}"[:80] if job is not None else f"once:{secrets.token_hex(8)}"


def telegram_send(message_id: int) -> dict[str, Any]:
    """Send one queued message if nobody else is sending it (see the module docstring).

    Returns what happened; raises TelegramError on a 5xx or no answer after recording the
    attempt, so RQ retries."""
    now = utcnow()
    claimant = _claimant()
    claimed = rowcount(db.session.execute(
        update(TelegramMessage)
        .where(TelegramMessage.id == message_id,
               or_(TelegramMessage.status == TelegramStatus.PENDING,
                   (TelegramMessage.status == TelegramStatus.SENDING)
                   & or_(TelegramMessage.claimed_at < now - STALE_CLAIM,
                         TelegramMessage.claimed_by == claimant)))
        .values(status=TelegramStatus.SENDING, claimed_at=now, claimed_by=claimant)
        .execution_options(synchronize_session=False)
    ))
    db.session.commit()  # the claim is visible before the network call
    if not claimed:
        return {"sent": False, "reason": "not pending"}
    row = db.session.get(TelegramMessage, message_id)
    assert row is not None
    config = current_app.config
    waited = 0.0
    while True:
        pause = rate_limiter().reserve(row.chat_id)
        if pause > config["TELEGRAM_INLINE_WAIT_MAX"]:
            # Held back (a long 429 for the bot): the sweep sends it when the slot comes.
            row.status = TelegramStatus.PENDING
            row.claimed_by = None
            row.next_attempt_at = utcnow() + timedelta(seconds=pause)
            db.session.commit()
            return {"sent": False, "held_back": round(pause, 1)}
        if pause > 0:
            time.sleep(pause)
        answer = telegram_api("sendMessage", {"chat_id": row.chat_id, "text": row.text,
                                              "disable_web_page_preview": True})
        if answer.status == 429 and waited + answer.retry_after <= config[
                "TELEGRAM_INLINE_WAIT_MAX"]:
            log.info("telegram message %s: 429, waiting %ss", row.id, answer.retry_after)
            rate_limiter().pause(answer.retry_after)
            waited += answer.retry_after
            time.sleep(answer.retry_after)
            continue
        break
    return _record(row, answer)


def _record(row: TelegramMessage, answer: ApiAnswer) -> dict[str, Any]:
    now = utcnow()
    row.claimed_by = None
    if answer.ok:
        row.status = TelegramStatus.SENT
        row.sent_at = now
        row.last_error = ""
        db.session.commit()
        log.info("telegram message %s (%s) sent", row.id, row.kind)
        return {"sent": True}
    row.last_error = f"HTTP {answer.status}: {answer.description}"[:2000]
    if answer.status == 429:
        row.status = TelegramStatus.PENDING
        row.next_attempt_at = now + timedelta(seconds=answer.retry_after)
        rate_limiter().pause(answer.retry_after)
        db.session.commit()
        log.info("telegram message %s: 429, left for the sweep in %ss", row.id,
                 answer.retry_after)
        return {"sent": False, "retry_after": answer.retry_after}
    if answer.status == 403:
        row.status = TelegramStatus.FAILED
        if row.user_id is not None:
            telegram_unlink(user_id=row.user_id, reason="blocked")
        db.session.commit()
        log.info("telegram message %s: 403, chat unlinked", row.id)
        return {"sent": False, "unlinked": True}
    if 400 <= answer.status < 500:
        row.status = TelegramStatus.FAILED
        db.session.commit()
        log.warning("telegram message %s refused: HTTP %s", row.id, answer.status)
        return {"sent": False, "failed": True}
    row.attempts += 1
    if row.attempts >= current_app.config["TELEGRAM_MAX_ATTEMPTS"]:
        row.status = TelegramStatus.FAILED
    else:
        row.status = TelegramStatus.PENDING
        delay = BACKOFF_SECONDS[min(row.attempts - 1, len(BACKOFF_SECONDS) - 1)]
        row.next_attempt_at = now + timedelta(seconds=delay)
    error = row.last_error
    db.session.commit()
    raise TelegramError(f"telegram message {row.id}: {error}")


def telegram_status_counts() -> dict[str, int]:
    """Messages per status (the admin page): how many wait, were sent, failed."""
    from sqlalchemy import func

    return dict(db.session.execute(
        select(TelegramMessage.status, func.count()).group_by(TelegramMessage.status)).all())


def telegram_linked_count() -> int:
    from sqlalchemy import func

    return db.session.scalar(select(func.count()).select_from(TelegramLink)
                             .where(TelegramLink.chat_id.is_not(None))) or 0


def telegram_sweep(*, limit: int = 200) -> dict[str, int]:
    """Send what is due: pending rows past their next attempt, and rows whose sender died
    (claimed long ago). Errors are counted, not raised (each row keeps its own back-off)."""
    now = utcnow()
    ids = db.session.scalars(
        select(TelegramMessage.id)
        .where(or_((TelegramMessage.status == TelegramStatus.PENDING)
                   & (TelegramMessage.next_attempt_at <= now),
                   (TelegramMessage.status == TelegramStatus.SENDING)
                   & (TelegramMessage.claimed_at < now - STALE_CLAIM)))
        .order_by(TelegramMessage.next_attempt_at, TelegramMessage.id).limit(limit)).all()
    db.session.commit()
    sent = failed = 0
    for message_id in ids:
        try:
            if telegram_send(message_id).get("sent"):
                sent += 1
        except TelegramError:
            db.session.rollback()
            failed += 1
    return {"due": len(ids), "sent": sent, "errors": failed}


# -- rate limits ----------------------------------------------------------------------------

_RESERVE_LUA = """
local now = tonumber(ARGV[1])
local global_interval = tonumber(ARGV[2])
local chat_interval = tonumber(ARGV[3])
local g = tonumber(redis.call('GET', KEYS[1]) or '0')
local c = tonumber(redis.call('GET', KEYS[2]) or '0')
local p = tonumber(redis.call('GET', KEYS[3]) or '0')
local g_slot = math.max(now, g, p)
local slot = math.max(g_slot, c)
redis.call('SET', KEYS[1], tostring(g_slot + global_interval), 'PX', 60000)
redis.call('SET', KEYS[2], tostring(slot + chat_interval), 'PX', 60000)
return tostring(slot - now)
"""


class RateLimiter:
    """Send slots: at most TELEGRAM_GLOBAL_PER_SECOND messages a second overall and one per
    TELEGRAM_CHAT_INTERVAL seconds per chat, shared by every worker through Redis (one Lua
    script: atomic), or per process without Redis. `reserve(chat_id)` books the next free
    slot and returns how many seconds to wait for it; `pause(seconds)` holds every send back
    after a 429."""

    def __init__(self, client=None, *, global_per_second: int = 30,
                 chat_interval: float = 1.0) -> None:
        self.client = client
        self.global_interval = 1.0 / max(1, global_per_second)
        self.chat_interval = chat_interval
        self._lock = threading.Lock()
        self._global_next = 0.0
        self._paused_until = 0.0
        self._chat_next: dict[int, float] = {}

    def reserve(self, chat_id: int) -> float:
        now = time.time()
        if self.client is not None:
            try:
                wait = self.client.eval(
                    _RESERVE_LUA, 3, "racik:telegram:rate:global",
                    f"racik:telegram:rate:chat:{chat_id}", "racik:telegram:rate:pause",
                    repr(now), repr(self.global_interval), repr(self.chat_interval))
                return max(0.0, float(wait))
            except Exception:  # Redis down: fall back to this process's slots
                log.warning("telegram rate limit: Redis unavailable, per-process slots")
        with self._lock:
            if len(self._chat_next) > 10000:
                self._chat_next = {k: v for k, v in self._chat_next.items() if v > now}
            g_slot = max(now, self._global_next, self._paused_until)
            slot = max(g_slot, self._chat_next.get(chat_id, 0.0))
            self._global_next = g_slot + self.global_interval
            self._chat_next[chat_id] = slot + self.chat_interval
            return slot - now

    def pause(self, seconds: float) -> None:
        until = time.time() + seconds
        if self.client is not None:
            try:
                self.client.set("racik:telegram:rate:pause", repr(until),
                                px=int(seconds * 1000) + 1000)
                return
            except Exception:
                log.warning("telegram rate limit: Redis unavailable for the pause")
        with self._lock:
            self._paused_until = max(self._paused_until, until)


def rate_limiter() -> RateLimiter:
    """The app's limiter (Redis-backed when jobs run on RQ)."""
    app = current_app_object()
    limiter = app.extensions.get("racik_telegram_rate")
    if limiter is None:
        client = redis_connection(app) if app.config.get("JOBS_MODE_ACTIVE") == "rq" else None
        limiter = RateLimiter(client, global_per_second=app.config["TELEGRAM_GLOBAL_PER_SECOND"],
                              chat_interval=app.config["TELEGRAM_CHAT_INTERVAL"])
        app.extensions["racik_telegram_rate"] = limiter
    return limiter
