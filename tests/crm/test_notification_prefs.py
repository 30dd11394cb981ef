"""The profile's notification section: every kind on by default, switched per kind and
channel, only the kinds of the person's roles, a clear 422 for anything else (nothing
saved), the htmx partial for htmx, and the section on the profile page itself."""

from __future__ import annotations

from sqlalchemy import select

from app.notifications.models import NotificationOptOut
from app.notifications.prefs import Channel, Kind, notification_wanted
from tests.crm.helpers import make_staff
from tests.factories import make_user


def _optouts(db, user) -> set[tuple[str, str]]:
    db.session.expire_all()
    return {(row.kind, row.channel) for row in db.session.scalars(
        select(NotificationOptOut).where(NotificationOptOut.user_id == user.id))}


def test_everything_is_on_by_default_and_shown_on_the_profile(client, db, login_as):
    staff = make_staff()
    db.session.commit()
    login_as(staff)
    html = client.get("/akun").get_data(as_text=True)
    for kind in (Kind.TASK_CREATED, Kind.TASK_REASSIGNED, Kind.TASK_DUE):
        for channel in Channel.ALL:
            assert f'data-testid="pref-{kind}-{channel}" checked' in html
    assert f"pref-{Kind.ORDER_NEW}-email" not in html  # not a seller
    assert notification_wanted(staff.id, Kind.TASK_DUE, Channel.EMAIL)


def test_unchecked_kinds_are_switched_off_per_channel(client, db, login_as):
    staff = make_staff()
    db.session.commit()
    login_as(staff)
    response = client.post("/akun/notifikasi", data={"on": [
        f"{Kind.TASK_CREATED}:email", f"{Kind.TASK_CREATED}:telegram",
        f"{Kind.TASK_REASSIGNED}:email", f"{Kind.TASK_DUE}:telegram"]})
    assert response.status_code == 303
    assert _optouts(db, staff) == {(Kind.TASK_REASSIGNED, "telegram"), (Kind.TASK_DUE, "email")}
    html = client.get("/akun/notifikasi").get_data(as_text=True)
    assert f'data-testid="pref-{Kind.TASK_DUE}-email">' in html  # unchecked now
    # Switching back on removes the row.
    client.post("/akun/notifikasi", data={"on": [
        f"{kind}:{channel}" for kind in (Kind.TASK_CREATED, Kind.TASK_REASSIGNED, Kind.TASK_DUE)
        for channel in Channel.ALL]})
    assert _optouts(db, staff) == set()


def test_a_kind_not_of_my_roles_is_422_and_nothing_saved(client, db, login_as):
    seller = make_user(roles=("seller",))
    db.session.commit()
    login_as(seller)
    response = client.post("/akun/notifikasi", data={"on": [f"{Kind.TASK_DUE}:email"]})
    assert response.status_code == 422
    assert "Pilihan notifikasi tidak dikenal" in response.get_data(as_text=True)
    assert _optouts(db, seller) == set()
    response = client.post("/akun/notifikasi", data={"on": ["order_new:sms"]})
    assert response.status_code == 422 and _optouts(db, seller) == set()


def test_a_post_without_the_csrf_token_is_refused(client, db, login_as):
    staff = make_staff()
    db.session.commit()
    login_as(staff)
    response = client.post("/akun/notifikasi", data={}, csrf=False)
    assert response.status_code in (400, 422)
    assert _optouts(db, staff) == set()


def test_htmx_gets_the_section_back(client, db, login_as):
    seller = make_user(roles=("seller",))
    db.session.commit()
    login_as(seller)
    response = client.post("/akun/notifikasi", data={"on": [f"{Kind.ORDER_NEW}:email"]},
                           headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith("<form") and "<html" not in html
    assert "Pengaturan notifikasi disimpan." in html
    assert _optouts(db, seller) == {(Kind.ORDER_NEW, "telegram")}


def test_switches_are_each_persons_own(client, db, login_as):
    me = make_staff()
    other = make_staff()
    db.session.commit()
    login_as(me)
    client.post("/akun/notifikasi", data={"on": []})
    assert len(_optouts(db, me)) == 6 and _optouts(db, other) == set()
