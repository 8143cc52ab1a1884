"""Mails of the board: a follower hears of new replies at most once per topic
per hour, never about their own reply, never from a room they left; the
weekly digest goes once per member per ISO week, to those who did not opt out."""

import datetime

import pytest
from django.utils import timezone

from core.models import OutboxMessage
from note import services, tasks
from note.enums import RoomKind, RoomRole
from note.models import NotePreference, Topic
from tests.note_factories import NoteEntryFactory, TopicFactory, room

pytestmark = pytest.mark.django_db


@pytest.fixture
def thread(contractor_member, municipal_member, org_admin, django_capture_on_commit_callbacks):
    """A topic asked by the 受託団体 member, followed by the 自治体 member."""
    with django_capture_on_commit_callbacks(execute=True):
        topic = services.post_topic(
            room=room(), by=contractor_member, title="夜間の連絡体制", body="どうしていますか。"
        )
        services.follow(topic=topic, by=municipal_member)
    return topic


def _reply(topic, by, body, capture, **kwargs):
    with capture(execute=True):
        return services.post_reply(topic=topic, by=by, body=body, **kwargs)


def _follow_mails():
    return sorted(
        OutboxMessage.objects.filter(kind="note.new_reply").values_list("to_email", flat=True)
    )


def test_note_follow_mail_goes_to_followers_but_not_the_replier(
    thread, org_admin, django_capture_on_commit_callbacks, mailoutbox
):
    _reply(thread, org_admin, "当番制にしています。", django_capture_on_commit_callbacks)
    message = OutboxMessage.objects.get(to_email="city@example.org")

    assert _follow_mails() == ["city@example.org", "npo@example.org"]
    assert message.subject == "【つながり】フォロー中の相談に返信がありました：夜間の連絡体制"
    assert f"/note/topics/{thread.pk}/" in message.body
    assert "当番制にしています。" not in message.body  # the page shows it, the mail does not
    assert sorted(m.to[0] for m in mailoutbox) == ["city@example.org", "npo@example.org"]


def test_note_follow_mail_at_most_once_per_hour_per_topic(
    thread, org_admin, municipal_member, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    _reply(thread, org_admin, "一つ目", capture)
    _reply(thread, org_admin, "二つ目", capture)
    within_the_hour = _follow_mails()
    OutboxMessage.objects.filter(kind="note.new_reply").update(
        created_at=timezone.now() - datetime.timedelta(minutes=61)
    )
    _reply(thread, org_admin, "三つ目", capture)

    assert within_the_hour == ["city@example.org", "npo@example.org"]
    assert _follow_mails() == ["city@example.org"] * 2 + ["npo@example.org"] * 2


def test_note_follow_mail_never_to_the_author_of_the_reply(
    thread, municipal_member, django_capture_on_commit_callbacks
):
    _reply(thread, municipal_member, "私のところでは…", django_capture_on_commit_callbacks)

    assert _follow_mails() == ["npo@example.org"]


def test_note_follow_mail_rerun_of_the_task_queues_nothing(
    thread, org_admin, django_capture_on_commit_callbacks
):
    reply = _reply(thread, org_admin, "当番制です。", django_capture_on_commit_callbacks)

    assert tasks.notify_followers(reply.pk) == 0
    assert len(_follow_mails()) == 2


def test_note_follow_mail_not_for_a_room_one_left(
    contractor_member, org_admin, municipal_member, django_capture_on_commit_callbacks
):
    from network.enums import StaffRole

    org_admin.memberships.update(staff_role=StaffRole.SHUNIN_SODAN)
    contractor_member.memberships.update(staff_role=StaffRole.SHUNIN_SODAN)
    chief_room = room(RoomKind.ROLE, RoomRole.CHIEF)
    with django_capture_on_commit_callbacks(execute=True):
        topic = services.post_topic(room=chief_room, by=contractor_member, title="SV", body="本文")
    contractor_member.memberships.update(staff_role=StaffRole.SODAN)  # no longer 主任

    _reply(topic, org_admin, "返信です。", django_capture_on_commit_callbacks)

    assert _follow_mails() == []


def test_note_follow_mail_waits_for_review_of_a_pending_reply(
    thread, org_admin, secretariat, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    reply = _reply(thread, org_admin, "田中さんに聞きました。", capture, privacy_confirmed=True)
    before_review = _follow_mails()
    with capture(execute=True):
        services.approve_post(post=reply, by=secretariat)

    assert before_review == []
    assert _follow_mails() == ["city@example.org", "npo@example.org"]


# --- the weekly digest ---------------------------------------------------------------------


def _last_week(**kwargs) -> Topic:
    topic = TopicFactory(**kwargs)
    Topic.objects.filter(pk=topic.pk).update(created_at=timezone.now() - datetime.timedelta(days=7))
    return topic


def _digests():
    return {m.to_email: m for m in OutboxMessage.objects.filter(kind="note.digest").order_by("pk")}


def test_note_digest_lists_last_weeks_unanswered_topics_in_ones_rooms(
    contractor_member, municipal_member, org_admin
):
    _last_week(title="全体の未回答", author=org_admin)
    _last_week(room=room(RoomKind.MUNICIPAL), title="自治体の未回答", author=municipal_member)
    answered = _last_week(title="回答済み", author=org_admin)
    services.post_reply(topic=answered, by=municipal_member, body="答えました。")
    TopicFactory(title="今週の相談")  # this week's: next week's digest
    NoteEntryFactory(title="先週のノート", created_at=timezone.now() - datetime.timedelta(days=7))

    tasks.sweep_digest()
    digests = _digests()

    contractor = digests["npo@example.org"].body
    municipal = digests["city@example.org"].body
    assert "全体の未回答" in contractor and "自治体の未回答" not in contractor
    assert "全体の未回答" in municipal and "自治体の未回答" not in municipal  # their own
    assert "回答済み" not in contractor and "今週の相談" not in contractor
    assert "先週のノート" in contractor and "先週のノート" in municipal
    assert "全体の未回答" not in digests["npo-admin@example.org"].body  # their own topic


def test_note_digest_is_idempotent_per_iso_week(contractor_member, org_admin):
    _last_week(title="全体の未回答", author=org_admin)
    now = timezone.now()

    first = tasks.sweep_digest(now)
    second = tasks.sweep_digest(now + datetime.timedelta(hours=1))
    week, _start = tasks.iso_week(now)

    assert first >= 1 and second == 0
    assert (
        OutboxMessage.objects.filter(key=f"note:digest:{contractor_member.pk}:{week}").count() == 1
    )
    assert OutboxMessage.objects.filter(to_email="npo@example.org").count() == 1


def test_note_digest_second_run_of_the_week_reads_nothing(
    contractor_member, org_admin, django_assert_num_queries
):
    from note.models import DigestRun

    _last_week(title="全体の未回答", author=org_admin)
    now = timezone.now()
    queued = tasks.sweep_digest(now)
    week, _start = tasks.iso_week(now)

    with django_assert_num_queries(1):
        again = tasks.sweep_digest(now + datetime.timedelta(hours=3))

    assert list(DigestRun.objects.values_list("week", "queued")) == [(week, queued)]
    assert again == 0


def test_note_digest_next_week_is_a_new_mail(contractor_member, org_admin):
    now = timezone.now()
    _last_week(title="先週の相談", author=org_admin)
    tasks.sweep_digest(now)
    later = TopicFactory(title="次の週の相談", author=org_admin)
    Topic.objects.filter(pk=later.pk).update(created_at=now)

    tasks.sweep_digest(now + datetime.timedelta(days=7))
    mails = OutboxMessage.objects.filter(to_email="npo@example.org", kind="note.digest")

    assert mails.count() == 2
    assert "次の週の相談" in mails.order_by("-pk").first().body


def test_note_digest_respects_the_opt_out(contractor_member, org_admin):
    _last_week(title="全体の未回答", author=org_admin)
    NotePreference.objects.create(user=contractor_member, wants_digest=False)

    tasks.sweep_digest()

    assert "npo@example.org" not in _digests()


def test_note_digest_nothing_new_sends_nothing(contractor_member):
    assert tasks.sweep_digest() == 0
    assert _digests() == {}


def test_note_digest_week_starts_on_monday_tokyo():
    moment = timezone.make_aware(datetime.datetime(2024, 2, 14, 23, 30))  # Wednesday, local
    week, start = tasks.iso_week(moment)

    assert week == "2024-W07"
    assert timezone.localtime(start) == timezone.make_aware(datetime.datetime(2024, 2, 12))
