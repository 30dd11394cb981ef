"""The application object behind `current_app`, for work that outlives the request or runs in
another thread (a proxy only works inside the context it was read in)."""

from __future__ import annotations

from flask import Flask, current_app


def current_app_object() -> Flask:
    """The Flask application `current_app` points to."""
    # Flask types `current_app` as the Flask class; it is a LocalProxy.
    return current_app._get_current_object()  # type: ignore[attr-defined]
