# Racik — the two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
export FLASK_APP := wsgi.py

.PHONY: install translations run test test-sqlite test-postgres test-production e2e lint \
        bench bench-tools bench-check chromium cert messages migration clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP) translations

# Compile the gettext catalogs (the .mo files are build output, not committed).
translations: $(STAMP)
	$(BIN)/pybabel compile -d app/translations

# Serve on http://127.0.0.1:5000 with the embedded SQLite database and demo data.
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask demo load
	$(BIN)/python -m jobs.launch

# Debian's Chromium for the browser tests (Playwright drives its old headless shell,
# /usr/lib/chromium/chromium-headless-shell; the Lighthouse bench runs /usr/bin/chromium),
# poppler-utils' pdftotext, which reads the invoice PDFs back in the tests,
# postgresql-client (pg_dump, pg_restore, psql) for the PostgreSQL backup tests, nginx for
# the tests behind the production proxy config, and the DejaVu TrueType fonts that the
# PDFs embed (so every glyph of an Indonesian name prints).
chromium:
	@command -v chromium >/dev/null 2>&1 && test -x /usr/lib/chromium/chromium-headless-shell && command -v pdftotext >/dev/null 2>&1 && command -v pg_dump >/dev/null 2>&1 \
	  && command -v nginx >/dev/null 2>&1 && command -v rclone >/dev/null 2>&1 \
	  && test -x /usr/sbin/sshd && test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || { \
	  echo "Installing Debian's chromium, chromium-headless-shell, poppler-utils, postgresql-client, nginx, rclone, openssh-server and fonts-dejavu-core for the tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-headless-shell poppler-utils postgresql-client nginx rclone openssh-server fonts-dejavu-core >/dev/null) \
	  || echo "WARNING: could not install chromium/chromium-headless-shell/poppler-utils/postgresql-client/nginx/rclone/openssh-server/fonts-dejavu-core; those tests will be skipped (or fail under CI=true)"; }

# ruff (with the mccabe ceiling), mypy on app/ and jobs/, then the import arrows of
# .importlinter (core below everything, api/admin on top, no cycles).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# pytest-xdist workers for test-sqlite and test-postgres (PYTEST_WORKERS=0: one process).
# `loadgroup` keeps the Redis tests (one shared REDIS_URL) on one worker; every worker has
# its own SQLite file or PostgreSQL database (<TEST_DATABASE_URL's database>_gw0, _gw1, …).
PYTEST_WORKERS ?= 2
XDIST := -n $(PYTEST_WORKERS) --dist loadgroup

# Two passes: everything but the Redis tests on the xdist workers, then the Redis tests
# (real RQ workers, killed and restarted) in one process.
test-sqlite: install chromium
	$(BIN)/pytest $(XDIST) --db=sqlite -m "not production and not redis"
	$(BIN)/pytest --db=sqlite -m "redis and not production"

# Only the tests that use the database (--database-tests-only): the rest ran on SQLite.
test-postgres: install chromium
	$(BIN)/pytest $(XDIST) --db=postgres --database-tests-only -m "not e2e and not production and not redis"
	$(BIN)/pytest --db=postgres --database-tests-only -m "redis and not e2e and not production"

# The production topology of docker-compose.yml rebuilt with processes from the repository's
# own production files (nginx TLS, 2 gunicorn nodes, 2 RQ workers, cron, SMTP, PostgreSQL
# database racik_prod_test, Redis db 12), with faults injected: tests/production/.
test-production: install chromium
	$(BIN)/pytest -m production tests/production -p no:cacheprovider

# A self-signed certificate for docker-compose.yml's nginx, for a first try (30 days).
cert:
	mkdir -p docker/tls
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=localhost" \
	  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	  -keyout docker/tls/privkey.pem -out docker/tls/fullchain.pem
	chmod 600 docker/tls/privkey.pem

# The whole suite: lint, then every test on SQLite (browser tests included), then on PostgreSQL.
test: lint test-sqlite test-postgres

e2e: install chromium
	$(BIN)/pytest $(XDIST) --db=sqlite -m e2e

# wrk (Debian) is the load generator of the page benchmarks; installed like the test tools.
bench-tools:
	@command -v wrk >/dev/null 2>&1 || { echo "Installing Debian's wrk for the benchmarks"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null) \
	  || echo "WARNING: could not install wrk; the page benchmarks will stop"; }
	@test -x bench/.tools/node_modules/.bin/lighthouse || { echo "Installing npm's lighthouse for the page-weight bench"; \
	  npm install --silent --no-audit --no-fund --prefix bench/.tools lighthouse@12 \
	  || echo "WARNING: could not install lighthouse; bench/pages_weight.py skips it"; }

# BENCH_STRICT=1 make bench: exit 3 when a target of issue 24 fails (bench/report.py check).
bench: install bench-tools
	bash bench/run.sh

# The targets judged again on the last run's bench/results/latest.json (exit 3 on a FAIL).
bench-check: $(STAMP)
	$(BIN)/python bench/report.py check --strict

# Developer helpers: refresh the translation catalog, autogenerate a migration.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching

migration: $(STAMP)
	$(BIN)/flask db migrate -m "$(m)"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
