"""Settings for the Celery worker that tests/test_survey_worker.py starts.

The worker_test settings (test database, file e-mail backend), with the run's
own queue as the default queue: the outbox deliveries a reminder sweep queues
from inside the worker go to that queue too, so this worker delivers them and
no other process on the same Redis database can take them.
"""

from config.settings.base import env
from config.settings.worker_test import *  # noqa: F401,F403

CELERY_TASK_DEFAULT_QUEUE = env.str("TSUNAGARI_TEST_QUEUE")
