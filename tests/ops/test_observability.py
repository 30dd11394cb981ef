"""Operators can see: request ids everywhere, JSON logs, /metrics, /healthz, /livez."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event

from app import create_app
from app.config import TestConfig
from app.core.clock import utcnow
from app.core.health import CRON_HEARTBEAT_KEY
from app.core.logs import JsonFormatter, RequestIdFilter
from app.core.models import EmailOutbox
from tests.factories import make_user
from tests.live import live_log_in, raw_request, serve
from tests.ops.workers import ROOT, process_env, start, stop

OUTSIDE = "203.0.113.9"  # TEST-NET-3: a public address


@pytest.fixture
def json_log():
    """Root-logger lines as the production handler writes them with LOG_FORMAT=json."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    quiet = logging.getLogger("app.core.http")
    level = quiet.level
    quiet.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    quiet.setLevel(level)


@pytest.fixture
def proxied_app(database_url, tmp_path):
    """The app behind one proxy (PROXY_FIX_X_FOR=1) with a METRICS_TOKEN, served live."""
    application = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url,
                             INSTANCE_PATH=str(tmp_path), PROXY_FIX_X_FOR=1,
                             METRICS_TOKEN="metrics-token-for-tests")
    with serve(application) as base_url:
        yield base_url


def test_csrf_rejection_echoes_the_request_id_and_its_log_line_carries_it(live_url, json_log):
    rid = "csrf-test-0001"
    answer = raw_request(live_url, "/masuk", method="POST", body=b"email=a%40b.test",
                         headers={"X-Request-ID": rid,
                                  "Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status == 400
    assert answer.headers["X-Request-ID"] == rid
    assert rid in answer.text()  # the error page names it for the support call
    lines = [line for line in json_log() if line["message"].startswith("CSRF rejected")]
    assert lines and all(line["request_id"] == rid for line in lines)
    assert {"time", "level", "logger", "message", "request_id", "job_id"} <= set(lines[0])


@pytest.mark.redis
def test_a_job_logs_the_id_of_the_request_that_queued_it_on_the_worker(
        app, db, live_url, redis_url, database_url, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    monkeypatch.setitem(app.config, "JOBS_MODE_ACTIVE", "rq")
    monkeypatch.delitem(app.extensions, "racik_redis", raising=False)
    email = make_user(roles=("admin",)).email
    db.session.commit()
    db.session.close()  # hold no SQLite transaction while the server and worker write
    session = live_log_in(live_url, email)
    from tests.live import csrf_token_of

    page = session.request("/admin/pekerjaan")
    rid = "enqueue-test-0002"
    answer = session.post_form("/admin/pekerjaan/uji-email",
                               {"csrf_token": csrf_token_of(page.text())},
                               headers={"X-Request-ID": rid})
    assert answer.status == 303
    log_path = tmp_path / "worker.log"
    worker = start("jobs.worker", process_env(database_url, redis_url, tmp_path,
                                              LOG_FORMAT="json"),
                   log_path, "--burst")
    try:
        worker.wait(timeout=60)
    finally:
        stop(worker)
        app.extensions.pop("racik_redis", None)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    sent = [line for line in lines if line["message"].startswith("email test sent")]
    assert sent, log_path.read_text()[-2000:]
    assert sent[0]["request_id"] == rid and sent[0]["job_id"].startswith("racik-")


def _families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_metrics_from_loopback_are_prometheus_text_with_the_request_just_made(live_url):
    assert raw_request(live_url, "/livez").status == 200
    answer = raw_request(live_url, "/metrics")
    assert answer.status == 200
    families = _families(answer.text())
    samples = families["racik_http_request_duration_seconds"].samples
    assert any(s.name.endswith("_count") and s.labels["endpoint"] == "core.livez"
               and s.labels["status"] == "200" and s.value >= 1 for s in samples)
    assert not any("/livez" in str(s.labels) for s in samples)  # endpoint names, not paths
    for name in ("racik_jobs", "racik_outbox_messages", "racik_db_pool_connections",
                 "racik_payments"):
        assert name in families, sorted(families)


@pytest.mark.parametrize(("headers", "status"), (
    ({"X-Forwarded-For": OUTSIDE}, 404),
    ({"X-Forwarded-For": OUTSIDE, "Authorization": "Bearer wrong"}, 404),
    ({"X-Forwarded-For": OUTSIDE, "Authorization": "Bearer metrics-token-for-tests"}, 200),
    ({"X-Forwarded-For": "10.1.2.3"}, 200),
))
def test_metrics_answer_only_inside_addresses_or_the_token(proxied_app, headers, status):
    assert raw_request(proxied_app, "/metrics", headers=headers).status == status


def test_metrics_of_two_processes_are_summed(tmp_path):
    """Multi-process gunicorn: each process writes to PROMETHEUS_MULTIPROC_DIR; /metrics of
    any one of them shows the sum."""
    folder = tmp_path / "prom"
    folder.mkdir()
    script = (
        "import sys\n"
        "from app import create_app\n"
        "from app.config import TestConfig\n"
        f"app = create_app(TestConfig, INSTANCE_PATH={str(tmp_path)!r})\n"
        "client = app.test_client()\n"
        "for _ in range(int(sys.argv[1])):\n"
        "    assert client.get('/livez').status_code == 200\n"
        "if sys.argv[2] == 'show':\n"
        "    sys.stdout.write(client.get('/metrics').get_data(as_text=True))\n")
    env = {"PROMETHEUS_MULTIPROC_DIR": str(folder), "PATH": "/usr/bin:/bin"}
    for count in (3, 4):
        subprocess.run([sys.executable, "-c", script, str(count), "quiet"], cwd=ROOT, env=env,
                       check=True, timeout=120)
    shown = subprocess.run([sys.executable, "-c", script, "0", "show"], cwd=ROOT, env=env,
                           check=True, timeout=120, capture_output=True, text=True).stdout
    samples = _families(shown)["racik_http_request_duration_seconds"].samples
    counts = [s.value for s in samples if s.name.endswith("_count")
              and s.labels["endpoint"] == "core.livez"]
    assert counts == [7]


def test_livez_answers_without_touching_the_database(app, live_url):
    from app.extensions import db as _db

    statements = []

    def count(*args) -> None:
        statements.append(args[2])

    with app.app_context():
        engine = _db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        answer = raw_request(live_url, "/livez")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert answer.status == 200 and statements == []


@pytest.mark.redis
def test_healthz_is_503_naming_stopped_workers_silent_cron_and_stuck_outbox(
        app, db, live_url, redis_url, database_url, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    monkeypatch.setitem(app.config, "JOBS_MODE_ACTIVE", "rq")
    monkeypatch.delitem(app.extensions, "racik_redis", raising=False)
    client = redis.Redis.from_url(redis_url)
    from rq import Queue

    for n in range(3):
        Queue("default", connection=client).enqueue("tests.jobs_fixtures.tick", job_id=f"h{n}")
    db.session.add(EmailOutbox(to_address="a@b.test", subject="s", body_text="t",
                               body_html="h", template="test", message_id="<m@racik.test>",
                               next_attempt_at=utcnow() - timedelta(hours=2)))
    db.session.commit()
    db.session.close()
    try:
        answer = raw_request(live_url, "/healthz")
        body = json.loads(answer.body)
        assert answer.status == 503
        assert {"workers", "cron", "outbox", "queue:default"} <= set(body["failing"])
        assert body["queues"]["default"]["queued"] == 3
        assert body["queues"]["default"]["oldest_queued_seconds"] >= 0
        assert body["outbox"]["counts"]["pending"] == 1
        assert body["outbox"]["oldest_due_seconds"] >= 7000
        assert "backup" in body and body["database"]["status"] == "ok"

        # The outbox row goes, cron beats, a worker drains the queue: healthy again.
        db.session.execute(EmailOutbox.__table__.delete())
        db.session.commit()
        db.session.close()
        env = process_env(database_url, redis_url, tmp_path)
        cron = start("jobs.cron", env, tmp_path / "cron.log")
        worker = start("jobs.worker", env, tmp_path / "worker.log")
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                answer = raw_request(live_url, "/healthz")
                if answer.status == 200:
                    break
                time.sleep(0.5)
            body = json.loads(answer.body)
            assert answer.status == 200, (body, (tmp_path / "cron.log").read_text()[-2000:])
            assert body["workers"]["live"] == 1 and body["failing"] == []
            assert 0 <= body["cron"]["heartbeat_age"] <= 60
            assert client.exists(CRON_HEARTBEAT_KEY)
        finally:
            stop(worker)
            stop(cron)
    finally:
        app.extensions.pop("racik_redis", None)


def test_healthz_tells_outsiders_only_the_status(proxied_app):
    answer = raw_request(proxied_app, "/healthz", headers={"X-Forwarded-For": OUTSIDE})
    assert answer.status == 200
    assert json.loads(answer.body) == {"status": "ok", "failing": []}
    inside = json.loads(raw_request(proxied_app, "/healthz").body)
    assert "outbox" in inside and "database" in inside


def test_an_error_past_flasks_handlers_answers_a_500_naming_the_request_id(
        database_url, tmp_path, json_log):
    application = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url,
                             INSTANCE_PATH=str(tmp_path))

    @application.teardown_request
    def _broken_teardown(exc) -> None:  # stands for any failure after the view answered
        raise RuntimeError("teardown broke")

    with serve(application) as base_url:
        answer = raw_request(base_url, "/livez", headers={"X-Request-ID": "past-flask-0003"})
    assert answer.status == 500
    assert answer.headers["X-Request-ID"] == "past-flask-0003"
    assert "past-flask-0003" in answer.text()
    assert any(line["request_id"] == "past-flask-0003" and "exc_info" in line
               for line in json_log())
