"""My notification switches through the API (/me/notifications): the kinds of my roles,
all on by default, switched per channel with the web's service, a 422 naming a kind that is
not mine (nothing saved), and the switch then holds for the emails themselves."""

from __future__ import annotations

from sqlalchemy import select

from app.notifications.models import NotificationOptOut
from app.notifications.prefs import notification_wanted
from tests.crm.helpers import make_staff
from tests.factories import make_user

BASE = "/api/v1/me/notifications"


def test_switches_are_listed_on_by_default_for_my_roles(db, api):
    seller = make_user(roles=("seller",))
    db.session.commit()
    body = api(seller).get(BASE).get_json()
    assert [s["kind"] for s in body["switches"]] == ["order_new"]
    assert body["switches"][0]["email"] and body["switches"][0]["telegram"]
    assert body["telegram_configured"] is False and body["telegram_linked"] is False


def test_put_switches_one_channel_and_keeps_the_others(db, api):
    staff = make_staff()
    db.session.commit()
    client = api(staff)
    response = client.put(BASE, json={"switches": [
        {"kind": "task_due", "email": False, "telegram": True}]})
    assert response.status_code == 200
    by_kind = {s["kind"]: s for s in response.get_json()["switches"]}
    assert by_kind["task_due"]["email"] is False and by_kind["task_due"]["telegram"] is True
    assert by_kind["task_created"]["email"] is True
    db.session.expire_all()
    assert not notification_wanted(staff.id, "task_due", "email")
    assert notification_wanted(staff.id, "task_created", "email")


def test_a_kind_not_mine_is_422_and_nothing_saved(db, api):
    seller = make_user(roles=("seller",))
    db.session.commit()
    response = api(seller).put(BASE, json={"switches": [
        {"kind": "order_new", "email": False, "telegram": False},
        {"kind": "task_due", "email": False, "telegram": False}]})
    assert response.status_code == 422
    assert "task_due" in response.get_json()["error"]["fields"]["switches"]
    assert db.session.scalars(select(NotificationOptOut)).all() == []
    unknown = api(seller).put(BASE, json={"switches": [{"kind": "sms", "email": True,
                                                        "telegram": True}]})
    assert unknown.status_code == 422


def test_anonymous_is_401(api):
    assert api().get(BASE).status_code == 401
