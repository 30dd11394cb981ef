"""Sessions: the list of devices, ending other sessions, the idle timeout for staff and
admin, and the absolute lifetime of every session."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import patch

from sqlalchemy import select

from app.accounts.models import UserSession
from app.core.clock import utcnow
from tests.conftest import log_in
from tests.factories import make_user

PHONE = ("Mozilla/5.0 (Linux; Android 13; SM-A536E) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/124.0.0.0 Mobile Safari/537.36")
LAPTOP = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:126.0) Gecko/20100101 Firefox/126.0")


def _live(db, user_id: int) -> list[UserSession]:
    db.session.expire_all()
    return list(db.session.scalars(select(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None))))


def _two_devices(db, make_client):
    user = make_user()
    db.session.commit()
    phone, laptop = make_client(), make_client()
    phone.environ_base["HTTP_USER_AGENT"] = PHONE
    laptop.environ_base["HTTP_USER_AGENT"] = LAPTOP
    log_in(phone, user.email)
    log_in(laptop, user.email)
    return user, phone, laptop


def test_the_list_shows_each_device_and_marks_this_one(db, make_client):
    _, phone, _ = _two_devices(db, make_client)
    page = phone.get("/akun/sesi").get_data(as_text=True)
    assert page.count('data-testid="session-row"') == 2
    assert "Chrome · Android" in page and "Firefox · Windows" in page
    assert page.index("Perangkat ini") < page.index("Firefox · Windows")  # this device first


def test_log_out_other_sessions_keeps_this_one(db, make_client):
    user, phone, laptop = _two_devices(db, make_client)
    response = phone.post("/akun/sesi/keluar-lainnya")
    assert response.status_code == 303
    assert laptop.get("/akun").status_code == 302  # sent to log in
    assert phone.get("/akun").status_code == 200
    assert len(_live(db, user.id)) == 1


def test_end_one_session_but_not_this_one_nor_another_users(db, make_client):
    user, phone, laptop = _two_devices(db, make_client)
    stranger = make_user()
    db.session.commit()
    other_client = make_client()
    log_in(other_client, stranger.email)
    mine = {row.user_agent: row.id for row in _live(db, user.id)}
    theirs = _live(db, stranger.id)[0].id
    assert phone.post(f"/akun/sesi/{theirs}/keluar").status_code == 404
    assert phone.post(f"/akun/sesi/{mine[PHONE]}/keluar").status_code == 404  # this one
    assert other_client.get("/akun").status_code == 200
    assert phone.post(f"/akun/sesi/{mine[LAPTOP]}/keluar").status_code == 303
    assert laptop.get("/akun").status_code == 302
    assert phone.get("/akun").status_code == 200


def test_staff_sessions_end_after_thirty_idle_minutes(db, client):
    staff = make_user(roles=("staff",))
    db.session.commit()
    log_in(client, staff.email)
    soon = utcnow() + timedelta(minutes=29)
    with patch("app.accounts.sessions.utcnow", return_value=soon):
        assert client.get("/akun").status_code == 200  # and this counts as activity
    later = soon + timedelta(minutes=31)
    with patch("app.accounts.sessions.utcnow", return_value=later):
        response = client.get("/akun")
    assert response.status_code == 302 and "/masuk" in response.headers["Location"]
    assert _live(db, staff.id) == []  # revoked, not just refused


def test_customer_sessions_have_no_idle_timeout_but_an_absolute_lifetime(db, client):
    buyer = make_user()
    db.session.commit()
    log_in(client, buyer.email)
    with patch("app.accounts.sessions.utcnow", return_value=utcnow() + timedelta(hours=3)):
        assert client.get("/akun").status_code == 200
    with patch("app.accounts.sessions.utcnow", return_value=utcnow() + timedelta(hours=13)):
        assert client.get("/akun").status_code == 302  # past SESSION_LIFETIME (12 h)
