"""`/healthz`: JSON status of database, cache and broker; 503 when one fails."""

import os
import threading
import time

import pytest
from django.conf import settings as django_settings
from django.core.cache.backends.locmem import LocMemCache
from django.db import OperationalError, connection
from django.test import override_settings
from django.urls import reverse

from core import health

CLOSED_PORT_REDIS = "redis://:s3cret-password@127.0.0.1:6390/0"
LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture
def embedded(settings):
    """The embedded default (no Redis), even when the suite runs with REDIS_URL."""
    settings.REDIS_URL = ""
    settings.CACHES = LOCMEM
    return settings


@pytest.mark.django_db
def test_healthz_ok_on_embedded_default(client, embedded):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert body["status"] == "ok"
    checks = body["checks"]
    assert checks["database"]["ok"] is True
    assert isinstance(checks["database"]["ms"], float)
    assert checks["cache"] == {"ok": True, "ms": checks["cache"]["ms"], "backend": "locmem"}
    assert checks["broker"] == {"ok": True, "used": False}


@pytest.mark.django_db
def test_healthz_needs_no_login_and_answers_head(client, embedded):
    assert client.head(reverse("healthz")).status_code == 200
    assert client.post(reverse("healthz")).status_code == 405


@pytest.mark.django_db
def test_healthz_reports_a_stopped_redis_broker(client, embedded):
    started = time.perf_counter()
    with override_settings(REDIS_URL=CLOSED_PORT_REDIS):
        response = client.get(reverse("healthz"))
    elapsed = time.perf_counter() - started

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    broker = body["checks"]["broker"]
    assert broker["ok"] is False
    assert broker["used"] is True
    assert broker["error"]
    assert body["checks"]["database"]["ok"] is True
    assert elapsed < 2.5
    # Nothing secret leaks: not the URL, not its password.
    assert "s3cret" not in response.content.decode()
    assert "6390" not in response.content.decode()
    assert embedded.SECRET_KEY not in response.content.decode()


@pytest.mark.django_db
def test_healthz_database_failure_is_503(client, embedded, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise OperationalError("could not connect to server: password=hunter2")

    monkeypatch.setattr(connection, "cursor", broken_cursor)

    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    database = response.json()["checks"]["database"]
    assert database["ok"] is False
    assert database["error"] == "OperationalError"
    assert "hunter2" not in response.content.decode()


@pytest.mark.django_db
def test_healthz_cache_failure_is_503(client, embedded, monkeypatch):
    def broken_set(self, *args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(LocMemCache, "set", broken_set)

    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == {
        "ok": False,
        "ms": response.json()["checks"]["cache"]["ms"],
        "error": "ConnectionError",
        "backend": "locmem",
    }


@pytest.mark.django_db
def test_healthz_hanging_check_is_cut_off(client, embedded, monkeypatch):
    release = threading.Event()

    def hanging_broker():
        release.wait(5)
        return {"ok": True, "used": True}

    monkeypatch.setattr(health, "check_broker", hanging_broker)
    monkeypatch.setattr(health, "DEADLINE", 0.2)
    started = time.perf_counter()
    try:
        response = client.get(reverse("healthz"))
    finally:
        release.set()

    assert time.perf_counter() - started < 1.5
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["error"] == "Timeout"


@pytest.mark.django_db
def test_broker_check_reads_settings_at_call_time(embedded):
    assert health.check_broker() == {"ok": True, "used": False}
    with override_settings(REDIS_URL=CLOSED_PORT_REDIS):
        assert health.check_broker()["ok"] is False


@pytest.mark.services
@pytest.mark.django_db
def test_healthz_ok_with_real_redis(client, settings):
    """Scale-out mode: Redis as cache and broker (runs when REDIS_URL is set)."""
    url = django_settings.TEST_REDIS_URL
    if not url:
        message = "REDIS_URL is not set, so there is no Redis to check"
        if os.environ.get("TSUNAGARI_REQUIRE_SERVICES", "").lower() in {"1", "true", "yes", "on"}:
            pytest.fail(message)
        pytest.skip(message)
    settings.REDIS_URL = url
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }

    response = client.get(reverse("healthz"))

    assert response.status_code == 200, response.json()
    checks = response.json()["checks"]
    assert checks["cache"]["backend"] == "redis"
    assert checks["broker"]["ok"] is True
    assert checks["broker"]["used"] is True
