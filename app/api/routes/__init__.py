"""The API's operations, one module per area (each registers on `app.api.bp`)."""

from app.api.routes import auth, docs  # noqa: F401
