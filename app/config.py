"""Configuration, read only from environment variables.

`Config` holds safe development defaults (embedded SQLite under `instance/`, mail written
as `.eml` files), `TestConfig` is what the test-suite starts from, and `ProductionConfig`
refuses to start with a default secret (see `Config.validate`).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_SECRET_KEY = "dev-only-secret-key-change-me"  # noqa: S105 - refused in production


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(name: str, default: str) -> tuple[str, ...]:
    """A comma-separated variable as a tuple of trimmed, non-empty items."""
    value = os.environ.get(name, default)
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _listen_base_url(host: str, port: int) -> str:
    """The URL of the server `make run` starts on HOST:PORT (see jobs/launch.py): links in
    emails and the sandbox's notifications must reach that port. A wildcard address
    (0.0.0.0, ::) is not one a browser can open: such links use 127.0.0.1."""
    host = host.strip().strip("[]")
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - a listening address, not a bind
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class Config:
    ENV_NAME = "development"
    TESTING = False
    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
    INSTANCE_PATH = os.environ.get("INSTANCE_PATH", str(BASE_DIR / "instance"))

    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{Path(INSTANCE_PATH) / 'racik.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLALCHEMY_RECORD_QUERIES = False

    # Redis carries queues, rate limits and cache. Empty string disables it.
    REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    # Data cache (app/core/cache.py): Redis at CACHE_REDIS_URL (default REDIS_URL) when it
    # answers, else an in-process SimpleCache; CACHE_TYPE forces one (NullCache: none).
    CACHE_TYPE = os.environ.get("CACHE_TYPE", "")
    CACHE_REDIS_URL = os.environ.get("CACHE_REDIS_URL", "")
    CACHE_KEY_PREFIX = os.environ.get("CACHE_KEY_PREFIX", "racik:cache:")
    CACHE_DEFAULT_TIMEOUT = _int("CACHE_DEFAULT_TIMEOUT", 300)
    # Cache-Control max-age of anonymous catalog pages (browsers and nginx's proxy_cache).
    PUBLIC_PAGE_MAX_AGE = _int("PUBLIC_PAGE_MAX_AGE", 60)
    # Whole answers of those pages kept beside their HTML and given before Flask runs to a
    # request that may share them (app/core/shared_answers.py).
    SHARED_ANSWERS = _bool("SHARED_ANSWERS", True)
    # The anonymous visitor's language choice (a plain cookie, not the session).
    LANGUAGE_COOKIE_NAME = "racik_lang"

    # "auto": RQ when Redis answers, otherwise in-process threads after commit.
    # "rq", "thread" and "sync" (run right after commit, in the caller's thread) force a mode.
    JOBS_MODE = os.environ.get("JOBS_MODE", "auto")
    JOBS_DEFAULT_TIMEOUT = _int("JOBS_DEFAULT_TIMEOUT", 600)
    # RQ worker timings (jobs/worker.py): a killed worker's job is re-run within ~30 s.
    JOBS_WORKER_TTL = _int("JOBS_WORKER_TTL", 30)  # heartbeat TTL of an idle worker
    JOBS_MAINTENANCE_INTERVAL = _int("JOBS_MAINTENANCE_INTERVAL", 10)  # abandoned-job sweep
    JOBS_MONITORING_INTERVAL = _int("JOBS_MONITORING_INTERVAL", 5)  # heartbeat of a running job
    JOBS_HEARTBEAT_GRACE = _int("JOBS_HEARTBEAT_GRACE", 10)  # missed for this long: abandoned
    # Report exports of more rows than this run as a background job (queue `reports`).
    EXPORT_INLINE_MAX = _int("EXPORT_INLINE_MAX", 5000)

    # Sessions: signed cookies that carry a server-side session token (accounts.UserSession).
    SESSION_COOKIE_NAME = "racik_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_NAME = "racik_remember"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_DURATION = timedelta(days=_int("REMEMBER_DAYS", 30))
    SESSION_LIFETIME = timedelta(hours=_int("SESSION_LIFETIME_HOURS", 12))
    # Staff and admin sessions end after this long without a request (0: never).
    IDLE_TIMEOUT = timedelta(minutes=_int("IDLE_TIMEOUT_MINUTES", 30))
    PERMANENT_SESSION_LIFETIME = timedelta(days=_int("REMEMBER_DAYS", 30))

    WTF_CSRF_TIME_LIMIT = None  # token lives as long as the session
    WTF_CSRF_HEADERS = ["X-CSRFToken"]
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024  # a whole request; larger gets the friendly 413
    # Files (photos, invoices, contracts, exports…): `local` under STORAGE_ROOT (default
    # instance/files; a shared mount for several web nodes), or `s3`: a private bucket of
    # any S3-compatible service (app/core/storage.py, README "Configuration").
    STORAGE_BACKEND = os.environ.get("STORAGE_BACKEND", "local")
    STORAGE_ROOT = os.environ.get("STORAGE_ROOT", "")
    S3_BUCKET = os.environ.get("S3_BUCKET", "")
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL", "")  # "" = AWS S3 itself
    S3_REGION = os.environ.get("S3_REGION", "")
    # Empty keys: boto3's own chain (AWS_* variables, an instance or task role).
    S3_ACCESS_KEY_ID = os.environ.get("S3_ACCESS_KEY_ID", "")
    S3_SECRET_ACCESS_KEY = os.environ.get("S3_SECRET_ACCESS_KEY", "")
    S3_PREFIX = os.environ.get("S3_PREFIX", "")  # e.g. "racik/" to share a bucket
    S3_ADDRESSING_STYLE = os.environ.get("S3_ADDRESSING_STYLE", "auto")  # path for MinIO
    # Private downloads as a redirect to a presigned URL (after the app's access check)
    # instead of streamed through the app; the URL is valid S3_URL_EXPIRY seconds.
    S3_SIGNED_URLS = _bool("S3_SIGNED_URLS", False)
    S3_URL_EXPIRY = _int("S3_URL_EXPIRY", 300)
    PHOTO_MAX_BYTES = 5 * 1024 * 1024
    PHOTO_MAX_PIXELS = 40_000_000  # larger is refused before decoding (decompression bombs)
    PHOTOS_PER_PRODUCT = 8

    BABEL_DEFAULT_LOCALE = "id"
    BABEL_DEFAULT_TIMEZONE = "Asia/Jakarta"
    LANGUAGES = ("id", "en")

    # Password hashing (argon2id). Tests lower the cost; production keeps the library defaults.
    ARGON2_TIME_COST = _int("ARGON2_TIME_COST", 3)
    ARGON2_MEMORY_COST = _int("ARGON2_MEMORY_COST", 65536)
    ARGON2_PARALLELISM = _int("ARGON2_PARALLELISM", 4)

    # Login throttling (Flask-Limiter); failed attempts only.
    LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per 15 minutes")
    LOGIN_LIMIT_PER_IP = os.environ.get("LOGIN_LIMIT_PER_IP", "30 per 15 minutes")
    # "Lupa kata sandi": emails sent per address and requests per IP address.
    RESET_LIMIT_PER_EMAIL = os.environ.get("RESET_LIMIT_PER_EMAIL", "3 per hour")
    RESET_LIMIT_PER_IP = os.environ.get("RESET_LIMIT_PER_IP", "20 per hour")
    # New accounts per IP address (POST /daftar).
    REGISTER_LIMIT_PER_IP = os.environ.get("REGISTER_LIMIT_PER_IP", "10 per hour")
    # The public "Ajukan Maklon" form, submissions per IP address.
    INTEREST_LIMIT_PER_IP = os.environ.get("INTEREST_LIMIT_PER_IP", "5 per hour")
    # Payment notifications per IP address: generous, a gateway's retries are never refused
    # (the webhook benchmark raises it, bench/lib.sh).
    WEBHOOK_LIMIT_PER_IP = os.environ.get("WEBHOOK_LIMIT_PER_IP", "600 per minute")
    # Two-factor login: roles that must switch it on (held at the enrolment page until they
    # do), and failed codes allowed per account (login's second step and re-authentication).
    TOTP_REQUIRED_ROLES = _list("TOTP_REQUIRED_ROLES", "admin,staff")
    TOTP_LIMIT_PER_USER = os.environ.get("TOTP_LIMIT_PER_USER", "5 per 15 minutes")
    # JSON API (/api/v1): access tokens (JWT, HS256) live 15 minutes, refresh tokens 30 days.
    # API_JWT_KEY defaults to a key derived from SECRET_KEY (app/accounts/api_tokens.py).
    API_JWT_KEY = os.environ.get("API_JWT_KEY", "")
    API_ACCESS_TTL = timedelta(minutes=_int("API_ACCESS_TTL_MINUTES", 15))
    API_REFRESH_TTL = timedelta(days=_int("API_REFRESH_TTL_DAYS", 30))
    # An Idempotency-Key claimed by a request that died is free again after this long.
    IDEMPOTENCY_CLAIM_SECONDS = _int("IDEMPOTENCY_CLAIM_SECONDS", 30)
    # Requests per minute and token (or IP when anonymous) on the API, on top of login's own.
    API_LIMIT = os.environ.get("API_LIMIT", "300 per minute")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "")  # "" = decide at start
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_KEY_PREFIX = "racik-rl"
    # A Redis outage must not break logging in: fall back to per-process memory meanwhile.
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True

    # Telegram Bot API (app/notifications/telegram.py): the bot token itself is a setting
    # (/admin/telegram). Telegram allows ~30 messages a second overall and 1 a second per chat;
    # a 429's retry_after up to TELEGRAM_INLINE_WAIT_MAX seconds is waited out in the job,
    # a longer one is left to the sweep.
    TELEGRAM_API_URL = os.environ.get("TELEGRAM_API_URL", "https://api.telegram.org")
    TELEGRAM_TIMEOUT = _int("TELEGRAM_TIMEOUT", 10)
    TELEGRAM_GLOBAL_PER_SECOND = _int("TELEGRAM_GLOBAL_PER_SECOND", 30)
    TELEGRAM_CHAT_INTERVAL = float(os.environ.get("TELEGRAM_CHAT_INTERVAL", "1.0"))
    TELEGRAM_INLINE_WAIT_MAX = _int("TELEGRAM_INLINE_WAIT_MAX", 30)
    TELEGRAM_MAX_ATTEMPTS = _int("TELEGRAM_MAX_ATTEMPTS", 6)

    # Mail: "file" writes .eml under instance/mail/, "smtp" sends through MAIL_SERVER.
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "file")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_TIMEOUT = _int("MAIL_TIMEOUT", 10)
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Racik <noreply@racik.test>")
    MAIL_MAX_ATTEMPTS = _int("MAIL_MAX_ATTEMPTS", 12)
    # An outbox row "sending" for longer than this belongs to a sender that died: the sweep
    # (every 30 s) sends it again. A re-run of the very job that claimed it (RQ re-runs the
    # jobs of a killed worker) takes it back at once.
    OUTBOX_STALE_CLAIM_SECONDS = _int("OUTBOX_STALE_CLAIM_SECONDS", 60)
    # Where `make run` (jobs.launch) serves: HOST and PORT, as usual for a dev server.
    LISTEN_HOST = os.environ.get("HOST", "127.0.0.1")
    LISTEN_PORT = _int("PORT", 5000)
    # Absolute links (emails; where the sandbox posts its notifications). Outside
    # production it follows HOST/PORT unless set; ProductionConfig keeps its own default.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL") or _listen_base_url(LISTEN_HOST,
                                                                            LISTEN_PORT)

    # Behind a reverse proxy: how many proxies set X-Forwarded-* (0 = trust none). Host and
    # port (X-Forwarded-Host/-Port: https://host:8443 keeps its port) follow X_FOR unless set.
    PROXY_FIX_X_FOR = _int("PROXY_FIX_X_FOR", 0)
    PROXY_FIX_X_HOST = _int("PROXY_FIX_X_HOST", PROXY_FIX_X_FOR)
    PROXY_FIX_X_PORT = _int("PROXY_FIX_X_PORT", PROXY_FIX_X_FOR)
    # gzip text responses in the app (deployments without nginx; nginx compresses itself).
    COMPRESS_RESPONSES = _bool("COMPRESS_RESPONSES", False)
    DEMO_DATA_ALLOWED = True
    EMAIL_ALLOW_TEST_DOMAINS = True  # accept the reserved .test domain (demo accounts)
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    # "text" (default) or "json": one JSON object per line (time, level, logger, message,
    # request_id, job_id).
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")

    # Operations (app/core/health.py, app/core/metrics.py, app/core/errors_tracking.py).
    # /metrics and the detail of /healthz answer loopback and private networks, or a
    # request with "Authorization: Bearer <METRICS_TOKEN>".
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
    # /healthz answers 503 when the cron heartbeat is older than this, when jobs wait with
    # no live worker, or when the oldest due outbox row waits longer than this.
    HEALTH_CRON_MAX_AGE = _int("HEALTH_CRON_MAX_AGE", 180)
    HEALTH_OUTBOX_MAX_AGE = _int("HEALTH_OUTBOX_MAX_AGE", 900)
    # Optional error tracking (sentry-sdk) of web and workers; never initialised without it.
    SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
    SENTRY_ENVIRONMENT = os.environ.get("SENTRY_ENVIRONMENT", "")
    SENTRY_TRACES_SAMPLE_RATE = float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE") or 0)

    # Payments: "sandbox" (offline, Midtrans-shaped, with a simulator page) or "midtrans".
    PAYMENT_GATEWAY = os.environ.get("PAYMENT_GATEWAY", "sandbox")
    PAYMENT_SANDBOX_ENABLED = _bool("PAYMENT_SANDBOX_ENABLED", True)
    # The sandbox signs its notifications like Midtrans, with this key.
    PAYMENT_SANDBOX_SERVER_KEY = os.environ.get("PAYMENT_SANDBOX_SERVER_KEY",
                                                "SB-racik-sandbox-server-key")
    # How the sandbox delivers notifications: "http" (to PUBLIC_BASE_URL, like Midtrans) or
    # "inprocess" (through the app's test client: tests without a listening server).
    PAYMENT_SANDBOX_DELIVERY = os.environ.get("PAYMENT_SANDBOX_DELIVERY", "http")
    MIDTRANS_SERVER_KEY = os.environ.get("MIDTRANS_SERVER_KEY", "")
    MIDTRANS_IS_PRODUCTION = _bool("MIDTRANS_IS_PRODUCTION", False)
    MIDTRANS_TIMEOUT = _int("MIDTRANS_TIMEOUT", 15)
    # Empty: Midtrans' own API (sandbox or production, above). Set: that base URL instead
    # (an egress proxy; the production topology test's local stand-in).
    MIDTRANS_API_URL = os.environ.get("MIDTRANS_API_URL", "")
    # Courier rates and tracking from a RajaOngkir-style aggregator (app.shipping.rates);
    # without a key the built-in rate table answers. Seconds before it falls back.
    SHIPPING_API_URL = os.environ.get("SHIPPING_API_URL", "")
    SHIPPING_API_KEY = os.environ.get("SHIPPING_API_KEY", "")
    SHIPPING_API_TIMEOUT = _int("SHIPPING_API_TIMEOUT", 3)
    PAYMENT_VA_EXPIRY_MINUTES = _int("PAYMENT_VA_EXPIRY_MINUTES", 24 * 60)
    PAYMENT_EWALLET_EXPIRY_MINUTES = _int("PAYMENT_EWALLET_EXPIRY_MINUTES", 15)
    # Alfamart / Indomaret payment codes (Midtrans's default for retail outlets is 24 h);
    # one payment at the cashier may not exceed PAYMENT_CSTORE_MAX_AMOUNT Rupiah.
    PAYMENT_CSTORE_EXPIRY_MINUTES = _int("PAYMENT_CSTORE_EXPIRY_MINUTES", 24 * 60)
    PAYMENT_CSTORE_MAX_AMOUNT = _int("PAYMENT_CSTORE_MAX_AMOUNT", 5_000_000)

    # Formula compositions: "<id>:<base64 32 bytes>,..." (first = current); see
    # app.maklon.formula_crypto. Empty: a key derived from SECRET_KEY (not in production).
    FORMULA_KEYS = os.environ.get("FORMULA_KEYS", "")
    # The platform's Ed25519 key sealing contract signatures: base64 of the 32-byte private
    # key. Empty: derived from SECRET_KEY (not in production). See app.maklon.contracts.
    CONTRACT_SEAL_KEY = os.environ.get("CONTRACT_SEAL_KEY", "")
    # The earlier seal keys' public halves (comma-separated base64): they verify the seals
    # made before a rotation (`flask contracts keys add`).
    CONTRACT_SEAL_PUBLIC_KEYS = os.environ.get("CONTRACT_SEAL_PUBLIC_KEYS", "")

    # Backups (app/backups): archives go to BACKUP_DIR (default instance/backups; a
    # different disk/mount in production), encrypted with BACKUP_KEY (base64 of 32 bytes;
    # `flask backup new-key`). Empty key: derived from SECRET_KEY (not in production).
    BACKUP_DIR = os.environ.get("BACKUP_DIR", "")
    BACKUP_KEY = os.environ.get("BACKUP_KEY", "")
    BACKUP_KEEP_DAILY = _int("BACKUP_KEEP_DAILY", 7)
    BACKUP_KEEP_WEEKLY = _int("BACKUP_KEEP_WEEKLY", 4)
    BACKUP_KEEP_MONTHLY = _int("BACKUP_KEEP_MONTHLY", 12)
    # Off-site copies (app/backups/offsite.py): every verified archive is copied
    # with rclone to BACKUP_REMOTE (an rclone remote path such as `offsite:racik-backups`;
    # empty: no off-site copy), the remotes defined in the file RCLONE_CONFIG (empty:
    # rclone's own default or its RCLONE_CONFIG_* variables).
    BACKUP_REMOTE = os.environ.get("BACKUP_REMOTE", "")
    RCLONE_CONFIG = os.environ.get("RCLONE_CONFIG", "")
    RCLONE_BINARY = os.environ.get("RCLONE_BINARY", "rclone")
    RCLONE_TIMEOUT = _int("RCLONE_TIMEOUT", 3600)  # seconds for one rclone command

    # Audit rows older than this are moved to a compressed archive file (never dropped).
    AUDIT_RETENTION_DAYS = _int("AUDIT_RETENTION_DAYS", 365)


class TestConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    REDIS_URL = ""
    CACHE_TYPE = "NullCache"  # a test that needs the cache sets SimpleCache or RedisCache
    JOBS_MODE = "sync"
    RATELIMIT_STORAGE_URI = "memory://"
    MAIL_BACKEND = "file"
    STORAGE_BACKEND = "local"  # the S3 tests switch to their own moto server
    S3_SIGNED_URLS = False
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1
    LOG_LEVEL = "WARNING"
    PAYMENT_SANDBOX_DELIVERY = "inprocess"
    # The suite's admins and staff log in with a password alone; the 2FA tests set it.
    TOTP_REQUIRED_ROLES: tuple[str, ...] = ()


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    DEMO_DATA_ALLOWED = False
    EMAIL_ALLOW_TEST_DOMAINS = False
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "smtp")
    # Behind a proxy the listening port says nothing about the public address: the
    # deployment sets PUBLIC_BASE_URL (docker-compose.yml requires it).
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    # The simulator page and the sandbox gateway do not exist in production.
    PAYMENT_SANDBOX_ENABLED = False
    PAYMENT_GATEWAY = os.environ.get("PAYMENT_GATEWAY", "midtrans")


CONFIGS: dict[str, type[Config]] = {
    "development": Config,
    "testing": TestConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    """The configuration class named by RACIK_ENV (development by default)."""
    name = os.environ.get("RACIK_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"Unknown RACIK_ENV {name!r}; use one of {sorted(CONFIGS)}") from None
