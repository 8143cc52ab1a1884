"""`make load-test`: a bounded load test of the portal as deployed, on loopback.

One throw-away deployment (ops/stack.py: a new PostgreSQL database, migrate,
collectstatic, the demo data, gunicorn and a Celery worker with beat, all with
config.settings.production, Redis database 11, mails as files), then, for
DURATION seconds:

- BROWSERS members (signed in: sessions made as a sign-in makes them) browse:
  the home page, the events list, event pages, their registrations, the board
  (ノート) and its rooms and topics, each page followed by a think time drawn
  from THINK (seconds, uniform);
- REGISTRANTS more members open the registration form of one meeting whose
  venue holds CAPACITY (fewer than them: the waiting list fills), wait until
  all have it, and post it at the same moment; then they browse as the others.

The client is the standard library's asyncio (one connection per request,
as gunicorn's sync workers close each one), in this process. Printed at the
end: requests per second, p50/p95/p99/max per kind and overall, the errors
(an exception, a timeout or an unexpected status: a page not 200, a
registration not the redirect to the meeting), and "oversold": confirmed
registrations beyond the capacity (also checked: every registrant holds
exactly one registration, confirmed or waitlisted). Exit status 1 when there
are errors or oversold seats; the p95 target (300 ms) is reported, never
tuned.

    make load-test                                   # 200 + 50 members, 60 s
    make load-test LOAD_ARGS="--duration 20 --workers 3 --think 1 5"
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import shutil
import sys
import time
import urllib.parse

import psycopg
import redis
from stack import (
    Abort,
    Client,
    Interrupted,
    Response,
    check,
    create_database,
    deploy,
    drop_database,
    failures,
    forms,
    free_port,
    log_tail,
    make_work,
    manage,
    production_env,
    require,
    seed_members,
    sql,
    start_gunicorn,
    start_worker,
    stop_servers,
    tail,
    trap_signals,
    untrap_signals,
    wait_for_http,
)

REDIS_URL = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/11")
DB_NAME = f"tsunagari_load_{os.getpid()}"
P95_TARGET_MS = 300
USER_AGENT = "tsunagari-load-test"

MEETING = """
import datetime, json
from django.utils import timezone
from events.models import Event
now = timezone.localtime()
starts = now + datetime.timedelta(days=30)
meeting = Event.objects.create(
    kind="exchange", fiscal_year=now.year, title="load-test: 情報交換会", starts_at=starts,
    ends_at=starts + datetime.timedelta(hours=2), format="venue", venue_name="load-test",
    venue_capacity=int(__import__("os").environ["LOAD_CAPACITY"]), audience="members",
    status="published", published_at=now)
print(meeting.pk)
"""


# --- The client -------------------------------------------------------------------------


class Member:
    """One signed-in member: cookies kept here (they are Secure: a browser on
    plain HTTP would not send them back), requests as the TLS proxy forwards."""

    def __init__(self, port: int, session: str):
        self.port = port
        self.cookies = {"sessionid": session}

    async def request(self, method: str, path: str, form: list | None = None) -> Response:
        host = f"127.0.0.1:{self.port}"
        headers = {
            "Host": host,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "203.0.113.10",
            "User-Agent": USER_AGENT,
            "Connection": "close",
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
        }
        body = b""
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"https://{host}"
            headers["Referer"] = f"https://{host}{path}"
        headers["Content-Length"] = str(len(body))
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()
        )
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(head.encode("latin-1") + b"\r\n" + body)
            await writer.drain()
            raw = await reader.read()  # to the end: Connection: close
        finally:
            writer.close()
        top, _, content = raw.partition(b"\r\n\r\n")
        lines = top.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        response = Response(status, None, content.decode("utf-8", "replace"))
        response.location = ""
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "set-cookie":
                cookie, _, _ = value.strip().partition(";")
                key, _, val = cookie.partition("=")
                if val and "max-age=0" not in value.lower():
                    self.cookies[key] = val
                else:
                    self.cookies.pop(key, None)
            elif name.lower() == "location":
                response.location = urllib.parse.urlsplit(value.strip()).path
        return response


class Stats:
    def __init__(self):
        self.samples: list[tuple[str, float, float, str]] = []  # kind, started, ms, path
        self.errors: list[tuple[str, str]] = []

    async def timed(self, kind: str, call, expect, path: str = "") -> Response | None:
        started = time.monotonic()
        try:
            response = await asyncio.wait_for(call, timeout=30)
        except (TimeoutError, OSError, ValueError, IndexError) as error:
            self.samples.append((kind, started, (time.monotonic() - started) * 1000, path or kind))
            self.errors.append((kind, type(error).__name__))
            return None
        self.samples.append((kind, started, (time.monotonic() - started) * 1000, path or kind))
        seen = expect(response)
        if seen:
            self.errors.append((kind, seen))
        return response


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


# --- The load ---------------------------------------------------------------------------


async def browse(member: Member, paths: list[str], stats: Stats, until: float, think) -> None:
    while time.monotonic() < until:
        path = random.choice(paths)
        await stats.timed(
            "browse",
            member.request("GET", path),
            lambda r, p=path: "" if r.status == 200 else f"{r.status} {p}",
            path,
        )
        await asyncio.sleep(max(0.0, min(random.uniform(*think), until - time.monotonic())))


async def register_then_browse(
    member: Member,
    meeting: int,
    ready: list,
    go: asyncio.Event,
    total: int,
    paths: list[str],
    stats: Stats,
    until: float,
    think,
    outcome: dict,
) -> None:
    url = f"/events/{meeting}/register/"
    page = await stats.timed(
        "register form", member.request("GET", url), lambda r: "" if r.status == 200 else r.status
    )
    form = (
        [f for f in forms(page) if any(i.get("name") == "mode" for i in f.inputs)] if page else []
    )
    ready.append(member)
    if len(ready) == total:
        go.set()
    await go.wait()
    if form:
        sent = await stats.timed(
            "register post",
            member.request("POST", url, form[0].data()),
            lambda r: "" if r.status == 302 and r.location == f"/events/{meeting}/" else r.status,
        )
        outcome[member.cookies["sessionid"]] = sent.status if sent else None
    else:
        stats.errors.append(("register form", "no form"))
    await browse(member, paths, stats, until, think)


async def load(args, port: int, browsers: dict, registrants: dict, meeting: int, paths) -> dict:
    stats = Stats()
    started = time.monotonic()
    until = started + args.duration
    think = tuple(args.think)
    tasks = []
    for session in browsers.values():

        async def one(session=session):
            await asyncio.sleep(random.uniform(0, think[1]))  # not all at the first second
            await browse(Member(port, session), paths, stats, until, think)

        tasks.append(asyncio.create_task(one()))
    ready: list = []
    go = asyncio.Event()
    outcome: dict = {}

    async def burst():
        await asyncio.sleep(args.burst_at)
        await asyncio.gather(
            *(
                register_then_browse(
                    Member(port, s),
                    meeting,
                    ready,
                    go,
                    len(registrants),
                    paths,
                    stats,
                    until,
                    think,
                    outcome,
                )
                for s in registrants.values()
            )
        )

    tasks.append(asyncio.create_task(burst()))
    await asyncio.gather(*tasks)
    return {"stats": stats, "wall": time.monotonic() - started, "outcome": outcome}


# --- Where the CPU went -----------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def cpu_snapshot(sessions: dict[int, str]) -> dict[str, float]:
    """CPU seconds so far: the machine's busy time, and per part of the stack
    (processes by session: gunicorn's, the worker's; this client; every
    PostgreSQL process). What is left of the busy time is everything else."""
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    used = {"busy": (sum(fields[:3]) + sum(fields[5:8])) / TICK}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                raw = handle.read()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2 :].split()
        session, seconds = int(rest[3]), (int(rest[11]) + int(rest[12])) / TICK
        if int(entry) == os.getpid():
            part = "client"
        elif session in sessions:
            part = sessions[session]
        elif comm.startswith("postgres"):
            part = "postgres"
        else:
            continue
        used[part] = used.get(part, 0) + seconds
    return used


def cpu_line(before: dict, after: dict, wall: float) -> str:
    spent = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    ours = sum(v for k, v in spent.items() if k != "busy")
    parts = ", ".join(
        f"{k} {spent.get(k, 0):.0f}" for k in ("gunicorn", "worker", "postgres", "client")
    )
    return (
        f"CPU over the run (core-seconds of {os.cpu_count() * wall:.0f} available):"
        f" busy {spent['busy']:.0f} — {parts}; other processes {spent['busy'] - ours:.0f}"
        " (PostgreSQL counts all its databases)"
    )


# --- The run ----------------------------------------------------------------------------


def browse_paths(port: int, session: str) -> list[str]:
    """Pages a member browses, each seen to answer 200 once (warming up too)."""
    events = sql(
        "SELECT id FROM events_event WHERE status = 'published' ORDER BY starts_at DESC LIMIT 8",
        DB_NAME,
    )
    rooms = sql("SELECT id FROM note_room ORDER BY id LIMIT 6", DB_NAME)
    topics = sql("SELECT id FROM note_topic ORDER BY id DESC LIMIT 10", DB_NAME)
    candidates = ["/", "/events/", "/events/mine/", "/note/"]
    candidates += [f"/events/{pk}/" for (pk,) in events]
    candidates += [f"/note/rooms/{pk}/" for (pk,) in rooms]
    candidates += [f"/note/topics/{pk}/" for (pk,) in topics]
    client = Client(port)
    client.cookies["sessionid"] = session
    return [path for path in candidates if client.get(path).status == 200]


def report(args, result: dict, capacity: int, meeting: int, registrants: int, load_before) -> int:
    stats: Stats = result["stats"]
    wall = result["wall"]
    every = [ms for _, _, ms, _ in stats.samples]
    print(f"\nload-test: {len(stats.samples)} requests in {wall:.1f} s", flush=True)
    print(f"{'kind':<16}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for kind in ("browse", "register form", "register post"):
        values = [ms for k, _, ms, _ in stats.samples if k == kind]
        print(
            f"{kind:<16}{len(values):>7}{percentile(values, 50):>9.0f}{percentile(values, 95):>9.0f}"
            f"{percentile(values, 99):>9.0f}{max(values, default=0):>9.0f}"
        )
    p50, p95 = percentile(every, 50), percentile(every, 95)
    print(
        f"{'all':<16}{len(every):>7}{p50:>9.0f}{p95:>9.0f}{percentile(every, 99):>9.0f}"
        f"{max(every, default=0):>9.0f}"
    )
    by_path: dict[str, list[float]] = {}
    for _, _, ms, path in stats.samples:
        by_path.setdefault(path, []).append(ms)
    print(
        "per page (n p50/p95 ms): "
        + "  ".join(
            f"{p} {len(v)} {percentile(v, 50):.0f}/{percentile(v, 95):.0f}"
            for p, v in sorted(by_path.items())
        )
    )
    # Where the time went: each 5 seconds of the run, by when requests started.
    start = min((t for _, t, _, _ in stats.samples), default=0)
    buckets: dict[int, list[float]] = {}
    for _, t, ms, _ in stats.samples:
        buckets.setdefault(int((t - start) // 5), []).append(ms)
    print(
        "per 5 s (n p50/p95 ms): "
        + "  ".join(
            f"{5 * b}s:{len(v)} {percentile(v, 50):.0f}/{percentile(v, 95):.0f}"
            for b, v in sorted(buckets.items())
        )
    )
    rows = dict(
        sql(
            f"SELECT status, count(*) FROM events_registration WHERE event_id = {meeting}"
            " GROUP BY status",
            DB_NAME,
        )
    )
    per_member = sql(
        f"SELECT count(*) FROM events_registration WHERE event_id = {meeting}"
        " AND status IN ('confirmed', 'waitlisted') GROUP BY user_id HAVING count(*) > 1",
        DB_NAME,
    )
    confirmed = rows.get("confirmed", 0)
    oversold = max(confirmed - capacity, 0)
    kinds: dict[str, int] = {}
    for kind, seen in stats.errors:
        kinds[f"{kind}: {seen}"] = kinds.get(f"{kind}: {seen}", 0) + 1
    print(f"requests/s {len(every) / wall:.1f}; p50 {p50:.0f} ms; p95 {p95:.0f} ms")
    print(f"errors {len(stats.errors)} {kinds if kinds else ''}")
    print(
        f"meeting {meeting}: capacity {capacity}, {registrants} registering at once →"
        f" confirmed {confirmed}, waitlisted {rows.get('waitlisted', 0)}; oversold {oversold}"
    )
    load_after = os.getloadavg()
    print(
        f"machine: nproc {os.cpu_count()}, load average before {load_before[0]:.2f}"
        f" {load_before[1]:.2f} {load_before[2]:.2f}, after {load_after[0]:.2f}"
        f" {load_after[1]:.2f} {load_after[2]:.2f}; gunicorn --workers={args.workers},"
        f" think {args.think[0]}–{args.think[1]} s",
        flush=True,
    )
    check("no errors", not stats.errors, f"{len(stats.errors)}: {kinds}")
    check("not oversold", oversold == 0, f"{confirmed} confirmed for {capacity} seats")
    check(
        f"every one of the {registrants} registrants holds exactly one registration",
        confirmed + rows.get("waitlisted", 0) == registrants and not per_member,
        f"{rows}, {len(per_member)} members with more than one",
    )
    met = p95 <= P95_TARGET_MS
    print(
        f"p95 {p95:.0f} ms {'meets' if met else 'MISSES'} the target of {P95_TARGET_MS} ms",
        flush=True,
    )
    return 0 if not failures else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds (60)")
    parser.add_argument("--browsers", type=int, default=200)
    parser.add_argument("--registrants", type=int, default=50)
    parser.add_argument("--capacity", type=int, default=30, help="the meeting's seats (30)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (3)")
    parser.add_argument("--think", type=float, nargs=2, default=[1.0, 5.0], metavar=("MIN", "MAX"))
    parser.add_argument("--burst-at", type=float, default=10, help="seconds into the run (10)")
    args = parser.parse_args()
    if args.capacity >= args.registrants:
        parser.error("the capacity must be below the registrants (the waiting list is tested)")

    trap_signals(int(args.duration) + 300)
    work = make_work("tsunagari-load-")
    port = free_port()
    print(f"load-test: portal on 127.0.0.1:{port}, database {DB_NAME}, work folder {work}")
    status = 1
    try:
        env = production_env(
            work,
            port,
            secrets.token_urlsafe(24),
            database=DB_NAME,
            redis_url=REDIS_URL,
            conn_max_age=None,
        )
        redis.Redis.from_url(REDIS_URL, socket_timeout=3).flushdb()
        create_database(DB_NAME)
        deploy(env)
        browsers = seed_members(env, "browse", args.browsers)
        registrants = seed_members(env, "reg", args.registrants)
        done = manage(["shell", "-c", MEETING], {**env, "LOAD_CAPACITY": str(args.capacity)})
        require("the meeting", done.returncode == 0, tail(done.stderr))
        meeting = int(done.stdout.strip().splitlines()[-1])
        gunicorn = start_gunicorn(env, work / "logs", port, workers=args.workers)
        worker = start_worker(env, work / "logs", work)
        health = wait_for_http(Client(port), gunicorn)
        require("gunicorn serves the production settings", health is not None, log_tail("gunicorn"))
        paths = browse_paths(port, next(iter(browsers.values())))
        require("pages to browse", len(paths) >= 4, f"{paths}")
        print(f"load-test: browsing {len(paths)} pages: {' '.join(paths)}", flush=True)
        load_before = os.getloadavg()
        sessions = {gunicorn.pid: "gunicorn", worker.pid: "worker"}
        cpu_before = cpu_snapshot(sessions)
        result = asyncio.run(load(args, port, browsers, registrants, meeting, paths))
        print(cpu_line(cpu_before, cpu_snapshot(sessions), result["wall"]), flush=True)
        status = report(args, result, args.capacity, meeting, args.registrants, load_before)
    except Abort as error:
        print(f"load-test: stopped after a failed check: {error}", flush=True)
    except Interrupted as why:
        check("interrupted", False, str(why))
    except (psycopg.Error, redis.RedisError) as error:
        check("PostgreSQL and Redis answer", False, f"{type(error).__name__}: {error}")
    finally:
        untrap_signals()
        stop_servers()
        try:
            drop_database(DB_NAME)
        except psycopg.Error as error:
            print(f"load-test: could not drop database {DB_NAME}: {error}", flush=True)
        try:
            redis.Redis.from_url(REDIS_URL, socket_timeout=3).flushdb()
        except redis.RedisError:
            pass
    if failures:
        print(f"load-test: FAILED: {'; '.join(failures)}. Logs kept in {work}", flush=True)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
