"""Racik: the application factory."""

from __future__ import annotations

import importlib
import os
import weakref
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import inspect as sa_inspect
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import DEFAULT_SECRET_KEY, Config, config_from_env
from app.extensions import babel, csrf, db, htmx, limiter, login_manager, migrate


class RacikFlask(Flask):
    """Flask, with `ensure_sync` remembered per function: Flask asks `inspect` whether each
    hook and view is a coroutine function on every request (~20 per page), and the answer
    never changes for a function. Weakly: a per-request callable (`after_this_request`) is
    forgotten with its request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync: weakref.WeakKeyDictionary[Callable[..., Any], Callable[..., Any]] = (
            weakref.WeakKeyDictionary())

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            return self._sync[func]
        except KeyError:
            made = self._sync[func] = super().ensure_sync(func)
        except TypeError:  # not weakly referable (a builtin): asked every time
            made = super().ensure_sync(func)
        return made


def create_app(config: type[Config] | None = None, **overrides) -> Flask:
    """Build the app from a config class (default: the one RACIK_ENV names) plus overrides."""
    config = config or config_from_env()
    instance_path = (
        overrides.get("INSTANCE_PATH") or os.environ.get("INSTANCE_PATH") or config.INSTANCE_PATH
    )
    app = RacikFlask(__name__, instance_path=instance_path)
    app.config.from_object(config)
    app.config.update(overrides)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    _refuse_unsafe_production(app)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from app.core.logs import configure_logging, init_request_id

    configure_logging(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])
    from app.core.shared_answers import SharedAnswers

    # Innermost WSGI layer: a shared public page's whole answer, given before Flask runs.
    app.wsgi_app = SharedAnswers(app, app.wsgi_app)  # type: ignore[method-assign]
    if app.config["PROXY_FIX_X_FOR"]:
        count = app.config["PROXY_FIX_X_FOR"]
        # Flask's documented way to add WSGI middleware; its typing calls wsgi_app a method.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count,  # type: ignore[method-assign]
                                x_host=app.config["PROXY_FIX_X_HOST"],
                                x_port=app.config["PROXY_FIX_X_PORT"])

    _init_extensions(app)
    _init_request_hooks(app)
    init_request_id(app)

    from app.core.errors_tracking import init_sentry
    from app.core.http import init_error_handlers
    from app.core.metrics import init_metrics
    from app.core.security import init_security_headers
    from app.core.templating import init_templating

    init_error_handlers(app)
    init_metrics(app)
    init_sentry(app)
    init_security_headers(app)
    from app.core.cache import init_http_cache

    init_http_cache(app)
    init_templating(app)
    if app.config["COMPRESS_RESPONSES"]:
        from app.core.compress import init_compression

        init_compression(app)
    _register_blueprints(app)

    from app.cli import register_cli

    register_cli(app)
    return app


def normalize_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way (postgres://, postgresql://)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _refuse_unsafe_production(app: Flask) -> None:
    if app.config["ENV_NAME"] != "production":
        return
    key = app.config.get("SECRET_KEY") or ""
    if key == DEFAULT_SECRET_KEY or len(key) < 32:
        raise RuntimeError(
            "Refusing to start in production: set SECRET_KEY to a random value of at least "
            "32 characters."
        )
    if app.config["PAYMENT_GATEWAY"] == "midtrans" and not app.config["MIDTRANS_SERVER_KEY"]:
        raise RuntimeError("Refusing to start in production: PAYMENT_GATEWAY is midtrans but "
                           "MIDTRANS_SERVER_KEY is not set.")
    from app.core.pdf import PdfFontsMissing, pdf_font_files

    try:
        pdf_font_files()  # invoices, contracts and reports embed them
    except PdfFontsMissing as error:
        raise RuntimeError(f"Refusing to start in production: {error}") from error
    for name in ("FORMULA_KEYS", "CONTRACT_SEAL_KEY", "BACKUP_KEY"):
        if not app.config.get(name):
            raise RuntimeError(f"Refusing to start in production: set {name} (see README, "
                               "section Keys).")


@lru_cache(maxsize=16)
def _parsed_locale(code: str) -> Locale:
    return Locale.parse(code)


def _selected_locale() -> Locale:
    """The request's locale for Flask-Babel, parsed once per language (Flask-Babel parses
    the selector's string on every request, a look at babel's locale files each time)."""
    return _parsed_locale(_select_locale())


def _select_locale() -> str:
    if not has_request_context():
        return "id"  # jobs render emails under force_locale(user.locale)
    if request.path.startswith("/api/"):
        # The API's user is the token's (set by the blueprint), never the cookie's.
        user = g.get("_login_user")
        if user is not None and user.is_authenticated:
            return user.locale
        return request.accept_languages.best_match(current_app.config["LANGUAGES"]) or "id"
    user = current_user._get_current_object() if current_user else None
    state = sa_inspect(user, raiseerr=False) if user is not None else None
    if state is not None and state.detached:
        # A streamed body runs after the request's teardown removed the session: reading
        # the detached user would raise DetachedInstanceError, so ask the database.
        locale = _stored_locale(state.identity)
        if locale is not None and locale in current_app.config["LANGUAGES"]:
            return locale
    elif user is not None and user.is_authenticated:
        return user.locale
    # The visitor's choice: a plain cookie (anonymous pages stay free of a session, so
    # they can be shared by caches); the session's `lang` of older sessions still counts.
    language = session.get("lang") or request.cookies.get(
        current_app.config["LANGUAGE_COOKIE_NAME"])
    if isinstance(language, str) and language in current_app.config["LANGUAGES"]:
        return language
    return "id"


def _stored_locale(identity: tuple | None) -> str | None:
    from sqlalchemy import select

    from app.accounts.models import User

    if not identity:
        return None
    return db.session.scalar(select(User.locale).where(User.id == identity[0],
                                                       User.active.is_(True)))


def _init_extensions(app: Flask) -> None:
    from app.core.db import init_db, schema_include_object
    from app.core.queue import init_queue, redis_answers

    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"),
        render_as_batch=True, compare_type=True, include_object=schema_include_object,
    )
    init_db(app)
    csrf.init_app(app)
    htmx.init_app(app)
    babel.init_app(app, locale_selector=_selected_locale)

    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = (
            app.config["REDIS_URL"] if redis_answers(app) else "memory://"
        )
    limiter.init_app(app)
    _limit_checks_where_needed(app)

    from app.accounts.sessions import session_load

    login_manager.init_app(app)
    login_manager.user_loader(session_load)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Silakan masuk untuk membuka halaman ini.")
    login_manager.login_message_category = "info"
    login_manager.unauthorized_handler(_unauthorized)

    init_queue(app)
    from app.core.storage import init_storage

    init_storage(app)
    from app.core.cache import init_cache

    init_cache(app)
    # Import every domain's models so metadata (and Alembic) sees all tables. (By name: an
    # `import app.x.models` here would rebind this function's `app` to the package.)
    for domain in ("accounts", "api", "audit", "backups", "catalog", "core", "crm", "inventory",
                   "maklon", "notifications", "orders", "payments", "reports", "shipping"):
        importlib.import_module(f"app.{domain}.models")


def _limit_checks_where_needed(app: Flask) -> None:
    """Flask-Limiter checks every request before the view for application, default and
    blueprint limits; the limits of decorated views are checked by their decorators. Racik
    has only blueprint limits (the API's), so the before-request check runs for requests
    of a limited blueprint only: ~0.25 ms less on every other page (issue 24)."""
    hooks = app.before_request_funcs.setdefault(None, [])
    check = limiter._check_request_limit
    manager = limiter.limit_manager
    if check not in hooks or manager.default_limits or manager.application_limits:
        return
    limited: dict[str, bool] = {}  # blueprint name -> has limits (fixed once registered)

    def _check_limited_blueprints() -> None:
        blueprint = request.blueprint
        if blueprint is None:
            return
        if blueprint not in limited:
            limited[blueprint] = bool(manager.blueprint_limits(app, blueprint))
        if limited[blueprint]:
            check()

    hooks[hooks.index(check)] = _check_limited_blueprints


def _unauthorized():
    """Anonymous user on a protected route: go to login and come back afterwards."""
    from flask import flash, make_response, redirect, url_for

    from app.core.http import is_htmx

    login_url = url_for("accounts.login", next=request.full_path.rstrip("?"))
    if is_htmx():
        response = make_response("", 401)
        response.headers["HX-Redirect"] = login_url
        return response
    flash(str(login_manager.login_message), login_manager.login_message_category)
    return redirect(login_url)


def _init_request_hooks(app: Flask) -> None:
    from app.core.db import set_read_only_transactions

    @app.before_request
    def _transaction_mode() -> None:
        # Safe methods only read; SQLite then starts deferred (non-locking) transactions.
        set_read_only_transactions(request.method in ("GET", "HEAD", "OPTIONS"))

    @app.teardown_request
    def _reset_transaction_mode(exc) -> None:
        set_read_only_transactions(False)


def _register_blueprints(app: Flask) -> None:
    from app.accounts.routes import bp as accounts_bp
    from app.admin.routes import bp as admin_bp
    from app.api import bp as api_bp
    from app.api import init_api
    from app.audit.routes import bp as audit_bp
    from app.backups.routes import bp as backups_bp
    from app.catalog.routes import bp as catalog_bp
    from app.catalog.stock_routes import bp as inventory_bp
    from app.core.routes import bp as core_bp
    from app.crm.routes import bp as crm_bp
    from app.crm.routes import public_bp as crm_public_bp
    from app.main.routes import bp as main_bp
    from app.maklon.routes import bp as maklon_bp
    from app.orders.routes import bp as orders_bp
    from app.payments.routes import bp as payments_bp
    from app.reports.routes import bp as reports_bp
    from app.shipping.routes import bp as shipping_bp

    init_api(app)  # the `id` URL converter must exist before any blueprint's rules
    app.register_blueprint(core_bp)
    app.register_blueprint(main_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(audit_bp, url_prefix="/admin/audit")
    app.register_blueprint(backups_bp, url_prefix="/admin")
    app.register_blueprint(catalog_bp)
    app.register_blueprint(inventory_bp)
    app.register_blueprint(orders_bp)
    app.register_blueprint(payments_bp)
    app.register_blueprint(crm_bp, url_prefix="/crm")
    app.register_blueprint(crm_public_bp)
    app.register_blueprint(maklon_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(shipping_bp)
    app.register_blueprint(api_bp)

    from app.crm.events import init_crm_events
    from app.notifications.routes import bp as notifications_bp

    app.register_blueprint(notifications_bp)
    init_crm_events(app)  # task notices (email, Telegram) subscribe to task_assigned
