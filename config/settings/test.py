"""Test settings: the embedded default unless DATABASE_URL / REDIS_URL say otherwise."""

import os

from .base import *  # noqa: F401,F403
from .base import BASE_DIR, DATABASES, REDIS_URL

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# One folder per process, like the database file below: an upload sweep in
# one run (events' stale imports) must not delete another run's files.
MEDIA_ROOT = BASE_DIR / "test-artifacts" / f"media-{os.getpid()}"
# Tests run against a fresh database file (not :memory:, so that WAL, IMMEDIATE
# transactions and several connections behave as in production). One file per
# process, so parallel runs on one machine do not trample each other.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    (BASE_DIR / "test-artifacts").mkdir(exist_ok=True)
    DATABASES["default"]["TEST"] = {
        "NAME": str(BASE_DIR / "test-artifacts" / f"test-{os.getpid()}.sqlite3")
    }
# Even with a real broker configured the in-process suite runs tasks eagerly;
# the worker tests start a real Celery worker process for the broker path.
CELERY_TASK_ALWAYS_EAGER = True
TEST_REDIS_URL = REDIS_URL
# Rate limits would make login-heavy tests flaky; a dedicated test turns them on.
ACCOUNT_RATE_LIMITS = False
# The suite runs in one process, so the in-process cache is shared enough and
# keeps cache writes out of the test database; tests/test_security_ratelimit.py
# checks the shared cache every deployment uses.
if not REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# WhiteNoise warns when STATIC_ROOT is missing; tests never collect static files.
STATIC_ROOT = BASE_DIR / "test-artifacts" / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
