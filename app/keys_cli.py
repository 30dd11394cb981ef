"""`flask keys init`: a complete, fresh secrets file for a production deployment. It sits
beside app/cli.py, not in app/core: it asks maklon, contracts and backups for their keys,
and core knows no domain.

    flask keys init > .env                      every generated secret, plus the site's values
    python -m app.keys_cli init > .env          the same without the app (no database, no
                                                secrets yet: `docker run --rm racik python
                                                -m app.keys_cli init > .env`)
    flask keys init --public-base-url https://racik.example.com --mail-server smtp.example.com \
        --midtrans-server-key SB-Mid-server-... > .env

Each key is made by the same function as its own command (`flask formulas new-key`,
`flask contracts new-seal-key`, `flask backup new-key`), so the file holds nothing the app
would not make itself. The values only the operator knows (the public address, the SMTP
server, the Midtrans server key) are written from the options, or left empty: then both
`docker compose` (`${VAR:?...}`) and the app refuse to start and name what is missing.
`.env.example` documents every variable docker-compose.yml reads.
"""

from __future__ import annotations

import secrets

import click

# Generated here, in this order: what ProductionConfig refuses to start without, then the
# compose stack's own database password and the API's signing key.
GENERATED = ("SECRET_KEY", "FORMULA_KEYS", "CONTRACT_SEAL_KEY", "BACKUP_KEY",
             "API_JWT_KEY", "POSTGRES_PASSWORD")
# Given by the operator (options of `keys init`); docker-compose.yml requires them.
SITE = ("PUBLIC_BASE_URL", "MAIL_SERVER", "MIDTRANS_SERVER_KEY")


def secrets_generate() -> dict[str, str]:
    """A fresh value for every name of GENERATED."""
    from app.backups.archive import new_key as backup_key_new
    from app.core.clock import to_wib, utcnow
    from app.maklon.contracts import seal_key_new
    from app.maklon.formula_crypto import new_key as formula_key_new

    key_id = "k" + to_wib(utcnow()).strftime("%Y%m%d")
    return {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "FORMULA_KEYS": f"{key_id}:{formula_key_new()}",
        "CONTRACT_SEAL_KEY": seal_key_new(),
        "BACKUP_KEY": backup_key_new(),
        "API_JWT_KEY": secrets.token_urlsafe(48),
        # URL-safe characters only: it goes into DATABASE_URL unquoted.
        "POSTGRES_PASSWORD": secrets.token_urlsafe(24),
    }


def secrets_file(site: dict[str, str]) -> str:
    """The content of a .env file: generated secrets, then the site's values."""
    lines = ["# Racik production secrets, written by `flask keys init`. Keep this file private",
             "# (chmod 600) and backed up: without BACKUP_KEY no backup can be read, without",
             "# FORMULA_KEYS no formula. See .env.example for every other variable."]
    lines += [f"{name}={value}" for name, value in secrets_generate().items()]
    lines += ["", "# The site: fill in what is empty (compose and the app refuse to start "
                  "without it)."]
    lines += [f"{name}={site.get(name) or ''}" for name in SITE]
    return "\n".join(lines) + "\n"


@click.group("keys")
def keys_cli() -> None:
    """Production secrets."""


@keys_cli.command("init")
@click.option("--public-base-url", default="", help="PUBLIC_BASE_URL, e.g. "
              "https://racik.example.com (links in emails).")
@click.option("--mail-server", default="", help="MAIL_SERVER, the SMTP relay.")
@click.option("--midtrans-server-key", default="",
              help="MIDTRANS_SERVER_KEY, from the Midtrans dashboard.")
def keys_init_command(public_base_url: str, mail_server: str,
                      midtrans_server_key: str) -> None:
    """Print a complete, fresh secrets file: `flask keys init > .env`."""
    click.echo(secrets_file({"PUBLIC_BASE_URL": public_base_url,
                             "MAIL_SERVER": mail_server,
                             "MIDTRANS_SERVER_KEY": midtrans_server_key}), nl=False)


if __name__ == "__main__":  # the image has RACIK_ENV=production: no app can start yet
    keys_cli()
