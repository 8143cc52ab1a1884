"""Settings for the benchmark: the local settings with DEBUG off (as in
production: cached templates, no query log) and the benchmark's own URLconf,
which adds a bare logged-in view to measure against. The database comes from
the environment as usual (bench/run.py sets SQLITE_PATH or DATABASE_URL)."""

from config.settings.local import *  # noqa: F401,F403

DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.urls"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
