"""The periodic sweeps (reminders, online link, thanks, outbox rescue) and
`manage.py run_periodic`, which runs the same tasks as Celery beat."""

import datetime
import io

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from django.utils.module_loading import import_string

from core.models import OutboxMessage
from events import tasks
from events.models import Event, Registration

from .event_factories import EventFactory, RegistrationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_periodic(django_capture_on_commit_callbacks):
    """Run the command as cron would, delivering what it queues."""

    def run() -> str:
        out = io.StringIO()
        with django_capture_on_commit_callbacks(execute=True):
            call_command("run_periodic", stdout=out)
        return out.getvalue()

    return run


def _starting_in(days: int, **kwargs) -> Event:
    start = (timezone.localtime() + datetime.timedelta(days=days)).replace(
        hour=13, minute=30, second=0, microsecond=0
    )
    return EventFactory(starts_at=start, ends_at=start + datetime.timedelta(hours=3), **kwargs)


def _ended_ago(delta: datetime.timedelta, **kwargs) -> Event:
    end = timezone.now() - delta
    return EventFactory(starts_at=end - datetime.timedelta(hours=3), ends_at=end, **kwargs)


def test_run_periodic_twice_sends_reminders_once(run_periodic, mailoutbox):
    week = _starting_in(7, title="第2回 情報交換会")
    confirmed = RegistrationFactory.create_batch(2, event=week)
    RegistrationFactory(event=week, status=Registration.Status.WAITLISTED)
    RegistrationFactory(event=week, status=Registration.Status.CANCELLED)
    RegistrationFactory(event=_starting_in(7, status=Event.Status.CANCELLED))
    RegistrationFactory(event=_starting_in(5))  # not a reminder day

    first = run_periodic()
    second = run_periodic()

    assert sorted(m.to[0] for m in mailoutbox) == sorted(r.user.email for r in confirmed)
    assert all(m.subject == "【つながり】開催まであと7日です：第2回 情報交換会" for m in mailoutbox)
    assert "開催前のリマインダー: 2件を送信待ちに追加しました" in first
    assert "開催前のリマインダー: 0件を送信待ちに追加しました" in second
    assert "送信できていないメールの再送: 再送 0件、失敗扱い 0件" in first
    assert set(OutboxMessage.objects.values_list("key", flat=True)) == {
        f"event:{week.pk}:reminder:7d:{r.pk}" for r in confirmed
    }


def test_sweep_reminders_the_day_before(run_periodic, mailoutbox):
    event = _starting_in(1, format=Event.Format.VENUE)
    registration = RegistrationFactory(event=event)

    run_periodic()

    assert [m.subject for m in mailoutbox] == [f"【つながり】明日開催です：{event.title}"]
    assert f"event:{event.pk}:reminder:1d:{registration.pk}" in OutboxMessage.objects.values_list(
        "key", flat=True
    )


def test_online_link_only_to_confirmed_online_registrants(run_periodic, mailoutbox):
    event = _starting_in(1, online_url="https://meet.example.org/secret-room")
    online = RegistrationFactory(event=event, mode=Registration.Mode.ONLINE)
    RegistrationFactory(event=event, mode=Registration.Mode.VENUE)
    RegistrationFactory(
        event=event, mode=Registration.Mode.ONLINE, status=Registration.Status.WAITLISTED
    )
    RegistrationFactory(
        event=event, mode=Registration.Mode.ONLINE, status=Registration.Status.CANCELLED
    )

    run_periodic()
    run_periodic()

    links = [m for m in mailoutbox if "オンライン参加URLのご案内" in m.subject]
    assert [m.to[0] for m in links] == [online.user.email]
    assert "参加URL：https://meet.example.org/secret-room" in links[0].body
    # The URL is in that mail and nowhere else (the reminders do not carry it).
    others = [m for m in mailoutbox if m not in links]
    assert len(others) == 2  # the 1-day reminders of the two confirmed people
    assert all("secret-room" not in m.body for m in others)


def test_online_link_waits_for_the_day_before(mailoutbox):
    event = _starting_in(3, online_url="https://meet.example.org/room")
    RegistrationFactory(event=event, mode=Registration.Mode.ONLINE)

    assert tasks.sweep_online_links() == 0


def test_online_link_goes_out_once_the_url_is_set(run_periodic, mailoutbox):
    event = _starting_in(1, online_url="")
    registration = RegistrationFactory(event=event, mode=Registration.Mode.ONLINE)
    run_periodic()
    assert not OutboxMessage.objects.filter(key__contains="online-link").exists()

    Event.objects.filter(pk=event.pk).update(online_url="https://meet.example.org/late")
    run_periodic()

    assert OutboxMessage.objects.filter(
        key=f"event:{event.pk}:online-link:{registration.pk}", status="sent"
    ).exists()


def test_online_link_on_the_day_for_late_promotions(mailoutbox, django_capture_on_commit_callbacks):
    start = timezone.now() + datetime.timedelta(minutes=30)
    event = EventFactory(starts_at=start, ends_at=start + datetime.timedelta(hours=2))
    RegistrationFactory(event=event, mode=Registration.Mode.ONLINE)

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sweep_online_links() == 1

    assert event.online_url in mailoutbox[0].body


def test_thanks_after_the_event(run_periodic, mailoutbox):
    recent = _ended_ago(datetime.timedelta(days=2), report_url="https://example.org/r.pdf")
    came = RegistrationFactory(event=recent)
    RegistrationFactory(event=recent, status=Registration.Status.WAITLISTED)
    too_soon = _ended_ago(datetime.timedelta(hours=2))
    RegistrationFactory(event=too_soon)
    finished_now = _ended_ago(datetime.timedelta(hours=2), status=Event.Status.FINISHED)
    finisher = RegistrationFactory(event=finished_now)
    long_ago = _ended_ago(datetime.timedelta(days=10))
    RegistrationFactory(event=long_ago)
    called_off = _ended_ago(datetime.timedelta(days=2), status=Event.Status.CANCELLED)
    RegistrationFactory(event=called_off)

    output = run_periodic()
    run_periodic()

    thanks = [m for m in mailoutbox if "ご参加ありがとうございました" in m.subject]
    assert sorted(m.to[0] for m in thanks) == sorted([came.user.email, finisher.user.email])
    assert "開催後のお礼と資料の案内: 2件を送信待ちに追加しました" in output
    body = next(m.body for m in thanks if m.to == [came.user.email])
    assert "報告書：https://example.org/r.pdf" in body


def test_thanks_with_check_in_go_to_the_attended():
    event = _ended_ago(datetime.timedelta(days=2))
    attended = RegistrationFactory(event=event, attended=True)
    RegistrationFactory(event=event)

    assert tasks.sweep_thanks() == 1
    assert OutboxMessage.objects.get().key == f"event:{event.pk}:thanks:{attended.pk}"


def test_sweeps_are_plain_callables_returning_counts():
    assert tasks.sweep_reminders() == 0
    assert tasks.sweep_online_links() == 0
    assert tasks.sweep_thanks() == 0


def test_beat_schedule_and_run_periodic_run_the_same_tasks():
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert names == {
        "events.tasks.sweep_reminders",
        "events.tasks.sweep_online_links",
        "events.tasks.sweep_thanks",
        "events.tasks.sweep_unconfirmed_guests",
        "events.tasks.sweep_tallies",
        "core.tasks.requeue_stale_outbox",
        "surveys.tasks.sweep_survey_reminders",
        "surveys.tasks.sweep_post_event_surveys",
        "surveys.tasks.sweep_invitations",
        "note.tasks.sweep_digest",
        "directory.tasks.sweep_freshness",
        "directory.tasks.sweep_line_deliveries",
        "core.tasks.sweep_expired_sessions",
        "core.tasks.sweep_audit_log",
        "portal.tasks.sweep_retention",
    }
    for name in names:
        assert import_string(name).name == name
    assert settings.EVENT_REMINDER_DAYS == [7, 1]


def test_expired_sessions_are_deleted_and_live_ones_kept(client, contractor_member):
    from django.contrib.sessions.models import Session

    from core.tasks import sweep_expired_sessions

    client.force_login(contractor_member)
    live = client.session.session_key
    Session.objects.create(
        session_key="x" * 32,
        session_data="",
        expire_date=timezone.now() - datetime.timedelta(seconds=1),
    )

    assert sweep_expired_sessions() == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [live]
    assert sweep_expired_sessions() == 0
    # The person is still signed in.
    assert client.get("/").context["user"] == contractor_member
