"""User management in the admin console: the list (search, filters, pages), roles with
their audit rows, the last active admin (also under concurrency), deactivation ending the
user's sessions at once, activation, reset links, ending one session, and 404s."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from unittest.mock import patch

import pytest
from sqlalchemy import func, select

from app.accounts.models import PasswordResetToken, Role, RoleName, User, UserSession
from app.admin.users import UserAdminError, user_deactivate, user_roles_set
from app.audit.models import AuditEntry
from app.core.clock import utcnow
from app.core.models import EmailOutbox
from tests.conftest import log_in
from tests.factories import DEFAULT_PASSWORD, make_user

ROW_EMAIL = re.compile(r'data-testid="user-row" data-email="([^"]+)"')
LINK = re.compile(r"(/atur-ulang-kata-sandi/[A-Za-z0-9_-]+)")
NEW_PASSWORD = "teh-manis-pakai-es-batu-77"


def _listed(client, **args) -> list[str]:
    response = client.get("/admin/pengguna", query_string=args)
    assert response.status_code == 200
    return ROW_EMAIL.findall(response.get_data(as_text=True))


def _admin(db, client, email: str = "admin@example.test") -> User:
    admin = make_user(email=email, name="Admin Utama", roles=(RoleName.ADMIN,))
    db.session.commit()
    log_in(client, admin.email)
    return admin


def _audits(db, action: str) -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                   .order_by(AuditEntry.id)))


def _role_names(db, user_id: int) -> set[str]:
    db.session.expire_all()
    return db.session.get(User, user_id).role_names


def _active_admins(db) -> list[str]:
    db.session.expire_all()
    return sorted(db.session.scalars(select(User.email).where(
        User.active.is_(True), User.roles.any(Role.name == RoleName.ADMIN))))


# --- the list ------------------------------------------------------------------------------


def test_search_matches_name_or_email_in_any_case_newest_first(db, client):
    _admin(db, client)
    siti = make_user(email="siti@example.test", name="Siti Aminah")
    make_user(email="budi@example.test", name="Budi Santoso")
    rina = make_user(email="rina.SITI@example.test".lower(), name="Rina")
    make_user(email="persen@example.test", name="Diskon 100% Joko")
    db.session.commit()
    assert _listed(client, q="SITI") == [rina.email, siti.email]  # newest first
    assert _listed(client, q="santoso") == ["budi@example.test"]
    assert _listed(client, q="%") == ["persen@example.test"]  # % is a character, not a wildcard
    assert _listed(client, q="tidak-ada-yang-cocok") == []


def test_filters_by_role_and_status(db, client):
    admin = _admin(db, client)
    seller = make_user(email="penjual@example.test", roles=("customer", "seller"))
    staff = make_user(email="staf@example.test", roles=("staff",))
    gone = make_user(email="pergi@example.test", roles=("customer",))
    gone.active = False
    db.session.commit()
    assert _listed(client, peran="seller") == [seller.email]
    assert _listed(client, peran="customer") == [gone.email, seller.email]
    assert _listed(client, status="nonaktif") == [gone.email]
    assert _listed(client, status="aktif") == [staff.email, seller.email, admin.email]
    assert _listed(client, peran="customer", status="aktif") == [seller.email]
    # Unknown filter values are ignored, not a 500.
    assert len(_listed(client, peran="raja", status="x")) == 4


def test_list_shows_roles_last_login_and_live_sessions_and_pages(db, client, make_client):
    _admin(db, client)
    user = make_user(email="dua-sesi@example.test", roles=("customer", "seller"))
    db.session.commit()
    for _ in range(2):
        log_in(make_client(), user.email)
    page = client.get("/admin/pengguna", query_string={"q": "dua-sesi"}).get_data(as_text=True)
    row = page[page.index('data-email="dua-sesi@example.test"'):].split("</tr>")[0]
    assert "Pembeli" in row and "Penjual" in row and "Aktif" in row
    assert "WIB" in row  # last login shown in Jakarta time
    assert re.search(r"<td>2</td>\s*$", row.strip())  # two live sessions
    make_user()
    db.session.commit()
    with patch("app.admin.users.USERS_PER_PAGE", 2):
        first = _listed(client)
        second = _listed(client, hal=2)
    assert len(first) == 2 and len(second) == 1 and not set(first) & set(second)


def test_htmx_gets_only_the_table(db, client):
    _admin(db, client)
    response = client.get("/admin/pengguna?q=admin", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="users-table">') and "<html" not in body
    assert "HX-Request" in response.headers["Vary"]


def test_detail_shows_roles_store_and_sessions(db, client, make_client):
    _admin(db, client)
    seller = make_user(email="toko@example.test", roles=("customer", "seller"),
                       store_name="Toko Wangi")
    db.session.commit()
    phone = make_client()
    phone.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (Linux; Android 13) Chrome/124.0"
    log_in(phone, seller.email)
    page = client.get(f"/admin/pengguna/{seller.id}").get_data(as_text=True)
    assert "Toko Wangi" in page
    assert page.count('data-testid="session-row"') == 1 and "Chrome · Android" in page
    assert 'value="seller" id="role-seller" checked' in page
    assert 'value="admin" id="role-admin" >' in page


# --- roles ---------------------------------------------------------------------------------


def test_grant_and_revoke_roles_write_exact_audit_rows(db, client):
    admin = _admin(db, client)
    user = make_user(roles=("customer",))
    db.session.commit()
    response = client.post(f"/admin/pengguna/{user.id}/peran",
                           data={"roles": ["customer", "staff"], "seen": ["customer"]})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/pengguna/{user.id}"
    assert _role_names(db, user.id) == {"customer", "staff"}
    response = client.post(f"/admin/pengguna/{user.id}/peran",
                           data={"roles": ["staff", "admin"], "seen": ["customer", "staff"]})
    assert response.status_code == 303
    assert _role_names(db, user.id) == {"staff", "admin"}
    rows = _audits(db, "user.roles")
    assert [(r.before, r.after) for r in rows] == [
        ({"roles": ["customer"]}, {"roles": ["customer", "staff"]}),
        ({"roles": ["customer", "staff"]}, {"roles": ["admin", "staff"]}),
    ]
    assert {(r.actor_id, r.object_type, r.object_id) for r in rows} == {
        (admin.id, "user", str(user.id))}


def test_a_double_click_on_roles_changes_once(db, client):
    _admin(db, client)
    user = make_user(roles=("customer",))
    db.session.commit()
    form = {"roles": ["customer", "client"], "seen": ["customer"]}
    assert client.post(f"/admin/pengguna/{user.id}/peran", data=form).status_code == 303
    assert client.post(f"/admin/pengguna/{user.id}/peran", data=form).status_code == 303
    assert _role_names(db, user.id) == {"customer", "client"}
    assert len(_audits(db, "user.roles")) == 1


def test_a_stale_roles_form_is_a_conflict(db, client):
    _admin(db, client)
    user = make_user(roles=("customer", "staff"))
    db.session.commit()
    response = client.post(f"/admin/pengguna/{user.id}/peran",
                           data={"roles": ["customer", "client"], "seen": ["customer"]})
    assert response.status_code == 409
    assert "baru saja diubah" in response.get_data(as_text=True)
    assert _role_names(db, user.id) == {"customer", "staff"}
    assert _audits(db, "user.roles") == []


@pytest.mark.parametrize("roles", [[], ["raja"], ["customer", "raja"]])
def test_bad_roles_input_is_422_at_the_field_and_changes_nothing(db, client, roles):
    _admin(db, client)
    user = make_user(roles=("customer",))
    db.session.commit()
    response = client.post(f"/admin/pengguna/{user.id}/peran", data={"roles": roles})
    assert response.status_code == 422
    assert 'id="roles-errors"' in response.get_data(as_text=True)
    assert _role_names(db, user.id) == {"customer"}
    assert _audits(db, "user.roles") == []


# --- the last active admin -----------------------------------------------------------------


def test_an_admin_cannot_remove_their_own_admin_role(db, client):
    admin = _admin(db, client)
    make_user(email="admin2@example.test", roles=("admin",))
    db.session.commit()
    response = client.post(f"/admin/pengguna/{admin.id}/peran",
                           data={"roles": ["customer"], "seen": ["admin"]})
    assert response.status_code == 409
    assert "akun Anda sendiri" in response.get_data(as_text=True)
    assert _role_names(db, admin.id) == {"admin"}
    assert _audits(db, "user.roles") == []


def test_an_admin_may_add_roles_to_themselves_keeping_admin(db, client):
    admin = _admin(db, client)
    response = client.post(f"/admin/pengguna/{admin.id}/peran",
                           data={"roles": ["admin", "staff"], "seen": ["admin"]})
    assert response.status_code == 303
    assert _role_names(db, admin.id) == {"admin", "staff"}


def test_an_admin_cannot_deactivate_themselves(db, client):
    admin = _admin(db, client)
    response = client.post(f"/admin/pengguna/{admin.id}/nonaktifkan")
    assert response.status_code == 409
    assert "akun Anda sendiri" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, admin.id).active is True
    assert client.get("/admin/pengguna").status_code == 200  # still logged in
    assert _audits(db, "user.deactivate") == []


def test_the_only_active_admin_cannot_lose_the_role_or_be_deactivated(app, db):
    only = make_user(email="satu@example.test", roles=("admin",))
    dormant = make_user(email="tidur@example.test", roles=("admin",))
    dormant.active = False  # an inactive admin does not count
    other = make_user(roles=("staff",))
    db.session.commit()
    with app.test_request_context():
        with pytest.raises(UserAdminError) as refused:
            user_roles_set(user=only, roles=["customer"], actor=other, seen=["admin"])
        assert refused.value.status == 409 and "admin aktif terakhir" in refused.value.message
        db.session.rollback()
        with pytest.raises(UserAdminError) as refused:
            user_deactivate(user=only, actor=other)
        assert refused.value.status == 409 and "admin aktif terakhir" in refused.value.message
        db.session.rollback()
    assert _active_admins(db) == ["satu@example.test"]
    assert _audits(db, "user.roles") == _audits(db, "user.deactivate") == []


def test_revoking_an_inactive_admins_role_is_allowed(db, client):
    _admin(db, client)
    dormant = make_user(roles=("admin",))
    dormant.active = False
    db.session.commit()
    response = client.post(f"/admin/pengguna/{dormant.id}/peran",
                           data={"roles": ["customer"], "seen": ["admin"]})
    assert response.status_code == 303
    assert _role_names(db, dormant.id) == {"customer"}


def test_two_admins_removing_each_other_at_once_leave_one_admin(db, make_client):
    first = make_user(email="a1@example.test", roles=("admin",))
    second = make_user(email="a2@example.test", roles=("admin",))
    ids = (first.id, second.id)
    db.session.commit()
    clients = [make_client(), make_client()]
    log_in(clients[0], "a1@example.test")
    log_in(clients[1], "a2@example.test")
    tokens = [client.csrf_token() for client in clients]
    barrier = threading.Barrier(2)
    statuses = [0, 0]

    def worker(index: int) -> None:
        target = ids[1 - index]  # each removes the other's admin role
        barrier.wait()
        response = clients[index].open(
            f"/admin/pengguna/{target}/peran", method="POST", csrf=False,
            data={"roles": ["customer"], "seen": ["admin"], "csrf_token": tokens[index]})
        statuses[index] = response.status_code

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # The loser is refused by the last-admin rule (409), or, when the winner committed
    # before the loser's request even started, by the role check (403).
    assert sorted(statuses)[0] == 303 and sorted(statuses)[1] in (403, 409)
    assert len(_active_admins(db)) == 1
    assert len(_audits(db, "user.roles")) == 1


def test_concurrent_services_removing_both_admins_leave_one(app, db):
    """The same race at the service level: both transactions have read two admins before
    either writes (on PostgreSQL), so only the lock and the re-read can save the last one."""
    first = make_user(email="b1@example.test", roles=("admin",))
    second = make_user(email="b2@example.test", roles=("admin",))
    ids = (first.id, second.id)
    db.session.commit()
    barrier = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def worker(index: int) -> None:
        with app.test_request_context():
            from app.extensions import db as database

            barrier.wait()
            actor = database.session.get(User, ids[index])
            target = database.session.get(User, ids[1 - index])
            try:
                user_roles_set(user=target, roles=["customer"], actor=actor)
                database.session.commit()
                outcomes[index] = "ok"
            except UserAdminError as error:
                database.session.rollback()
                outcomes[index] = error.status
            finally:
                database.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes, key=str) == [409, "ok"]
    assert len(_active_admins(db)) == 1


# --- deactivate / activate -----------------------------------------------------------------


def test_deactivation_ends_sessions_at_once_and_blocks_login(db, client, make_client):
    admin = _admin(db, client)
    user = make_user(email="nakal@example.test")
    db.session.commit()
    browser, phone = make_client(), make_client()
    log_in(browser, user.email)
    log_in(phone, user.email)
    assert browser.get("/akun").status_code == 200
    response = client.post(f"/admin/pengguna/{user.id}/nonaktifkan")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/pengguna/{user.id}"
    # The very next request of the user's open sessions is logged out.
    for device in (browser, phone):
        response = device.get("/akun")
        assert response.status_code == 302 and "/masuk" in response.headers["Location"]
    assert db.session.scalar(select(func.count(UserSession.id)).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None))) == 0
    refused = make_client().post("/masuk", data={"email": user.email,
                                                 "password": DEFAULT_PASSWORD})
    assert refused.status_code == 422
    [row] = _audits(db, "user.deactivate")
    assert (row.actor_id, row.object_id) == (admin.id, str(user.id))
    assert (row.before, row.after) == ({"active": True}, {"active": False, "sessions_ended": 2})
    assert "Nonaktif" in _listed_page(client, user.email)


def _listed_page(client, email: str) -> str:
    page = client.get("/admin/pengguna", query_string={"q": email}).get_data(as_text=True)
    return page[page.index(f'data-email="{email}"'):].split("</tr>")[0]


def test_deactivating_twice_changes_once(db, client):
    _admin(db, client)
    user = make_user()
    db.session.commit()
    assert client.post(f"/admin/pengguna/{user.id}/nonaktifkan").status_code == 303
    assert client.post(f"/admin/pengguna/{user.id}/nonaktifkan").status_code == 303
    assert len(_audits(db, "user.deactivate")) == 1


def test_activation_lets_the_user_log_in_again_but_old_sessions_stay_ended(
        db, client, make_client):
    admin = _admin(db, client)
    user = make_user(email="kembali@example.test")
    db.session.commit()
    old = make_client()
    log_in(old, user.email)
    client.post(f"/admin/pengguna/{user.id}/nonaktifkan")
    assert client.post(f"/admin/pengguna/{user.id}/aktifkan").status_code == 303
    assert client.post(f"/admin/pengguna/{user.id}/aktifkan").status_code == 303  # no-op
    assert old.get("/akun").status_code == 302
    fresh = make_client()
    log_in(fresh, user.email)
    assert fresh.get("/akun").status_code == 200
    [row] = _audits(db, "user.activate")
    assert (row.actor_id, row.before, row.after) == (admin.id, {"active": False},
                                                     {"active": True})


def test_deactivating_one_of_two_admins_is_allowed(db, client, make_client):
    _admin(db, client)
    other = make_user(email="admin2@example.test", roles=("admin",))
    db.session.commit()
    other_browser = make_client()
    log_in(other_browser, other.email)
    assert client.post(f"/admin/pengguna/{other.id}/nonaktifkan").status_code == 303
    assert other_browser.get("/admin/pengguna").status_code == 302
    assert _active_admins(db) == ["admin@example.test"]


# --- sessions ------------------------------------------------------------------------------


def test_ending_one_session_logs_out_only_that_device(db, client, make_client):
    admin = _admin(db, client)
    user = make_user()
    db.session.commit()
    phone, laptop = make_client(), make_client()
    log_in(phone, user.email)
    log_in(laptop, user.email)
    phone_session = db.session.scalars(select(UserSession).where(
        UserSession.user_id == user.id).order_by(UserSession.id)).first()
    url = f"/admin/pengguna/{user.id}/sesi/{phone_session.id}/akhiri"
    assert client.post(url).status_code == 303
    assert client.post(url).status_code == 303  # a second click: already ended
    assert phone.get("/akun").status_code == 302
    assert laptop.get("/akun").status_code == 200
    [row] = _audits(db, "user.session_end")
    assert (row.actor_id, row.object_id, row.after["session_id"]) == (
        admin.id, str(user.id), phone_session.id)


def test_another_users_session_id_is_404(db, client, make_client):
    _admin(db, client)
    user, other = make_user(), make_user()
    db.session.commit()
    log_in(make_client(), other.email)
    other_session = db.session.scalars(select(UserSession).where(
        UserSession.user_id == other.id)).one()
    response = client.post(f"/admin/pengguna/{user.id}/sesi/{other_session.id}/akhiri")
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(UserSession, other_session.id).revoked_at is None


# --- reset link ----------------------------------------------------------------------------


def test_reset_link_sends_one_working_single_use_email(db, client, make_client):
    admin = _admin(db, client)
    user = make_user(email="lupa@example.test")
    db.session.commit()
    assert client.post(f"/admin/pengguna/{user.id}/tautan-atur-ulang").status_code == 303
    assert client.post(f"/admin/pengguna/{user.id}/tautan-atur-ulang").status_code == 303
    mails = db.session.scalars(select(EmailOutbox).where(
        EmailOutbox.template == "password_reset")).all()
    assert [mail.to_address for mail in mails] == [user.email]
    link = LINK.search(mails[0].body_text).group(1)
    browser = make_client()
    assert browser.get(link).status_code == 200
    form = {"new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD}
    assert browser.post(link, data=form).status_code == 303
    assert browser.post(link, data=form).status_code == 410  # single use
    log_in(browser, user.email, NEW_PASSWORD)
    [row] = _audits(db, "user.reset_link")
    assert (row.actor_id, row.object_id, row.before, row.after) == (
        admin.id, str(user.id), None, None)


def test_reset_link_respects_the_flows_limit_per_address(db, client):
    _admin(db, client)
    user = make_user()
    long_ago = utcnow() - timedelta(minutes=10)
    for n in range(3):  # RESET_LIMIT_PER_EMAIL is 3 per hour
        db.session.add(PasswordResetToken(user_id=user.id, token_hash=f"{n:064d}",
                                          created_at=long_ago,
                                          expires_at=long_ago + timedelta(hours=1)))
    db.session.commit()
    response = client.post(f"/admin/pengguna/{user.id}/tautan-atur-ulang")
    assert response.status_code == 429
    assert "Coba lagi nanti" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(EmailOutbox.id))) == 0
    assert _audits(db, "user.reset_link") == []


def test_no_reset_link_for_an_inactive_user(db, client):
    _admin(db, client)
    user = make_user()
    user.active = False
    db.session.commit()
    response = client.post(f"/admin/pengguna/{user.id}/tautan-atur-ulang")
    assert response.status_code == 409
    assert db.session.scalar(select(func.count(EmailOutbox.id))) == 0


# --- access --------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path", [
    ("GET", "/admin/pengguna/999999"),
    ("POST", "/admin/pengguna/999999/peran"),
    ("POST", "/admin/pengguna/999999/nonaktifkan"),
    ("POST", "/admin/pengguna/999999/aktifkan"),
    ("POST", "/admin/pengguna/999999/tautan-atur-ulang"),
    ("POST", "/admin/pengguna/999999/sesi/1/akhiri"),
])
def test_a_user_that_does_not_exist_is_404(db, client, method, path):
    _admin(db, client)
    response = client.open(path, method=method, data={"roles": ["customer"]})
    assert response.status_code == 404


@pytest.mark.parametrize("role", ["customer", "seller", "client", "staff"])
def test_non_admins_are_refused(db, client, login_as, role):
    target = make_user()
    db.session.commit()
    login_as(role)
    assert client.get("/admin/pengguna").status_code == 403
    assert client.get(f"/admin/pengguna/{target.id}").status_code == 403
    assert client.post(f"/admin/pengguna/{target.id}/nonaktifkan").status_code == 403
    db.session.expire_all()
    assert db.session.get(User, target.id).active is True


def test_admins_see_the_navigation_entry(db, client):
    _admin(db, client)
    assert 'data-testid="nav-admin.users"' in client.get("/").get_data(as_text=True)
