import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

# Every task's delay_on_commit() queues work only once the transaction that
# created its rows has committed, and a broker that is down is logged, not
# raised into the request (core.queueing).
app = Celery("tsunagari", task_cls="core.queueing:OnCommitTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
