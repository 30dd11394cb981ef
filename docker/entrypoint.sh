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
    # Several web replicas may start together: the lock on the shared instance volume lets
    # one of them run the migrations while the others wait, then find nothing to do.
    if command -v flock >/dev/null 2>&1 && [ -d "${INSTANCE_PATH:-}" ]; then
      flock "${INSTANCE_PATH}/.db-upgrade.lock" flask db upgrade
    else
      flask db upgrade
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
