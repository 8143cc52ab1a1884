"""Settings come from the environment and fail loudly (DESIGN §7)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD_PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "t5u!n-" + "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMN",
    "ALLOWED_HOSTS": "tsunagari.example.org",
    "DATABASE_URL": "postgres://tsunagari@127.0.0.1:5432/tsunagari",
}


def manage(*args, env_overrides, drop=()):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_check_deploy_is_clean():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env_overrides=GOOD_PRODUCTION_ENV
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"])
def test_production_refuses_to_start_without_secret(missing):
    env = {k: v for k, v in GOOD_PRODUCTION_ENV.items() if k != missing}
    result = manage("check", env_overrides=env, drop=(missing,))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr


def test_production_refuses_a_short_secret_key():
    result = manage("check", env_overrides={**GOOD_PRODUCTION_ENV, "SECRET_KEY": "short"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_sqlite():
    env = {**GOOD_PRODUCTION_ENV, "DATABASE_URL": "sqlite:////tmp/x.sqlite3"}
    result = manage("check", env_overrides=env)
    assert result.returncode != 0
    assert "PostgreSQL" in result.stderr


def test_bad_boolean_fails_loudly():
    result = manage(
        "check", env_overrides={"DJANGO_SETTINGS_MODULE": "config.settings.local", "DEBUG": "maybe"}
    )
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_bad_database_url_fails_loudly():
    result = manage(
        "check",
        env_overrides={
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DATABASE_URL": "mysql://x@y/z",
        },
    )
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_embedded_default_is_sqlite_wal_immediate(settings, db):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("this run uses PostgreSQL (DATABASE_URL); the SQLite run checks this")
    assert settings.DATABASES["default"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"


def test_language_and_timezone(settings):
    assert settings.LANGUAGE_CODE == "ja"
    assert settings.TIME_ZONE == "Asia/Tokyo"
