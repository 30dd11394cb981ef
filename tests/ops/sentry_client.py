"""Run by tests/ops/test_sentry.py in a subprocess (sentry-sdk is process-global): the app
with SENTRY_DSN, one failing web request full of secrets, one failing RQ job."""

from __future__ import annotations

import os
import sys

import redis
import sentry_sdk
from rq import Queue, SimpleWorker

from app import create_app
from app.config import TestConfig

SECRETS = {
    "password": "Sandi-Rahasia-123!",
    "bearer": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJlLXZhbHVl",
    "cookie": "cookie-value-must-not-leak",
    "csrf": "csrf-token-must-not-leak",
    "formula": "Niacinamide 5% rahasia pabrik",
    "secret_key": "secret-key-value-that-is-long-enough-0123456789",
}


def main() -> None:
    app = create_app(TestConfig, SENTRY_DSN=os.environ["SENTRY_DSN"],
                     SECRET_KEY=SECRETS["secret_key"], INSTANCE_PATH=sys.argv[1],
                     REDIS_URL=os.environ["REDIS_URL"], JOBS_MODE="rq")

    @app.post("/_boom")
    def boom():
        password = SECRETS["password"]  # a local variable: never sent
        raise RuntimeError(f"failed for {app.config['SECRET_KEY']} ({len(password)})")

    client = app.test_client()
    answer = client.post("/_boom", data={"password": SECRETS["password"],
                                          "csrf_token": SECRETS["csrf"],
                                          "composition": SECRETS["formula"]},
                         headers={"Authorization": f"Bearer {SECRETS['bearer']}",
                                  "X-CSRFToken": SECRETS["csrf"],
                                  "Cookie": f"racik_session={SECRETS['cookie']}"})
    assert answer.status_code in (400, 500), answer.status_code
    # CSRF refuses that POST first (400, not an error): the exempt path raises for real.
    from app.extensions import csrf

    csrf.exempt(boom)
    answer = client.post("/_boom", data={"password": SECRETS["password"],
                                          "csrf_token": SECRETS["csrf"],
                                          "composition": SECRETS["formula"]},
                         headers={"Authorization": f"Bearer {SECRETS['bearer']}",
                                  "X-CSRFToken": SECRETS["csrf"],
                                  "Cookie": f"racik_session={SECRETS['cookie']}"})
    assert answer.status_code == 500, answer.status_code

    connection = redis.Redis.from_url(os.environ["REDIS_URL"])
    queue = Queue("default", connection=connection)
    queue.enqueue("jobs.runner.run", "tests.jobs_fixtures.explode_with", [],
                  {"password": SECRETS["password"]}, None, "sentry-job")
    import jobs.runner

    jobs.runner._app = app
    SimpleWorker([queue], connection=connection).work(burst=True)
    sentry_sdk.flush(timeout=10)


if __name__ == "__main__":
    main()
