"""Periodic sweeps of the surveys app: scheduled reminders and post-event surveys.

A sweep looks at the calendar now and does what is due; it never waits (no
countdown tasks that a worker restart would lose). Everything it mails goes
through the outbox under a key (surveys.notifications), so running a sweep again
— from Celery beat, from cron through `manage.py run_periodic`, or after a
worker was killed half-way — sends nothing twice. The sweeps are Celery tasks
and plain callables; each returns how many invitations it mailed (or, for the
post-event sweep, created: their mails follow through send_invitations).

Events do not import surveys (the import direction is surveys → events), so a
post-event survey is not sent by finish_event: sweep_post_event_surveys runs
every 10 minutes and sends it to the attendees of events marked finished.

Tasks call services (and mailing); services never import this module — the
task publishing queues, send_invitations, lives in surveys.mailing under its
historic name "surveys.tasks.send_invitations" and is re-exported here.
"""

from __future__ import annotations

import datetime
import logging

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from events.enums import EventStatus

from . import mailing, services
from .enums import SurveyAudience, SurveyState, SurveyStatus
from .mailing import send_invitations  # noqa: F401  (the task's historic home)
from .models import Survey

logger = logging.getLogger(__name__)

UNSENT_AFTER = datetime.timedelta(minutes=10)


def _open_surveys():
    return Survey.objects.in_state(SurveyState.OPEN, timezone.now()).order_by("pk")


@shared_task
def sweep_invitations() -> int:
    """Rescue: invitations of published, open surveys still not mailed 10
    minutes after they were made (e.g. the broker was down when publishing
    queued send_invitations) are mailed now."""
    cutoff = timezone.now() - UNSENT_AFTER
    surveys = Survey.objects.filter(
        status=SurveyStatus.PUBLISHED,
        closes_at__gt=timezone.now(),
        invitations__sent_at__isnull=True,
        invitations__responded_at__isnull=True,
        invitations__created_at__lt=cutoff,
    ).distinct()
    return sum(mailing.queue_invitation_mails(survey=survey) for survey in surveys)


@shared_task
def send_survey_reminders(survey_id: int) -> int:
    """Remind one survey's non-responders now (at most once a day each)."""
    survey = Survey.objects.filter(pk=survey_id).first()
    if survey is None or not survey.can_send_reminders:
        return 0
    return services.send_reminders(survey=survey)


@shared_task
def sweep_survey_reminders() -> int:
    """Reminders to non-responders of open surveys whose deadline is N calendar
    days away (Asia/Tokyo), N in the survey's reminder_days (e.g. 7 and 3)."""
    today = timezone.localdate()
    reminded = 0
    for survey in _open_surveys():
        days = {int(d) for d in (survey.reminder_days or []) if str(d).strip().isdigit()}
        closes_on = timezone.localtime(survey.closes_at).date()
        if (closes_on - today).days not in days:
            continue
        try:
            reminded += services.send_reminders(survey=survey)
        except services.SurveyError as error:  # closed between the query and now
            logger.info("survey %s: reminders skipped: %s", survey.pk, error.messages[0])
    return reminded


@shared_task
def sweep_post_event_surveys() -> int:
    """Send published post-event surveys addressed to an event's attendees once
    the event is over: marked finished (or ended EVENT_THANKS_DELAY_HOURS ago and
    never marked). Attendees are those counted as present
    (Registration.objects.counted_as_present: per mode, the checked-in where
    check-in was used in that mode, otherwise every confirmed person — so the
    online participants of a meeting that checked in only the venue are
    invited); someone checked in late is invited on the next run."""
    surveys = (
        _open_surveys()
        .filter(
            audience=SurveyAudience.EVENT_ATTENDEES,
            event__isnull=False,
        )
        .filter(Q(event__status=EventStatus.FINISHED) | Q(event__status=EventStatus.PUBLISHED))
        .select_related("event")
    )
    invited = 0
    for survey in surveys:
        invited += services.extend_invitations(survey=survey)
    return invited
