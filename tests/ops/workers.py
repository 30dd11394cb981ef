"""Real RQ workers and the RQ cron in subprocesses, for the operations tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def process_env(database_url: str, redis_url: str, instance: Path, **extra: str) -> dict:
    """The environment of a worker/cron process on the suite's database and Redis."""
    env = {**os.environ, "RACIK_ENV": "development", "DATABASE_URL": database_url,
           "REDIS_URL": redis_url, "JOBS_MODE": "rq", "INSTANCE_PATH": str(instance),
           "MAIL_BACKEND": "file", "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
    env.update(extra)
    return env


def start(module: str, env: dict, log_path: Path, *args: str) -> subprocess.Popen:
    """`python -m <module>` in a session of its own (so the test can kill it and every
    process it forked that stayed in its group, like `docker kill` would)."""
    log = log_path.open("ab")
    return subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def kill9(process: subprocess.Popen) -> None:
    """SIGKILL the process and its group (RQ's scheduler child); RQ's work horse left that
    group (setpgrp) and only dies if it is tied to its worker."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            kill9(process)
