"""The shipped deployment boots (issue 19, "It must boot as shipped"): `flask keys init`
writes a secrets file the production app starts with, docker-compose.yml passes every
variable production refuses to start without, and every variable the compose file reads is
either written by `keys init` or documented with its default in .env.example."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # PyYAML: installed with requirements-dev (schemathesis depends on it)

REPO = Path(__file__).resolve().parents[2]
SITE = {"PUBLIC_BASE_URL": "https://racik.example.com:8443", "MAIL_SERVER": "127.0.0.1",
        "MIDTRANS_SERVER_KEY": "SB-Mid-server-test"}
START = ("from app import create_app\n"
         "app = create_app()\n"
         "client = app.test_client()\n"
         "print(app.config['ENV_NAME'], client.get('/masuk').status_code)\n")


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """This process's environment without anything the app reads, plus a database."""
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH"}
    env = {name: value for name, value in os.environ.items() if name in keep}
    env.update(FLASK_APP="wsgi.py", DATABASE_URL=f"sqlite:///{tmp_path / 'racik.db'}",
               INSTANCE_PATH=str(tmp_path / "instance"), REDIS_URL="")
    return env


def keys_init(tmp_path: Path, *options: str) -> dict[str, str]:
    """Run `flask keys init` as an operator does; the output parsed as a .env file."""
    flask = Path(sys.executable).with_name("flask")
    output = subprocess.run([str(flask), "keys", "init", *options], cwd=tmp_path,
                            env={**_clean_env(tmp_path), "PYTHONPATH": str(REPO)},
                            capture_output=True, text=True, timeout=120, check=True).stdout
    values = {}
    for line in output.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f"not a NAME=value line: {line!r}"
            values[name.strip()] = value
    return values


def production_start(tmp_path: Path, values: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**_clean_env(tmp_path), **values, "RACIK_ENV": "production"}
    return subprocess.run([sys.executable, "-c", START], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def _site_options() -> list[str]:
    return ["--public-base-url", SITE["PUBLIC_BASE_URL"], "--mail-server", SITE["MAIL_SERVER"],
            "--midtrans-server-key", SITE["MIDTRANS_SERVER_KEY"]]


@pytest.fixture(scope="module")
def secrets_file(tmp_path_factory) -> dict[str, str]:
    return keys_init(tmp_path_factory.mktemp("keys"), *_site_options())


def compose_references() -> dict[str, str]:
    """{variable: how docker-compose.yml uses it (":?" required, ":-" with a default)}."""
    text = (REPO / "docker-compose.yml").read_text()
    found = {}
    for name, operator in re.findall(r"\$\{([A-Z0-9_]+)(:[?-])?", text):
        found[name] = "required" if operator == ":?" else found.get(name, "default")
    return found


def compose_environment(service: str) -> dict[str, str]:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return dict(compose["services"][service].get("environment") or {})


def test_the_production_app_starts_with_the_secrets_file_keys_init_writes(tmp_path,
                                                                          secrets_file):
    started = production_start(tmp_path, secrets_file)
    assert started.returncode == 0, started.stderr[-2000:]
    assert started.stdout.split() == ["production", "200"]


def test_keys_init_generates_every_key_the_way_the_app_reads_it(tmp_path, secrets_file):
    again = keys_init(tmp_path)
    for name in ("SECRET_KEY", "FORMULA_KEYS", "CONTRACT_SEAL_KEY", "BACKUP_KEY",
                 "API_JWT_KEY", "POSTGRES_PASSWORD"):
        assert secrets_file[name] and again[name] != secrets_file[name], name
    assert len(secrets_file["SECRET_KEY"]) >= 32
    key_id, _, key = secrets_file["FORMULA_KEYS"].partition(":")
    assert key_id and len(base64.b64decode(key)) == 32
    assert len(base64.b64decode(secrets_file["BACKUP_KEY"])) == 32
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    Ed25519PrivateKey.from_private_bytes(base64.b64decode(secrets_file["CONTRACT_SEAL_KEY"]))
    assert re.fullmatch(r"[A-Za-z0-9_-]+", secrets_file["POSTGRES_PASSWORD"])  # URL-safe


def test_without_the_sites_values_production_refuses_and_names_them(tmp_path):
    values = keys_init(tmp_path)
    assert values["MIDTRANS_SERVER_KEY"] == ""
    refused = production_start(tmp_path, values)
    assert refused.returncode != 0
    assert "MIDTRANS_SERVER_KEY" in refused.stderr


def test_compose_passes_every_variable_production_refuses_to_start_without(tmp_path,
                                                                           secrets_file):
    """Which variables production needs is asked of the app itself: the secrets file with
    one variable left out must be refused for exactly those."""
    required = []
    for name in secrets_file:
        refused = production_start(tmp_path, {k: v for k, v in secrets_file.items()
                                              if k != name})
        if refused.returncode != 0:
            assert "Refusing to start in production" in refused.stderr, refused.stderr[-800:]
            required.append(name)
    assert {"SECRET_KEY", "FORMULA_KEYS", "CONTRACT_SEAL_KEY", "BACKUP_KEY",
            "MIDTRANS_SERVER_KEY"} <= set(required)
    header = (REPO / "docker-compose.yml").read_text().split("\nname:", 1)[0]
    for service in ("web", "worker", "cron"):
        environment = compose_environment(service)
        for name in required:
            assert name in environment, (service, name)
            assert compose_references().get(name) == "required", name
    for name in required:
        assert name in header, name


def test_every_variable_compose_reads_is_written_by_keys_init_or_documented(secrets_file):
    example = (REPO / ".env.example").read_text()
    documented = set(re.findall(r"^([A-Z0-9_]+)=", example, re.MULTILINE))
    references = compose_references()
    assert references
    for name, use in references.items():
        if use == "required":
            assert name in secrets_file, f"{name} is required by compose: keys init writes it"
        assert name in documented, f"{name} is not in .env.example"


def test_keys_init_runs_where_no_app_can_start_yet(tmp_path):
    """Inside the image RACIK_ENV is production and nothing is configured, so `flask` (which
    creates the app) refuses; `python -m app.keys_cli init` still writes the file."""
    env = {**_clean_env(tmp_path), "RACIK_ENV": "production", "PYTHONPATH": str(REPO)}
    written = subprocess.run([sys.executable, "-m", "app.keys_cli", "init",
                              *_site_options()], cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=120)
    assert written.returncode == 0, written.stderr[-2000:]
    values = dict(line.split("=", 1) for line in written.stdout.splitlines()
                  if line and not line.startswith("#"))
    started = production_start(tmp_path, values)
    assert started.returncode == 0, started.stderr[-2000:]
