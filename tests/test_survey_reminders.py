"""Reminders (on demand and on the 7- and 3-day schedule) and the post-event
sweep: only non-responders, never twice in a day, nothing twice across runs."""

import contextlib
import datetime
import importlib
import io
import sys

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from core.dates import local_day_start
from core.models import OutboxMessage
from events import services as event_services
from events.models import Event, Registration
from surveys import services, tasks
from surveys.models import Invitation, Survey
from surveys.services import SurveyError

from .event_factories import EventFactory, RegistrationFactory
from .factories import MembershipFactory, UserFactory
from .survey_factories import InvitationFactory, QuestionFactory, SurveyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    def call(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return call


def closing_in(days: int, **kwargs) -> Survey:
    """A published, open survey whose deadline is `days` calendar days away (17:00 JST)."""
    closes = (timezone.localtime() + datetime.timedelta(days=days)).replace(
        hour=17, minute=0, second=0, microsecond=0
    )
    survey = SurveyFactory(
        opens_at=timezone.now() - datetime.timedelta(days=7), closes_at=closes, **kwargs
    )
    QuestionFactory(survey=survey)
    return survey


@contextlib.contextmanager
def fresh_import(module_name: str):
    """The surveys modules imported anew, as by a restarted worker: nothing is
    remembered in memory from the runs before. Celery keeps registered tasks
    by name, so the surveys tasks are dropped from its registry first (else the
    fresh module would get the old task objects back). Everything is put back
    afterwards for the other tests."""
    import surveys
    from config.celery import app

    names = ["surveys.tasks", "surveys.services", "surveys.mailing", "surveys.notifications"]
    saved_modules = {name: sys.modules[name] for name in names}
    saved_tasks = {name: task for name, task in app.tasks.items() if name.startswith("surveys.")}
    try:
        for name in names:
            del sys.modules[name]
        for name in saved_tasks:
            app.tasks.pop(name)
        yield importlib.import_module(module_name)
    finally:
        sys.modules.update(saved_modules)
        for name, module in saved_modules.items():
            setattr(surveys, name.rsplit(".", 1)[1], module)
        app.tasks.update(saved_tasks)


def remind_keys() -> list[str]:
    return sorted(
        OutboxMessage.objects.filter(key__contains=":remind:").values_list("key", flat=True)
    )


def test_send_reminders_goes_to_non_responders_only(secretariat, committed, mailoutbox):
    survey = closing_in(5, title="第2回 情報交換会アンケート")
    waiting = InvitationFactory(survey=survey, user__email="waiting@example.org")
    InvitationFactory(survey=survey, user__email="done@example.org", responded_at=timezone.now())

    assert committed(services.send_reminders, survey=survey, by=secretariat) == 1

    today = timezone.localdate().isoformat()
    assert remind_keys() == [f"survey:{survey.pk}:remind:{waiting.pk}:{today}"]
    (mail,) = mailoutbox
    assert mail.to == ["waiting@example.org"]
    assert mail.subject.startswith("【つながり】アンケート回答のお願い（締切 ")
    assert "第2回 情報交換会アンケート" in mail.subject
    assert waiting.link in mail.body  # the same link as the first mail
    waiting.refresh_from_db()
    assert waiting.reminder_count == 1
    assert waiting.last_reminded_at is not None


def test_send_reminders_twice_in_a_day_sends_once(secretariat, committed, mailoutbox):
    survey = closing_in(5)
    invitations = InvitationFactory.create_batch(3, survey=survey)

    assert committed(services.send_reminders, survey=survey, by=secretariat) == 3
    assert committed(services.send_reminders, survey=survey, by=secretariat) == 0
    assert services.count_reminders_due(survey=survey) == 0

    assert len(mailoutbox) == 3
    assert len(remind_keys()) == 3
    assert {i.reminder_count for i in Invitation.objects.filter(survey=survey)} == {1}
    assert len(invitations) == 3


def test_reminders_due_means_not_reminded_since_the_tokyo_day_began_on_page_and_in_service(
    secretariat, client_for, committed, mailoutbox
):
    """ "Reminded today" is one rule for the remind page's count, the count
    function and the sending: last reminded on or after 00:00 Asia/Tokyo of
    today. Just after midnight counts as today even where the UTC date is
    still yesterday; one second before midnight was yesterday. (The page
    counted reminders by date and the function by outbox key, which
    disagreed for an invitation reminded today without a key of today.)"""
    survey = closing_in(5)
    day_start = local_day_start(timezone.localdate())
    InvitationFactory(
        survey=survey,
        user__email="today@example.org",
        last_reminded_at=day_start + datetime.timedelta(seconds=1),
        reminder_count=1,
    )
    InvitationFactory(
        survey=survey,
        user__email="yesterday@example.org",
        last_reminded_at=day_start - datetime.timedelta(seconds=1),
        reminder_count=1,
    )
    InvitationFactory(survey=survey, user__email="never@example.org")
    assert not OutboxMessage.objects.filter(key__contains=":remind:").exists()

    page = client_for(secretariat).get(reverse("surveys:remind", args=[survey.pk]))

    assert page.context["due_count"] == 2
    assert "未回答の2件にリマインドを送ります。" in page.content.decode()
    assert services.count_reminders_due(survey=survey) == 2
    assert committed(services.send_reminders, survey=survey, by=secretariat) == 2
    assert sorted(m.to[0] for m in mailoutbox) == ["never@example.org", "yesterday@example.org"]
    assert services.count_reminders_due(survey=survey) == 0


def test_send_reminders_again_the_next_day(secretariat, committed, mailoutbox, monkeypatch):
    survey = closing_in(5)
    invitation = InvitationFactory(survey=survey)
    committed(services.send_reminders, survey=survey, by=secretariat)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: tomorrow)

    assert committed(services.send_reminders, survey=survey, by=secretariat) == 1

    assert len(mailoutbox) == 2
    invitation.refresh_from_db()
    assert invitation.reminder_count == 2
    assert remind_keys()[-1].endswith(f":{invitation.pk}:{tomorrow.isoformat()}")


def test_send_reminders_refused_for_a_closed_survey_and_non_secretariat(secretariat, org_admin):
    survey = closing_in(5)
    InvitationFactory(survey=survey)
    with pytest.raises(SurveyError) as excinfo:
        services.send_reminders(survey=survey, by=org_admin)
    assert excinfo.value.messages == ["この操作を行う権限がありません。"]

    Survey.objects.filter(pk=survey.pk).update(closes_at=timezone.now())
    with pytest.raises(SurveyError) as excinfo:
        services.send_reminders(survey=survey, by=secretariat)
    assert excinfo.value.messages == ["このアンケートの回答期間は終了しました。"]
    assert not OutboxMessage.objects.exists()


def test_organisation_reminder_goes_to_every_org_admin(
    secretariat, committed, mailoutbox, contractor_org, org_admin
):
    MembershipFactory(
        organisation=contractor_org, is_org_admin=True, user__email="admin2@example.org"
    )
    survey = closing_in(5, respondent_unit=Survey.Unit.ORGANISATION)
    invitation = InvitationFactory(
        survey=survey, user=None, organisation=contractor_org, email=org_admin.email
    )

    assert committed(services.send_reminders, survey=survey, by=secretariat) == 1

    assert sorted(m.to[0] for m in mailoutbox) == ["admin2@example.org", "npo-admin@example.org"]
    assert "札幌生活サポートセンター ご担当者様" in mailoutbox[0].body
    today = timezone.localdate().isoformat()
    assert remind_keys() == [
        f"survey:{survey.pk}:remind:{invitation.pk}:{today}",
        f"survey:{survey.pk}:remind:{invitation.pk}:{today}:2",
    ]


# --- the schedule ------------------------------------------------------------------------


def test_sweep_reminds_seven_and_three_days_before_the_deadline(committed, mailoutbox):
    week = closing_in(7)
    three = closing_in(3)
    five = closing_in(5)
    custom = closing_in(5, reminder_days=[5])
    none = closing_in(7, reminder_days=[])
    for survey in (week, three, five, custom, none):
        InvitationFactory(survey=survey, user__email=f"s{survey.pk}@example.org")

    assert committed(tasks.sweep_survey_reminders) == 3

    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        f"s{s.pk}@example.org" for s in (week, three, custom)
    )


def test_sweep_skips_surveys_not_open_or_not_published(committed):
    draft = closing_in(7, status=Survey.Status.DRAFT)
    later = closing_in(7)
    Survey.objects.filter(pk=later.pk).update(opens_at=timezone.now() + datetime.timedelta(hours=1))
    for survey in (draft, later):
        InvitationFactory(survey=survey)

    assert committed(tasks.sweep_survey_reminders) == 0
    assert not OutboxMessage.objects.exists()


def test_sweep_twice_and_after_a_restart_sends_nothing_twice(committed, mailoutbox):
    survey = closing_in(3)
    waiting = InvitationFactory.create_batch(4, survey=survey)
    InvitationFactory(survey=survey, responded_at=timezone.now())

    first = committed(tasks.sweep_survey_reminders)
    second = committed(tasks.sweep_survey_reminders)
    with fresh_import("surveys.tasks") as fresh:
        assert fresh is not tasks
        assert fresh.sweep_survey_reminders is not tasks.sweep_survey_reminders
        third = committed(fresh.sweep_survey_reminders)

    assert (first, second, third) == (4, 0, 0)
    assert sorted(m.to[0] for m in mailoutbox) == sorted(i.email for i in waiting)
    assert OutboxMessage.objects.filter(status=OutboxMessage.Status.SENT).count() == 4
    assert {i.reminder_count for i in Invitation.objects.filter(responded_at__isnull=True)} == {1}
    assert Invitation.objects.get(responded_at__isnull=False).reminder_count == 0


def test_run_periodic_runs_the_survey_sweeps(django_capture_on_commit_callbacks, mailoutbox):
    survey = closing_in(7)
    InvitationFactory(survey=survey, user__email="cron@example.org")
    first, second = io.StringIO(), io.StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_periodic", stdout=first)
        call_command("run_periodic", stdout=second)

    assert [m.to for m in mailoutbox] == [["cron@example.org"]]
    assert "1件を送信待ちに追加しました" in first.getvalue()
    assert "1件" not in second.getvalue()


# --- post-event surveys -------------------------------------------------------------------


def test_post_event_survey_goes_to_attendees_once_the_event_is_finished(
    secretariat, committed, mailoutbox
):
    start = timezone.now() - datetime.timedelta(hours=3)
    event = EventFactory(
        title="第4回 情報交換会", starts_at=start, ends_at=start + datetime.timedelta(hours=2)
    )
    came = RegistrationFactory(event=event, attended=True, user__email="came@example.org")
    RegistrationFactory(event=event, user__email="absent@example.org")
    survey = SurveyFactory(
        kind=Survey.Kind.POST_EVENT,
        event=event,
        audience=Survey.Audience.EVENT_ATTENDEES,
        status=Survey.Status.DRAFT,
    )
    QuestionFactory(survey=survey)
    assert committed(services.publish_survey, survey=survey, by=secretariat) == 0
    assert committed(tasks.sweep_post_event_surveys) == 0  # not finished yet

    committed(event_services.finish_event, event=event, by=secretariat)
    mailoutbox.clear()  # the events app's thanks mail
    assert committed(tasks.sweep_post_event_surveys) == 1
    assert committed(tasks.sweep_post_event_surveys) == 0

    (mail,) = mailoutbox
    assert mail.to == ["came@example.org"]
    assert "「第4回 情報交換会」にご参加いただき、ありがとうございました。" in mail.body
    invitation = Invitation.objects.get()
    assert invitation.user == came.user
    assert OutboxMessage.objects.filter(key=f"survey:{survey.pk}:invite:{invitation.pk}").exists()

    # Someone checked in late is invited on the next run.
    late = RegistrationFactory(event=event, user__email="late@example.org")
    Registration.objects.filter(pk=late.pk).update(attended=True)
    assert committed(tasks.sweep_post_event_surveys) == 1
    assert mailoutbox[-1].to == ["late@example.org"]


def test_post_event_sweep_counts_confirmed_when_check_in_was_not_used(committed, mailoutbox):
    start = timezone.now() - datetime.timedelta(days=1)
    event = EventFactory(
        starts_at=start, ends_at=start + datetime.timedelta(hours=2), status=Event.Status.FINISHED
    )
    RegistrationFactory.create_batch(2, event=event)
    RegistrationFactory(event=event, status=Registration.Status.WAITLISTED)
    survey = SurveyFactory(
        kind=Survey.Kind.POST_EVENT, event=event, audience=Survey.Audience.EVENT_ATTENDEES
    )
    QuestionFactory(survey=survey)

    assert committed(tasks.sweep_post_event_surveys) == 2
    assert len(mailoutbox) == 2


def test_post_event_sweep_ignores_closed_surveys_and_other_audiences(committed):
    start = timezone.now() - datetime.timedelta(days=1)
    event = EventFactory(
        starts_at=start, ends_at=start + datetime.timedelta(hours=2), status=Event.Status.FINISHED
    )
    RegistrationFactory(event=event, attended=True, user=UserFactory())
    closed = SurveyFactory(
        event=event,
        audience=Survey.Audience.EVENT_ATTENDEES,
        opens_at=timezone.now() - datetime.timedelta(days=3),
        closes_at=timezone.now() - datetime.timedelta(hours=1),
    )
    others = SurveyFactory(event=event, audience=Survey.Audience.ALL_ORGANISATIONS)
    draft = SurveyFactory(
        event=event, audience=Survey.Audience.EVENT_ATTENDEES, status=Survey.Status.DRAFT
    )

    assert committed(tasks.sweep_post_event_surveys) == 0
    assert not Invitation.objects.filter(survey__in=[closed, others, draft]).exists()


def test_beat_schedule_runs_the_survey_sweeps():
    from django.conf import settings

    schedule = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert "surveys.tasks.sweep_survey_reminders" in schedule
    assert "surveys.tasks.sweep_invitations" in schedule
    post_event = schedule["surveys.tasks.sweep_post_event_surveys"]
    assert post_event.minute == set(range(0, 60, 10))  # within 10 minutes of finishing


# --- invitation mails ----------------------------------------------------------------------


def test_publish_mails_through_a_task_after_commit_and_never_twice(
    secretariat, contractor_member, municipal_member, django_capture_on_commit_callbacks, mailoutbox
):
    survey = SurveyFactory(status=Survey.Status.DRAFT)
    QuestionFactory(survey=survey)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.publish_survey(survey=survey, by=secretariat) == 2
    # Nothing is mailed inside the publishing transaction: the task is queued on commit.
    assert not OutboxMessage.objects.exists()
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks(execute=True):
        callbacks[0]()
        assert tasks.send_invitations(survey.pk) == 0  # a second delivery of the task

    assert sorted(m.to[0] for m in mailoutbox) == ["city@example.org", "npo@example.org"]
    assert not Invitation.objects.filter(sent_at__isnull=True).exists()


def test_sweep_invitations_mails_what_a_lost_task_left_unsent(committed, mailoutbox):
    survey = SurveyFactory()
    QuestionFactory(survey=survey)
    stale = InvitationFactory(survey=survey, sent_at=None, user__email="lost@example.org")
    fresh = InvitationFactory(survey=survey, sent_at=None, user__email="fresh@example.org")
    Invitation.objects.filter(pk=stale.pk).update(
        created_at=timezone.now() - datetime.timedelta(minutes=30)
    )
    closed = SurveyFactory(
        opens_at=timezone.now() - datetime.timedelta(days=9),
        closes_at=timezone.now() - datetime.timedelta(days=1),
    )
    InvitationFactory(survey=closed, sent_at=None)
    Invitation.objects.filter(survey=closed).update(
        created_at=timezone.now() - datetime.timedelta(days=5)
    )

    # The stale one makes the survey due; its other unsent invitation goes too.
    assert committed(tasks.sweep_invitations) == 2
    assert committed(tasks.sweep_invitations) == 0

    assert sorted(m.to[0] for m in mailoutbox) == ["fresh@example.org", "lost@example.org"]
    fresh.refresh_from_db()
    assert fresh.sent_at is not None
