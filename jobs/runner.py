"""The function RQ actually runs: opens the app and calls `app.core.queue.execute_job`."""

from __future__ import annotations

from typing import Any

from flask import Flask

_app: Flask | None = None


def get_app() -> Flask:
    """One app per worker process, created on first use."""
    global _app
    if _app is None:
        from app import create_app

        _app = create_app()
    return _app


def run(func_path: str, args: list, kwargs: dict[str, Any], record_id: int | None,
        job_id: str) -> Any:
    from rq import get_current_job

    from app.core.queue import execute_job

    job = get_current_job()
    request_id = str((job.meta or {}).get("request_id") or "-") if job is not None else "-"
    return execute_job(get_app(), func_path, tuple(args), kwargs, record_id, job_id,
                       request_id=request_id)
