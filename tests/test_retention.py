"""How long personal data is kept (portal.retention, docs/privacy.md): the daily
sweep cuts what is past its period, keeps what is not, leaves every figure as
it was, and does nothing the second time."""

import datetime

import pytest
from django.utils import timezone

from core.models import OutboxMessage
from core.outbox import queue_message
from events import tallies
from events.models import Registration
from note.models import PostRevision
from portal import retention
from portal.tasks import sweep_retention
from surveys.models import Answer, Question
from tests.event_factories import EventFactory, RegistrationFactory
from tests.note_factories import TopicFactory
from tests.survey_factories import QuestionFactory, SurveyFactory, submitted_response

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def days_ago(n):
    return NOW - datetime.timedelta(days=n)


@pytest.fixture
def periods(settings):
    settings.TSUNAGARI_RETENTION_QUESTION_DAYS = 1095
    settings.TSUNAGARI_RETENTION_ANSWER_DAYS = 1825
    settings.TSUNAGARI_RETENTION_REVISION_DAYS = 365
    settings.TSUNAGARI_RETENTION_MAIL_DAYS = 365
    return settings


def _event(ended_days_ago):
    ends = days_ago(ended_days_ago)
    return EventFactory(starts_at=ends - datetime.timedelta(hours=3), ends_at=ends)


def _text_answer(closed_days_ago, text):
    closes = days_ago(closed_days_ago)
    survey = SurveyFactory(opens_at=closes - datetime.timedelta(days=15), closes_at=closes)
    question = QuestionFactory(survey=survey, kind=Question.Kind.TEXT)
    response = submitted_response(survey, answers={question: text})
    return Answer.objects.get(response=response)


def _revision(topic, replaced_days_ago):
    return PostRevision.objects.create(
        topic=topic, title="前の題", body="前の本文", replaced_at=days_ago(replaced_days_ago)
    )


def _sent_mail(key, sent_days_ago):
    queue_message(key=key, kind="t", to_email="a@example.org", subject="件名", body="本文 花子")
    OutboxMessage.objects.filter(key=key).update(
        status=OutboxMessage.Status.SENT, sent_at=days_ago(sent_days_ago)
    )
    return OutboxMessage.objects.get(key=key)


@pytest.fixture
def world():
    old_meeting, recent_meeting = _event(1200), _event(30)
    old_reg = RegistrationFactory(
        event=old_meeting, question="子どもの学習支援の進め方", attended=True
    )
    recent_reg = RegistrationFactory(event=recent_meeting, question="家計改善の様式について")
    tallies.rebuild()
    topic = TopicFactory()
    return {
        "old_reg": old_reg,
        "recent_reg": recent_reg,
        "old_answer": _text_answer(2000, "窓口の連携が難しい"),
        "recent_answer": _text_answer(100, "研修を増やしてほしい"),
        "old_revision": _revision(topic, 400),
        "recent_revision": _revision(topic, 10),
        "old_mail": _sent_mail("retention:old", 400),
        "recent_mail": _sent_mail("retention:recent", 10),
        "pending_mail": OutboxMessage.objects.get(
            pk=queue_message(
                key="retention:pending", kind="t", to_email="b@example.org", subject="s", body="b"
            ).pk
        ),
    }


def test_what_is_past_its_period_is_cut_and_the_rest_kept(periods, world):
    figures = (
        tallies.stored(),
        Registration.objects.filter(attended=True).count(),
        Answer.objects.exclude(text="").count(),
    )

    swept = retention.sweep(now=NOW)

    assert swept == retention.Swept(questions=1, answers=1, revisions=1, mails=1)
    old_reg, recent_reg = (
        Registration.objects.get(pk=world[k].pk) for k in ("old_reg", "recent_reg")
    )
    assert (old_reg.question, old_reg.attended) == ("", True)
    assert recent_reg.question == "家計改善の様式について"
    assert Answer.objects.get(pk=world["old_answer"].pk).text == retention.expired_text()
    assert Answer.objects.get(pk=world["recent_answer"].pk).text == "研修を増やしてほしい"
    assert list(PostRevision.objects.values_list("pk", flat=True)) == [world["recent_revision"].pk]
    old_mail = OutboxMessage.objects.get(pk=world["old_mail"].pk)
    assert (old_mail.subject, old_mail.body, old_mail.key) == (
        retention.expired_text(),
        "",
        "retention:old",
    )
    assert OutboxMessage.objects.get(pk=world["recent_mail"].pk).body == "本文 花子"
    assert OutboxMessage.objects.get(pk=world["pending_mail"].pk).body == "b"
    # The figures: tallies, attendance and the number of texts are as they were.
    assert figures == (
        tallies.stored(),
        Registration.objects.filter(attended=True).count(),
        Answer.objects.exclude(text="").count(),
    )


def test_the_second_sweep_cuts_nothing(periods, world):
    retention.sweep(now=NOW)

    assert retention.sweep(now=NOW) == retention.Swept()


def test_a_period_of_zero_keeps_that_kind(periods, world):
    periods.TSUNAGARI_RETENTION_QUESTION_DAYS = 0
    periods.TSUNAGARI_RETENTION_MAIL_DAYS = 0

    swept = retention.sweep(now=NOW)

    assert (swept.questions, swept.mails) == (0, 0)
    assert Registration.objects.get(pk=world["old_reg"].pk).question == "子どもの学習支援の進め方"
    assert OutboxMessage.objects.get(pk=world["old_mail"].pk).body == "本文 花子"


@pytest.mark.parametrize("extra", [0, 20])
def test_the_sweep_costs_the_same_queries_however_much_is_due(
    periods, world, extra, django_assert_num_queries
):
    for _ in range(extra):
        RegistrationFactory(event=world["old_reg"].event, question="古い質問")
        _sent_mail(f"retention:extra:{_}", 500)

    # One statement per kind: three UPDATEs and the revisions' DELETE; and the
    # UPDATE of the surveys whose texts it replaced (their cached results'
    # data version reads updated_at, surveys.results.data_version).
    with django_assert_num_queries(5):
        sweep_retention()


def test_the_task_reports_what_it_cut(periods, world):
    assert sweep_retention() == {"questions": 1, "answers": 1, "revisions": 1, "mails": 1}
