"""`make faults`: the portal under production settings, with its services failing.

One throw-away deployment (ops/stack.py: a new PostgreSQL database, migrate,
collectstatic, the demo data, gunicorn and a Celery worker with beat, all with
config.settings.production, Redis database 12, mails as files), then three
faults, each made for real on this machine's services:

1. **Worker killed mid-batch.** An event tomorrow with REMINDER_COUNT
   confirmed registrations: the worker runs the reminder sweep
   (events.tasks.sweep_reminders), and as soon as the first reminders are in
   the mail folder the worker and its pool get SIGKILL. It is started again.
   The killed sweep's message stays unacknowledged in Redis until the
   visibility timeout (an hour), so the sweep is run again, as beat runs it
   every hour; the pending messages whose task died with the worker are what
   core.tasks.requeue_stale_outbox rescues after 5 minutes: the run moves
   their timestamps back by 6 minutes (as if the time had passed) and calls
   that sweep too; a message the dead worker had claimed but not yet handed
   over to the mail server (decision 0008) is put back in the queue by the
   same sweep, its claim aged the same way. Nobody may get a reminder twice,
   and every recipient should have exactly one — a target, shown as FALLS
   SHORT when missed: a worker killed between committing a mail's hand-over
   (the commit's own time included) and recording it sent leaves a message
   「要確認」, which a person checks.
2. **PostgreSQL restarted under registrations.** Members register over HTTP
   (GET the form, POST it), several at once, for one meeting; after the
   first successes the PostgreSQL cluster is restarted. Every registration
   that was answered with the success redirect must be in the database (no
   committed registration lost, none twice), and the portal must answer again
   — /healthz 200 and further registrations — with the same gunicorn (never
   restarted), on the production default of persistent connections.
3. **Redis stopped.** With Redis down: the pages answer 200, a registration
   commits, /healthz answers 503 and its detail (HEALTHZ_TOKEN) names the cache
   and the broker as down, the database as up. Redis is started again; the
   registration's mail, whose task could not be queued, goes out (the requeue
   sweep, its 5 minutes skipped as above) through the same worker.

Each check prints PASS or FAIL; any FAIL makes the exit status 1. Whatever
happens (a failed check, Ctrl-C, SIGTERM, the time limit) PostgreSQL and Redis
are running again when the script ends, the servers are stopped, the
database dropped and Redis database 12 flushed. The work folder (logs, mails)
is kept, and printed, after a failure.

Needs root (pg_ctlcluster, redis-server), PostgreSQL on 127.0.0.1:5432 (user
postgres, trust) and Redis on 127.0.0.1:6379.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import redis
import stack
from stack import (
    Client,
    check,
    create_database,
    deploy,
    drop_database,
    falls_short,
    forms,
    local,
    log_tail,
    mail_recipients,
    manage,
    member_client,
    production_env,
    require,
    seed_members,
    sql,
    start_gunicorn,
    start_worker,
    stop_server,
    stop_servers,
    tail,
    wait_for_http,
)

REDIS_URL = os.environ.get("FAULTS_REDIS_URL", "redis://127.0.0.1:6379/12")
TIME_LIMIT = int(os.environ.get("FAULTS_TIME_LIMIT", "175"))
DB_NAME = f"tsunagari_faults_{os.getpid()}"
REMINDER_COUNT = int(os.environ.get("FAULTS_REMINDERS", "150"))
PG_MEMBERS = 90
PG_CLIENTS = 6
PG_CLUSTER = (sorted(os.listdir("/etc/postgresql")) or ["15"])[-1]
REDIS_START = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "-::1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    "/var/lib/redis",
    "--logfile",
    "/var/log/redis/ci.log",
]

# Three events: tomorrow (reminders due, every rem- member confirmed), and
# two in three weeks for the registrations of the other scenarios.
SETUP_EVENTS = """
import datetime, json
from django.utils import timezone
from events.models import Event, Registration
from network.models import User
now = timezone.localtime()
def event(title, starts, capacity=None):
    return Event.objects.create(
        kind="exchange", fiscal_year=now.year, title=title, starts_at=starts,
        ends_at=starts + datetime.timedelta(hours=2), format="venue", venue_name="faults",
        venue_capacity=capacity, audience="members", status="published", published_at=now)
tomorrow = (now + datetime.timedelta(days=1)).replace(hour=14, minute=0, second=0, microsecond=0)
later = now + datetime.timedelta(days=21)
reminded = event("faults: reminders", tomorrow)
people = User.objects.filter(email__startswith="rem-", email__endswith="@ops.example")
Registration.objects.bulk_create(
    Registration(event=reminded, user=u, organisation=u.memberships.first().organisation,
                 mode="venue", status="confirmed") for u in people)
print(json.dumps({"reminders": reminded.pk, "pg": event("faults: pg", later).pk,
                  "redis": event("faults: redis", later).pk}))
"""

# The requeue sweep with its 5 minutes skipped: what is pending is made 6
# minutes older, then core.tasks.requeue_stale_outbox runs (queues each again).
REQUEUE = """
import datetime
from django.db.models import F
from core.models import OutboxMessage
from core.tasks import requeue_stale_outbox
back = datetime.timedelta(minutes=6)
pending = OutboxMessage.objects.filter(status="pending")
pending.update(created_at=F("created_at") - back)
pending.exclude(claimed_at=None).update(claimed_at=F("claimed_at") - back)
claimed = OutboxMessage.objects.filter(status="sending", handed_over_at=None)
claimed.update(created_at=F("created_at") - back, claimed_at=F("claimed_at") - back)
print(requeue_stale_outbox())
"""


REMINDED = "to_email LIKE 'rem-%'"


def outbox(where: str) -> dict[str, int]:
    rows = sql(
        f"SELECT status, count(*) FROM core_outboxmessage WHERE {where} GROUP BY status", DB_NAME
    )
    return dict(rows)


def wait_until(test, timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if test():
            return True
        time.sleep(step)
    return bool(test())


def requeue(env: dict) -> str:
    done = manage(["shell", "-c", REQUEUE], env)
    return done.stdout.strip().splitlines()[-1] if done.returncode == 0 else tail(done.stderr)


# --- Services ---------------------------------------------------------------------------


Client.user_agent = "tsunagari-faults"


def pg_up() -> bool:
    return (
        subprocess.run(
            ["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"], check=False, timeout=10
        ).returncode
        == 0
    )


def pg_ctl(action: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", PG_CLUSTER, "main", action],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def redis_up() -> bool:
    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_stop() -> None:
    subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"],
        capture_output=True,
        timeout=10,
        check=False,
    )


def redis_start() -> None:
    subprocess.run(REDIS_START, capture_output=True, timeout=10, check=False)


def restore_services() -> None:
    """PostgreSQL and Redis running, whatever happened: CI steps follow."""
    if not pg_up():
        print(f"faults: starting PostgreSQL again: {pg_ctl('start').stderr.strip()}", flush=True)
        wait_until(pg_up, 30, 0.5)
    if not redis_up():
        print("faults: starting Redis again", flush=True)
        redis_start()
        wait_until(redis_up, 10)
    print(
        f"faults: PostgreSQL {'up' if pg_up() else 'DOWN'}, Redis {'up' if redis_up() else 'DOWN'}"
    )


# --- Registering over HTTP --------------------------------------------------------------


def register(client: Client, event: int) -> tuple[bool, str]:
    """GET the form, POST it as shown: (success redirect to the event, what was seen)."""
    try:
        page = client.get(f"/events/{event}/register/")
        form = [f for f in forms(page) if any(i.get("name") == "mode" for i in f.inputs)]
        if page.status != 200 or not form:
            return False, f"form {page.status}"
        sent = client.post(f"/events/{event}/register/", form[0].data())
    except OSError as error:
        return False, type(error).__name__
    if sent.status == 302 and local(sent.header("Location")) == f"/events/{event}/":
        return True, "302"
    return False, f"{sent.status} {local(sent.header('Location'))}"


def registered(event: int, prefix: str) -> dict[str, int]:
    """{email: active registrations} of the event's members named prefix-N."""
    rows = sql(
        "SELECT u.email, count(*) FROM events_registration r JOIN network_user u"
        f" ON u.id = r.user_id WHERE r.event_id = {int(event)} AND u.email LIKE '{prefix}-%'"
        " AND r.status IN ('confirmed', 'waitlisted') GROUP BY u.email",
        DB_NAME,
    )
    return dict(rows)


# --- 1. the worker killed mid-batch -----------------------------------------------------


def worker_killed(env: dict, work: Path, events: dict) -> None:
    print("--- 1. a Celery worker SIGKILLed in the middle of a batch of reminders", flush=True)
    recipients = [f"rem-{n}@ops.example" for n in range(REMINDER_COUNT)]

    def reminded() -> dict[str, int]:
        counts = mail_recipients(work / "mail")
        return {r: counts.get(r, 0) for r in recipients}

    done = manage(
        ["shell", "-c", "from events.tasks import sweep_reminders; sweep_reminders.delay()"], env
    )
    require("the reminder sweep queued to the worker", done.returncode == 0, tail(done.stderr))
    worker = next(p for name, p, _ in stack.servers if name == "worker")
    started = time.monotonic()
    first = wait_until(lambda: any(reminded().values()), 30, 0.02)
    stop_server(worker, signal.SIGKILL)
    at_kill = sum(1 for c in reminded().values() if c)
    states = outbox(REMINDED)
    check(
        "the worker was killed mid-batch (SIGKILL to it and its pool)",
        first and 0 < at_kill < REMINDER_COUNT,
        f"{at_kill} of {REMINDER_COUNT} reminders sent when it died",
        info=f"{at_kill} of {REMINDER_COUNT} sent after {time.monotonic() - started:.1f} s;"
        f" outbox {states}",
    )
    log = work / "logs" / "worker.log"
    readies = log.read_text(errors="replace").count(" ready.")
    start_worker(env, work / "logs", work, concurrency=2)
    check(
        "the worker started again",
        wait_until(lambda: log.read_text(errors="replace").count(" ready.") > readies, 40, 0.2),
        log_tail("worker", 3),
    )

    def settled() -> bool:  # what the restarted worker takes from the queue, done
        before = outbox(REMINDED)
        time.sleep(1.5)
        return outbox(REMINDED) == before

    wait_until(settled, 30, 0)
    after_restart = outbox(REMINDED)
    print(f"faults: after the restart the outbox holds {after_restart}", flush=True)
    # The sweep itself died with the worker (its message stays unacknowledged
    # in Redis until the visibility timeout): beat runs it again every hour, at
    # :05. Run now, as beat would; it queues what the dead one did not.
    done = manage(["shell", "-c", "from events.tasks import sweep_reminders as s; print(s())"], env)
    resumed = done.stdout.strip().splitlines()[-1:] if done.returncode == 0 else tail(done.stderr)
    wait_until(settled, 40, 0)
    swept = requeue(env)
    wait_until(lambda: not outbox(REMINDED + " AND status = 'pending'"), 30, 0.3)
    time.sleep(1)  # a last delivery being written
    counts = reminded()
    missing = [r for r, c in counts.items() if c == 0]
    twice = {r: c for r, c in counts.items() if c > 1}
    left = sql(
        "SELECT to_email, status, attempts FROM core_outboxmessage"
        " WHERE to_email LIKE 'rem-%' AND status <> 'sent' ORDER BY to_email",
        DB_NAME,
    )
    check(
        "no recipient got a reminder twice",
        not twice,
        f"more than one for {len(twice)}: {list(twice.items())[:5]}",
    )
    # What the outbox promises (decisions 0003 and 0008, DESIGN §6: never
    # twice): a reminder that did not arrive can only be one the dead worker
    # had handed over and not recorded, left "sending" for
    # requeue_stale_outbox to mark "unknown" for a person — never silently
    # dropped.
    unsent = {email for email, status, _attempts in left if status in ("sending", "unknown")}
    check(
        "every reminder arrived or is left handed over for a person to check (none silently lost)",
        set(missing) <= unsent,
        f"missing without a claimed row: {sorted(set(missing) - unsent)[:5]}; rows {left[:5]}",
    )
    falls_short(
        f"every one of the {REMINDER_COUNT} recipients got exactly one reminder",
        not missing and not twice,
        f"none for {len(missing)} {missing[:5]}; outbox rows not sent: {left[:5]}"
        " (a message handed over, its hand-over committed, when the worker died is never"
        " resent: requeue_stale_outbox marks it 'unknown' after 30 minutes for a person to"
        " check; the hand-over's commit is part of that window)"
        f"; after the restart {after_restart}, the sweep again queued {resumed},"
        f" the requeue sweep {swept}",
        info=f"after the restart {after_restart}; the hourly sweep run again queued {resumed};"
        f" requeue {swept}; outbox now {outbox(REMINDED)}",
    )


# --- 2. PostgreSQL restarted under registrations ----------------------------------------


def pg_restarted(port: int, gunicorn, sessions: dict[str, str], events: dict) -> None:
    print("--- 2. PostgreSQL restarted under a stream of registrations", flush=True)
    event = events["pg"]
    queue = list(sessions.items())
    lock = threading.Lock()
    outcomes: list[tuple[str, bool, str, float]] = []  # email, success, seen, when
    restart: dict[str, float] = {}

    def member(email: str, key: str) -> None:
        client = member_client(port, key)
        for _attempt in range(8):
            ok, seen = register(client, event)
            with lock:
                outcomes.append((email, ok, seen, time.monotonic()))
            if ok or seen.startswith("302"):  # 302 elsewhere: registered already
                return
            time.sleep(0.5)

    def restart_pg() -> None:
        wait_until(lambda: sum(1 for o in outcomes if o[1]) >= 15, 30, 0.05)
        restart["begin"] = time.monotonic()
        done = pg_ctl("restart")
        restart["end"] = time.monotonic()
        restart["rc"] = done.returncode
        restart["stderr"] = done.stderr.strip()

    master = gunicorn.pid
    restarter = threading.Thread(target=restart_pg)
    restarter.start()
    with ThreadPoolExecutor(PG_CLIENTS) as pool:
        for email, key in queue:
            pool.submit(member, email, key)
    restarter.join()
    check(
        f"PostgreSQL restarted (pg_ctlcluster {PG_CLUSTER} main restart) during the stream",
        restart.get("rc") == 0,
        restart.get("stderr", "not restarted"),
        info=f"{restart.get('end', 0) - restart.get('begin', 0):.1f} s",
    )
    succeeded = {o[0] for o in outcomes if o[1]}
    refused = [o for o in outcomes if not o[1]]
    during = [o for o in refused if restart.get("begin", 0) <= o[3]]
    after = [o for o in outcomes if o[1] and o[3] > restart.get("end", 0)]
    stored = registered(event, "pg")
    lost = sorted(succeeded - set(stored))
    twice = {e: n for e, n in stored.items() if n > 1}
    kinds = sorted({o[2] for o in refused})
    check(
        f"every registration answered with success is in the database ({len(succeeded)})",
        not lost and not twice and bool(succeeded),
        f"lost {len(lost)} {lost[:5]}, twice {twice}",
        info=f"{len(outcomes)} attempts, {len(refused)} failed during the restart"
        f" ({', '.join(kinds)[:120]}), {len(stored)} rows",
    )
    health = Client(port).get("/healthz")
    check(
        "the portal answers again without a restart (/healthz 200, registrations after it)",
        health.status == 200 and bool(after) and gunicorn.poll() is None and gunicorn.pid == master,
        f"/healthz {health.status}, {len(after)} registrations after the restart,"
        f" gunicorn {gunicorn.poll()}",
        info=f"{len(after)} registrations succeeded after it, same gunicorn pid {master}",
    )
    check(
        "every member is registered in the end (retries after the outage)",
        len(stored) == len(sessions),
        f"{len(stored)} of {len(sessions)}; {during[:3]}",
    )


# --- 3. Redis stopped -------------------------------------------------------------------


def redis_stopped(port: int, work: Path, env: dict, key: str, events: dict, token: str) -> None:
    print("--- 3. Redis stopped", flush=True)
    event = events["redis"]
    member = member_client(port, key)
    email = "redis-0@ops.example"
    page = member.get(f"/events/{event}/")
    require("the event page answers before the fault", page.status == 200, f"{page.status}")
    started = time.monotonic()
    try:
        redis_stop()
        require("Redis stopped (redis-cli shutdown nosave)", wait_until(lambda: not redis_up(), 10))
        slow = []
        statuses = {}
        for path in ("/", "/events/", f"/events/{event}/", "/events/mine/", "/note/"):
            t0 = time.monotonic()
            try:
                statuses[path] = member.get(path).status
            except OSError as error:
                statuses[path] = type(error).__name__
            slow.append(time.monotonic() - t0)
        anonymous = Client(port).get("/accounts/login/").status
        check(
            "with Redis down the pages answer 200 (home, events, an event, mine, board, login)",
            all(s == 200 for s in statuses.values()) and anonymous == 200,
            f"{statuses}, login {anonymous}",
            info=f"slowest {max(slow):.2f} s",
        )
        t0 = time.monotonic()
        ok, seen = register(member, event)
        took = time.monotonic() - t0
        stored = registered(event, "redis")
        check(
            "with Redis down a registration commits (stored, once)",
            stored.get(email) == 1,
            f"stored {stored}",
        )
        check(
            "with Redis down the member is told so (the 302 to the event, not an error page)",
            ok,
            f"answered {seen} in {took:.2f} s although the registration committed"
            f" (gunicorn: {log_tail('gunicorn', 4)[-300:]})",
            info=f"{took:.2f} s",
        )
        plain = Client(port).get("/healthz")
        detail = Client(port).get("/healthz", Authorization=f"Bearer {token}")
        try:
            checks = json.loads(detail.body).get("checks", {})
        except ValueError:
            checks = {}
        check(
            "/healthz answers 503 and its detail says the cache and the broker are down",
            plain.status == 503
            and json.loads(plain.body or "{}").get("status") == "error"
            and checks.get("cache", {}).get("ok") is False
            and checks.get("broker", {}).get("ok") is False
            and checks.get("database", {}).get("ok") is True,
            f"{plain.status} {plain.body[:80]}; detail {detail.status} {detail.body[:300]}",
            info=", ".join(
                f"{name} {'ok' if c.get('ok') else c.get('error', 'down')}"
                for name, c in checks.items()
            ),
        )
    finally:
        redis_start()
        back = wait_until(redis_up, 10)
        print(f"faults: Redis was down {time.monotonic() - started:.1f} s", flush=True)
    require("Redis started again", back)
    mine = f"to_email = '{email}'"
    pending = outbox(mine)
    # The worker reconnects on its own; the requeue sweep (5 minutes skipped)
    # queues the message whose task could not be sent.
    swept = requeue(env)
    arrived = wait_until(lambda: mail_recipients(work / "mail").get(email, 0) >= 1, 40, 0.3)
    time.sleep(0.5)
    count = mail_recipients(work / "mail").get(email, 0)
    check(
        "once Redis is back, the registration's mail goes out, once",
        arrived and count == 1,
        f"{count} mails to {email}; outbox {outbox(mine)}; worker: {log_tail('worker', 3)}",
        info=f"outbox before {pending}, requeue {swept}",
    )


# --- The run ----------------------------------------------------------------------------


def faults(work: Path, port: int) -> None:
    logs = work / "logs"
    token = secrets.token_urlsafe(24)
    env = production_env(
        work, port, token, database=DB_NAME, redis_url=REDIS_URL, conn_max_age=None
    )
    try:
        sql("SELECT 1")
        redis.Redis.from_url(REDIS_URL, socket_timeout=3).flushdb()
    except (psycopg.Error, redis.RedisError) as error:
        require("PostgreSQL and Redis answer", False, f"{type(error).__name__}: {error}")
    create_database(DB_NAME)
    deploy(env)
    seed_members(env, "rem", REMINDER_COUNT)
    pg_sessions = seed_members(env, "pg", PG_MEMBERS)
    redis_sessions = seed_members(env, "redis", 1)
    done = manage(["shell", "-c", SETUP_EVENTS], env)
    require("the events of the scenarios", done.returncode == 0, tail(done.stderr))
    events = json.loads(done.stdout.strip().splitlines()[-1])

    gunicorn = start_gunicorn(env, logs, port, workers=2)
    start_worker(env, logs, work, concurrency=2)
    health = wait_for_http(Client(port), gunicorn)
    require(
        "gunicorn and the worker with production settings",
        health is not None and health.status == 200,
        log_tail("gunicorn"),
    )
    worker_killed(env, work, events)
    pg_restarted(port, gunicorn, pg_sessions, events)
    redis_stopped(port, work, env, next(iter(redis_sessions.values())), events, token)


def cleanup() -> None:
    restore_services()
    stop_servers()
    try:
        drop_database(DB_NAME)
    except psycopg.Error as error:
        print(f"faults: could not drop database {DB_NAME}: {error}", flush=True)
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=3).flushdb()
    except redis.RedisError as error:
        print(f"faults: could not flush {REDIS_URL}: {error}", flush=True)


def main() -> int:
    print(f"faults: database {DB_NAME}", flush=True)
    return stack.run_checks("faults", faults, cleanup, time_limit=TIME_LIMIT)


if __name__ == "__main__":
    sys.exit(main())
