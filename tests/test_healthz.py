"""`/healthz`: JSON status of database, cache and broker; 503 when one fails.

Anyone may ask whether the portal is up (status only); which backends it uses
and how fast they answer is for the secretariat, superusers and monitors that
present HEALTHZ_TOKEN.
"""

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
MONITOR_TOKEN = "monitor-token-0123456789abcdef"
LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture
def staff_client(client, secretariat):
    """The detailed report is for the secretariat (and superusers)."""
    client.force_login(secretariat)
    return client


@pytest.fixture
def broken_cache(monkeypatch):
    def broken_set(self, *args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(LocMemCache, "set", broken_set)


@pytest.fixture
def embedded(settings):
    """The embedded default (no Redis), even when the suite runs with REDIS_URL."""
    settings.REDIS_URL = ""
    settings.CACHES = LOCMEM
    return settings


@pytest.mark.django_db
def test_healthz_ok_on_embedded_default(staff_client, embedded):
    response = staff_client.get(reverse("healthz"))

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
def test_healthz_anonymous_gets_only_ok(client, embedded):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert response.json() == {"status": "ok"}
    for detail in ("checks", "sqlite", "locmem", "database", "ms"):
        assert detail not in response.content.decode()


@pytest.mark.django_db
def test_healthz_anonymous_gets_only_error_when_a_check_fails(client, embedded, broken_cache):
    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json() == {"status": "error"}
    assert "ConnectionError" not in response.content.decode()
    assert "locmem" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "actor", ["outsider", "contractor_member", "org_admin", "committee", "municipal_member"]
)
def test_healthz_members_get_only_ok(client_for, actors, embedded, actor):
    response = client_for(actors[actor]).get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
@pytest.mark.parametrize("actor", ["secretariat", "superuser"])
def test_healthz_secretariat_and_superuser_get_the_detail(client_for, actors, embedded, actor):
    response = client_for(actors[actor]).get(reverse("healthz"))

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert sorted(body["checks"]) == ["broker", "cache", "database"]
    assert body["checks"]["cache"]["backend"] == "locmem"


@pytest.mark.django_db
def test_healthz_monitor_token_gives_the_detail_and_a_wrong_one_does_not(client, embedded):
    embedded.HEALTHZ_TOKEN = MONITOR_TOKEN
    url = reverse("healthz")

    detailed = client.get(url, HTTP_AUTHORIZATION=f"Bearer {MONITOR_TOKEN}").json()
    wrong = client.get(url, HTTP_AUTHORIZATION="Bearer not-the-token").json()
    empty = client.get(url, HTTP_AUTHORIZATION="Bearer ").json()

    assert sorted(detailed["checks"]) == ["broker", "cache", "database"]
    assert wrong == {"status": "ok"}
    assert empty == {"status": "ok"}


@pytest.mark.django_db
def test_healthz_without_a_configured_token_no_header_gives_the_detail(client, embedded):
    embedded.HEALTHZ_TOKEN = ""

    response = client.get(reverse("healthz"), HTTP_AUTHORIZATION="Bearer ")

    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_healthz_reports_a_stopped_redis_broker(staff_client, embedded):
    started = time.perf_counter()
    with override_settings(REDIS_URL=CLOSED_PORT_REDIS):
        response = staff_client.get(reverse("healthz"))
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
    # A monitor with the token: with the database down nobody's role can be read.
    embedded.HEALTHZ_TOKEN = MONITOR_TOKEN

    def broken_cursor(*args, **kwargs):
        raise OperationalError("could not connect to server: password=hunter2")

    monkeypatch.setattr(connection, "cursor", broken_cursor)

    response = client.get(reverse("healthz"), HTTP_AUTHORIZATION=f"Bearer {MONITOR_TOKEN}")

    assert response.status_code == 503
    database = response.json()["checks"]["database"]
    assert database["ok"] is False
    assert database["error"] == "OperationalError"
    assert "hunter2" not in response.content.decode()


@pytest.mark.django_db
def test_healthz_cache_failure_is_503(staff_client, embedded, broken_cache):
    response = staff_client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == {
        "ok": False,
        "ms": response.json()["checks"]["cache"]["ms"],
        "error": "ConnectionError",
        "backend": "locmem",
    }


@pytest.mark.django_db
def test_healthz_hanging_check_is_cut_off(staff_client, embedded, monkeypatch):
    release = threading.Event()

    def hanging_broker():
        release.wait(5)
        return {"ok": True, "used": True}

    monkeypatch.setattr(health, "check_broker", hanging_broker)
    monkeypatch.setattr(health, "DEADLINE", 0.2)
    started = time.perf_counter()
    try:
        response = staff_client.get(reverse("healthz"))
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
def test_healthz_ok_with_real_redis(staff_client, settings):
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

    response = staff_client.get(reverse("healthz"))

    assert response.status_code == 200, response.json()
    checks = response.json()["checks"]
    assert checks["cache"]["backend"] == "redis"
    assert checks["broker"]["ok"] is True
    assert checks["broker"]["used"] is True
