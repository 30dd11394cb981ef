"""`PORT=5101 make run` (jobs.launch) links to the port it serves on (issue 18, API and
configuration 14): outside production PUBLIC_BASE_URL defaults from HOST/PORT, so email
links and the sandbox's notifications reach the running server; an explicit
PUBLIC_BASE_URL still wins. The launcher runs as `make run` runs it, in a subprocess with
its own instance folder and SQLite database, and is read from outside: over HTTP and
from the `.eml` file of the welcome email it writes."""

from __future__ import annotations

import email
import email.policy
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live import LiveBrowser, csrf_token_of, raw_request

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(tmp_path: Path, **values: str) -> dict[str, str]:
    """A development environment of its own: no Redis, mail as files, a fresh database."""
    env = {name: value for name, value in os.environ.items()
           if name not in {"PUBLIC_BASE_URL", "HOST", "PORT", "DATABASE_URL", "RACIK_ENV"}}
    env.update(RACIK_ENV="development", INSTANCE_PATH=str(tmp_path / "instance"),
               DATABASE_URL=f"sqlite:///{tmp_path / 'racik.db'}", REDIS_URL="",
               MAIL_BACKEND="file", LOG_LEVEL="WARNING", FLASK_APP="wsgi.py", **values)
    return env


def _configured(tmp_path: Path, expression: str, **values: str) -> str:
    """`expression` evaluated by a fresh interpreter started in that environment."""
    return subprocess.run(
        [sys.executable, "-c", f"from app.config import *; print({expression})"],
        cwd=REPO, env=_environment(tmp_path, **values), capture_output=True, text=True,
        check=True, timeout=60).stdout.strip()


@dataclass
class Launched:
    base_url: str
    instance: Path
    env: dict[str, str]
    log: Path  # the server's output


@pytest.fixture
def launched(tmp_path: Path) -> Iterator[Launched]:
    """`make run`'s last two steps with PORT=<a free port>: migrate, then jobs.launch.
    The server is stopped afterwards."""
    port = _free_port()
    env = _environment(tmp_path, PORT=str(port))
    subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], cwd=REPO, env=env,
                   check=True, capture_output=True, timeout=120)
    log = (tmp_path / "launch.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "jobs.launch"], cwd=REPO, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if raw_request(base_url, "/healthz", timeout=2).status == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("jobs.launch did not serve: "
                            + (tmp_path / "launch.log").read_text(errors="replace")[-2000:])
            time.sleep(0.2)
        yield Launched(base_url, Path(env["INSTANCE_PATH"]), env, tmp_path / "launch.log")
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()


def test_make_run_on_another_port_sends_links_to_that_port(launched):
    base_url, instance = launched.base_url, launched.instance
    browser = LiveBrowser(base_url)
    page = browser.request("/daftar")
    password = "Kata-sandi-yang-panjang-42"
    answer = browser.post_form("/daftar", {
        "csrf_token": csrf_token_of(page.text()), "account_type": "customer",
        "name": "Pembeli Port", "email": "pembeli.port@racik.test", "phone": "",
        "password": password, "password_confirm": password})
    assert answer.status == 303, answer.text()[:500]
    deadline = time.monotonic() + 30
    while not (mails := sorted((instance / "mail").glob("*-welcome.eml"))):
        assert time.monotonic() < deadline, "no welcome email written"
        time.sleep(0.2)
    time.sleep(0.2)  # the file is written in one call; let it land
    message = email.message_from_bytes(mails[0].read_bytes(), policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()
    links = re.findall(r"https?://[^\s\"'<>]+", text)
    assert links and all(link.startswith(base_url) for link in links), links


def test_public_base_url_follows_host_and_port_outside_production(tmp_path):
    port = str(_free_port())
    assert _configured(tmp_path, "Config.PUBLIC_BASE_URL", PORT=port) == \
        f"http://127.0.0.1:{port}"
    # A wildcard listening address is no address for a link.
    assert _configured(tmp_path, "Config.PUBLIC_BASE_URL", HOST="0.0.0.0",  # noqa: S104
                       PORT=port) == \
        f"http://127.0.0.1:{port}"
    assert _configured(tmp_path, "Config.PUBLIC_BASE_URL", HOST="192.0.2.7", PORT=port) == \
        f"http://192.0.2.7:{port}"


def test_an_explicit_public_base_url_wins(tmp_path):
    assert _configured(tmp_path, "Config.PUBLIC_BASE_URL", PORT="5101",
                       PUBLIC_BASE_URL="https://racik.example.com") == \
        "https://racik.example.com"


def test_make_run_on_another_port_gets_the_sandbox_notifications(launched):
    """The sandbox posts its notifications to PUBLIC_BASE_URL, as Midtrans does: from
    another process of the same environment (an RQ worker), they reach the launched server
    (which rejects this unsigned one, and says so in its log)."""
    script = (
        "from app import create_app\n"
        "from app.payments.gateways.sandbox import sandbox_deliver\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    try:\n"
        "        print(sandbox_deliver([{'order_id': 'RCK-PORT-CHECK',"
        " 'transaction_status': 'settlement'}]))\n"
        "    except Exception as error:\n"
        "        print('error:', error)\n")
    output = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=launched.env,
                            capture_output=True, text=True, timeout=60).stdout
    assert "webhook answered 4" in output, output
    deadline = time.monotonic() + 10
    while "sandbox notification rejected" not in launched.log.read_text(errors="replace"):
        assert time.monotonic() < deadline, launched.log.read_text(errors="replace")[-2000:]
        time.sleep(0.2)
