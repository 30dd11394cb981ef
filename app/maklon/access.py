"""Who may see a maklon request, in the query: staff and admins see every request, a client
only those of their company; anyone else (another company's client, a seller, a buyer)
gets 404, never 403, so ids leak nothing."""

from __future__ import annotations

from sqlalchemy import Select, false, select

from app.accounts.models import RoleName, User
from app.core.security import owned_or_404
from app.maklon.models import Formula, MaklonRequest, RequestStatus

STAFF_ROLES = (RoleName.STAFF, RoleName.ADMIN)


def is_maklon_staff(user: User) -> bool:
    return user.has_any_role(*STAFF_ROLES)


def requests_visible(user: User) -> Select:
    """SELECT of the requests `user` may see (add filters and ordering to it)."""
    stmt = select(MaklonRequest)
    if is_maklon_staff(user):
        return stmt
    if user.has_role(RoleName.CLIENT) and user.company_id is not None:
        return stmt.where(MaklonRequest.company_id == user.company_id)
    return stmt.where(false())


def requests_listed(user: User) -> Select:
    """What `user`'s request list shows: a client their company's requests, staff and
    admins every submitted one (a draft stays its client's until it is submitted)."""
    stmt = requests_visible(user)
    if is_maklon_staff(user):
        stmt = stmt.where(MaklonRequest.status != RequestStatus.DRAFT)
    return stmt


def request_or_404(user: User, number: str) -> MaklonRequest:
    """The request numbered `number` if `user` may see it, else 404."""
    return owned_or_404(requests_visible(user).where(MaklonRequest.number == number))


def can_read_composition(user: User, formula: Formula) -> bool:
    """Formula compositions: admins, production managers and the owning company's clients."""
    if user.has_any_role(RoleName.ADMIN, RoleName.PRODUCTION_MANAGER):
        return True
    return (user.has_role(RoleName.CLIENT) and user.company_id is not None
            and user.company_id == formula.company_id)


def formulas_visible(user: User) -> Select:
    """SELECT of the formulas whose *names* `user` may list: staff and admins all (the
    composition stays behind `can_read_composition`), a client their company's."""
    stmt = select(Formula)
    if is_maklon_staff(user):
        return stmt
    if user.has_role(RoleName.CLIENT) and user.company_id is not None:
        return stmt.where(Formula.company_id == user.company_id)
    return stmt.where(false())
