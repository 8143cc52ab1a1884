"""Login rate limits behind a reverse proxy (issue 8, defect 4).

The limits count per client, not per proxy: the client address is the one the
trusted proxies report in X-Forwarded-For (never the header when no proxy is
trusted); the counts live in a cache every web process shares; and failures
from one address never refuse the right password from another.
"""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from config.settings import base

from .factories import PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parent.parent
BLOCKED = "ログイン失敗が連続しています"
WRONG = "メールアドレスもしくはパスワードが正しくありません"
PROXY = "10.0.0.2"

pytestmark = pytest.mark.django_db


def _own_cache():
    """A cache of this test's own: the shipped rate limits start from zero."""
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"ratelimit-{uuid.uuid4().hex}",
        }
    }


def shipped_limits(count: int):
    """The rate limits and cache kind the portal ships, behind `count` proxies."""
    return override_settings(
        ACCOUNT_RATE_LIMITS=base.ACCOUNT_RATE_LIMITS,
        CACHES=_own_cache(),
        TRUSTED_PROXY_COUNT=count,
    )


def login(client, email, password, *, forwarded_for=None, remote=PROXY) -> str:
    extra = {"REMOTE_ADDR": remote}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    response = client.post(
        reverse("account_login"), {"login": email, "password": password}, **extra
    )
    if response.status_code == 302:
        return "logged in"
    if response.status_code == 429:
        return "too many requests"
    content = response.content.decode()
    if BLOCKED in content:
        return "blocked"
    if WRONG in content:
        return "wrong"
    return f"unexpected {response.status_code}"


def assert_logs_in(user, *, forwarded_for):
    """The right password from a fresh browser at `forwarded_for` signs `user` in."""
    browser = Client()
    assert login(browser, user.email, PASSWORD, forwarded_for=forwarded_for) == "logged in"
    assert browser.session["_auth_user_id"] == str(user.pk)


# --- the one function that names the client ----------------------------------


def _request(remote="10.0.0.2", forwarded_for=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("count", "forwarded_for", "expected"),
    [
        (0, "198.51.100.7", "10.0.0.2"),  # no trusted proxy: the header is the client's word
        (0, None, "10.0.0.2"),
        (1, "198.51.100.7", "198.51.100.7"),
        # The client wrote the left entry itself; the proxy appended the right one.
        (1, "1.2.3.4, 198.51.100.7", "198.51.100.7"),
        (2, "1.2.3.4, 198.51.100.7, 10.0.0.9", "198.51.100.7"),
        # Fewer entries than proxies: the left-most one a trusted proxy wrote.
        (2, "198.51.100.7", "198.51.100.7"),
        (1, "198.51.100.7:4711", "198.51.100.7"),
        (1, "[2001:db8::1]:4711", "2001:db8::1"),
        # Garbage or an empty header from the proxy: the proxy's own address.
        (1, "unknown", "10.0.0.2"),
        (1, "", "10.0.0.2"),
        (1, None, "10.0.0.2"),
    ],
)
def test_client_ip_uses_only_what_trusted_proxies_report(count, forwarded_for, expected):
    from core.clientip import client_ip

    with override_settings(TRUSTED_PROXY_COUNT=count):
        assert client_ip(_request(forwarded_for=forwarded_for)) == expected


def test_account_adapter_reads_the_client_ip_from_core():
    from allauth.account.adapter import get_adapter

    with override_settings(TRUSTED_PROXY_COUNT=1):
        request = _request(forwarded_for="1.2.3.4, 198.51.100.7")
        assert get_adapter().get_client_ip(request) == "198.51.100.7"


# --- login behind the proxy ---------------------------------------------------


def test_login_failures_of_one_client_behind_the_proxy_do_not_block_another(client):
    victim = UserFactory(email="colleague@example.org")
    with shipped_limits(count=1):
        # Client 1 guesses many passwords of many accounts until it is stopped.
        results = [
            login(client, f"guess{n}@example.org", "wrong", forwarded_for="203.0.113.5")
            for n in range(25)
        ]
        assert results[0] == "wrong"
        assert results[-1] == "blocked"

        # Client 2 comes through the same proxy (same REMOTE_ADDR).
        assert_logs_in(victim, forwarded_for="198.51.100.7")


def test_login_right_password_from_another_address_succeeds_after_someone_elses_failures(client):
    victim = UserFactory(email="target@example.org")
    with shipped_limits(count=1):
        attacker = [
            login(client, victim.email, "wrong", forwarded_for="203.0.113.5") for _ in range(12)
        ]
        assert attacker[0] == "wrong"
        assert attacker[-1] == "blocked"
        # Even the right password is refused to the address that kept guessing.
        assert login(client, victim.email, PASSWORD, forwarded_for="203.0.113.5") == "blocked"
        assert "_auth_user_id" not in client.session

        assert_logs_in(victim, forwarded_for="198.51.100.7")


def test_login_forged_forwarded_for_is_ignored_without_a_trusted_proxy(client):
    victim = UserFactory(email="forged@example.org")
    with shipped_limits(count=0):
        # A client talking to the portal directly invents a new address each time.
        results = [
            login(
                client,
                victim.email,
                "wrong",
                forwarded_for=f"198.51.100.{n}",
                remote="203.0.113.5",
            )
            for n in range(12)
        ]
        assert results[0] == "wrong"
        assert results[-1] == "blocked"


# --- a cache every web process shares -----------------------------------------

SUBPROCESS_LOGINS = r"""
import json, sys
import django
django.setup()
from django.test import Client
from django.urls import reverse
email, client_address, attempts = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = Client()
out = []
for _ in range(attempts):
    response = client.post(
        reverse("account_login"),
        {"login": email, "password": "wrong"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR=client_address,
    )
    text = response.content.decode()
    if "ログイン失敗が連続しています" in text:
        out.append("blocked")
    elif "メールアドレスもしくはパスワードが正しくありません" in text:
        out.append("wrong")
    else:
        out.append(f"unexpected {response.status_code}")
print(json.dumps(out))
"""


def subprocess_database_env() -> dict[str, str]:
    """Environment that points a child process at this test run's database."""
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return {"SQLITE_PATH": settings_dict["NAME"], "DATABASE_URL": ""}
    return {
        "DATABASE_URL": "postgres://{USER}:{PASSWORD}@{HOST}:{PORT}/{NAME}".format(
            **{k: settings_dict.get(k) or "" for k in ("USER", "PASSWORD", "HOST", "PORT")},
            NAME=settings_dict["NAME"],
        )
    }


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_login_failures_are_counted_across_web_processes(client):
    """Two web processes (this one and a subprocess with the deployed settings)
    count the same client's failures together."""
    victim = UserFactory(email=f"shared-{uuid.uuid4().hex[:8]}@example.org")
    address = "203.0.113.77"
    shipped_cache = base.CACHES
    with override_settings(
        ACCOUNT_RATE_LIMITS=base.ACCOUNT_RATE_LIMITS,
        CACHES=shipped_cache,
        TRUSTED_PROXY_COUNT=1,
    ):
        if shipped_cache["default"]["BACKEND"].endswith("DatabaseCache"):
            call_command("createcachetable", verbosity=0)
        try:
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "config.settings.local",
                "TRUSTED_PROXY_COUNT": "1",
                "DEBUG": "false",
                "ALLOWED_HOSTS": "testserver",
                **subprocess_database_env(),
            }
            result = subprocess.run(
                [sys.executable, "-c", SUBPROCESS_LOGINS, victim.email, address, "3"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert result.returncode == 0, result.stderr
            assert json.loads(result.stdout.strip().splitlines()[-1]) == ["wrong"] * 3

            # This process saw none of those attempts itself, yet the limit
            # (5 per address and account) is reached after two more.
            assert [
                login(client, victim.email, "wrong", forwarded_for=address) for _ in range(3)
            ] == [
                "wrong",
                "wrong",
                "blocked",
            ]
        finally:
            # The table outlives this test's flush; Redis is shared, and the
            # account's address is unique to this run, so it is left alone.
            if shipped_cache["default"]["BACKEND"].endswith("DatabaseCache"):
                cache.clear()


# --- settings -------------------------------------------------------------------


def _settings_of(module: str, **env_overrides) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "TRUSTED_PROXY_COUNT")}
    env.update(env_overrides)
    env["DJANGO_SETTINGS_MODULE"] = module
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, django; django.setup(); from django.conf import settings; "
            "print(json.dumps({'cache': settings.CACHES['default']['BACKEND'], "
            "'proxies': settings.TRUSTED_PROXY_COUNT}))",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION_ENV = {
    "SECRET_KEY": "t5u!n-" + "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMN",
    "ALLOWED_HOSTS": "tsunagari.example.org",
    "DATABASE_URL": "postgres://tsunagari@127.0.0.1:5432/tsunagari",
}


def test_production_cache_is_shared_database_without_redis():
    result = _settings_of("config.settings.production", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "cache": "django.core.cache.backends.db.DatabaseCache",
        "proxies": 0,
    }


def test_production_cache_is_redis_with_redis_url():
    result = _settings_of(
        "config.settings.production",
        REDIS_URL="redis://127.0.0.1:6379/0",
        TRUSTED_PROXY_COUNT="2",
        **PRODUCTION_ENV,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "cache": "django.core.cache.backends.redis.RedisCache",
        "proxies": 2,
    }


@pytest.mark.parametrize("value", ["-1", "one", "1.5"])
def test_trusted_proxy_count_bad_value_stops_start_up(value):
    result = _settings_of("config.settings.local", TRUSTED_PROXY_COUNT=value)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "TRUSTED_PROXY_COUNT" in result.stderr


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
    ],
)
def test_production_refuses_a_per_process_cache(backend):
    with pytest.raises(ImproperlyConfigured, match="shared cache"):
        base.require_shared_cache({"default": {"BACKEND": backend}})


def test_migrate_creates_the_database_cache_table():
    table = "tsunagari_cache_migrate_test"
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": table}
    }
    with override_settings(CACHES=caches):
        call_command("migrate", verbosity=0)
        assert table in connection.introspection.table_names()
        cache.set("k", "v")
        assert cache.get("k") == "v"
