"""The base class of every Celery task (config/celery.py).

Celery's DjangoTask gives each task `delay_on_commit()`: work is queued only
once the transaction that made its rows has committed. Here that queueing
also survives a broker that is down: the commit has happened, so the request
must not turn into an error page (the person would be told it failed, and
trying again would say it was done already). The broker's error is logged
and the work is left to the sweep that rescues it — the outbox's
requeue_stale_outbox for every mail, surveys' sweep_invitations for
invitations — once the broker is back (docs/operations.md, Faults).
"""

from __future__ import annotations

import logging

from celery.contrib.django.task import DjangoTask
from django.db import transaction
from kombu.exceptions import OperationalError

log = logging.getLogger("core.queueing")


class OnCommitTask(DjangoTask):
    def delay_on_commit(self, *args, **kwargs) -> None:
        transaction.on_commit(lambda: self.queue_or_leave(*args, **kwargs))

    def queue_or_leave(self, *args, **kwargs) -> bool:
        """Queue the task now; False (and a warning) when the broker cannot
        be reached. Errors of the task itself (eager mode) are not caught."""
        try:
            self.delay(*args, **kwargs)
        except OperationalError as error:
            log.warning("broker unavailable, %s%r left for its sweep: %s", self.name, args, error)
            return False
        return True
