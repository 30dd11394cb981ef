"""The production topology of docker-compose.yml, rebuilt with processes on this machine from
the repository's own production files (no Docker engine needed):

    nginx (docker/nginx.conf, TLS, self-signed)  -> web A, web B (docker/entrypoint.sh web:
        flask db upgrade, then gunicorn -c docker/gunicorn.conf.py), RACIK_ENV=production
    worker 1, worker 2 (entrypoint.sh worker), cron (entrypoint.sh cron)
    PostgreSQL: its own database; Redis: its own database number; a real SMTP server
    (tests/production/smtp_sink.py); Midtrans: a local stand-in (fake_midtrans.py)

Secrets come from `flask keys init`, as an operator's .env would. Every port is a free
port of 127.0.0.1. Each process runs in its own process group and is stopped with its
children, also when the run fails (`Topology.stop` in the fixture's `finally`).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from urllib.parse import urlsplit

from tests.nginx import Nginx, _free_port, nginx_start

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DATABASE = "racik_prod_test"
REDIS_DB = 12
PG_SERVER = os.environ.get("PRODUCTION_TEST_PG", "postgresql://127.0.0.1:5432")
REDIS_SERVER = os.environ.get("PRODUCTION_TEST_REDIS", "redis://127.0.0.1:6379")
MIDTRANS_KEY = "SB-Mid-server-production-topology"


def tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the topology's self-signed certificate
    return context


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (from /proc), children first."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@dataclass
class Service:
    """One process of the topology (a compose service replica)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = None
    started_at: float = 0.0

    def start(self) -> None:
        with self.log.open("ab") as out:
            out.write(f"\n--- start {time.strftime('%H:%M:%S')} ---\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                self.argv, cwd=REPO, env=self.env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
        self.started_at = time.monotonic()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def terminate(self) -> None:
        """SIGTERM to the main process, as `docker stop` does (gunicorn's master passes it on
        to its workers; RQ warm-shuts down)."""
        if self.running:
            os.kill(self.process.pid, signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL to every process of the service, as `docker kill` does to a container:
        its process group and every descendant (RQ's work horse runs in a session of its
        own, so a process-group kill alone would leave the job running)."""
        if self.process is None:
            return
        victims = [self.process.pid, *descendants(self.process.pid)]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def wait(self, timeout: float) -> int | None:
        try:
            return self.process.wait(timeout=timeout) if self.process else None
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 20) -> None:
        if self.process is None:
            return
        self.terminate()
        if self.wait(timeout) is None:
            pass
        self.kill()  # the group: a work horse or gunicorn worker left behind goes too

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class LoadResult:
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    failed: int = 0
    cut: int = 0  # answers whose body stopped midway (the node died while sending it)
    total: int = 0
    failures_at: list[float] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"requests": self.total, "failed": self.failed, "cut_mid_body": self.cut,
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "errors": dict(self.errors)}


class Load:
    """Clients sending requests through nginx over HTTPS until stopped, each on its own
    kept-alive connection (a browser's); a failure is a connection error or an answer
    outside `expected`."""

    def __init__(self, base_url: str, request: Callable[[int], tuple[str, str, bytes | None,
                                                                      dict[str, str]]],
                 *, clients: int = 4, expected: frozenset[int] = frozenset({200})) -> None:
        self.parts = urlsplit(base_url)
        self.request = request
        self.clients = clients
        self.expected = expected
        self.result = LoadResult()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True)
                        for n in range(clients)]

    def _connect(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(self.parts.hostname, self.parts.port, timeout=60,
                                           context=tls_context())

    def _run(self, client: int) -> None:
        connection = self._connect()
        number = 0
        while not self.stopping.is_set():
            number += 1
            method, path, body, headers = self.request(client * 1_000_000 + number)
            status, error, cut = None, None, False
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
                    connection = self._connect()
            except http.client.IncompleteRead:
                cut = True
                connection.close()
                connection = self._connect()
            except (OSError, http.client.HTTPException) as exc:
                error = type(exc).__name__
                connection.close()
                connection = self._connect()
            with self.lock:
                self.result.total += 1
                if status is not None:
                    self.result.statuses[status] += 1
                if error is not None:
                    self.result.errors[error] += 1
                if cut:
                    self.result.cut += 1
                elif error is not None or status not in self.expected:
                    self.result.failed += 1
                    self.result.failures_at.append(time.monotonic())
        connection.close()

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=90)


class Topology:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.instance = directory / "instance"
        self.mail = directory / "mail"
        self.logs = directory / "logs"
        for folder in (self.instance, self.mail, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        self.https_port, self.http_port = _free_port(), _free_port()
        self.smtp_port = _free_port()
        self.web_ports = {"web-a": _free_port(), "web-b": _free_port()}
        self.database_url = f"{PG_SERVER}/{DATABASE}"
        self.redis_url = f"{REDIS_SERVER}/{REDIS_DB}"
        self.services: dict[str, Service] = {}
        self.nginx: Nginx | None = None
        self.midtrans = None
        self.env: dict[str, str] = {}
        self.figures: dict[str, object] = {}

    # --- set-up ----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def node_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.web_ports[name]}"

    def _database_reset(self) -> None:
        from sqlalchemy import create_engine, text

        server = create_engine(f"postgresql+psycopg://{PG_SERVER.split('://', 1)[1]}/postgres",
                               isolation_level="AUTOCOMMIT")
        try:
            with server.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{DATABASE}"'))
        finally:
            server.dispose()

    def _database_drop(self) -> None:
        from sqlalchemy import create_engine, text

        server = create_engine(f"postgresql+psycopg://{PG_SERVER.split('://', 1)[1]}/postgres",
                               isolation_level="AUTOCOMMIT")
        try:
            with server.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        finally:
            server.dispose()

    def redis(self):
        import redis

        return redis.Redis.from_url(self.redis_url)

    def _secrets(self) -> dict[str, str]:
        """`flask keys init`, run as the operator runs it."""
        env = {"PATH": f"{BIN}:{os.environ.get('PATH', '')}", "HOME": str(self.directory),
               "FLASK_APP": "wsgi.py", "REDIS_URL": "", "PYTHONPATH": str(REPO),
               "INSTANCE_PATH": str(self.directory / "keys-instance"),
               "DATABASE_URL": f"sqlite:///{self.directory / 'keys.db'}"}
        output = subprocess.run(
            [str(BIN / "flask"), "keys", "init", "--public-base-url", self.base_url,
             "--mail-server", "127.0.0.1", "--midtrans-server-key", MIDTRANS_KEY],
            cwd=self.directory, env=env, capture_output=True, text=True, timeout=120,
            check=True).stdout
        values = {}
        for line in output.splitlines():
            if line and not line.startswith("#") and "=" in line:
                name, _, value = line.partition("=")
                values[name] = value
        return values

    def _environment(self) -> dict[str, str]:
        keep = ("LANG", "LC_ALL", "TZ")
        env = {name: os.environ[name] for name in keep if name in os.environ}
        env.update(self._secrets())
        env.update({
            "PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.directory), "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO),
            # docker-compose.yml's x-app-environment, with this machine's addresses.
            "RACIK_ENV": "production", "FLASK_APP": "wsgi.py",
            "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url,
            "JOBS_MODE": "rq", "INSTANCE_PATH": str(self.instance),
            "MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(self.smtp_port), "MAIL_USE_TLS": "false",
            "MAIL_USE_SSL": "false", "MAIL_TIMEOUT": "10",
            "PUBLIC_BASE_URL": self.base_url,
            "PAYMENT_GATEWAY": "midtrans", "MIDTRANS_IS_PRODUCTION": "false",
            "MIDTRANS_API_URL": self.midtrans.url,
            "PROXY_FIX_X_FOR": "1", "COMPRESS_RESPONSES": "false", "LOG_LEVEL": "INFO",
            # web's own: two workers per node here (two cores shared by everything).
            "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "4",
            "FORWARDED_ALLOW_IPS": "127.0.0.1",
            # The load tests send thousands of API calls with one token from one address.
            "API_LIMIT": "1000000 per minute",
        })
        return env

    def _service(self, name: str, *argv: str) -> Service:
        env = self.env
        if argv[:1] == ("web",):  # compose's web: multi-process metrics, one folder a node
            env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(self.directory / f"metrics-{name}")}
        service = Service(name=name, argv=["sh", str(REPO / "docker" / "entrypoint.sh"), *argv],
                          env=env, log=self.logs / f"{name}.log")
        self.services[name] = service
        return service

    def smtp_start(self) -> None:
        service = self.services.get("smtp") or Service(
            name="smtp", argv=[sys.executable, "-m", "tests.production.smtp_sink",
                               str(self.mail), str(self.smtp_port)],
            env={**self.env, "PYTHONPATH": str(REPO)}, log=self.logs / "smtp.log")
        self.services["smtp"] = service
        service.start()
        self._wait_port(self.smtp_port, service, timeout=20)

    def web_start(self, name: str) -> float:
        """Start (or restart) a web node as its container does; seconds until it answers."""
        service = self.services.get(name) or self._service(
            name, "web", "--bind", f"127.0.0.1:{self.web_ports[name]}")
        service.start()
        self.wait_healthy(name)
        return time.monotonic() - service.started_at

    def worker_start(self, name: str) -> None:
        service = self.services.get(name) or self._service(name, "worker")
        service.start()

    def start(self) -> None:
        from tests.production.fake_midtrans import FakeMidtrans

        self._database_reset()
        self.redis().flushdb()
        self.midtrans = FakeMidtrans(MIDTRANS_KEY)
        self.midtrans.start()
        self.env = self._environment()
        self.smtp_start()
        started = time.monotonic()
        # Both web nodes at once: both run `flask db upgrade` on the empty database.
        for name in self.web_ports:
            self._service(name, "web", "--bind", f"127.0.0.1:{self.web_ports[name]}").start()
        for name in self.web_ports:
            self.wait_healthy(name, timeout=120)
        self.figures["cold_start_two_nodes_s"] = round(time.monotonic() - started, 2)
        for name in ("worker-1", "worker-2"):
            self.worker_start(name)
        self._service("cron", "cron").start()
        from tests.nginx import nginx_binary

        self.nginx = nginx_start(
            upstream=[self.node_url(name) for name in self.web_ports],
            directory=self.directory / "nginx", binary=nginx_binary() or "nginx",
            worker_connections=1024, ports={443: self.https_port, 80: self.http_port})
        self.wait_workers(2)
        self.wait_healthy(next(iter(self.web_ports)), timeout=60, path="/healthz")

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            try:
                service.stop()
            except Exception as error:  # stop everything else regardless
                print(f"stopping {service.name}: {error!r}")
        if self.nginx is not None:
            self.nginx.stop()
        if self.midtrans is not None:
            self.midtrans.stop()
        try:
            self.redis().flushdb()
        except Exception as error:
            print(f"emptying Redis db {REDIS_DB}: {error!r}")
        self._database_drop()

    # --- waiting ---------------------------------------------------------------------------
    def _wait_port(self, port: int, service: Service, timeout: float) -> None:
        import socket

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not service.running:
                raise RuntimeError(f"{service.name} exited:\n{service.log_tail()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{service.name} did not listen on {port}:\n{service.log_tail()}")

    def wait_healthy(self, name: str, timeout: float = 60, path: str = "/livez") -> None:
        """Until web node `name` answers `path` with 200: /livez (gunicorn serves, so the
        entrypoint's migrations are done; what the HEALTHCHECK and nginx rely on), or
        /healthz (every part of the deployment: workers, cron, queues, outbox)."""
        service = self.services[name]
        deadline = time.monotonic() + timeout
        body = b""
        while time.monotonic() < deadline:
            if not service.running:
                raise RuntimeError(f"{name} exited:\n{service.log_tail()}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.web_ports[name],
                                                        timeout=2)
                connection.request("GET", path)
                response = connection.getresponse()
                body = response.read()
                if response.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{name} not healthy ({path}) after {timeout}s: {body[:500]!r}\n"
                           f"{service.log_tail()}")

    def workers(self) -> list:
        from rq import Worker

        return list(Worker.all(connection=self.redis()))

    def wait_workers(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            alive = [name for name in ("worker-1", "worker-2")
                     if name in self.services and self.services[name].running]
            if len(alive) >= count and len(self.workers()) >= count:
                return
            time.sleep(0.2)
        raise RuntimeError(f"{count} RQ workers not up:\n"
                           + self.services["worker-1"].log_tail())

    # --- the outside world's view ------------------------------------------------------------
    def sql(self, query: str, **params) -> list[tuple]:
        from sqlalchemy import create_engine, text

        engine = create_engine(f"postgresql+psycopg://{PG_SERVER.split('://', 1)[1]}/{DATABASE}")
        try:
            with engine.connect() as connection:
                return [tuple(row) for row in connection.execute(text(query), params)]
        finally:
            engine.dispose()

    def delivered(self) -> Counter:
        """Message-ID -> how many times the SMTP server received that message."""
        found: Counter = Counter()
        for path in self.mail.glob("*.eml"):
            message = message_from_bytes(path.read_bytes())
            found[str(message["Message-ID"]).strip()] += 1
        return found

    def api(self, method: str, path: str, body: object | None = None, *, token: str = "",
            headers: dict[str, str] | None = None) -> tuple[int, dict]:
        connection = http.client.HTTPSConnection("127.0.0.1", self.https_port, timeout=60,
                                                 context=tls_context())
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        try:
            connection.request(method, f"/api/v1{path}",
                               body=json.dumps(body).encode() if body is not None else None,
                               headers=sent)
            response = connection.getresponse()
            data = response.read()
            return response.status, json.loads(data) if data else {}
        finally:
            connection.close()

    def write_figures(self) -> Path:
        results = REPO / "bench" / "results"
        results.mkdir(parents=True, exist_ok=True)
        path = results / "production.json"
        path.write_text(json.dumps({"recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                    **self.figures}, indent=2, default=str) + "\n")
        return path
