"""Telegram: task events, production stages and new orders reach a linked chat once, through
a local fake of the Bot API over real HTTP; 429 waits `retry_after`, 5xx is retried, 403
unlinks; linking by `/start CODE` at the webhook (secret header); the admin's token is never
shown or logged; the rate limits (global and per chat)."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.core.clock import utcnow
from app.core.models import EmailOutbox
from app.core.settings import setting_set
from app.crm.models import Task
from app.crm.signals import task_assigned
from app.notifications.models import (
    NotificationOptOut,
    TelegramLink,
    TelegramMessage,
    TelegramStatus,
)
from app.notifications.prefs import Channel, Kind
from app.notifications.telegram import (
    SECRET_HEADER,
    SETTING_TOKEN,
    SETTING_WEBHOOK_SECRET,
    RateLimiter,
    TelegramError,
    telegram_send,
    telegram_sweep,
)
from tests.crm.fake_telegram import BLOCKED, SERVER_ERROR, FakeTelegram, too_many
from tests.crm.helpers import make_staff
from tests.factories import make_order, make_product, make_user
from tests.live import LiveBrowser, raw_request

TOKEN = "123456789:AAFakeTokenForTheTestsOnly_abcdefghij"
SECRET = "webhook-secret-for-tests"
CHAT = 777001


@pytest.fixture
def fake(app):
    """The fake Bot API, Telegram configured to use it, no per-chat wait between sends."""
    saved = {key: app.config[key] for key in ("TELEGRAM_API_URL", "TELEGRAM_CHAT_INTERVAL")}
    with FakeTelegram() as server:
        app.config["TELEGRAM_API_URL"] = server.url
        app.config["TELEGRAM_CHAT_INTERVAL"] = 0.0
        app.extensions.pop("racik_telegram_rate", None)
        yield server
    app.config.update(saved)
    app.extensions.pop("racik_telegram_rate", None)


def _configure(db) -> None:
    setting_set(key=SETTING_TOKEN, value=TOKEN)
    setting_set(key=SETTING_WEBHOOK_SECRET, value=SECRET)
    db.session.commit()


def _link(db, user, chat_id: int = CHAT) -> None:
    db.session.add(TelegramLink(user_id=user.id, chat_id=chat_id, linked_at=utcnow()))
    db.session.commit()


def _task_for(db, assignee, creator) -> Task:
    task = Task(title="Kirim penawaran PT Ayu", assignee_id=assignee.id,
                created_by_id=creator.id)
    db.session.add(task)
    db.session.commit()
    return task


def _messages(db) -> list[TelegramMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(TelegramMessage).order_by(TelegramMessage.id)))


def test_task_for_a_linked_person_reaches_their_chat_once(client, db, login_as, fake):
    _configure(db)
    boss = make_staff()
    worker = make_staff()
    db.session.commit()
    _link(db, worker)
    login_as(boss)
    response = client.post("/crm/tugas/baru", data={"title": "Kirim penawaran PT Ayu",
                                                    "priority": "normal",
                                                    "assignee_id": str(worker.id)})
    assert response.status_code == 303
    (sent,) = fake.sent()
    assert sent.token == TOKEN and sent.body["chat_id"] == CHAT
    assert "Kirim penawaran PT Ayu" in sent.body["text"]
    task = db.session.scalars(select(Task)).one()
    assert f"/crm/tugas/{task.id}" in sent.body["text"]
    task_assigned.send(task, previous_assignee_id=None, reason=None)  # the event again
    (message,) = _messages(db)
    assert message.status == TelegramStatus.SENT
    assert len(fake.sent()) == 1


def test_switched_off_or_unlinked_people_get_no_telegram(db, fake):
    _configure(db)
    boss = make_staff()
    opted_out = make_staff()
    unlinked = make_staff()
    db.session.commit()
    _link(db, opted_out)
    db.session.add(NotificationOptOut(user_id=opted_out.id, kind=Kind.TASK_CREATED,
                                      channel=Channel.TELEGRAM))
    db.session.commit()
    for person in (opted_out, unlinked):
        task_assigned.send(_task_for(db, person, boss), previous_assignee_id=None, reason=None)
    assert fake.sent() == [] and _messages(db) == []
    # Their emails still go: the switch is per channel.
    assert db.session.scalar(select(func.count()).select_from(EmailOutbox)) == 2


def test_nothing_is_queued_while_telegram_is_not_configured(db, fake):
    boss = make_staff()
    worker = make_staff()
    db.session.commit()
    _link(db, worker)
    task_assigned.send(_task_for(db, worker, boss), previous_assignee_id=None, reason=None)
    assert _messages(db) == [] and fake.requests == []


def fake_app_limiter_reset(db) -> None:
    from flask import current_app

    current_app.extensions.pop("racik_telegram_rate", None)


def _queued_message(db, fake) -> TelegramMessage:
    """A task notice for a linked worker whose first send the fake answers with the next
    answer in `fake.answers`."""
    _configure(db)
    boss = make_staff()
    worker = make_staff()
    db.session.commit()
    _link(db, worker)
    task_assigned.send(_task_for(db, worker, boss), previous_assignee_id=None, reason=None)
    (message,) = _messages(db)
    return message


def test_429_waits_retry_after_then_sends_once(db, fake):
    fake.answers.append(too_many(1))
    message = _queued_message(db, fake)
    first, second = fake.sent()
    assert second.at - first.at >= 1  # Telegram's retry_after was waited out
    assert message.status == TelegramStatus.SENT and message.attempts == 0


def test_long_429_is_left_for_the_sweep_until_retry_after(db, fake):
    fake.answers.append(too_many(300))
    message = _queued_message(db, fake)
    assert message.status == TelegramStatus.PENDING
    assert message.next_attempt_at >= utcnow() + timedelta(seconds=290)
    assert telegram_sweep()["due"] == 0  # not before retry_after
    other = TelegramMessage(user_id=None, chat_id=CHAT + 1, kind="link", text="halo")
    db.session.add(other)
    db.session.commit()
    assert telegram_send(other.id).get("held_back", 0) > 200  # the bot is paused: all wait
    assert len(fake.sent()) == 1
    # Once retry_after has passed (the pause forgotten, the row due), the sweep sends both.
    fake_app_limiter_reset(db)
    message.next_attempt_at = other.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert telegram_sweep()["sent"] == 2
    assert len(fake.sent()) == 3


def test_5xx_is_retried_and_the_message_is_sent_once(db, fake):
    fake.answers.append(SERVER_ERROR)
    message = _queued_message(db, fake)  # the job's first run met the 500 (and raised)
    assert message.status == TelegramStatus.PENDING and message.attempts == 1
    assert "HTTP 500" in message.last_error
    assert telegram_send(message.id)["sent"] is True  # RQ's retry
    assert telegram_send(message.id)["sent"] is False  # a second retry: already sent
    assert telegram_sweep()["due"] == 0
    assert len(fake.sent()) == 2
    db.session.expire_all()
    assert message.status == TelegramStatus.SENT


def test_5xx_raises_so_rq_retries(db, fake):
    _configure(db)
    user = make_staff()
    db.session.commit()
    row = TelegramMessage(user_id=user.id, chat_id=CHAT, kind="link", text="halo")
    db.session.add(row)
    db.session.commit()
    fake.answers.append(SERVER_ERROR)
    with pytest.raises(TelegramError):
        telegram_send(row.id)


def test_403_blocked_unlinks_the_chat(db, fake):
    fake.answers.append(BLOCKED)
    message = _queued_message(db, fake)
    assert message.status == TelegramStatus.FAILED
    link = db.session.get(TelegramLink, message.user_id)
    assert link.chat_id is None and link.unlinked_reason == "blocked"
    boss = make_staff()
    db.session.commit()
    task_assigned.send(_task_for(db, link.user, boss), previous_assignee_id=None, reason=None)
    assert len(_messages(db)) == 1 and len(fake.sent()) == 1


def test_new_order_and_production_stage_go_to_telegram_too(db, fake):
    from tests.maklon.factories import make_maklon_client, make_signed_order, reach_stage

    _configure(db)
    seller = make_user(roles=("seller",))
    buyer = make_user()
    product = make_product(store=seller.store, name="Toner Mawar")
    client_user = make_maklon_client()
    db.session.commit()
    _link(db, seller, 1001)
    _link(db, client_user, 1002)
    order = make_order(buyer=buyer, variant=product.variants[0])
    db.session.commit()
    request = make_signed_order(client=client_user, paid=("dp",))
    db.session.commit()
    reach_stage(request, "material_purchase")
    db.session.commit()
    texts = {r.body["chat_id"]: r.body["text"] for r in fake.sent()}
    assert order.number in texts[1001]
    assert request.number in texts[1002]


def test_opted_out_seller_gets_neither_email_nor_telegram_for_a_new_order(db, fake):
    _configure(db)
    seller = make_user(roles=("seller",))
    buyer = make_user()
    product = make_product(store=seller.store)
    db.session.commit()
    _link(db, seller)
    for channel in Channel.ALL:
        db.session.add(NotificationOptOut(user_id=seller.id, kind=Kind.ORDER_NEW,
                                          channel=channel))
    db.session.commit()
    make_order(buyer=buyer, variant=product.variants[0])
    db.session.commit()
    assert fake.sent() == []
    templates = set(db.session.scalars(select(EmailOutbox.template)))
    assert "order_new_seller" not in templates and "order_confirmation" in templates


# -- linking ----------------------------------------------------------------------------

def _update(chat_id: int, text: str) -> bytes:
    return json.dumps({"update_id": 1, "message": {
        "message_id": 5, "text": text, "chat": {"id": chat_id, "type": "private"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Budi"}}}).encode()


def test_linking_by_start_code_over_http(app, db, live_url, fake):
    _configure(db)
    user = make_staff(name="Budi")
    db.session.commit()
    email, user_id = user.email, user.id
    db.session.close()
    browser = LiveBrowser(live_url)
    browser.log_in(email)
    browser.get("/akun/notifikasi")
    page = browser.post("/akun/notifikasi/telegram").text()
    code = re.search(r"/start ([A-Z0-9]{8})", page).group(1)
    hook = "/telegram/webhook"
    headers = {"Content-Type": "application/json"}
    wrong = raw_request(live_url, hook, method="POST", body=_update(CHAT, f"/start {code}"),
                        headers={**headers, SECRET_HEADER: "wrong"})
    assert wrong.status == 401
    assert db.session.get(TelegramLink, user_id).chat_id is None
    db.session.close()
    right = raw_request(live_url, hook, method="POST", body=_update(CHAT, f"/start {code}"),
                        headers={**headers, SECRET_HEADER: SECRET})
    assert right.status == 200 and json.loads(right.body)["result"] == "linked"
    assert db.session.get(TelegramLink, user_id).chat_id == CHAT
    db.session.close()
    (reply,) = fake.sent()
    assert reply.body["chat_id"] == CHAT and "Budi" in reply.body["text"]
    # The code is single use.
    again = raw_request(live_url, hook, method="POST", body=_update(999, f"/start {code}"),
                        headers={**headers, SECRET_HEADER: SECRET})
    assert json.loads(again.body)["result"] == "bad-code"
    assert db.session.get(TelegramLink, user_id).chat_id == CHAT
    db.session.close()
    assert "telegram-linked" in browser.get("/akun/notifikasi").text()


def test_expired_code_does_not_link(client, db, login_as, fake):
    _configure(db)
    user = make_staff()
    db.session.commit()
    login_as(user)
    page = client.post("/akun/notifikasi/telegram").get_data(as_text=True)
    code = re.search(r"/start ([A-Z0-9]{8})", page).group(1)
    link = db.session.get(TelegramLink, user.id)
    link.code_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.post("/telegram/webhook", data=_update(CHAT, f"/start {code}"),
                           content_type="application/json",
                           headers={SECRET_HEADER: SECRET}, csrf=False)
    assert response.get_json()["result"] == "bad-code"
    db.session.expire_all()
    assert db.session.get(TelegramLink, user.id).chat_id is None


def test_webhook_bad_body_is_400_and_other_updates_are_ignored(client, db, fake):
    _configure(db)
    bad = client.post("/telegram/webhook", data=b"{not json", content_type="application/json",
                      headers={SECRET_HEADER: SECRET}, csrf=False)
    assert bad.status_code == 400
    other = client.post("/telegram/webhook", data=_update(CHAT, "halo"),
                        content_type="application/json", headers={SECRET_HEADER: SECRET},
                        csrf=False)
    assert other.status_code == 200 and other.get_json()["result"] == "ignored"
    assert fake.requests == []


def test_unlink_from_the_profile(client, db, login_as, fake):
    _configure(db)
    user = make_staff()
    db.session.commit()
    _link(db, user)
    login_as(user)
    assert client.post("/akun/notifikasi/telegram/lepas").status_code == 303
    db.session.expire_all()
    assert db.session.get(TelegramLink, user.id).chat_id is None


# -- the admin's bot settings ---------------------------------------------------------------

def test_admin_token_is_stored_never_shown_never_logged(client, db, login_as, fake, caplog):
    login_as("admin")
    caplog.set_level(logging.DEBUG)
    response = client.post("/admin/telegram", data={"token": TOKEN, "username": "RacikBot"})
    assert response.status_code == 303
    page = client.get("/admin/telegram").get_data(as_text=True)
    assert TOKEN not in page and "RacikBot" in page
    audit = db.session.scalars(select(AuditEntry)).all()
    assert audit and all(TOKEN not in json.dumps([row.before, row.after], default=str)
                         for row in audit)
    # Sending a message with it logs neither the token nor the URL carrying it.
    user = make_staff()
    db.session.commit()
    row = TelegramMessage(user_id=user.id, chat_id=CHAT, kind="link", text="halo")
    db.session.add(row)
    db.session.commit()
    assert telegram_send(row.id)["sent"] is True
    assert fake.sent()[0].token == TOKEN
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text


def test_admin_token_in_a_wrong_shape_is_422_and_nothing_saved(client, db, login_as):
    login_as("admin")
    response = client.post("/admin/telegram", data={"token": "bukan token", "username": ""})
    assert response.status_code == 422
    assert "@BotFather" in response.get_data(as_text=True)
    from app.core.models import Setting

    assert db.session.get(Setting, SETTING_TOKEN) is None


# -- rate limits ----------------------------------------------------------------------------

def _limiter_checks(limiter: RateLimiter) -> None:
    assert limiter.reserve(1) == 0
    assert limiter.reserve(1) >= 0.9  # the same chat: a second later
    assert limiter.reserve(2) < 0.9  # another chat: only the global spacing
    for chat in range(3, 40):
        limiter.reserve(chat)
    assert limiter.reserve(99) >= 0.9  # 40 sends booked: the 41st waits for the next second


def test_rate_limiter_per_process():
    _limiter_checks(RateLimiter(None, global_per_second=30, chat_interval=1.0))


@pytest.mark.redis
def test_rate_limiter_shared_through_redis(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        _limiter_checks(RateLimiter(client, global_per_second=30, chat_interval=1.0))
        # Another worker (another limiter on the same Redis) sees the same bookings.
        assert RateLimiter(client, global_per_second=30, chat_interval=1.0).reserve(1) >= 0.9
    finally:
        client.close()


def test_two_senders_at_once_send_one_message(app, db, fake):
    import threading

    _configure(db)
    user = make_staff()
    db.session.commit()
    row = TelegramMessage(user_id=user.id, chat_id=CHAT, kind="link", text="sekali saja")
    db.session.add(row)
    db.session.commit()
    row_id = row.id
    db.session.close()
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def send() -> None:
        with app.app_context():
            barrier.wait()
            try:
                outcomes.append(telegram_send(row_id)["sent"])
            except Exception as error:  # SQLite: the loser may meet the writer's lock
                outcomes.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(True) == 1
    assert len(fake.sent()) == 1


def test_admin_registers_the_webhook_with_our_secret(client, db, login_as, fake):
    login_as("admin")
    client.post("/admin/telegram", data={"token": TOKEN, "username": "RacikBot"})
    response = client.post("/admin/telegram/webhook")
    assert response.status_code == 303
    (call,) = fake.sent("setWebhook")
    from app.notifications.telegram import telegram_webhook_secret

    assert call.token == TOKEN and call.body["url"].endswith("/telegram/webhook")
    assert call.body["secret_token"] == telegram_webhook_secret() != ""


@pytest.mark.redis
def test_the_request_only_enqueues_and_an_rq_worker_sends_once(
        app, client, db, login_as, fake, redis_url, monkeypatch):
    import redis
    from rq import Queue, SimpleWorker

    _configure(db)
    boss = make_staff()
    worker = make_staff()
    db.session.commit()
    _link(db, worker)
    monkeypatch.setitem(app.config, "JOBS_MODE_ACTIVE", "rq")
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    monkeypatch.setattr("jobs.runner._app", app)
    app.extensions.pop("racik_redis", None)
    app.extensions.pop("racik_telegram_rate", None)
    try:
        login_as(boss)
        response = client.post("/crm/tugas/baru", data={"title": "Lewat RQ",
                                                        "priority": "normal",
                                                        "assignee_id": str(worker.id)})
        assert response.status_code == 303
        assert fake.requests == []  # the request never talked to Telegram
        connection = redis.Redis.from_url(redis_url)
        queues = [Queue(name, connection=connection) for name in ("default", "email")]
        job_ids = queues[0].job_ids
        assert len(job_ids) == 1
        SimpleWorker(queues, connection=connection).work(burst=True)
        assert len(fake.sent()) == 1
        # The same job run again (RQ re-runs a job whose worker died): nothing more.
        job = queues[0].fetch_job(job_ids[0])
        queues[0].enqueue("jobs.runner.run", *job.args, job_id=job.id)
        SimpleWorker(queues, connection=connection).work(burst=True)
        assert len(fake.sent()) == 1
        (message,) = _messages(db)
        assert message.status == TelegramStatus.SENT
        connection.close()
    finally:
        app.extensions.pop("racik_redis", None)
        app.extensions.pop("racik_telegram_rate", None)


def test_admin_page_counts_links_and_messages(client, db, login_as, fake):
    _configure(db)
    user = make_staff()
    db.session.commit()
    _link(db, user)
    db.session.add_all([
        TelegramMessage(user_id=user.id, chat_id=CHAT, kind="link", text="a",
                        status=TelegramStatus.SENT),
        TelegramMessage(user_id=user.id, chat_id=CHAT, kind="link", text="b",
                        status=TelegramStatus.FAILED)])
    db.session.commit()
    login_as("admin")
    html = client.get("/admin/telegram").get_data(as_text=True)
    assert "1 akun tersambung · menunggu 0 · terkirim 1 · gagal 1" in html
