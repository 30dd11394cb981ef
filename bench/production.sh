#!/usr/bin/env bash
# The production topology's figures (issue 19): `make test-production`'s run of
# tests/production/ (nginx TLS -> two gunicorn nodes, two RQ workers, the cron, an SMTP
# server, its own PostgreSQL database and Redis db) with its faults injected — kill -9 of a
# web node under GET load, a rolling restart under POST load, SMTP down 30 s, kill -9 of a
# worker mid-email — written to bench/results/production.json and printed here.
#
#   bash bench/production.sh          # or: bash bench/run.sh production (~3 min)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
.venv/bin/pytest -q -p no:cacheprovider -m production tests/production
.venv/bin/python -m json.tool bench/results/production.json
