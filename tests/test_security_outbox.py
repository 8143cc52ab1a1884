"""Outbox delivery when a worker dies (issue 8, defect 11).

Each delivery is committed before the next one starts, so a worker killed in
the middle of a batch leaves every mail it sent recorded as sent. The one
message it may have been sending when it died is not called "failed" (it may
well have arrived) but "unknown", is never resent by the rescue sweep, and the
admin resends it only after a person confirms it did not arrive, recording who.
"""

import datetime
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.admin.models import LogEntry
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from core.models import OutboxMessage
from core.tasks import deliver_outbox_message, requeue_stale_outbox

from .test_outbox import _age
from .test_security_ratelimit import subprocess_database_env

ROOT = Path(__file__).resolve().parent.parent
CHANGELIST = "admin:core_outboxmessage_changelist"
RESEND_ACTION = "resend_after_confirmation"


def _message(n: int, **fields) -> OutboxMessage:
    data = {
        "key": f"security-outbox:{n}",
        "kind": "events.confirmed",
        "to_email": f"person{n}@example.org",
        "subject": f"【つながり】お知らせ {n}",
        "body": "本文",
    }
    data.update(fields)
    return OutboxMessage.objects.create(**data)


# --- one message, one commit ------------------------------------------------


@pytest.mark.django_db
def test_deliver_inside_a_transaction_refuses_before_sending(mailoutbox):
    """A batch sent inside one transaction would lose every "sent" record when
    the process dies; delivery refuses to run there, before anything is mailed."""
    message = _message(1)

    with transaction.atomic(), pytest.raises(RuntimeError):
        deliver_outbox_message(message.pk)

    assert mailoutbox == []
    message.refresh_from_db()
    assert (message.status, message.attempts, message.claimed_at) == ("pending", 0, None)


KILLED_WORKER = r"""
import os, signal, sys
import django
django.setup()
from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

MAIL_DIR, DIE_AFTER = sys.argv[1], int(sys.argv[2])


class DyingMailServer(BaseEmailBackend):
    # Accepts each mail (writes it to a file), and after the DIE_AFTER-th the
    # process is killed before the delivery task can record it.
    def send_messages(self, messages):
        for message in messages:
            n = len(os.listdir(MAIL_DIR)) + 1
            with open(os.path.join(MAIL_DIR, f"{n:03d}.txt"), "w") as f:
                f.write(message.to[0])
            if n == DIE_AFTER:
                os.kill(os.getpid(), signal.SIGKILL)
        return len(messages)


settings.EMAIL_BACKEND = "__main__.DyingMailServer"
from core.tasks import requeue_stale_outbox
requeue_stale_outbox()
"""


def six_due_messages(tmp_path) -> Path:
    """Six messages the rescue sweep will deliver (person1…6@example.org);
    returns an empty mail folder for the sweep's process."""
    for n in range(1, 7):
        _age(_message(n), created=10)
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    return mail_dir


def sweep_until_killed(script: str, mail_dir: Path, die_at: int) -> None:
    """Run `script` (a rescue sweep in a process of its own, over the test
    database, with `mail_dir` and `die_at` as its arguments) and check it
    died of SIGKILL."""
    env = {
        **{k: v for k, v in os.environ.items() if k != "REDIS_URL"},
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        **subprocess_database_env(),
    }
    result = subprocess.run(
        [sys.executable, "-c", script, str(mail_dir), str(die_at)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_worker_killed_mid_batch_leaves_each_sent_mail_recorded_and_the_last_unknown(
    tmp_path, mailoutbox
):
    mail_dir = six_due_messages(tmp_path)

    # The rescue sweep delivers the six, and the process is SIGKILLed right
    # after the mail server accepted the fourth.
    sweep_until_killed(KILLED_WORKER, mail_dir, 4)
    delivered = [path.read_text() for path in sorted(mail_dir.iterdir())]
    assert delivered == [f"person{n}@example.org" for n in range(1, 5)]

    status = dict(OutboxMessage.objects.values_list("to_email", "status"))
    assert status == {
        "person1@example.org": "sent",
        "person2@example.org": "sent",
        "person3@example.org": "sent",
        "person4@example.org": "sending",  # accepted by the server, not yet recorded
        "person5@example.org": "pending",
        "person6@example.org": "pending",
    }
    assert OutboxMessage.objects.filter(status="sent", sent_at__isnull=True).count() == 0

    # Half an hour later the rescue runs again in a healthy process.
    OutboxMessage.objects.filter(status="sending").update(
        claimed_at=timezone.now() - datetime.timedelta(minutes=31)
    )
    OutboxMessage.objects.filter(status="pending").update(
        created_at=timezone.now() - datetime.timedelta(minutes=40)
    )
    outcome = requeue_stale_outbox()

    assert outcome == {"requeued": 2, "failed": 0, "unknown": 1, "reclaimed": 0}
    status = dict(OutboxMessage.objects.values_list("to_email", "status"))
    assert status == {
        "person1@example.org": "sent",
        "person2@example.org": "sent",
        "person3@example.org": "sent",
        "person4@example.org": "unknown",
        "person5@example.org": "sent",
        "person6@example.org": "sent",
    }
    # Nobody got a second copy: the unknown one was not resent.
    assert sorted(m.to[0] for m in mailoutbox) == ["person5@example.org", "person6@example.org"]
    unknown = OutboxMessage.objects.get(to_email="person4@example.org")
    assert "届いている可能性があります" in unknown.last_error
    assert "二重送信を避けるため再送していません" in unknown.last_error


@pytest.mark.django_db
def test_requeue_stale_outbox_marks_abandoned_sending_unknown_not_failed(mailoutbox):
    abandoned = _message(1)
    _age(abandoned, created=40, claimed=31, handed_over=31, status="sending", attempts=1)

    nothing = {"requeued": 0, "failed": 0, "reclaimed": 0}
    assert requeue_stale_outbox() == {**nothing, "unknown": 1}
    assert requeue_stale_outbox() == {**nothing, "unknown": 0}

    abandoned.refresh_from_db()
    assert abandoned.status == "unknown"
    assert abandoned.get_status_display() == "要確認（届いた可能性あり）"
    assert mailoutbox == []


# --- the admin: no plain resend -------------------------------------------------


@pytest.fixture
def unknown_message(db):
    message = _message(1, to_email="maybe@example.org")
    _age(message, created=40, claimed=31, handed_over=31, status="sending", attempts=1)
    requeue_stale_outbox()
    message.refresh_from_db()
    assert message.status == "unknown"
    return message


def test_outbox_admin_says_an_unknown_message_may_have_arrived(
    client_for, superuser, unknown_message
):
    client = client_for(superuser)

    listing = client.get(reverse(CHANGELIST)).content.decode()
    detail = client.get(
        reverse("admin:core_outboxmessage_change", args=[unknown_message.pk])
    ).content.decode()

    assert "要確認（届いた可能性あり）" in listing
    for page in (listing, detail):
        assert "届いている可能性があります" in page


def test_outbox_admin_resend_first_asks_for_confirmation(
    client_for, superuser, unknown_message, mailoutbox
):
    client = client_for(superuser)

    response = client.post(
        reverse(CHANGELIST),
        {"action": RESEND_ACTION, "_selected_action": [unknown_message.pk]},
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert "届いている可能性があります" in content
    assert "maybe@example.org" in content
    assert 'name="confirm_not_delivered"' in content
    unknown_message.refresh_from_db()
    assert unknown_message.status == "unknown"
    assert unknown_message.resent_by is None
    assert mailoutbox == []


def test_outbox_admin_resend_without_the_confirmation_box_changes_nothing(
    client_for, superuser, unknown_message, mailoutbox
):
    client = client_for(superuser)

    response = client.post(
        reverse(CHANGELIST),
        {"action": RESEND_ACTION, "_selected_action": [unknown_message.pk], "post": "yes"},
    )

    assert "届いていないことを確認した場合だけ" in response.content.decode()
    unknown_message.refresh_from_db()
    assert (unknown_message.status, unknown_message.resent_by) == ("unknown", None)
    assert mailoutbox == []


def test_outbox_admin_resend_after_confirmation_sends_once_and_records_who(
    client_for, superuser, unknown_message, mailoutbox, django_capture_on_commit_callbacks
):
    client = client_for(superuser)
    sent = _message(2, to_email="already@example.org")
    _age(sent, status="sent", sent_at=timezone.now(), attempts=1)
    data = {
        "action": RESEND_ACTION,
        "_selected_action": [unknown_message.pk, sent.pk],
        "post": "yes",
        "confirm_not_delivered": "on",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse(CHANGELIST), data, follow=True)

    assert "1件を再送しました" in response.content.decode()
    assert [m.to for m in mailoutbox] == [["maybe@example.org"]]
    unknown_message.refresh_from_db()
    assert unknown_message.status == "sent"
    assert unknown_message.resent_by == superuser
    assert unknown_message.resent_at is not None
    # Handed over anew by the resend, not by the attempt that may have arrived.
    assert unknown_message.handed_over_at >= unknown_message.resent_at
    sent.refresh_from_db()
    assert (sent.status, sent.resent_by) == ("sent", None)
    log = LogEntry.objects.get(object_id=str(unknown_message.pk))
    assert log.user == superuser
    assert "再送" in log.get_change_message()

    # Pressing it again (the row is sent now) sends nothing.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse(CHANGELIST), data, follow=True)
    assert len(mailoutbox) == 1


def test_outbox_admin_resend_is_not_offered_to_those_who_may_not_change_it(
    client, unknown_message, mailoutbox
):
    from .factories import UserFactory

    viewer = UserFactory(email="viewer@example.org", is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_outboxmessage"))
    client.force_login(viewer)

    listing = client.get(reverse(CHANGELIST)).content.decode()
    client.post(
        reverse(CHANGELIST),
        {
            "action": RESEND_ACTION,
            "_selected_action": [unknown_message.pk],
            "post": "yes",
            "confirm_not_delivered": "on",
        },
    )

    assert RESEND_ACTION not in listing
    unknown_message.refresh_from_db()
    assert (unknown_message.status, unknown_message.resent_by) == ("unknown", None)
    assert mailoutbox == []
