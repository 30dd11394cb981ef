#!/bin/sh
# Racik container entrypoint.
#
#   web      apply database migrations, then serve with gunicorn (default)
#   worker   RQ worker for every queue (extra arguments: queue names)
#   cron     RQ cron scheduler (run exactly one)
#   anything else is executed as given, e.g. `flask users create-admin you@example.com`
set -eu

command="${1:-web}"
if [ "$#" -gt 0 ]; then
  shift
fi

case "$command" in
  web)
    # Several web replicas may start together: migrations/env.py takes a PostgreSQL
    # advisory lock, so one of them migrates while the others wait, then find nothing to do
    # (an upgrade at head costs one SELECT after the app's import, ~1.5 s).
    flask db upgrade
    # Multi-process metrics: every gunicorn worker writes its samples here; a directory
    # left by an earlier run would add dead processes' counts (app/core/metrics.py).
    if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
      rm -rf "${PROMETHEUS_MULTIPROC_DIR}"
      mkdir -p "${PROMETHEUS_MULTIPROC_DIR}"
    fi
    exec gunicorn -c docker/gunicorn.conf.py "$@" wsgi:app
    ;;
  worker)
    exec python -m jobs.worker "$@"
    ;;
  cron)
    exec python -m jobs.cron "$@"
    ;;
  *)
    exec "$command" "$@"
    ;;
esac
