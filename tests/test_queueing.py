"""A broker that is down does not turn a committed request into an error page
(core.queueing): the member registers and is told so, the mail waits in the
outbox, and the requeue sweep sends it once the broker is back."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from core.models import OutboxMessage
from core.tasks import deliver_outbox_message, requeue_stale_outbox
from events.models import Registration
from tests.event_factories import EventFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(deliver_outbox_message, "delay", refuse)


def test_registering_while_the_broker_is_down_succeeds_and_the_mail_waits(
    broker_down, client_for, contractor_member, django_capture_on_commit_callbacks, caplog
):
    event = EventFactory(title="第4回 情報交換会")

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(contractor_member).post(
            reverse("events:register", args=[event.pk]), {"mode": "online"}, follow=True
        )

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == event.get_absolute_url()
    assert "参加が確定しました。" in response.content.decode()
    assert Registration.objects.filter(event=event, user=contractor_member).exists()
    waiting = OutboxMessage.objects.get(to_email=contractor_member.email)
    assert waiting.status == OutboxMessage.Status.PENDING
    assert "broker unavailable" in caplog.text


def test_the_waiting_mail_goes_out_once_the_broker_is_back(
    broker_down,
    client_for,
    contractor_member,
    django_capture_on_commit_callbacks,
    mailoutbox,
    monkeypatch,
):
    event = EventFactory(title="第5回 情報交換会")
    with django_capture_on_commit_callbacks(execute=True):
        client_for(contractor_member).post(
            reverse("events:register", args=[event.pk]), {"mode": "online"}
        )
    assert mailoutbox == []
    monkeypatch.undo()  # the broker is back
    OutboxMessage.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=6))

    with django_capture_on_commit_callbacks(execute=True):
        requeue_stale_outbox()
    with django_capture_on_commit_callbacks(execute=True):
        requeue_stale_outbox()

    assert [m.to for m in mailoutbox] == [[contractor_member.email]]
    assert OutboxMessage.objects.get().status == OutboxMessage.Status.SENT


def test_errors_of_the_task_itself_are_not_swallowed(monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("a bug in the task")

    monkeypatch.setattr(deliver_outbox_message, "delay", broken)

    with pytest.raises(ValueError):
        deliver_outbox_message.queue_or_leave(1)
