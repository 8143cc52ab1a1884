"""`/healthz`: is the portal able to serve? For load balancers and monitoring.

Checks the database (SELECT 1), the cache (set/get/delete of a throw-away
key) and, when REDIS_URL is set, the Celery broker. The view (portal.views.healthz)
answers 200 when every needed check passes, 503 otherwise, with no login. Anyone
gets only that status; which backends run and how fast they answer helps an
attacker choose a target, so the detail is for the secretariat and for monitors
presenting HEALTHZ_TOKEN. Even the detail holds nothing secret (errors are
reported by exception type only: messages can contain URLs with passwords).
Every check is bounded by a timeout so that the endpoint answers within about
two seconds even when a service black-holes connections.
"""

from __future__ import annotations

import hmac
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.core.cache import caches
from django.db import connection, connections, transaction

# Seconds. The service clients get CHECK_TIMEOUT; the hard deadline on the
# threads that run them is a little longer, as a backstop.
CHECK_TIMEOUT = 1.0
DEADLINE = 1.5

# Few threads: a check that hangs past its deadline keeps its thread busy, and
# further checks then time out too, which is the truth about the service.
_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="healthz")


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _failure(started: float, exc: BaseException, **extra) -> dict:
    return {"ok": False, "ms": _elapsed_ms(started), "error": type(exc).__name__, **extra}


def check_database() -> dict:
    started = time.perf_counter()
    try:
        if connection.vendor == "postgresql":
            # SET LOCAL: the timeout ends with this transaction and cannot leak
            # into a persistent connection used by the next request.
            with transaction.atomic(), connection.cursor() as cursor:
                # A literal: SET takes no bind parameters with server-side binding.
                cursor.execute(f"SET LOCAL statement_timeout = {int(CHECK_TIMEOUT * 1000)}")
                cursor.execute("SELECT 1")
                cursor.fetchone()
        else:
            # No transaction on SQLite: with transaction_mode=IMMEDIATE it
            # would queue behind writers for the lock.
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
        return _failure(started, exc, backend=connection.vendor)
    return {"ok": True, "ms": _elapsed_ms(started), "backend": connection.vendor}


def _cache_backend_name(cache) -> str:
    name = type(cache).__name__.lower()
    for known in ("locmem", "redis", "memcache", "database", "filebased", "dummy"):
        if known in name:
            return known
    return name


def check_cache() -> dict:
    started = time.perf_counter()
    cache = caches["default"]
    backend = _cache_backend_name(cache)
    key = f"healthz:{uuid.uuid4().hex}"
    try:
        cache.set(key, "ok", timeout=5)
        ok = cache.get(key) == "ok"
        cache.delete(key)
    except Exception as exc:  # noqa: BLE001
        return _failure(started, exc, backend=backend)
    result = {"ok": ok, "ms": _elapsed_ms(started), "backend": backend}
    if not ok:
        result["error"] = "ValueMismatch"
    return result


def check_broker() -> dict:
    """The Celery broker, when there is one (REDIS_URL); read at call time."""
    url = getattr(settings, "REDIS_URL", "")
    if not url:
        return {"ok": True, "used": False}
    from config.celery import app

    started = time.perf_counter()
    try:
        with app.connection_for_write(url, connect_timeout=CHECK_TIMEOUT) as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=CHECK_TIMEOUT
            )
    except Exception as exc:  # noqa: BLE001
        return _failure(started, exc, used=True)
    return {"ok": True, "used": True, "ms": _elapsed_ms(started)}


def _in_pool_thread(func):
    try:
        return func()
    finally:
        # The database cache opens a connection in the pool thread, where no
        # request cycle would ever close a broken one: close it every time.
        connections.close_all()


def _run_bounded(checks: dict) -> dict:
    """Run service checks concurrently, each cut off at DEADLINE seconds."""
    futures = {name: _executor.submit(_in_pool_thread, func) for name, func in checks.items()}
    results = {}
    for name, future in futures.items():
        try:
            results[name] = future.result(timeout=DEADLINE)
        except FutureTimeout:
            results[name] = {"ok": False, "error": "Timeout", "ms": DEADLINE * 1000}
    return results


def run_checks() -> tuple[bool, dict]:
    """(healthy, the result of each check)."""
    # The database runs in the request's thread (its connection is
    # thread-bound); cache and broker in worker threads with a hard deadline.
    services = _run_bounded({"cache": check_cache, "broker": check_broker})
    checks = {"database": check_database(), **services}
    return all(check["ok"] for check in checks.values()), checks


def has_monitor_token(request) -> bool:
    """Whether the request carries `Authorization: Bearer <HEALTHZ_TOKEN>`.

    Needs no database, so a monitor still gets the detail when the database
    is what is down. No token configured means no monitor access."""
    expected = getattr(settings, "HEALTHZ_TOKEN", "")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not given.strip():
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())
