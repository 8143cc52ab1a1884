"""Settings for the benchmark: the local settings with DEBUG off (as in
production: cached templates, no query log) and the benchmark's own URLconf,
which adds a bare logged-in view to measure against. The database comes from
the environment as usual (bench/run.py sets SQLITE_PATH or DATABASE_URL to
the data set's own database)."""

from config.settings.local import *  # noqa: F401,F403

DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.urls"
# The bench's accounts log in with force_login; building the demo's hashes fast.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Registrations under load send their mails (rendered, queued on commit and
# delivered eagerly, as in the embedded default) to nowhere.
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
# Per-request INFO lines (mail delivered…) would be measured too.
LOGGING = {**LOGGING, "root": {**LOGGING["root"], "level": "WARNING"}}  # noqa: F405
