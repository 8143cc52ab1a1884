"""core.outbox and core.tasks: every notification is recorded once and sent at most once."""

import datetime
from smtplib import SMTPException

import pytest
from celery.canvas import Signature
from celery.exceptions import Retry
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

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


def _run_on_worker(message_id, retries):
    """One delivery as a Celery worker runs it: the `retries`-th retry."""
    deliver_outbox_message.push_request(
        called_directly=False,
        is_eager=False,
        retries=retries,
        id="t-1",
        args=[message_id],
        kwargs={},
    )
    try:
        return deliver_outbox_message.run(message_id)
    finally:
        deliver_outbox_message.pop_request()


def test_deliver_on_a_worker_retries_with_growing_delays_then_gives_up(failing_mail, monkeypatch):
    # The broker: holds the retries Celery schedules instead of running them at
    # once, as the eager test settings would.
    scheduled = []
    monkeypatch.setattr(Signature, "apply_async", lambda sig, *a, **kw: scheduled.append(sig))
    message = _queue()

    delays = []
    for retries in range(MAX_ATTEMPTS - 1):
        with pytest.raises(Retry) as retry:
            _run_on_worker(message.pk, retries)
        delays.append(retry.value.when)
    # The last attempt records the failure instead of asking for another retry.
    assert _run_on_worker(message.pk, MAX_ATTEMPTS - 1) is False
    # A late redelivery of the task finds nothing to claim.
    assert _run_on_worker(message.pk, MAX_ATTEMPTS) is False

    assert delays == [60, 120, 240, 480]
    assert [(sig.args, sig.options["countdown"]) for sig in scheduled] == [
        ((message.pk,), delay) for delay in delays
    ]
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", MAX_ATTEMPTS)
    assert message.last_error == "SMTPException: 接続できません"
    assert message.sent_at is None


def _age(message, *, created=None, claimed=None, handed_over=None, **fields):
    """Set the message's times `created`, `claimed` and `handed_over` minutes ago."""
    now = timezone.now()
    values = dict(fields)
    if created is not None:
        values["created_at"] = now - datetime.timedelta(minutes=created)
    if claimed is not None:
        values["claimed_at"] = now - datetime.timedelta(minutes=claimed)
    if handed_over is not None:
        values["handed_over_at"] = now - datetime.timedelta(minutes=handed_over)
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
    _age(abandoned, created=40, claimed=31, handed_over=31, status="sending", attempts=1)
    mid_send = _queue(key="f", to_email="midsend@example.org")
    _age(mid_send, created=10, claimed=4, status="sending", attempts=1)
    exhausted = _queue(key="g", to_email="exhausted@example.org")
    _age(exhausted, created=60, claimed=30, attempts=MAX_ATTEMPTS)
    died_before_handover = _queue(key="h", to_email="claimed@example.org")
    _age(died_before_handover, created=40, claimed=6, status="sending", attempts=1)

    with django_capture_on_commit_callbacks(execute=True):
        result = requeue_stale_outbox()

    assert result == {"requeued": 3, "failed": 1, "unknown": 1, "reclaimed": 1}
    assert sorted(m.to[0] for m in mailoutbox) == [
        "claimed@example.org",
        "forgotten@example.org",
        "retry@example.org",
    ]
    status = dict(OutboxMessage.objects.values_list("key", "status"))
    assert status == {
        "a": "sent",
        "b": "sent",
        "c": "pending",
        "d": "pending",
        "e": "unknown",  # handed over, may have arrived: never resent
        "f": "sending",
        "g": "failed",
        "h": "sent",  # its worker died before handing it over: it cannot have left
    }
    assert "二重送信を避けるため再送していません" in OutboxMessage.objects.get(key="e").last_error


def test_requeue_stale_outbox_twice_sends_once(django_capture_on_commit_callbacks, mailoutbox):
    message = _queue()
    _age(message, created=10)

    with django_capture_on_commit_callbacks(execute=True):
        requeue_stale_outbox()
    with django_capture_on_commit_callbacks(execute=True):
        second = requeue_stale_outbox()

    assert second == {"requeued": 0, "failed": 0, "unknown": 0, "reclaimed": 0}
    assert len(mailoutbox) == 1


def test_requeue_stale_outbox_waits_5_minutes_for_pending_and_30_for_sending(
    django_capture_on_commit_callbacks, mailoutbox
):
    young = _queue(key="pending-4", to_email="young@example.org")
    _age(young, created=4)
    old = _queue(key="pending-6", to_email="old@example.org")
    _age(old, created=6)
    tried_recently = _queue(key="tried-4", to_email="tried@example.org")
    _age(tried_recently, created=60, claimed=4, attempts=1)
    still_sending = _queue(key="sending-29", to_email="sending@example.org")
    _age(still_sending, created=60, claimed=29, handed_over=29, status="sending", attempts=1)
    abandoned = _queue(key="sending-31", to_email="abandoned@example.org")
    _age(abandoned, created=60, claimed=31, handed_over=31, status="sending", attempts=1)
    claimed_recently = _queue(key="claimed-4", to_email="claimed4@example.org")
    _age(claimed_recently, created=60, claimed=4, status="sending", attempts=1)
    claimed_long_ago = _queue(key="claimed-6", to_email="claimed6@example.org")
    _age(claimed_long_ago, created=60, claimed=6, status="sending", attempts=1)

    with django_capture_on_commit_callbacks(execute=True):
        result = requeue_stale_outbox()

    assert result == {"requeued": 2, "failed": 0, "unknown": 1, "reclaimed": 1}
    assert sorted(m.to[0] for m in mailoutbox) == ["claimed6@example.org", "old@example.org"]
    assert dict(OutboxMessage.objects.values_list("key", "status")) == {
        "pending-4": "pending",
        "pending-6": "sent",
        "tried-4": "pending",
        "sending-29": "sending",
        "sending-31": "unknown",
        "claimed-4": "sending",
        "claimed-6": "sent",
    }
