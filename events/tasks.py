"""Periodic sweeps of the events app: reminders, the online link, thanks mails.

A sweep looks at the calendar now and queues what is due; it never waits (no
long countdown tasks that a restart would lose). Each message has an outbox key
(events.notifications), so running a sweep again — every hour from Celery beat,
or from cron through `manage.py run_periodic` — queues nothing twice. The sweeps
are Celery tasks and plain callables; each returns how many messages it queued.
"""

from __future__ import annotations

import datetime

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from core.dates import local_day_start

from . import notifications, services, tallies
from .enums import EventFormat, EventStatus, RegistrationMode, RegistrationStatus
from .models import Event, Registration

THANKS_WINDOW = datetime.timedelta(days=7)


def _registrations(**filters):
    return Registration.objects.filter(**filters).select_related("event", "user", "session")


@shared_task
def sweep_reminders() -> int:
    """Reminder N days before (N in settings.EVENT_REMINDER_DAYS, counted in
    calendar days in Asia/Tokyo) to everyone confirmed for a published event."""
    today = timezone.localdate()
    queued = 0
    for days in settings.EVENT_REMINDER_DAYS:
        day = today + datetime.timedelta(days=days)
        due = _registrations(
            status=RegistrationStatus.CONFIRMED,
            event__status=EventStatus.PUBLISHED,
            event__starts_at__gte=local_day_start(day),
            event__starts_at__lt=local_day_start(day + datetime.timedelta(days=1)),
        )
        queued += notifications.queue_each(
            due,
            lambda r, d=days: notifications.reminder_key(r, d),
            lambda r, d=days: notifications.reminder(r, d),
        )
    return queued


@shared_task
def sweep_online_links() -> int:
    """The online URL to people confirmed for online participation, "the day
    before": from 0:00 (Asia/Tokyo) of the day before the event until it ends.
    The window runs on into the day itself so that someone promoted or
    registering late, or a URL entered late, still gets the link."""
    now = timezone.now()
    day_after_tomorrow = timezone.localdate() + datetime.timedelta(days=2)
    due = _registrations(
        status=RegistrationStatus.CONFIRMED,
        mode=RegistrationMode.ONLINE,
        event__status=EventStatus.PUBLISHED,
        event__format__in=[EventFormat.ONLINE, EventFormat.HYBRID],
        event__starts_at__lt=local_day_start(day_after_tomorrow),
        event__ends_at__gt=now,
    ).exclude(event__online_url="")
    return notifications.queue_each(due, notifications.online_link_key, notifications.online_link)


@shared_task
def sweep_thanks() -> int:
    """Thanks + materials to those who came (counted_as_present: judged per
    mode, see docs/events.md), for events of the last 7 days that
    are finished, or still published but ended at least
    settings.EVENT_THANKS_DELAY_HOURS ago (time for the secretariat to put the
    materials up; finish_event sends at once). Older events are left alone, so
    imported history never mails anyone."""
    now = timezone.now()
    delay = datetime.timedelta(hours=settings.EVENT_THANKS_DELAY_HOURS)
    events = Event.objects.filter(ends_at__gte=now - THANKS_WINDOW).filter(
        Q(status=EventStatus.FINISHED) | Q(status=EventStatus.PUBLISHED, ends_at__lte=now - delay)
    )
    return sum(services.queue_thanks(event) for event in events)


@shared_task
def sweep_tallies() -> dict:
    """The dashboard's tallies of what changed behind the services' back
    (tallies.repair): events written directly, organisations whose kind the
    network pages changed or that were deleted. Until it runs the dashboard
    computes the 年度 concerned from the registrations (exact, slower)."""
    return {"repaired": sum(tallies.repair().values())}


@shared_task
def sweep_unconfirmed_guests() -> dict:
    """Guest registrations whose e-mailed link was never opened (see
    services.discard_unconfirmed_guests). Nothing is mailed, so the count is
    reported as discarded, not queued."""
    return {"discarded": services.discard_unconfirmed_guests()}
