"""The data cache (Flask-Caching) with tags, and HTTP caching of public pages.

Backend (`init_cache`): Redis (`CACHE_REDIS_URL`, default `REDIS_URL`; keys prefixed with
`CACHE_KEY_PREFIX`, one per app), an in-process SimpleCache when Redis does not answer (the
SQLite `make run` default), NullCache in tests unless a test sets `CACHE_TYPE`.

Data cache API, for any domain:

    value = cached(key, lambda: compute(), tags=["product:12", "categories"], timeout=300)
    invalidate("product:12")          # after the writing transaction commits

Every tag has a version (a random token kept in the cache). An entry stores the versions
of its tags *read before the value was computed*; on a read the entry counts only while
every one of its tags still has that version. `invalidate(tag)` gives the tag a new
version once the session's transaction commits (at once outside a transaction, nothing on
rollback), so a reader that computed from data older than the commit stored it under the
old version and is never served again. A version that fell out of the cache (eviction)
makes its entries misses, never stale hits.

A public page answered from the cache says `X-Racik-Cache: hit` (else `miss`).

HTTP caching (`public_page`): a decorated GET view answers `Cache-Control: public,
max-age=PUBLIC_PAGE_MAX_AGE` with a strong ETag of its body (304 on If-None-Match) only
when the answer is the same for every visitor: nobody logged in, no session (no flash
waiting), no cookie set. Otherwise it stays `no-store` like every other HTML page
(`core.security`).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app, g, request, session
from flask_caching import Cache
from flask_login import current_user
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db

log = logging.getLogger(__name__)

cache = Cache()
T = TypeVar("T")

_TAG_PREFIX = "tag:"
_ENTRY_PREFIX = "entry:"
_PENDING = "racik_cache_pending_tags"
# The environ key by which a shared public answer is offered to core.shared_answers:
# (tag versions, timeout, endpoint).
SHARED_ANSWER = "racik.shared_answer"
# The environ key by which an anonymous form page offers its answer (`anonymous_form_page`):
# (the CSRF token put into it, endpoint).
FORM_ANSWER = "racik.form_answer"


def init_cache(app: Flask) -> None:
    """Bind the cache: Redis when it answers, SimpleCache without it (CACHE_TYPE forces
    one; the tests' config says NullCache)."""
    config = app.config
    if not config.get("CACHE_TYPE"):
        url = config.get("CACHE_REDIS_URL") or config.get("REDIS_URL") or ""
        # Production always takes Redis (several processes must share one cache; a
        # Redis still starting only makes the first pages misses), development only
        # when it answers.
        if url and (config["ENV_NAME"] == "production" or _redis_answers(url)):
            config["CACHE_TYPE"] = "RedisCache"
            config["CACHE_REDIS_URL"] = url
        else:
            config["CACHE_TYPE"] = "SimpleCache"
            log.info("cache: Redis not reachable, using the in-process SimpleCache")
    config.setdefault("CACHE_KEY_PREFIX", "racik:cache:")
    config.setdefault("CACHE_NO_NULL_WARNING", True)
    cache.init_app(app)
    app.extensions["racik_cache_stats"] = {"hits": 0, "misses": 0}


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1,
                                         socket_timeout=1).ping())
    except (redis.RedisError, ValueError):
        return False


def cache_enabled() -> bool:
    return current_app.config.get("CACHE_TYPE") != "NullCache"


def _tag_versions(tags: list[str]) -> dict[str, str | None]:
    if not tags:
        return {}
    values = cache.get_many(*(_TAG_PREFIX + tag for tag in tags))
    return dict(zip(tags, values, strict=True))


def _ensure_versions(tags: list[str]) -> dict[str, str]:
    """The current version of each tag, giving a fresh one to tags that have none."""
    versions = _tag_versions(tags)
    for tag, version in versions.items():
        if version is None:
            fresh = secrets.token_hex(8)
            # add(): another process that gave the tag a version first wins.
            if not cache.add(_TAG_PREFIX + tag, fresh, timeout=0):
                fresh = cache.get(_TAG_PREFIX + tag) or fresh
            versions[tag] = fresh
    return versions  # type: ignore[return-value]


def _count(kind: str) -> None:
    stats = current_app.extensions.get("racik_cache_stats")
    if stats is not None:
        stats[kind] += 1


def cached(key: str, compute: Callable[[], T], *, tags: Iterable[str] = (),
           timeout: int | None = None) -> T:
    """`compute()`'s value, from the cache while none of `tags` was invalidated since it
    was stored (at most `timeout` seconds, default CACHE_DEFAULT_TIMEOUT). The value must
    be picklable (plain data or rendered text, not ORM objects)."""
    return _cached(key, compute, tags=tags, timeout=timeout)[0]


def _cached(key: str, compute: Callable[[], T], *, tags: Iterable[str],
            timeout: int | None) -> tuple[T, dict[str, str] | None]:
    """`cached`, also answering the tag versions the value is valid under (None when the
    cache is off or failed: the value is good for this request only)."""
    if not cache_enabled():
        return compute(), None
    tags = sorted(set(tags))
    try:
        found = _entry_read(cache, key)
        if found is not None:
            _count("hits")
            return found
        versions = _ensure_versions(tags)
    except Exception:  # a cache outage slows pages down, it never breaks them
        log.warning("cache: read of %s failed", key, exc_info=True)
        return compute(), None
    _count("misses")
    value = compute()
    try:
        entry_set(cache, key, value, versions=versions, timeout=timeout)
    except Exception:
        log.warning("cache: write of %s failed", key, exc_info=True)
        return value, None
    return value, versions


def _entry_read(store: Any, key: str) -> tuple[Any, dict[str, str]] | None:
    """(value, tag versions) of the entry under `key` in `store` — the app's `cache`, or a
    backend read without an app context — or None when it is missing or one of its tags
    no longer has the version it was stored under (invalidated, or evicted)."""
    entry = store.get(_ENTRY_PREFIX + key)
    if entry is None:
        return None
    versions, value = entry
    current = store.get_many(*(_TAG_PREFIX + tag for tag in versions)) if versions else []
    return (value, versions) if list(versions.values()) == list(current) else None


def entry_get(backend: Any, key: str) -> Any | None:
    """The value stored by `entry_set` under `key` in `backend` (a cachelib backend, read
    without an app context), or None when missing or any of its tags was invalidated."""
    found = _entry_read(backend, key)
    return None if found is None else found[0]


def entry_set(backend: Any, key: str, value: Any, *, versions: dict[str, str],
              timeout: int | None) -> None:
    """Store `value` under tag `versions` (read before the data the value was made from),
    as `cached` does: `entry_get` answers it until one of them is invalidated."""
    backend.set(_ENTRY_PREFIX + key, (versions, value), timeout=timeout)


def page_entry(key: str, compute: Callable[[], T], *, tags: Iterable[str],
               timeout: int | None = None) -> T:
    """`cached` for the HTML of a whole public page shown to a visitor it may be shared
    with: the answer carrying it may then be kept whole (`core.shared_answers`), valid
    under the same tag versions and for the same time as the HTML."""
    computed: list[bool] = []

    def render() -> T:
        computed.append(True)
        return compute()

    value, versions = _cached(key, render, tags=tags, timeout=timeout)
    # X-Racik-Cache: whether the page came from the cache (only a page entry says so; the
    # data read while rendering it, the storefront's sections, does not).
    g.racik_cache = "miss" if computed else "hit"
    if versions is not None:
        g.racik_page_entry = (versions, timeout)
    return value


def cached_function(key_fn: Callable[..., str], *, tags: Callable[..., Iterable[str]]
                    | Iterable[str] = (), timeout: int | None = None):
    """Decorator form of `cached`: `key_fn(*args, **kwargs)` names the entry and `tags`
    (a list, or a function of the same arguments) invalidate it."""
    def decorator(function: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> T:
            entry_tags = tags(*args, **kwargs) if callable(tags) else tags
            return cached(f"{function.__module__}.{function.__qualname__}:"
                          f"{key_fn(*args, **kwargs)}",
                          lambda: function(*args, **kwargs), tags=entry_tags,
                          timeout=timeout)
        return wrapper
    return decorator


def _bump(tags: Iterable[str]) -> None:
    for tag in tags:
        try:
            cache.set(_TAG_PREFIX + tag, secrets.token_hex(8), timeout=0)
        except Exception:
            # The entries of a tag whose version could not change would be served stale:
            # say so loudly (the entries still end at their timeout).
            log.error("cache: invalidation of %s failed", tag, exc_info=True)


def invalidate(*tags: str) -> None:
    """Make every entry of `tags` a miss once the current transaction commits (at once when
    the session is not in a transaction; never after a rollback)."""
    if not tags or not cache_enabled():
        return
    sess = db.session()
    if sess.in_transaction():
        sess.info.setdefault(_PENDING, set()).update(tags)
    else:
        _bump(tags)


@event.listens_for(Session, "after_commit")
def _after_commit(sess: Session) -> None:
    tags = sess.info.pop(_PENDING, None)
    if tags:
        _bump(sorted(tags))


@event.listens_for(Session, "after_rollback")
def _after_rollback(sess: Session) -> None:
    sess.info.pop(_PENDING, None)


def cache_stats() -> dict[str, int]:
    """Hits and misses of `cached` in this process since it started (bench and tests)."""
    return dict(current_app.extensions.get("racik_cache_stats") or {})


# --- HTTP caching -------------------------------------------------------------------------


def is_shared_view() -> bool:
    """True when the current answer may be the same for every visitor: no user logged in,
    nothing in the session (no flash waiting, no language chosen by session)."""
    return not current_user.is_authenticated and not session


def page_key(*parts: object) -> str:
    """A cache key of the current page for anonymous visitors: path, sorted query, language
    and whether htmx asked for the fragment."""
    from flask_babel import get_locale

    from app.core.http import is_htmx

    query = "&".join(f"{name}={value}" for name, value in sorted(request.args.items(multi=True)))
    return ":".join(str(part) for part in (request.path, query, get_locale() or "id",
                                           int(is_htmx()), *parts))


def public_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a GET view as a public catalog page (see the module docstring)."""
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.racik_public_page = True
        return view(*args, **kwargs)
    return wrapper


def shared_view() -> bool:
    """True while rendering a public page for a visitor it may be shared with: such a page
    holds no per-visitor token (base.html leaves out the CSRF header and offers the
    language switch as links)."""
    return bool(g.get("racik_public_page")) and is_shared_view()


def init_http_cache(app: Flask) -> None:
    @app.context_processor
    def _shared_view() -> dict:
        return {"shared_view": shared_view}

    @app.after_request
    def _public_cache_headers(response):
        if not g.get("racik_public_page") or request.method not in ("GET", "HEAD"):
            return response
        response.vary.add("Cookie")
        response.vary.add("HX-Request")
        if g.get("racik_cache"):  # whether the data cache had the page (bench, debugging)
            response.headers["X-Racik-Cache"] = g.racik_cache
        shared = (response.status_code == 200 and is_shared_view() and not session.modified
                  and "Set-Cookie" not in response.headers)
        if not shared:
            # Personal (a user, a flash, a cookie being set): like every other page.
            response.headers["Cache-Control"] = "no-store"
            return response
        max_age = app.config["PUBLIC_PAGE_MAX_AGE"]
        response.headers["Cache-Control"] = f"public, max-age={max_age}"
        response.add_etag()
        if g.get("racik_page_entry") is not None and not response.is_streamed:
            # The whole answer may be kept for the next visitor who asks the same
            # (core.shared_answers decides, once the last header is written).
            request.environ[SHARED_ANSWER] = (*g.racik_page_entry, request.endpoint)
        return response.make_conditional(request)


# --- rendered pages for anonymous visitors --------------------------------------------------

def code_generation(root: Path) -> str:
    """A digest of every file of the code under `root` (Python modules, templates, static
    files, translation catalogs; not `__pycache__`), by relative path and content: the same
    in every process of one deploy, different as soon as any file differs."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file() or path.suffix == ".pyc":
            continue
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:12]


# Rendered HTML depends on the running code (templates, views, static versions,
# catalogs): cached pages and shared answers are keyed by this generation, so a deploy
# renders afresh instead of reading what the previous version stored in a shared Redis,
# while the processes of one deploy (workers, nodes) share their pages.
RENDER_GENERATION = code_generation(Path(__file__).resolve().parent.parent)
CSRF_PLACEHOLDER = "racik-csrf-placeholder-7d1e0c"  # replaced before the answer leaves


def shared_page(render: Callable[[], str], *, tags: Iterable[str] = ()) -> str:
    """The HTML of a public page as `render()` makes it, kept in the data cache under `tags`
    while the visitor may share it (`shared_view`); rendered every time otherwise."""
    if not shared_view():
        return render()
    return page_entry(f"page:{RENDER_GENERATION}:{page_key()}", render, tags=tags)


def anonymous_form_page(render: Callable[[], str]) -> str:
    """The HTML of a form page (log-in, registration) for an anonymous visitor's first GET:
    rendered once with a placeholder where the CSRF token goes, then each answer gets the
    visitor's own token (made now, in their session, as a render would). Any other
    request — signed in, a flash or a language kept in the session, a query string, a
    submitted form with its messages — is rendered normally."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    if (request.method != "GET" or request.args or current_user.is_authenticated
            or not set(session.keys()) <= {field} or field in g or not cache_enabled()):
        return render()
    from flask_wtf.csrf import generate_csrf

    def with_placeholder() -> str:
        setattr(g, field, CSRF_PLACEHOLDER)  # what generate_csrf() answers in this render
        try:
            return render()
        finally:
            g.pop(field, None)

    html = cached(f"form:{RENDER_GENERATION}:{page_key()}", with_placeholder)
    token = generate_csrf()
    # The answer may be kept with a placeholder for token and cookie (core.shared_answers
    # gives the next first visit its own, as `csrf_seed_and_token` makes them).
    request.environ[FORM_ANSWER] = (token, request.endpoint)
    return html.replace(CSRF_PLACEHOLDER, token)


def csrf_seed_and_token(app: Flask) -> tuple[str, str]:
    """A new session CSRF seed and its signed form token, as Flask-WTF's `generate_csrf`
    makes them for a session without one, for an answer given without Flask."""
    seed = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324 - Flask-WTF's own seed
    return seed, csrf_form_token(app, seed)


def csrf_form_token(app: Flask, seed: str) -> str:
    """The form token Flask-WTF's `generate_csrf` signs for a session's CSRF `seed` (the
    same salt, key and format, so Flask-WTF validates it against the seed)."""
    secret: str | bytes = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key or ""
    made = app.extensions.get("racik_csrf_serializer")
    if made is None or made[0] != secret:
        made = (secret, URLSafeTimedSerializer(secret, salt="wtf-csrf-token"))
        app.extensions["racik_csrf_serializer"] = made
    return made[1].dumps(seed)
