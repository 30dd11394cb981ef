"""`make run`: serve on 127.0.0.1:5000 (HOST, PORT) with background work.

With Redis answering at REDIS_URL: an RQ worker and RQ's cron scheduler run as child
processes. Without Redis: jobs run in-process after commit and cron runs in a thread of
this process (one log line says so).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys

log = logging.getLogger("racik.launch")


def main() -> None:
    from jobs.runner import get_app

    app = get_app()
    children: list[subprocess.Popen] = []
    if app.config["JOBS_MODE_ACTIVE"] == "rq":
        for module in ("jobs.worker", "jobs.cron"):
            children.append(subprocess.Popen([sys.executable, "-m", module]))
        log.warning("Redis answers: started an RQ worker and the RQ cron scheduler")
    else:
        from jobs.cron import start_in_process

        start_in_process(app)

    def stop_children(*_args) -> None:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=10)

    def stop(*_signal: object) -> None:
        stop_children()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    # The same HOST/PORT the configuration's PUBLIC_BASE_URL defaults to (app/config.py).
    host, port = app.config["LISTEN_HOST"], app.config["LISTEN_PORT"]
    try:
        app.run(host=host, port=port, debug=False, use_reloader=False, threaded=True)
    finally:
        stop_children()


if __name__ == "__main__":
    main()
