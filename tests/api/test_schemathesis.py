"""Schemathesis fuzzes every operation of the OpenAPI document, as each role, against a live
server of the app (a real HTTP server on a free port, the suite's database).

For every operation and actor it sends API_FUZZ_EXAMPLES (default 8) schema-valid requests
and as many schema-invalid ones (derandomised: the same cases every run), and checks:

- never a 5xx;
- every status is documented for that operation, every body matches the documented schema
  and content type, documented headers are present;
- schema-invalid requests are refused with a 4xx (bad input never gets through).

The data is the access matrix's world (buyer A, sellers, clients, staff, admin and all that
A owns), so ids the fuzzer tries are often real. Run one area with `-k <tag>` (the test id
holds the operation's tag, e.g. `-k Produk`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.core.parameters import ParameterLocation  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.transport.requests import ManagedCookiesSession  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from tests.api.conftest import mint_tokens  # noqa: E402
from tests.conftest import empty_tables  # noqa: E402
from tests.core.test_access_matrix import (  # noqa: E402
    ADMIN,
    ANON,
    CLIENT_A,
    CUSTOMER,
    SELLER_A,
    STAFF,
    _build_world,
)
from tests.live import serving_thread  # noqa: E402

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "8"))
ACTORS = (ANON, CUSTOMER, SELLER_A, CLIENT_A, STAFF, ADMIN)
POSITIVE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
                   response_schema_conformance, response_headers_conformance]
NEGATIVE_CHECKS = [*POSITIVE_CHECKS, negative_data_rejection]
# Operations that would end the fuzzing actor's own login; their rules have own tests.
SKIP = {("POST", "/auth/logout")}


def _tags(app) -> list[str]:
    from app.api.spec import OPERATIONS

    return sorted({op.tag for op in OPERATIONS})


@pytest.fixture(autouse=True)
def _clean_state():
    """The world and the server live for the whole module (see `live`)."""
    yield


@pytest.fixture(scope="module")
def live(app) -> Iterator[dict]:
    """The app behind a real HTTP server, the world's data, and one token per actor."""
    from sqlalchemy import select

    from app.accounts.models import User
    from app.extensions import db, limiter

    previous = app.config["API_LIMIT"], app.config["LOGIN_LIMIT_PER_IP"]
    app.config["API_LIMIT"] = app.config["LOGIN_LIMIT_PER_IP"] = "100000 per minute"
    try:
        with app.app_context():
            world = _build_world()
            ids = {actor: db.session.scalars(select(User.id).where(User.email == email)).one()
                   for actor, email in world.emails.items()}
        # One request at a time, as the fuzzer sends them: no thread started per request
        # (werkzeug closes every connection). On an idle machine that saves little; on a
        # busy one (a parallel run) the thread start and GIL hand-offs cost up to ~2 ms of
        # a request's ~6.
        server = make_server("127.0.0.1", 0, app, threaded=False)
        thread = serving_thread(server)
        thread.start()
        base = f"http://127.0.0.1:{server.server_port}"
        schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
        yield {"base": base, "schema": schema, "ids": ids}
        server.shutdown()
    finally:
        app.config["API_LIMIT"], app.config["LOGIN_LIMIT_PER_IP"] = previous
        limiter.reset()
        empty_tables(app)


# The cases of each (operation, mode), drawn once per process: the draws depend only on the
# schema (derandomised), not on who sends them, and drawing was two thirds of this module's
# time when each of the six actors drew the same cases again. The six actors of one tag run
# on one xdist worker (the group "fuzz-<tag>"), so each case is drawn once per run.
_CASES: dict[tuple[str, str, str], list | None] = {}


def _cases(operation, mode: GenerationMode) -> list | None:
    """The EXAMPLES cases hypothesis draws for `operation` in `mode`, or None when there is
    nothing to make invalid (no parameters, no body: no negative cases)."""
    key = (operation.method.upper(), operation.path, mode.value)
    if key not in _CASES:
        drawn: list = []

        @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def draw(case) -> None:
            drawn.append(case)

        try:
            draw()
        except Unsatisfiable:
            if mode is not GenerationMode.NEGATIVE:
                raise
            _CASES[key] = None
        else:
            _CASES[key] = drawn
    return _CASES[key]


def _session() -> ManagedCookiesSession:
    """One HTTP client per test, not one per request: building a `requests` session and
    looking the proxy settings up in the environment for each of the module's ~9000
    requests was a tenth of its time (the server is on loopback, so `trust_env` is off).
    It is the kind of session schemathesis makes for a single case: the cookies an answer
    sets are dropped after each request, so no case sees another's, and it adds no
    headers of its own (`requests`' defaults are cleared), so each case is sent as before."""
    session = ManagedCookiesSession()
    session.trust_env = False
    session.headers.clear()
    return session


def _send(cases: list, base_url: str, headers: dict, checks: list, session) -> None:
    """Each case sent and its answer checked; the first failing case raises (as hypothesis
    reported its first falsifying example), with the request as a curl command."""
    for case in cases:
        sent = headers
        if case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER) \
                and "Authorization" not in (case.headers or {}):
            sent = {}  # the case leaves out the required token on purpose: so do we
        try:
            case.call_and_validate(base_url=base_url, session=session, headers=sent,
                                   checks=checks)
        except Exception as error:
            raise AssertionError(
                f"{error}\n\nReproduce with: {case.as_curl_command(sent, base_url=base_url)}"
            ) from error


def _operations(schema) -> list:
    return [result.ok() for result in schema.get_all_operations()]


TAGS = ("Autentikasi", "Alamat", "Produk", "Toko", "Keranjang", "Checkout", "Pembayaran",
        "Pesanan", "Ulasan", "Maklon", "CRM", "Notifikasi", "Riwayat")


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("tag", [pytest.param(tag, marks=pytest.mark.xdist_group(f"fuzz-{tag}"))
                                 for tag in TAGS])
def test_api_conforms_to_its_schema(app, live, tag, actor):
    operations = [op for op in _operations(live["schema"])
                  if op.definition.raw.get("tags", [""])[0] == tag
                  and (op.method.upper(), op.path) not in SKIP]
    if not operations:
        pytest.skip(f"no operations tagged {tag}")
    failures: list[str] = []
    session = _session()
    for operation in operations:
        # A fresh login per operation: what one operation does to the token (a password
        # change ends the others) does not blind the next.
        headers = {}
        if actor != ANON:
            token = mint_tokens(app, live["ids"][actor])["access_token"]
            headers["Authorization"] = f"Bearer {token}"
        for mode, checks in ((GenerationMode.POSITIVE, POSITIVE_CHECKS),
                             (GenerationMode.NEGATIVE, NEGATIVE_CHECKS)):
            cases = _cases(operation, mode)
            if cases is None:
                continue
            try:
                _send(cases, f"{live['base']}/api/v1", headers, checks, session)
            except Exception as error:  # collect, so one run reports every operation
                text = str(error).strip().splitlines()
                failures.append(f"{operation.method.upper()} {operation.path} as {actor} "
                                f"({mode.value}): " + "\n    ".join(text[:25]))
    session.close()
    assert not failures, "\n\n".join(failures)
