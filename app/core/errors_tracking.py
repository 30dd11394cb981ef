"""Optional error tracking with sentry-sdk: on only when SENTRY_DSN is set.

Web (FlaskIntegration) and RQ workers (RqIntegration; the worker's app is made by the same
factory) report unhandled errors and error log lines. Nothing secret leaves: `scrub_event`
(before_send) blanks every value under a sensitive key (passwords, tokens, cookies,
Authorization, CSRF tokens, sessions, formulas and their compositions, keys), removes the
request body and cookies, and masks configured secrets, bearer tokens and JWTs wherever
they appear in text. Frame local variables are not sent at all: they hold decrypted
formulas and form data.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from flask import Flask

if TYPE_CHECKING:
    from sentry_sdk._types import Event, Hint

log = logging.getLogger(__name__)

REDACTED = "[redacted]"
SENSITIVE_KEY = re.compile(
    r"pass(word|wd)?|secret|token|auth|cookie|csrf|session|formula|composition|"
    r"api[-_]?key|private|credential|signature|totp|otp|recovery|dsn|key$", re.IGNORECASE)
_BEARER = re.compile(r"(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}")
_SECRET_SETTINGS = ("SECRET_KEY", "FORMULA_KEYS", "CONTRACT_SEAL_KEY", "BACKUP_KEY",
                    "MIDTRANS_SERVER_KEY", "PAYMENT_SANDBOX_SERVER_KEY", "MAIL_PASSWORD",
                    "METRICS_TOKEN", "API_JWT_KEY")
_initialised = False


def _secret_values(config: dict) -> list[str]:
    values: list[str] = []
    for name in _SECRET_SETTINGS:
        value = str(config.get(name) or "")
        values.extend(part.split(":", 1)[-1] for part in value.split(",") if len(part) >= 8)
    return sorted({v for v in values if len(v) >= 8}, key=len, reverse=True)


def _scrub(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, dict):
        return {key: (REDACTED if isinstance(key, str) and SENSITIVE_KEY.search(key)
                      else _scrub(item, secrets)) for key, item in value.items()}
    if isinstance(value, list | tuple):
        # Header lists come as [name, value] pairs.
        if len(value) == 2 and isinstance(value[0], str) and SENSITIVE_KEY.search(value[0]):
            return [value[0], REDACTED]
        return [_scrub(item, secrets) for item in value]
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return _JWT.sub(REDACTED, _BEARER.sub(r"\1 " + REDACTED, value))
    return value


def _scrubber(config: Any) -> Callable[[Event, Hint], Event | None]:
    """`scrub_event` as Sentry's typed `before_send`: sentry's `Event` is a TypedDict, which
    mypy will not pass where a plain dict is taken, though it is one at run time."""
    def before_send(event: Event, hint: Hint) -> Event | None:
        return cast("Event", scrub_event(cast(dict, event), hint, config=config))
    return before_send


def scrub_event(event: dict, hint: dict | None = None, *, config: dict | None = None) -> dict:
    """Sentry `before_send`: the event without secrets (see the module docstring)."""
    from flask import current_app, has_app_context

    if config is None:
        config = current_app.config if has_app_context() else {}
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("cookies", None)
        request.pop("data", None)  # form fields: passwords, CSRF tokens, formula lines
        if isinstance(request.get("query_string"), str):
            request["query_string"] = re.sub(r"(?i)((?:token|key|code|sig\w*)=)[^&]*",
                                             r"\1" + REDACTED, request["query_string"])
    rq_job = (event.get("extra") or {}).get("rq-job")
    if isinstance(rq_job, dict):
        # The description is the repr of every argument (kwargs a caller named freely).
        for name in ("description", "args", "kwargs"):
            rq_job.pop(name, None)
    for exception in (event.get("exception") or {}).get("values") or ():
        for frame in (exception.get("stacktrace") or {}).get("frames") or ():
            frame.pop("vars", None)
    return _scrub(event, _secret_values(config))


def init_sentry(app: Flask) -> bool:
    """Start sentry-sdk once per process when SENTRY_DSN is set; True when it is on."""
    global _initialised
    dsn = app.config.get("SENTRY_DSN") or ""
    if not dsn:
        return False
    if _initialised:
        return True
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.rq import RqIntegration

    config = dict(app.config)
    sentry_sdk.init(
        dsn=dsn,
        integrations=[FlaskIntegration(), RqIntegration()],
        environment=app.config.get("SENTRY_ENVIRONMENT") or app.config["ENV_NAME"],
        traces_sample_rate=app.config.get("SENTRY_TRACES_SAMPLE_RATE") or 0.0,
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=_scrubber(config),
    )
    _initialised = True
    log.info("error tracking on (Sentry)")
    return True
