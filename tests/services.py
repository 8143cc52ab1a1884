"""Decide whether a test that needs an outside resource skips or fails.

Locally a missing Chromium, PostgreSQL or Redis skips the test with a message
saying what is missing. CI sets TSUNAGARI_REQUIRE_BROWSER=1 and
TSUNAGARI_REQUIRE_SERVICES=1, and then the same absence fails the test: a CI
run must never go green because it quietly skipped the real thing.
"""

import os
import shutil
from pathlib import Path

import pytest

REQUIRE_BROWSER = "TSUNAGARI_REQUIRE_BROWSER"
REQUIRE_SERVICES = "TSUNAGARI_REQUIRE_SERVICES"
DEBIAN_CHROMIUM = Path("/usr/bin/chromium")


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _missing(env_var: str, message: str):
    if _env_flag(env_var):
        pytest.fail(f"{message} ({env_var}=1 makes this mandatory)", pytrace=False)
    pytest.skip(f"{message} (set {env_var}=1 to make this a failure)")


def chromium_path() -> str | None:
    if DEBIAN_CHROMIUM.exists() and os.access(DEBIAN_CHROMIUM, os.X_OK):
        return str(DEBIAN_CHROMIUM)
    return shutil.which("chromium")


def require_browser() -> str:
    """Return the Chromium executable, or skip/fail when there is none."""
    path = chromium_path()
    if path is None:
        _missing(
            REQUIRE_BROWSER,
            "Chromium not found at /usr/bin/chromium or on PATH; install it with `make chromium`",
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing(
            REQUIRE_BROWSER, "the playwright package is not installed (pip install -e '.[dev]')"
        )
    return path


def services_problem() -> str | None:
    """Why the PostgreSQL + Redis services are not usable, or None when they are."""
    from django.conf import settings
    from django.db import connection

    url = getattr(settings, "TEST_REDIS_URL", "")
    if not url:
        return "REDIS_URL is not set, so there is no broker for a Celery worker"
    if connection.vendor != "postgresql":
        return f"the test database is {connection.vendor}, not PostgreSQL (set DATABASE_URL)"
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # any failure to reach Redis means "not present"
        return f"Redis at {url} does not answer PING: {exc}"
    return None


def require_services() -> None:
    """Skip (or fail under TSUNAGARI_REQUIRE_SERVICES=1) unless PostgreSQL and Redis answer."""
    problem = services_problem()
    if problem:
        _missing(REQUIRE_SERVICES, problem)
