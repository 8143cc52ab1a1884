"""A real Celery worker process executes tasks against PostgreSQL through Redis.

The in-process suite runs tasks eagerly; these tests cover the broker path the
scale-out deployment uses (DESIGN §5): a message goes through Redis to a
separate `celery worker` process, which re-fetches the rows from the test
database, sends the e-mail and records it. The task is the outbox delivery,
here of an invitation mail (network's mails go through the outbox, decision
0005). Without PostgreSQL + Redis they skip,
unless TSUNAGARI_REQUIRE_SERVICES=1 (CI), where they fail.
"""

import email
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from core import outbox
from core.models import OutboxMessage
from network import services

from .factories import OrganisationFactory, UserFactory
from .services import require_services

ROOT = Path(__file__).resolve().parent.parent
TASK = "core.tasks.deliver_outbox_message"
WORKER_START_TIMEOUT = 60
TASK_TIMEOUT = 30

pytestmark = [
    pytest.mark.services,
    # The worker process sees committed rows only. A transactional test ends by
    # flushing the database; serialized rollback reloads the migrations'
    # reference data (regions, municipalities, programs, groups) at its start.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


class Worker:
    def __init__(self, *, queue: str, log_path: Path, mail_dir: Path):
        self.queue = queue
        self.log_path = log_path
        self.mail_dir = mail_dir
        self.process: subprocess.Popen | None = None

    # --- process ---------------------------------------------------------

    def start(self, db_name: str) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.worker_test",
            "TSUNAGARI_TEST_DB_NAME": db_name,
            "TSUNAGARI_TEST_EMAIL_DIR": str(self.mail_dir),
            "REDIS_URL": settings.TEST_REDIS_URL,
            "PYTHONUNBUFFERED": "1",
        }
        command = [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            "--pool=solo", "--concurrency=1",
            "-Q", self.queue,
            "-n", f"{self.queue}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--loglevel=INFO",
        ]  # fmt: skip
        self.log_file = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log_file, stderr=subprocess.STDOUT
        )
        self._wait_for(
            lambda: "ready." in self.log(), WORKER_START_TIMEOUT, "the worker to be ready"
        )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if getattr(self, "log_file", None):
            self.log_file.close()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _wait_for(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if not self.alive:
                pytest.fail(f"the Celery worker exited while waiting for {what}:\n{self.log()}")
            time.sleep(0.2)
        pytest.fail(f"timed out after {timeout}s waiting for {what}; worker log:\n{self.log()}")

    # --- tasks ------------------------------------------------------------

    def send(self, *args) -> str:
        """Publish a task message to the broker, exactly as a web process would."""
        client = Celery("tsunagari-test-client", broker=settings.TEST_REDIS_URL)
        try:
            return client.send_task(TASK, args=list(args), queue=self.queue).id
        finally:
            client.close()

    def wait_until_done(self, task_id: str) -> None:
        marker = f"{TASK}[{task_id}] succeeded"
        self._wait_for(lambda: marker in self.log(), TASK_TIMEOUT, f"task {task_id}")

    def mails_to(self, address: str) -> list[email.message.Message]:
        """Messages the worker's file-based e-mail backend wrote for `address`."""
        messages = []
        for path in sorted(self.mail_dir.glob("*.log")):
            for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
                if chunk.strip():
                    message = email.message_from_bytes(chunk.strip())
                    if address in message.get("To", ""):
                        messages.append(message)
        return messages


@pytest.fixture(scope="module")
def worker(django_db_setup, tmp_path_factory):
    require_services()
    base = tmp_path_factory.mktemp("celery-worker")
    mail_dir = base / "mail"
    mail_dir.mkdir()
    w = Worker(
        queue=f"tsunagari-test-{uuid.uuid4().hex[:12]}",
        log_path=base / "worker.log",
        mail_dir=mail_dir,
    )
    try:
        w.start(connection.settings_dict["NAME"])
        yield w
    finally:
        w.stop()
        forget_queue(w.queue)


def forget_queue(queue: str) -> None:
    """Remove the run's queue and its exchange binding from the shared Redis DB."""
    import redis

    client = redis.Redis.from_url(settings.TEST_REDIS_URL)
    try:
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    finally:
        client.close()


class HeldBack:
    """Stands in for the delivery task in core.outbox: queues nothing."""

    def delay_on_commit(self, *args, **kwargs):
        return None


def make_invitation(email_address: str, monkeypatch) -> tuple[OutboxMessage, str]:
    """An invitation and its queued mail, left for the worker: the in-process
    delivery that a commit would start is held back."""
    monkeypatch.setattr(outbox, "deliver_outbox_message", HeldBack())
    invitation = services.invite_member(
        organisation=OrganisationFactory(),
        email=email_address,
        full_name="招待 花子",
        invited_by=UserFactory(full_name="事務 四郎"),
    )
    return OutboxMessage.objects.get(key__startswith=f"invitation:{invitation.pk}:"), (
        invitation.raw_token
    )


def body_of(message) -> str:
    return message.get_payload(decode=True).decode(message.get_content_charset() or "utf-8")


def test_worker_sends_invitation_and_records_sent_at(worker, monkeypatch):
    message, token = make_invitation("worker-invitee@example.org", monkeypatch)
    assert message.status == OutboxMessage.Status.PENDING

    task_id = worker.send(message.pk)
    worker.wait_until_done(task_id)

    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT
    assert message.sent_at is not None
    mails = worker.mails_to("worker-invitee@example.org")
    assert len(mails) == 1
    assert token in body_of(mails[0])
    # Sent: the row no longer holds the link's token.
    assert (token in message.body, message.secret) == (False, "")
    assert worker.alive, worker.log()


def test_worker_sends_invitation_once_when_task_is_delivered_twice(worker, monkeypatch):
    message, _token = make_invitation("worker-twice@example.org", monkeypatch)

    # Two deliveries of the same task queued before either runs...
    first = worker.send(message.pk)
    second = worker.send(message.pk)
    worker.wait_until_done(first)
    worker.wait_until_done(second)
    message.refresh_from_db()
    sent_at = message.sent_at
    assert (message.status, message.attempts) == (OutboxMessage.Status.SENT, 1)

    # ...and a third after the message was sent change nothing.
    worker.wait_until_done(worker.send(message.pk))
    message.refresh_from_db()
    assert message.sent_at == sent_at
    assert len(worker.mails_to("worker-twice@example.org")) == 1
    assert worker.alive, worker.log()
