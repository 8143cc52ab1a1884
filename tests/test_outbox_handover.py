"""The outbox records when it hands a mail over (decision 0008): the delivery
commits `handed_over_at` at the last moment before the mail becomes the
server's — SMTP's end of data, the file backend's rename — so a worker that
dies before it leaves a message that cannot have arrived (sent again), and
only one that dies in the instant after it leaves one that may have
(「要確認」). Against a real SMTP server (aiosmtpd) and the file backend, and
with a worker process SIGKILLed mid-batch.
"""

import datetime
import socket

import pytest
from aiosmtpd.controller import Controller
from django.core.mail import EmailMessage
from django.utils import timezone

from core.mail import FileBackend, MayHaveArrived, NotHandedOver, SMTPBackend
from core.models import OutboxMessage
from core.tasks import deliver_outbox_message, requeue_stale_outbox

from .test_outbox import _age, _queue
from .test_security_outbox import six_due_messages, sweep_until_killed

pytestmark = pytest.mark.django_db


def mail(to="npo@example.org") -> EmailMessage:
    return EmailMessage(
        "【つながり】件名", "本文です。\n.\n行頭の点も届く。", "desk@example.org", [to]
    )


# --- a real SMTP server ---------------------------------------------------------------------


class Recorder:
    """An aiosmtpd handler keeping each message the server accepted; with
    `hang_up`, it drops the connection after accepting, before answering."""

    def __init__(self):
        self.accepted: list[bytes] = []
        self.hang_up = False

    async def handle_DATA(self, server, session, envelope):
        self.accepted.append(envelope.content)
        if self.hang_up:
            server.transport.close()
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture
def smtp_delivery(smtp_server, settings):
    """The outbox delivering through the SMTP server; yields its recorder."""
    handler, port = smtp_server
    settings.EMAIL_BACKEND = "core.mail.SMTPBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    return handler


def smtp_backend(port: int) -> SMTPBackend:
    return SMTPBackend(host="127.0.0.1", port=port, use_tls=False, timeout=10)


def test_smtp_hands_over_just_before_the_end_of_the_data(smtp_server):
    handler, port = smtp_server
    seen_at_handover = []

    smtp_backend(port).send_handing_over(
        mail(), lambda: seen_at_handover.append(len(handler.accepted))
    )

    # When the outbox committed its handover the server had nothing yet.
    assert seen_at_handover == [0]
    assert len(handler.accepted) == 1
    body = handler.accepted[0].decode()
    assert "本文です。" in body or "5pys5paH" in body  # as sent (plain or base64)


def test_smtp_refused_handover_leaves_nothing_at_the_server(smtp_server):
    handler, port = smtp_server

    def refuse():
        raise NotHandedOver(1)

    with pytest.raises(NotHandedOver):
        smtp_backend(port).send_handing_over(mail(), refuse)
    # The server read the message's data but never its end: it kept nothing,
    # and still serves the next connection.
    assert handler.accepted == []
    smtp_backend(port).send_handing_over(mail("next@example.org"), lambda: None)
    assert len(handler.accepted) == 1


def test_smtp_cut_off_after_the_end_of_the_data_may_have_arrived(smtp_server):
    handler, port = smtp_server
    handler.hang_up = True

    with pytest.raises(MayHaveArrived):
        smtp_backend(port).send_handing_over(mail(), lambda: None)
    assert len(handler.accepted) == 1  # it did arrive: the outbox cannot know


def test_delivery_through_smtp_records_the_handover_then_sent(smtp_delivery):
    handler = smtp_delivery
    message = _queue(to_email="smtp@example.org")

    assert deliver_outbox_message(message.pk) is True

    message.refresh_from_db()
    assert message.status == "sent"
    assert message.claimed_at <= message.handed_over_at <= message.sent_at
    assert len(handler.accepted) == 1 and b"smtp@example.org" in handler.accepted[0]
    # Delivered once: a second task for the same message sends nothing.
    assert deliver_outbox_message(message.pk) is False
    assert len(handler.accepted) == 1


def test_delivery_cut_off_after_the_data_stays_sending_then_unknown(smtp_delivery):
    handler = smtp_delivery
    handler.hang_up = True
    message = _queue(to_email="cut@example.org")

    assert deliver_outbox_message(message.pk) is False

    message.refresh_from_db()
    assert (message.status, message.handed_over_at is not None) == ("sending", True)
    assert "MayHaveArrived" in message.last_error
    _age(message, claimed=31)
    assert requeue_stale_outbox()["unknown"] == 1
    message.refresh_from_db()
    assert message.status == "unknown"
    assert len(handler.accepted) == 1  # and never a second copy


def test_delivery_refused_by_the_server_is_retried(smtp_delivery):
    """A refusal at the end of the data (a 5xx/4xx answer) means not delivered."""

    async def refuse(server, session, envelope):
        return "451 try again later"

    smtp_delivery.handle_DATA = refuse
    message = _queue(to_email="refused@example.org")

    assert deliver_outbox_message(message.pk) is False

    message.refresh_from_db()
    assert (message.status, message.handed_over_at) == ("pending", None)
    assert "SMTPDataError" in message.last_error


# --- the file backend -----------------------------------------------------------------------


def test_file_backend_renames_the_message_in_after_the_handover(tmp_path):
    seen = []

    def handover():
        seen.append(sorted(p.suffix for p in tmp_path.iterdir()))

    FileBackend(file_path=str(tmp_path)).send_handing_over(mail(), handover)

    assert seen == [[".part"]]  # written, not yet in the folder's mail
    files = list(tmp_path.iterdir())
    assert [p.suffix for p in files] == [".log"]
    assert "To: npo@example.org" in files[0].read_text()


def test_file_backend_refused_handover_leaves_no_file(tmp_path):
    def refuse():
        raise NotHandedOver(1)

    with pytest.raises(NotHandedOver):
        FileBackend(file_path=str(tmp_path)).send_handing_over(mail(), refuse)
    assert list(tmp_path.iterdir()) == []


class TakenOverFileBackend(FileBackend):
    """While this worker writes, the sweep put its message back in the queue
    and another call claimed it (its claim is newer)."""

    def send_handing_over(self, email_message, handover):
        OutboxMessage.objects.update(claimed_at=timezone.now() + datetime.timedelta(seconds=1))
        super().send_handing_over(email_message, handover)


def test_delivery_whose_claim_was_taken_over_sends_nothing(settings, tmp_path):
    settings.EMAIL_BACKEND = "tests.test_outbox_handover.TakenOverFileBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    message = _queue()

    assert deliver_outbox_message(message.pk) is False

    assert list(tmp_path.iterdir()) == []
    message.refresh_from_db()
    assert (message.status, message.handed_over_at) == ("sending", None)  # the other call's


# --- a worker SIGKILLed mid-batch -------------------------------------------------------------

DYING_WORKER = r"""
import os, signal, sys
import django
django.setup()
from django.conf import settings
from core.mail import FileBackend

MAIL_DIR, DIE_WRITING = sys.argv[1], int(sys.argv[2])


class DyingWhileWriting(FileBackend):
    # The process is killed while it writes the DIE_WRITING-th message, before
    # its handover: as a worker SIGKILLed in the middle of an SMTP exchange.
    def write_message(self, message):
        if len([n for n in os.listdir(MAIL_DIR) if n.endswith(".log")]) + 1 == DIE_WRITING:
            self.stream.write(message.message().as_bytes()[:200])  # half written
            self.stream.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        super().write_message(message)


settings.EMAIL_BACKEND = "__main__.DyingWhileWriting"
settings.EMAIL_FILE_PATH = MAIL_DIR
from core.tasks import requeue_stale_outbox
requeue_stale_outbox()
"""


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_worker_killed_mid_send_and_swept_again_sends_every_mail_exactly_once(tmp_path, settings):
    recipients = [f"person{n}@example.org" for n in range(1, 7)]
    mail_dir = six_due_messages(tmp_path)

    # The rescue sweep delivers the six; the process dies writing the fourth.
    sweep_until_killed(DYING_WORKER, mail_dir, 4)

    def delivered() -> list[str]:
        found = []
        for path in sorted(mail_dir.glob("*.log")):
            found += [line[4:] for line in path.read_text().splitlines() if line.startswith("To: ")]
        return sorted(found)

    assert delivered() == recipients[:3]
    states = dict(OutboxMessage.objects.values_list("to_email", "status"))
    assert states[recipients[3]] == "sending"  # claimed, never handed over
    assert OutboxMessage.objects.get(to_email=recipients[3]).handed_over_at is None

    # Six minutes later the sweep runs in a healthy process.
    OutboxMessage.objects.exclude(status="sent").update(
        claimed_at=timezone.now() - datetime.timedelta(minutes=6)
    )
    settings.EMAIL_BACKEND = "core.mail.FileBackend"
    settings.EMAIL_FILE_PATH = str(mail_dir)
    outcome = requeue_stale_outbox()

    assert outcome == {"requeued": 3, "failed": 0, "unknown": 0, "reclaimed": 1}
    assert delivered() == recipients  # each exactly once
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}
    # The dead write left its .part behind, never read as a mail.
    assert len(list(mail_dir.glob("*.part"))) == 1


def test_smtp_errors_before_the_data_are_not_delivered(settings):
    """No server at all: an ordinary failure, back in the queue."""
    settings.EMAIL_BACKEND = "core.mail.SMTPBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # discard: nobody listens
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    message = _queue()

    assert deliver_outbox_message(message.pk) is False

    message.refresh_from_db()
    assert (message.status, message.handed_over_at) == ("pending", None)
    assert "ConnectionRefusedError" in message.last_error
