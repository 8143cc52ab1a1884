"""core.outbox and core.tasks: every notification is recorded once and sent at most once."""

import datetime
from smtplib import SMTPException

import pytest
from celery.exceptions import Retry
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from core import tasks
from core.models import OutboxMessage
from core.outbox import queue_message
from core.tasks import MAX_ATTEMPTS, deliver_outbox_message, requeue_stale_outbox

pytestmark = pytest.mark.django_db


class FailingBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, email_messages):
        raise SMTPException("接続できません")


@pytest.fixture
def failing_mail(settings):
    settings.EMAIL_BACKEND = "tests.test_outbox.FailingBackend"


def _queue(key="registration:1:confirmed", **kwargs):
    data = {
        "key": key,
        "kind": "events.confirmed",
        "to_email": "npo@example.org",
        "subject": "【つながり】参加申込を受け付けました",
        "body": "本文",
    }
    data.update(kwargs)
    return queue_message(**data)


def test_queue_message_same_key_twice_sends_once(django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True):
        first = _queue()
        second = _queue(subject="別の件名")

    assert first is not None
    assert second is None
    assert OutboxMessage.objects.count() == 1
    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts) == ("sent", 1)
    assert message.sent_at is not None
    assert len(mailoutbox) == 1
    assert mailoutbox[0].subject == "【つながり】参加申込を受け付けました"
    assert mailoutbox[0].from_email == "つながり事務局 <noreply@example.org>"
    assert mailoutbox[0].to == ["npo@example.org"]


def test_queue_message_sends_nothing_until_commit(django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _queue()

    assert len(callbacks) == 1
    assert len(mailoutbox) == 0
    assert OutboxMessage.objects.get().status == "pending"


def test_queue_message_without_address_records_nothing():
    assert _queue(to_email="") is None
    assert not OutboxMessage.objects.exists()


def test_queue_message_subject_is_one_line():
    message = _queue(subject="一行目\n二行目")

    assert message.subject == "一行目 二行目"


def test_deliver_twice_sends_once(mailoutbox):
    message = _queue()

    assert deliver_outbox_message(message.pk) is True
    assert deliver_outbox_message(message.pk) is False

    assert len(mailoutbox) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)


def test_deliver_skips_message_another_worker_is_sending(mailoutbox):
    message = _queue()
    OutboxMessage.objects.filter(pk=message.pk).update(status="sending", claimed_at=timezone.now())

    assert deliver_outbox_message(message.pk) is False

    assert mailoutbox == []


def test_deliver_missing_message_does_nothing(mailoutbox):
    assert deliver_outbox_message(999_999) is False
    assert mailoutbox == []


def test_deliver_with_failing_backend_leaves_pending_with_error(failing_mail, mailoutbox):
    message = _queue()

    assert deliver_outbox_message(message.pk) is False

    message.refresh_from_db()
    assert message.status == "pending"
    assert message.attempts == 1
    assert message.last_error == "SMTPException: 接続できません"
    assert message.sent_at is None


def test_deliver_on_a_worker_retries_through_celery(failing_mail):
    """On a worker (not eager, not called directly) a failure asks Celery to retry."""
    message = _queue()
    deliver_outbox_message.push_request(
        called_directly=False, is_eager=False, retries=0, id="t-1", args=[message.pk], kwargs={}
    )
    try:
        with pytest.raises(Retry):
            deliver_outbox_message.run(message.pk)
    finally:
        deliver_outbox_message.pop_request()

    message.refresh_from_db()
    assert message.status == "pending"
    assert message.last_error == "SMTPException: 接続できません"


def test_deliver_gives_up_after_max_attempts(failing_mail):
    message = _queue()
    OutboxMessage.objects.filter(pk=message.pk).update(attempts=MAX_ATTEMPTS - 1)

    assert deliver_outbox_message(message.pk) is False

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", MAX_ATTEMPTS)


def test_deliver_task_has_bounded_retries():
    assert deliver_outbox_message.max_retries == MAX_ATTEMPTS - 1


def _age(message, *, created=None, claimed=None, **fields):
    now = timezone.now()
    values = dict(fields)
    if created is not None:
        values["created_at"] = now - datetime.timedelta(minutes=created)
    if claimed is not None:
        values["claimed_at"] = now - datetime.timedelta(minutes=claimed)
    OutboxMessage.objects.filter(pk=message.pk).update(**values)


def test_requeue_stale_outbox_sends_forgotten_and_marks_abandoned_unknown(
    django_capture_on_commit_callbacks, mailoutbox
):
    forgotten = _queue(key="a", to_email="forgotten@example.org")
    _age(forgotten, created=10)
    retry_later = _queue(key="b", to_email="retry@example.org")
    _age(retry_later, created=20, claimed=6, attempts=2, last_error="SMTPException: 接続できません")
    fresh = _queue(key="c", to_email="fresh@example.org")
    _age(fresh, created=1)
    recently_tried = _queue(key="d", to_email="recent@example.org")
    _age(recently_tried, created=20, claimed=2, attempts=1)
    abandoned = _queue(key="e", to_email="abandoned@example.org")
    _age(abandoned, created=40, claimed=31, status="sending", attempts=1)
    mid_send = _queue(key="f", to_email="midsend@example.org")
    _age(mid_send, created=10, claimed=5, status="sending", attempts=1)
    exhausted = _queue(key="g", to_email="exhausted@example.org")
    _age(exhausted, created=60, claimed=30, attempts=MAX_ATTEMPTS)

    with django_capture_on_commit_callbacks(execute=True):
        result = requeue_stale_outbox()

    assert result == {"requeued": 2, "failed": 1, "unknown": 1}
    assert sorted(m.to[0] for m in mailoutbox) == ["forgotten@example.org", "retry@example.org"]
    status = dict(OutboxMessage.objects.values_list("key", "status"))
    assert status == {
        "a": "sent",
        "b": "sent",
        "c": "pending",
        "d": "pending",
        "e": "unknown",  # may have arrived; at-most-once: never resent
        "f": "sending",
        "g": "failed",
    }
    assert "二重送信を避けるため再送していません" in OutboxMessage.objects.get(key="e").last_error


def test_requeue_stale_outbox_twice_sends_once(django_capture_on_commit_callbacks, mailoutbox):
    message = _queue()
    _age(message, created=10)

    with django_capture_on_commit_callbacks(execute=True):
        requeue_stale_outbox()
    with django_capture_on_commit_callbacks(execute=True):
        second = requeue_stale_outbox()

    assert second == {"requeued": 0, "failed": 0, "unknown": 0}
    assert len(mailoutbox) == 1


def test_stale_windows_are_as_documented():
    assert tasks.STALE_PENDING_AFTER == datetime.timedelta(minutes=5)
    assert tasks.STALE_SENDING_AFTER == datetime.timedelta(minutes=30)
