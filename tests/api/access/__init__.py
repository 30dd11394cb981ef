"""The API access matrix, one module per area (see tests/api/test_access_matrix.py).

Each area module defines:

    ACCESS   endpoint -> method -> actor -> expected status (every actor named)
    args(w)  endpoint -> the URL values naming A's shared objects (w: the world)
    FRESH    endpoint -> w -> URL values of a fresh A-owned object per cell (for writes
             whose success changes their object), optional
    BODIES   endpoint -> JSON body (or w -> body), optional; default {} (an empty body:
             a reachable operation answers 422, which proves the role check but not
             ownership; give a valid body where B must be proved to get 404)

The world is the web matrix's (tests/core/test_access_matrix.py `_build_world`): buyer A,
seller A/B, client A/B, staff, admin, and everything A owns.
"""

from __future__ import annotations

from tests.core.test_access_matrix import ACTOR_ROLES, ACTORS, ADMIN, ANON, OWNER_ROLE, STAFF

Expected = dict[str, object]


def everyone(status) -> Expected:
    return dict.fromkeys(ACTORS, status)


def logged_in(status) -> Expected:
    """Any token holder gets `status`; no token: 401."""
    return {ANON: 401, **dict.fromkeys(ACTORS[1:], status)}


def only(roles: set[str], status=200, denied=403) -> Expected:
    """Token holders with one of `roles` get `status`, others `denied`, no token 401."""
    return {ANON: 401, **{a: (status if ACTOR_ROLES[a] & roles else denied)
                          for a in ACTORS[1:]}}


def owned(owner: str, status=200, *, other=404, denied=403, **also: object) -> Expected:
    """A's object behind the owner's role: `owner` gets `status`, B (same role) `other`,
    the rest `denied`; `also`: staff=..., admin=..."""
    role = OWNER_ROLE[owner]
    expected = {**only({role}, status=other, denied=denied), owner: status}
    for key, value in also.items():
        expected[{"staff": STAFF, "admin": ADMIN}[key]] = value
    return expected


def mine(owner: str, status=200, *, other=404) -> Expected:
    """A's object any token holder may ask for: only `owner` finds it."""
    return {**logged_in(other), owner: status}
