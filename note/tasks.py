"""Background work of the note app: follow mails and the weekly digest.

Tasks take ids, re-fetch, and are idempotent through their outbox keys
(note.notifications), so a retried task or a second sweep mails nothing twice.
"""

from __future__ import annotations

import datetime

from celery import shared_task
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.models import OutboxMessage
from network.access import COMMITTEE_GROUP, SECRETARIAT_GROUP
from network.models import User

from . import access, notifications
from .models import DigestRun, Follow, NoteEntry, Reply, Topic

# A follower gets at most one mail per topic in this long: a busy thread
# sends one "new replies" mail, and the page shows them all.
FOLLOW_MAIL_INTERVAL = datetime.timedelta(hours=1)
DIGEST_TOPICS = 20
DIGEST_ENTRIES = 20


@shared_task
def notify_followers(reply_id: int) -> int:
    """Mail the followers of a published reply's topic (not its author), at
    most one mail per topic per follower per FOLLOW_MAIL_INTERVAL."""
    with transaction.atomic():
        reply = Reply.objects.select_related("topic__room").filter(pk=reply_id).first()
        if reply is None or not reply.is_published or not reply.topic.is_published:
            return 0
        # Locks the topic: two replies at once cannot both find "no mail yet".
        topic = Topic.objects.select_for_update().select_related("room").get(pk=reply.topic_id)
        reply.topic = topic
        since = timezone.now() - FOLLOW_MAIL_INTERVAL
        recently_mailed = {
            notifications.user_of_follow_key(key)
            for key in OutboxMessage.objects.filter(
                key__startswith=notifications.follow_prefix(topic.pk), created_at__gte=since
            ).values_list("key", flat=True)
        }
        followers = (
            Follow.objects.filter(topic=topic, user__is_active=True)
            .exclude(user_id=reply.author_id)
            .exclude(user_id__in=recently_mailed)
            .select_related("user")
        )
        queued = 0
        for follow in followers:
            # Someone who left the room (or the network) hears nothing more of it.
            if not access.may_read_room(follow.user, topic.room):
                continue
            if notifications.new_reply(reply=reply, follower=follow.user):
                queued += 1
        return queued


def iso_week(moment: datetime.datetime) -> tuple[str, datetime.datetime]:
    """The ISO week of `moment` in local time ("2024-W07") and its start
    (Monday 0:00, Asia/Tokyo)."""
    local = timezone.localtime(moment)
    monday = local.date() - datetime.timedelta(days=local.weekday())
    start = timezone.make_aware(datetime.datetime.combine(monday, datetime.time()))
    year, week, _day = monday.isocalendar()
    return f"{year}-W{week:02d}", start


def digest_recipients():
    """Active people inside the network who did not opt out."""
    return (
        User.objects.filter(is_active=True)
        .filter(
            Q(memberships__organisation__is_active=True)
            | Q(groups__name__in=[SECRETARIAT_GROUP, COMMITTEE_GROUP])
            | Q(is_superuser=True)
        )
        .exclude(note_preference__wants_digest=False)
        .distinct()
        .order_by("pk")
    )


@shared_task
def sweep_digest(now: datetime.datetime | None = None) -> int:
    """The weekly digest: topics of the previous ISO week in the member's
    rooms that nobody has answered yet, and the note entries of that week.
    One mail per member per ISO week (the outbox key), none when there is
    nothing to tell; the window is the fixed previous week, so running the
    sweep every hour (beat or cron) sends each week's mail once; a run that
    went through everyone is recorded (DigestRun), and later runs of the same
    week stop at once. A run that died half-way is finished by the next one:
    the outbox keys skip whoever was mailed."""
    now = now or timezone.now()
    week, start = iso_week(now)
    if DigestRun.objects.filter(week=week).exists():
        return 0  # this week's sweep went through everyone already
    window = (start - datetime.timedelta(days=7), start)
    entries = list(
        NoteEntry.objects.published()
        .created_between(*window)
        .order_by("-created_at")[:DIGEST_ENTRIES]
    )
    recipients = list(digest_recipients())
    done = set(
        OutboxMessage.objects.filter(
            key__in=[notifications.digest_key(user.pk, week) for user in recipients]
        ).values_list("key", flat=True)
    )
    queued = 0
    for user in recipients:
        if notifications.digest_key(user.pk, week) in done:
            continue
        with transaction.atomic():
            topics = list(
                Topic.objects.awaiting_answer_for(user)
                .created_between(*window)
                .select_related("room")
                .order_by("-created_at")[:DIGEST_TOPICS]
            )
            if not topics and not entries:
                continue
            if notifications.digest(user=user, week=week, topics=topics, entries=entries):
                queued += 1
    DigestRun.objects.get_or_create(week=week, defaults={"queued": queued})
    return queued
