"""Survey reminders through a real Celery worker on Redis + PostgreSQL, and
what happens when that worker is killed or restarted: every non-responder gets
exactly one reminder, responders none, nobody two.

The reminder sweep runs in a separate `celery worker` process, writes the
outbox rows and queues their delivery through Redis; the same worker delivers
them with the file e-mail backend, so the test counts the mails actually sent
as well as the OutboxMessage rows. Without PostgreSQL + Redis the tests skip,
unless TSUNAGARI_REQUIRE_SERVICES=1 (CI), where they fail.
"""

import datetime
import email.header
import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.models import OutboxMessage
from surveys.models import Invitation, Survey

from .services import require_services
from .survey_factories import InvitationFactory, QuestionFactory, SurveyFactory
from .test_worker import ROOT, WORKER_START_TIMEOUT, Worker, body_of, forget_queue

SWEEP = "surveys.tasks.sweep_survey_reminders"
REMIND_ONE = "surveys.tasks.send_survey_reminders"
RESCUE = "core.tasks.requeue_stale_outbox"
TASK_TIMEOUT = 60

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


class SurveyWorker(Worker):
    """The tests/test_worker.py harness, with the run's queue as the default
    queue (tests/survey_worker_settings.py), any task name, and restarts."""

    def __init__(self, *, base, queue: str):
        self.base = base
        self.starts = 0
        mail_dir = base / "mail"
        mail_dir.mkdir()
        super().__init__(queue=queue, log_path=base / "worker-0.log", mail_dir=mail_dir)
        self.logs: list = []

    def start(self, db_name: str) -> None:
        self.starts += 1
        self.log_path = self.base / f"worker-{self.starts}.log"
        self.logs.append(self.log_path)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.survey_worker_settings",
            "TSUNAGARI_TEST_DB_NAME": db_name,
            "TSUNAGARI_TEST_EMAIL_DIR": str(self.mail_dir),
            "TSUNAGARI_TEST_QUEUE": self.queue,
            "REDIS_URL": settings.TEST_REDIS_URL,
            "PYTHONUNBUFFERED": "1",
        }
        command = [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            "--pool=solo", "--concurrency=1",
            "-Q", self.queue,
            "-n", f"{self.queue}-{self.starts}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--loglevel=INFO",
        ]  # fmt: skip
        self.log_file = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()/kill()
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log_file, stderr=subprocess.STDOUT
        )
        self._wait_for(
            lambda: "ready." in self.log(), WORKER_START_TIMEOUT, "the worker to be ready"
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown, no acks, an open transaction is rolled back."""
        self.process.kill()
        self.process.wait(timeout=10)
        self.log_file.close()

    def send_task(self, name: str, *args) -> str:
        client = Celery("tsunagari-test-client", broker=settings.TEST_REDIS_URL)
        try:
            return client.send_task(name, args=list(args), queue=self.queue).id
        finally:
            client.close()

    def result_of(self, name: str, task_id: str) -> str:
        """Wait for the task to succeed on this worker; returns its logged result."""
        pattern = re.compile(rf"{re.escape(name)}\[{task_id}\] succeeded in [0-9.e-]+s: (.*)")
        found: list[str] = []

        def done() -> bool:
            match = pattern.search(self.log())
            if match:
                found.append(match.group(1).strip())
            return bool(match)

        self._wait_for(done, TASK_TIMEOUT, f"{name}[{task_id}]")
        return found[0]

    def all_logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())


@pytest.fixture
def worker(django_db_setup, tmp_path):
    require_services()
    w = SurveyWorker(base=tmp_path, queue=f"tsunagari-surveys-{uuid.uuid4().hex[:12]}")
    try:
        w.start(connection.settings_dict["NAME"])
        yield w
    finally:
        w.stop()
        forget_queue(w.queue)
        forget_unacked(w.queue)


def forget_unacked(queue: str) -> None:
    """Drop what a killed worker left unacknowledged on the run's queue; Redis
    would otherwise hand it back to that (deleted) queue an hour later."""
    import redis

    client = redis.Redis.from_url(settings.TEST_REDIS_URL)
    try:
        for tag, raw in client.hgetall("unacked").items():
            try:
                routing_key = json.loads(raw)[2]
            except (ValueError, IndexError, TypeError):
                continue
            if routing_key == queue:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
    finally:
        client.close()


def wait_until(condition, what: str, worker: SurveyWorker, timeout: float = TASK_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}; worker logs:\n{worker.all_logs()}")


def survey_with_invitations(waiting: int, answered: int) -> tuple[Survey, list, list]:
    """A survey closing in 3 days (a reminder day), with non-responders and responders."""
    closes = (timezone.localtime() + datetime.timedelta(days=3)).replace(
        hour=17, minute=0, second=0, microsecond=0
    )
    survey = SurveyFactory(
        title="令和6年度 効果検証アンケート",
        opens_at=timezone.now() - datetime.timedelta(days=10),
        closes_at=closes,
        reminder_days=[7, 3],
    )
    QuestionFactory(survey=survey)
    tag = uuid.uuid4().hex[:6]
    pending = [
        InvitationFactory(survey=survey, user__email=f"waiting-{tag}-{n}@example.org")
        for n in range(waiting)
    ]
    done = [
        InvitationFactory(
            survey=survey,
            user__email=f"answered-{tag}-{n}@example.org",
            responded_at=timezone.now(),
        )
        for n in range(answered)
    ]
    return survey, pending, done


def wait_until_settled(survey: Survey, worker: SurveyWorker, quiet: float = 3.0) -> None:
    """Wait until at most one reminder is left undelivered (the one the killed
    worker held) and nothing has changed for `quiet` seconds: the new worker
    has delivered everything still queued."""
    deadline = time.monotonic() + TASK_TIMEOUT
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        state = sorted(reminder_rows(survey).values_list("pk", "status"))
        if state != last:
            last, since = state, time.monotonic()
        undelivered = [pk for pk, status in state if status != OutboxMessage.Status.SENT]
        if len(undelivered) <= 1 and time.monotonic() - since >= quiet:
            return
        time.sleep(0.2)
    pytest.fail(f"the deliveries did not settle: {last}; worker logs:\n{worker.all_logs()}")


def subject_of(message) -> str:
    return str(email.header.make_header(email.header.decode_header(message["Subject"])))


def reminder_rows(survey: Survey):
    return OutboxMessage.objects.filter(key__startswith=f"survey:{survey.pk}:remind:")


def statuses(survey: Survey) -> dict[str, str]:
    return dict(reminder_rows(survey).values_list("to_email", "status"))


def test_worker_restart_sends_no_reminder_twice(worker):
    survey, pending, answered = survey_with_invitations(waiting=4, answered=2)

    assert worker.result_of(SWEEP, worker.send_task(SWEEP)) == "4"
    wait_until(
        lambda: reminder_rows(survey).filter(status=OutboxMessage.Status.SENT).count() == 4,
        "4 reminders delivered",
        worker,
    )
    # The worker dies (SIGKILL) and comes back; beat runs the sweep again and the
    # secretariat presses the reminder button, all on the same day.
    worker.kill()
    worker.start(connection.settings_dict["NAME"])
    assert worker.result_of(SWEEP, worker.send_task(SWEEP)) == "0"
    assert worker.result_of(REMIND_ONE, worker.send_task(REMIND_ONE, survey.pk)) == "0"

    today = timezone.localdate().isoformat()
    assert sorted(reminder_rows(survey).values_list("key", flat=True)) == sorted(
        f"survey:{survey.pk}:remind:{i.pk}:{today}" for i in pending
    )
    assert set(statuses(survey).values()) == {OutboxMessage.Status.SENT}
    for invitation in pending:
        mails = worker.mails_to(invitation.email)
        assert len(mails) == 1, invitation.email
        assert subject_of(mails[0]).startswith("【つながり】アンケート回答のお願い（締切 ")
        assert invitation.link in body_of(mails[0])
    for invitation in answered:
        assert worker.mails_to(invitation.email) == []
    assert {
        i.reminder_count for i in Invitation.objects.filter(pk__in=[p.pk for p in pending])
    } == {1}
    assert worker.alive, worker.log()


def test_worker_killed_mid_run_still_reminds_everyone_at_most_once(worker):
    survey, pending, answered = survey_with_invitations(waiting=80, answered=5)
    sent = reminder_rows(survey).filter(status=OutboxMessage.Status.SENT)

    worker.send_task(SWEEP)
    # Kill the worker while it is delivering the reminders.
    deadline = time.monotonic() + TASK_TIMEOUT
    while not sent.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"no reminder was delivered; worker log:\n{worker.log()}")
        time.sleep(0.02)
    worker.kill()
    sent_before_kill = sent.count()
    assert sent_before_kill < len(pending), "the worker finished before it could be killed"

    # A new worker takes the deliveries still queued; the sweep runs again.
    worker.start(connection.settings_dict["NAME"])
    assert worker.result_of(SWEEP, worker.send_task(SWEEP)) == "0"
    # The message the dead worker held is lost to the broker until its visibility
    # timeout; the periodic rescue (requeue_stale_outbox) handles what is left.
    # Make what is left look old enough and run the rescue on the worker.
    wait_until_settled(survey, worker)
    old = timezone.now() - datetime.timedelta(hours=1)
    reminder_rows(survey).exclude(status=OutboxMessage.Status.SENT).update(
        created_at=old, claimed_at=old
    )
    worker.result_of(RESCUE, worker.send_task(RESCUE))
    wait_until(
        lambda: not reminder_rows(survey).filter(status=OutboxMessage.Status.PENDING).exists(),
        "the rescued deliveries",
        worker,
    )

    rows = statuses(survey)
    # Exactly one reminder row per non-responder, none for responders.
    assert sorted(rows) == sorted(i.email for i in pending)
    assert reminder_rows(survey).count() == len(pending)
    for invitation in answered:
        assert worker.mails_to(invitation.email) == []
    # Nobody got two; every row marked sent was mailed exactly once. At most the
    # one message the worker was sending when it died is left "unknown" (at most
    # once: it may or may not have left), never sent again.
    for invitation in pending:
        mails = worker.mails_to(invitation.email)
        assert len(mails) <= 1, invitation.email
        if rows[invitation.email] == OutboxMessage.Status.SENT:
            assert len(mails) == 1, invitation.email
    failed = [email for email, status in rows.items() if status != OutboxMessage.Status.SENT]
    assert len(failed) <= 1, rows
    assert set(rows.values()) <= {OutboxMessage.Status.SENT, OutboxMessage.Status.UNKNOWN}
    assert worker.alive, worker.log()
