"""What `make bench` measures, each run in a process whose settings point at
one data set's database (bench/run.py starts them):

* pages: every line of bench/pages.py through the Django test client with
  DEBUG off, after a warm-up, in one process, with a bare logged-in view
  measured in the same process to compare with;
* registrations under concurrent clients: threads, each with its own
  database connection, calling events.services.register for one meeting;
* the attendance import: `manage.py import_attendance FILE` in a process of
  its own on a generated file, rolled back afterwards;
* the survey results computation (surveys.results.compute) at the data
  set's answers.

Times are server time: what the call takes in-process (URL resolution,
middleware, view, queries, templates), without network or WSGI server.
"""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

from .dataset import CONCURRENCY_EVENT_TITLE, ROLE_EMAILS, log, person_name
from .pages import PAGES, CheckIn, Context, label


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-int(share * 100) * len(ordered) // 100))
    return ordered[rank - 1]


def summary(timings_ms: list[float]) -> dict:
    return {
        "n": len(timings_ms),
        "median": statistics.median(timings_ms),
        "p95": percentile(timings_ms, 0.95),
        "max": max(timings_ms),
    }


# --- pages -------------------------------------------------------------------------------


def _request(client, url):
    """(status, response or None, traceback or None); a view's exception is
    re-raised by the test client and kept as text."""
    try:
        response = client.get(url)
    except Exception:  # noqa: BLE001 - reported with the traceback
        return 500, None, traceback.format_exc()
    return response.status_code, response, None


def _time_page(client, url, runs, warmup, before=None, expect="") -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings = []
    for index in range(warmup + runs):
        if before:
            before()
        started = time.perf_counter()
        status, response, error = _request(client, url)
        elapsed = (time.perf_counter() - started) * 1000
        if status != 200:
            detail = error or (response.content[:500].decode(errors="replace") if response else "")
            if response is not None and response.has_header("Location"):
                detail = f"redirected to {response['Location']}"
            return {"status": status, "error": detail}
        if index >= warmup:
            timings.append(elapsed)
    if before:
        before()
    with CaptureQueriesContext(connection) as queries:
        status, response, error = _request(client, url)
    if status == 200 and expect and expect not in response.content.decode(errors="replace"):
        return {"status": "200 without the expected text", "error": f"{expect!r} not in the answer"}
    return {
        "status": status,
        **summary(timings),
        "queries": len(queries.captured_queries),
        # The statements themselves, so that a count that differs between the
        # data sets can be read off the results file.
        "sql": [q["sql"][:400] for q in queries.captured_queries],
        "bytes": len(response.content) if response is not None else 0,
    }


def measure_pages(target: str, runs: int, warmup: int, only: str | None = None) -> dict:
    from django.conf import settings
    from django.test import Client

    from network.models import User

    column = 1 if target == "demo" else 0
    users = {role: User.objects.get(email=emails[column]) for role, emails in ROLE_EMAILS.items()}
    clients = {"anonymous": Client()}
    for role, user in users.items():
        clients[role] = Client()
        clients[role].force_login(user)
    context = Context()
    assert not settings.DEBUG, "the benchmark measures with DEBUG off"

    results = {"load_before": os.getloadavg(), "pages": {}}
    log(f"{target}: measuring the bare view")
    results["bare"] = _time_page(clients["contractor"], "/bench/bare/", runs, warmup)
    started = time.perf_counter()
    for page in PAGES:
        key = label(page)
        if only and only.lower() not in key.lower():
            continue
        try:
            url = page.url.format_map(context)
            expect = page.expect.format_map(context)
            change = CheckIn(context[page.cold], users["secretariat"]) if page.cold else None
        except Exception:  # noqa: BLE001 - a page whose object is missing is reported
            results["pages"][key] = {"status": None, "error": traceback.format_exc()}
            log(f"{target}: {key}: could not resolve its URL")
            continue
        t0 = time.perf_counter()
        row = _time_page(clients[page.role], url, runs, warmup, before=change, expect=expect)
        if change:
            change.restore()
        row["url"] = url
        results["pages"][key] = row
        shown = f"p95 {row['p95']:.1f} ms" if "p95" in row else f"status {row['status']}"
        log(f"{target}: {key}: {shown} ({time.perf_counter() - t0:.0f} s)")
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["context"] = {k: str(v) for k, v in context.items() if not k.endswith("_person")}
    return results


# --- registrations under concurrent clients ------------------------------------------------


def _register_all(event_pk: int, ids: list[int], barrier, sink: dict) -> None:
    """One client: its own database connection, released with the others by
    `barrier`, registering each person in turn; fills `sink`."""
    from django.db import connections

    from events import services
    from events.models import Event, Registration
    from network.models import User

    _client.sink = sink
    try:
        chosen = list(User.objects.filter(pk__in=ids).order_by("pk"))
        meeting = Event.objects.get(pk=event_pk)
        barrier.wait(timeout=120)
        for user in chosen:
            t0 = time.perf_counter()
            try:
                services.register(event=meeting, user=user, mode=Registration.Mode.VENUE)
            except services.RegistrationError as exc:
                sink["refusals"].append(str(exc))
            except Exception:  # noqa: BLE001 - reported
                sink["errors"].append(traceback.format_exc())
            else:
                sink["latencies"].append((time.perf_counter() - t0) * 1000)
    finally:
        connections.close_all()


# The current client's figures (each thread, or the one client of a process).
_client = threading.local()


def _instrument_lock():
    """Wraps events.services._lock_event to time the locked section: from the
    lock to the commit (and the wait for the lock). Returns the undo."""
    from django.db import transaction

    from events import services

    original = getattr(services, "_lock_event", None)
    if original is None:
        return lambda: None

    def timed_lock(event_id):
        t0 = time.perf_counter()
        locked = original(event_id)
        acquired = time.perf_counter()
        sink = getattr(_client, "sink", None)

        def released():
            if sink is not None:
                sink["lock_hold"].append((time.perf_counter() - acquired) * 1000)
                sink["lock_wait"].append((acquired - t0) * 1000)

        transaction.on_commit(released)
        return locked

    services._lock_event = timed_lock
    return lambda: setattr(services, "_lock_event", original)


def _process_client(event_pk, ids, barrier, queue):
    sink = _new_sink()
    try:
        _register_all(event_pk, ids, barrier, sink)
    finally:
        queue.put(sink)


def _new_sink() -> dict:
    return {"latencies": [], "refusals": [], "errors": [], "lock_wait": [], "lock_hold": []}


def measure_concurrency(clients: int, per_client: int, processes: bool = False) -> dict:
    """`clients` threads (or processes), released together, each with its own
    database connection registering `per_client` people for one meeting whose
    seats run out at 80% of them (the rest waitlisted), as a popular meeting
    does. Threads share one interpreter: their latency includes waiting for
    the GIL, as one web process with threads would; processes do not."""
    import multiprocessing

    from django.db import connections

    from core.models import OutboxMessage
    from events.models import Event, Registration
    from network.models import User

    event = Event.objects.get(title=CONCURRENCY_EVENT_TITLE)
    total = clients * per_client
    capacity = total * 4 // 5
    Registration.objects.filter(event=event).delete()
    Event.objects.filter(pk=event.pk).update(venue_capacity=capacity)
    outbox_before = OutboxMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    people = list(
        User.objects.filter(
            memberships__organisation__is_active=True, email__regex=r"^bench-[0-9]+@"
        )
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()[: total + 1]
    )
    if len(people) <= total:
        raise SystemExit(f"only {len(people)} members to register, {total + 1} wanted")
    # One registration first, undone: templates, translations and code are
    # loaded before the clients start (and inherited by forked ones), so that
    # no client pays for them inside its locked section.
    from events import services

    services.register(event=event, user=User.objects.get(pk=people.pop()), mode="venue")
    Registration.objects.filter(event=event).delete()
    shares = [people[i::clients] for i in range(clients)]

    undo = _instrument_lock()
    sinks = []
    try:
        if processes:
            # Forked after closing this process's connections: each child opens its own.
            connections.close_all()
            context = multiprocessing.get_context("fork")
            barrier = context.Barrier(clients + 1)
            queue = context.Queue()
            workers = [
                context.Process(target=_process_client, args=(event.pk, ids, barrier, queue))
                for ids in shares
            ]
        else:
            barrier = threading.Barrier(clients + 1)
            sinks = [_new_sink() for _ids in shares]
            workers = [
                threading.Thread(target=_register_all, args=(event.pk, ids, barrier, sink))
                for ids, sink in zip(shares, sinks, strict=True)
            ]
        for worker in workers:
            worker.start()
        barrier.wait(timeout=180)
        started = time.perf_counter()
        if processes:
            sinks = [queue.get(timeout=600) for _w in workers]
        for worker in workers:
            worker.join()
        wall = time.perf_counter() - started
    finally:
        undo()

    def merged(key):
        return [x for sink in sinks for x in sink[key]]

    latencies, errors = merged("latencies"), merged("errors")
    rows = Registration.objects.filter(event=event)
    confirmed = rows.filter(status=Registration.Status.CONFIRMED).count()
    result = {
        "clients": clients,
        "as": "processes" if processes else "threads",
        "registrations": len(latencies),
        "refused": len(merged("refusals")),
        "errors": errors[:3],
        "error_count": len(errors),
        "seconds": wall,
        "per_minute": len(latencies) / wall * 60 if wall else 0,
        "latency": summary(latencies) if latencies else None,
        "lock_wait": summary(merged("lock_wait")) if merged("lock_wait") else None,
        "lock_hold": summary(merged("lock_hold")) if merged("lock_hold") else None,
        "capacity": capacity,
        "confirmed": confirmed,
        "waitlisted": rows.filter(status=Registration.Status.WAITLISTED).count(),
        "oversold": max(0, confirmed - capacity),
    }
    # Leave the data set as built.
    rows.delete()
    Event.objects.filter(pk=event.pk).update(venue_capacity=None)
    OutboxMessage.objects.filter(pk__gt=outbox_before).delete()
    return result


# --- the attendance import -----------------------------------------------------------------

HEADER = ["イベントID", "メールアドレス", "氏名", "ふりがな", "所属", "組織種別", "市町村コード",
          "参加方法", "懇親会", "出席"]  # fmt: skip


def write_import_file(path: Path, rows: int) -> int:
    """An attendance list of `rows` rows over held meetings, 100 a meeting:
    half people already in the network (their registration updated), half
    new contacts; organisations that exist. Returns the file's size."""
    import random

    from events.models import Event
    from network.models import Organisation, User

    rng = random.Random(rows)
    events = list(
        Event.objects.filter(status=Event.Status.FINISHED)
        .order_by("-starts_at")
        .values_list("pk", "format")[: -(-rows // 100)]
    )
    orgs = list(
        Organisation.objects.filter(municipality__isnull=False)
        .select_related("municipality")
        .order_by("pk")
    )
    labels = dict(Organisation.Kind.choices)
    people = list(
        User.objects.filter(email__regex=r"^bench-[0-9]+@")
        .order_by("pk")
        .values_list("email", "full_name", "full_name_kana")
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    written = 0
    for index, (event_id, fmt) in enumerate(events):
        batch = min(100, rows - written)
        known = rng.sample(people, batch // 2)
        for k in range(batch):
            if k < len(known):
                email, name, kana = known[k]
            else:
                n = index * 100 + k
                email = f"import-{n:06d}@example.org"
                name, kana = person_name(n)
            org = rng.choice(orgs)
            writer.writerow(
                [
                    event_id,
                    email,
                    name,
                    kana,
                    org.name,
                    labels[org.kind],
                    org.municipality.code,
                    "オンライン" if fmt == Event.Format.ONLINE else "会場",
                    "",
                    "○" if rng.random() < 0.8 else "",
                ]
            )
        written += batch
    data = out.getvalue().encode("utf-8-sig")
    path.write_bytes(data)
    return len(data)


# The navi's import (import_directory): the native layout, one window a row.
DIRECTORY_HEADER = ["municipality_code", "id", "provider", "name", "description", "categories",
                    "address", "latitude", "longitude", "phones", "days", "opens", "closes"]  # fmt: skip


def write_directory_file(path: Path, rows: int) -> int:
    """A directory file of `rows` new windows over Hokkaido's municipalities
    (each a provider of ten windows, one or two 困りごと, weekday hours, a
    phone). Returns the file's size."""
    import random

    from directory.models import Category
    from network.models import Municipality

    rng = random.Random(rows)
    towns = list(Municipality.objects.order_by("code").values_list("code", "name"))
    keys = list(Category.objects.filter(parent__isnull=True).values_list("key", flat=True))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(DIRECTORY_HEADER)
    for n in range(rows):
        code, town = rng.choice(towns)
        writer.writerow(
            [
                code,
                f"import-{n:06d}",
                f"取り込み法人{n // 10:05d}",
                f"{town}相談窓口{n:06d}",
                "暮らしと仕事の相談を受けます。",
                "|".join(dict.fromkeys(rng.sample(keys, rng.choice((1, 2))))),
                f"{town}取り込み町{n % 30 + 1}丁目",
                f"{42 + rng.random() * 3:.5f}",
                f"{141 + rng.random() * 4:.5f}",
                f"0120-{n // 10_000:03d}-{n % 10_000:04d}",
                "月火水木金",
                "9:00",
                "17:00",
            ]
        )
    data = out.getvalue().encode("utf-8")
    path.write_bytes(data)
    return len(data)


IMPORT_FILES = {"import_attendance": write_import_file, "import_directory": write_directory_file}


def import_probe(path: str, command: str = "import_attendance") -> dict:
    """Runs in a process of its own: the import `command` FILE as the command
    line does, inside a transaction rolled back afterwards so that the data set
    stays as built (the commit itself is therefore not timed). Peak memory is
    the process's peak resident set (getrusage), and its growth over the
    process before the import."""
    from django.core.management import call_command
    from django.db import transaction

    class Rollback(Exception):
        pass

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out, err = io.StringIO(), io.StringIO()
    result = {"refused": None}
    started = time.perf_counter()
    try:
        with transaction.atomic():
            try:
                call_command(command, path, stdout=out, stderr=err)
            except BaseException as exc:  # noqa: BLE001 - a refusal is a result
                if isinstance(exc, KeyboardInterrupt):
                    raise
                result["refused"] = f"{type(exc).__name__}: {exc}"
            result["seconds"] = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result.update(
        peak_rss_mb=peak / 1024,
        rss_before_mb=before / 1024,
        stdout=out.getvalue()[-500:],
        stderr=err.getvalue()[-1500:],
    )
    return result


def measure_import(rows: int, artifacts: Path, command: str = "import_attendance") -> dict:
    """The import `command` at `rows` rows; when the command refuses that
    many (its limits), also at the largest file it accepts."""
    try:
        from core import importing as limits

        max_rows, max_bytes = limits.MAX_ROWS, limits.MAX_BYTES
    except (ImportError, AttributeError):
        max_rows, max_bytes = 50_000, 10 * 1024 * 1024

    def run(n: int) -> dict:
        path = artifacts / f"bench-import-{n}.csv"
        size = IMPORT_FILES[command](path, n)
        log(f"import: {n:,} rows ({size / 1e6:.1f} MB), running {command}")
        done = subprocess.run(
            [
                sys.executable,
                str(Path(__file__).with_name("run.py")),
                "--phase",
                "import-probe",
                "--file",
                str(path),
                "--command",
                command,
            ],  # fmt: skip
            env=os.environ.copy(),
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        path.unlink(missing_ok=True)
        result.update(rows=n, bytes=size)
        if not result["refused"]:
            result["rows_per_second"] = n / result["seconds"]
        return result

    first = run(rows)
    results = {
        "command": command,
        "asked": first,
        "limits": {"rows": max_rows, "bytes": max_bytes},
    }
    if first["refused"]:
        per_row = first["bytes"] / rows
        fits = min(max_rows, int(max_bytes * 0.95 / per_row))
        results["largest_accepted"] = run(fits)
    return results


# --- the survey results computation ------------------------------------------------------


def measure_compute(runs: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from network.models import User
    from surveys import results as survey_results
    from surveys.models import Answer, Survey

    from .pages import _big_survey

    survey = Survey.objects.get(pk=_big_survey())
    out = {
        "survey": survey.pk,
        "responses": survey.responses.filter(submitted_at__isnull=False).count(),
        "survey_answers": Answer.objects.filter(response__survey=survey).count(),
        "answers": Answer.objects.count(),
    }
    for role in ("secretariat", "committee"):
        user = User.objects.get(email=ROLE_EMAILS[role][0])
        survey_results.compute(survey, user)  # warm-up
        timings = []
        for _i in range(runs):
            started = time.perf_counter()
            survey_results.compute(survey, user)
            timings.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as queries:
            survey_results.compute(survey, user)
        out[role] = {**summary(timings), "queries": len(queries.captured_queries)}
    return out
