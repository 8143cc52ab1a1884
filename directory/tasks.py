"""Background work of the directory: the daily freshness requests and the
LINE redelivery records' clean-up (both in settings.CELERY_BEAT_SCHEDULE,
and run by `manage.py run_periodic` without a worker).

Both are sweeps over the database, idempotent: a second run finds nothing
new to ask about (Service.stale_notified_on, and the outbox keys of
directory.notifications) and nothing old to delete.
"""

from __future__ import annotations

import datetime

from celery import shared_task
from django.utils import timezone

from . import freshness
from .models import LineDelivery

# LINE redelivers an event for a while after a failed answer; a week is far
# beyond that, and nothing about the sender is kept meanwhile.
LINE_DELIVERIES_KEPT = datetime.timedelta(days=7)


@shared_task
def sweep_freshness(today: datetime.date | str | None = None) -> int:
    """Ask the secretariat and the providers' org admins about the entries
    that went stale; returns how many mails were queued."""
    if isinstance(today, str):  # a date given through the broker arrives as text
        today = datetime.date.fromisoformat(today)
    return freshness.notify_stale(today=today)


@shared_task
def sweep_line_deliveries(now: datetime.datetime | None = None) -> dict:
    """Delete the LINE redelivery records older than a week; {"deleted": how many}."""
    limit = (now or timezone.now()) - LINE_DELIVERIES_KEPT
    deleted, _per_model = LineDelivery.objects.filter(received_at__lt=limit).delete()
    return {"deleted": deleted}
