"""Settings for the real Celery worker that tests/test_worker.py starts.

The test settings, but tasks go through the broker instead of running eagerly,
the worker uses the pytest-created test database (named in
TSUNAGARI_TEST_DB_NAME) and writes e-mails to files in TSUNAGARI_TEST_EMAIL_DIR
so the test can count what was sent.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import env
from .test import *  # noqa: F401,F403
from .test import DATABASES, REDIS_URL

CELERY_TASK_ALWAYS_EAGER = False
if not REDIS_URL:
    raise ImproperlyConfigured("worker_test settings need REDIS_URL (the broker)")
CELERY_BROKER_URL = REDIS_URL

_test_db_name = env.str("TSUNAGARI_TEST_DB_NAME", default="")
if not _test_db_name:
    raise ImproperlyConfigured("worker_test settings need TSUNAGARI_TEST_DB_NAME")
DATABASES["default"]["NAME"] = _test_db_name
# Close connections after each task so the test run can drop its database.
DATABASES["default"]["CONN_MAX_AGE"] = 0

# The portal's file backend (one file per message, its hand-over recorded).
EMAIL_BACKEND = "core.mail.FileBackend"
EMAIL_FILE_PATH = env.str("TSUNAGARI_TEST_EMAIL_DIR", default="")
if not EMAIL_FILE_PATH:
    raise ImproperlyConfigured("worker_test settings need TSUNAGARI_TEST_EMAIL_DIR")
