"""`make bench`: the committee dashboard at national scale (DESIGN §6, issue 5).

    .venv/bin/python bench/run.py                 # SQLite: test-artifacts/bench.sqlite3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tsunagari_bench .venv/bin/python bench/run.py
    options: --rebuild (build the data sets again), --runs N (default 30), --warmup N
    (default 5), --recommended-indexes (add the indexes the models lack, see below)

What it does, each step in a process of its own (so each has its own database
settings and a cold cache):

1. builds the national data set in a separate database unless it is already
   there: 1,800 organisations, 20,000 people, 3,000 events over six 年度
   (FY2020–FY2025, FY2025 the busiest), 300,000 registrations, the
   commissions of every 年度 and an annual survey for FY2024 and FY2025 —
   bulk inserts (COPY on PostgreSQL, executemany on SQLite), a minute or two;
2. builds the demo data set (migrate + seed_demo) in a second database
   (test-artifacts/bench-demo.sqlite3, or <name>_demo on PostgreSQL);
3. measures, with the Django test client logged in as a committee member, in
   one process per data set: a bare logged-in view (bench/urls.py), the
   dashboard page and participation.json/.csv of the busiest 年度 (FY2021 on
   the demo data) — median and p95 of --runs requests after --warmup — both
   warm (the participation numbers cached under the data version: the usual
   case) and cold (the cache cleared before every request: the first view
   after a change);
4. prints one table: per page and data set the median and p95 in ms, the
   ratio to the bare view and the national ÷ demo ratio, and the queries per
   request.

Server time = the time Client.get takes in-process: URL resolution, the
middleware (session, auth, CSRF…), the view with its queries and the template
rendering — everything but the network and the WSGI server.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"

# The national data set.
ORGANISATIONS = 1_800
USERS = 20_000
EVENTS = 3_000
REGISTRATIONS = 300_000
YEARS = [2020, 2021, 2022, 2023, 2024, 2025]
# Share of the events per 年度 (FY2025 the busiest).
YEAR_WEIGHTS = [0.10, 0.12, 0.15, 0.18, 0.20, 0.25]
BUSY_YEAR = 2025
SEED = 20211015
COMMITTEE_EMAIL = "bench-committee@example.org"


# --- environment per data set ---------------------------------------------------------


def database_env(target: str) -> dict[str, str]:
    """The environment that points Django at the data set's database."""
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    url = os.environ.get("DATABASE_URL", "")
    if url:
        if target == "demo":
            base, _slash, name = url.rpartition("/")
            name, _q, query = name.partition("?")
            env["DATABASE_URL"] = f"{base}/{name}_demo" + (f"?{query}" if query else "")
    else:
        ARTIFACTS.mkdir(exist_ok=True)
        name = "bench.sqlite3" if target == "national" else "bench-demo.sqlite3"
        env["SQLITE_PATH"] = str(ARTIFACTS / name)
    return env


def backend_label() -> str:
    return "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"


def ensure_postgres_database(url: str) -> None:
    """CREATE DATABASE when it does not exist (PostgreSQL only)."""
    import psycopg

    base, _slash, name = url.rpartition("/")
    name = name.partition("?")[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- building ------------------------------------------------------------------------------


def insert_rows(model, columns: list[str], rows: list[tuple]) -> None:
    """Raw bulk insert: COPY on PostgreSQL, executemany on SQLite."""
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            sql = f"INSERT INTO {table} ({cols}) VALUES ({', '.join(['%s'] * len(columns))})"
            for start in range(0, len(rows), 20_000):
                cursor.executemany(sql, rows[start : start + 20_000])


def _dt(value: datetime.datetime):
    from django.db import connection

    return connection.ops.adapt_datetimefield_value(value)


def build_national() -> None:
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from events.models import Event, Registration
    from network.models import (
        Commission,
        Membership,
        Municipality,
        Organisation,
        Program,
        Region,
        User,
    )

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    if Registration.objects.count() >= REGISTRATIONS:
        log(f"national: already built ({Registration.objects.count():,} registrations)")
        return
    if Registration.objects.exists() or Organisation.objects.exists():
        raise SystemExit("the national database holds other data: run with --rebuild")
    rng = random.Random(SEED)
    K = Organisation.Kind
    regions = list(Region.objects.order_by("order"))
    municipalities = list(Municipality.objects.order_by("code"))
    # Bigger places have more organisations: 市 weigh more than 町村.
    weights = [8 if m.kind == "市" else 1 for m in municipalities]

    with transaction.atomic():
        orgs = []
        for m in municipalities:
            orgs.append(
                Organisation(
                    name=f"{m.name} 福祉課",
                    kana="ふくしか",
                    kind=K.MUNICIPALITY,
                    municipality=m,
                    region_id=m.region_id,
                )
            )
        for r in regions:
            orgs.append(
                Organisation(
                    name=f"{r.name} 社会福祉課",
                    kana="しゃかいふくしか",
                    kind=K.MUNICIPALITY,
                    region=r,
                )
            )
        plan = [(K.CONTRACTOR, 900), (K.SUPPORT, 480), (K.GOVERNMENT, 20)]
        plan.append((K.OTHER, ORGANISATIONS - len(orgs) - sum(n for _k, n in plan)))
        for kind, count in plan:
            for i in range(count):
                m = rng.choices(municipalities, weights)[0]
                orgs.append(
                    Organisation(
                        name=f"{kind}-{i:04d} {m.name}",
                        kana=f"べんち{i:04d}",
                        kind=kind,
                        municipality=m,
                        region_id=m.region_id,
                    )
                )
        Organisation.objects.bulk_create(orgs, batch_size=1000)
        orgs = list(Organisation.objects.order_by("pk"))
        log(f"national: {len(orgs):,} organisations")

        jiritsu = Program.objects.get(key="jiritsu_sodan")
        municipal = [o for o in orgs if o.kind == K.MUNICIPALITY]
        contractors = [o for o in orgs if o.kind == K.CONTRACTOR]
        commissions = []
        for fy in YEARS:
            for c in contractors:
                for commissioner in rng.sample(municipal, rng.choice([1, 1, 2])):
                    commissions.append(
                        Commission(
                            contractor=c, commissioner=commissioner, program=jiritsu, fiscal_year=fy
                        )
                    )
        Commission.objects.bulk_create(commissions, batch_size=2000, ignore_conflicts=True)

        now = timezone.now()
        unusable = "!" + secrets.token_hex(20)
        people = [
            User(
                email=f"bench-{n:05d}@example.org",
                full_name=f"ベンチ 太郎{n}",
                full_name_kana=f"べんち たろう{n}",
                password=unusable,
                date_joined=now,
            )
            for n in range(USERS - 1)
        ]
        User.objects.bulk_create(people, batch_size=2000)
        committee = User.objects.create_user(
            email=COMMITTEE_EMAIL, password="bench", full_name="ベンチ 委員"
        )
        committee.groups.add(Group.objects.get(name="committee"))
        user_ids = list(
            User.objects.exclude(pk=committee.pk).order_by("pk").values_list("pk", flat=True)
        )
        # Organisation of each person (5% with none); people cluster by 振興局.
        org_of = {}
        memberships = []
        for uid in user_ids:
            if rng.random() < 0.05:
                org_of[uid] = None
                continue
            org = rng.choice(orgs)
            org_of[uid] = org
            memberships.append(Membership(user_id=uid, organisation=org, staff_role="sodan"))
        Membership.objects.bulk_create(memberships, batch_size=2000)
        log(f"national: {len(user_ids) + 1:,} people, {len(commissions):,} commissions")

        events = []
        counts = [round(EVENTS * w) for w in YEAR_WEIGHTS]
        counts[-1] += EVENTS - sum(counts)
        kinds = [Event.Kind.EXCHANGE] * 8 + [Event.Kind.STUDY, Event.Kind.SYMPOSIUM]
        for fy, count in zip(YEARS, counts, strict=True):
            start = timezone.make_aware(datetime.datetime(fy, 4, 5, 13, 30))
            for i in range(count):
                day = start + datetime.timedelta(
                    days=int(355 * i / count), minutes=rng.randrange(0, 240)
                )
                status = Event.Status.CANCELLED if rng.random() < 0.04 else Event.Status.FINISHED
                events.append(
                    Event(
                        kind=rng.choice(kinds),
                        number=i + 1,
                        fiscal_year=fy,
                        title=f"{fy}年度 第{i + 1}回 情報交換会（ベンチ）",
                        starts_at=day,
                        ends_at=day + datetime.timedelta(hours=3),
                        status=status,
                        format=Event.Format.ONLINE,
                    )
                )
        Event.objects.bulk_create(events, batch_size=1000)
        events = list(Event.objects.order_by("pk").values_list("pk", "starts_at"))
        log(f"national: {len(events):,} events")

        columns = [
            "event_id",
            "user_id",
            "organisation_id",
            "organisation_name",
            "mode",
            "social",
            "question",
            "status",
            "attended",
            "attended_at",
            "confirmation_token_hash",
            "created_at",
            "updated_at",
            "cancelled_at",
        ]
        per_event = REGISTRATIONS // len(events)
        rows = []
        for index, (event_id, starts_at) in enumerate(events):
            n = per_event + (1 if index < REGISTRATIONS - per_event * len(events) else 0)
            checkin = rng.random() < 0.6
            created = _dt(starts_at - datetime.timedelta(days=10))
            attended_at = _dt(starts_at)
            for uid in rng.sample(user_ids, n):
                roll = rng.random()
                status = (
                    "confirmed" if roll < 0.88 else ("cancelled" if roll < 0.95 else "waitlisted")
                )
                attended = checkin and status == "confirmed" and rng.random() < 0.9
                org = org_of[uid]
                rows.append(
                    (
                        event_id,
                        uid,
                        org.pk if org else None,
                        "" if org else "個人",
                        "online",
                        "none",
                        "",
                        status,
                        attended,
                        attended_at if attended else None,
                        "",
                        created,
                        created,
                        created if status == "cancelled" else None,
                    )
                )
        insert_rows(Registration, columns, rows)
        log(f"national: {len(rows):,} registrations")
        build_surveys(rng, orgs, committee)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    log(f"national: built in {time.perf_counter() - started:.0f} s")


def build_surveys(rng, orgs, by) -> None:
    """The annual survey of FY2024 and FY2025 (organisation unit, the catalog's
    questions), so that the dashboard's survey panel and its year over year have
    something to count: invitations to the 自治体 and 団体, ~60% answering."""
    from django.utils import timezone

    from network.models import Organisation
    from surveys import catalog
    from surveys.models import Answer, Invitation, Question, Response, Survey

    K = Organisation.Kind
    invited = [o for o in orgs if o.kind in (K.MUNICIPALITY, K.CONTRACTOR, K.SUPPORT)]
    for fy in (BUSY_YEAR - 1, BUSY_YEAR):
        opens = timezone.make_aware(datetime.datetime(fy + 1, 1, 10, 9))
        survey = Survey.objects.create(
            title=f"{fy}年度 効果検証アンケート（ベンチ）",
            kind=Survey.Kind.ANNUAL,
            fiscal_year=fy,
            audience=Survey.Audience.CHOSEN,
            respondent_unit=Survey.Unit.ORGANISATION,
            opens_at=opens,
            closes_at=opens + datetime.timedelta(days=20),
            status=Survey.Status.PUBLISHED,
            created_by=by,
        )
        questions = {}
        for order, spec in enumerate(catalog.TEMPLATES["annual"]["questions"], 1):
            fields = {k: v for k, v in spec.items() if k != "show_if"}
            questions[spec["key"]] = Question.objects.create(survey=survey, order=order, **fields)
        invitations = [
            Invitation(
                survey=survey,
                organisation=o,
                email=f"org{o.pk}@example.org",
                token_hash=secrets.token_hex(32),
                sent_at=opens,
            )
            for o in invited
        ]
        Invitation.objects.bulk_create(invitations, batch_size=1000)
        answering = [i for i in Invitation.objects.filter(survey=survey) if rng.random() < 0.6]
        Invitation.objects.filter(pk__in=[i.pk for i in answering]).update(responded_at=opens)
        kinds = {o.pk: (o.kind, o.region_id) for o in invited}
        responses = [
            Response(
                survey=survey,
                invitation=i,
                organisation_id=i.organisation_id,
                organisation_kind=kinds[i.organisation_id][0],
                region_id=kinds[i.organisation_id][1],
                participated=rng.random() < 0.8,
                submitted_at=opens,
            )
            for i in answering
        ]
        Response.objects.bulk_create(responses, batch_size=1000)
        answers = []
        for r in Response.objects.filter(survey=survey):
            came = catalog.ATTENDED if r.participated else catalog.NOT_ATTENDED
            answers.append(Answer(response=r, question=questions["attended"], choice=came))
            if r.participated:
                answers.append(
                    Answer(
                        response=r,
                        question=questions["useful"],
                        number=rng.choice([5, 5, 4, 4, 4, 3, 2]),
                    )
                )
            answers.append(
                Answer(
                    response=r,
                    question=questions["continue"],
                    choice=rng.choice([catalog.YES] * 8 + [catalog.NO, catalog.UNSURE]),
                )
            )
            for choice in rng.sample(catalog.FORMATS, rng.randint(0, 2)):
                answers.append(Answer(response=r, question=questions["format"], choice=choice))
        Answer.objects.bulk_create(answers, batch_size=2000)
        log(f"national: annual survey {fy}: {len(responses):,} responses, {len(answers):,} answers")


def build_demo() -> None:
    from django.core.management import call_command
    from django.test import override_settings

    from events.models import Registration

    call_command("migrate", verbosity=0, interactive=False)
    if Registration.objects.filter(event__fiscal_year=2021).count() >= 247:
        log("demo: already built")
        return
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=open(os.devnull, "w"))
    log("demo: built (seed_demo)")


# --- indexes ---------------------------------------------------------------------------------

# Indexes the dashboard needs that the models do not have yet (reported to the
# lead for events.Registration.Meta.indexes). With --recommended-indexes the
# benchmark adds them to its own databases (named bench_*) before measuring;
# without, it drops its own, so that the numbers are those of the code as it is.
RECOMMENDED_INDEXES = [
    ("events_registration", "bench_reg_event_updated", ("event_id", "updated_at")),
]


def prepare_indexes(add: bool) -> list[str]:
    """Returns one status line per recommended index."""
    from django.db import connection

    lines = []
    with connection.cursor() as cursor:
        for table, name, columns in RECOMMENDED_INDEXES:
            constraints = connection.introspection.get_constraints(cursor, table)
            model_index = next(
                (
                    key
                    for key, c in constraints.items()
                    if c["index"] and tuple(c["columns"]) == columns and key != name
                ),
                None,
            )
            label = f"{table}({', '.join(columns)})"
            if model_index:
                lines.append(f"{label}: in the schema ({model_index})")
                cursor.execute(f"DROP INDEX IF EXISTS {name}")
            elif add:
                cursor.execute(
                    f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({', '.join(columns)})"
                )
                lines.append(f"{label}: added by --recommended-indexes ({name})")
            else:
                cursor.execute(f"DROP INDEX IF EXISTS {name}")
                lines.append(f"{label}: MISSING (run with --recommended-indexes to add it)")
        # What autovacuum does in a running system (PostgreSQL's index-only
        # scans need the visibility map).
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return lines


# --- measuring -------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-int(share * 100) * len(ordered) // 100))
    return ordered[rank - 1]


def measure(target: str, runs: int, warmup: int, add_indexes: bool) -> dict:
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from network.models import User

    indexes = prepare_indexes(add_indexes)
    load = os.getloadavg()
    if target == "national":
        user = User.objects.get(email=COMMITTEE_EMAIL)
        fy = BUSY_YEAR
    else:
        user = User.objects.get(email="committee@example.org")
        fy = 2021
    client = Client()
    client.force_login(user)
    pages = [
        ("bare", "/bench/bare/", False),
        ("dashboard", f"/dashboard/?fy={fy}", False),
        ("dashboard (cold)", f"/dashboard/?fy={fy}", True),
        ("participation.json", f"/dashboard/participation.json?fy={fy}", False),
        ("participation.json (cold)", f"/dashboard/participation.json?fy={fy}", True),
        ("participation.csv", f"/dashboard/participation.csv?fy={fy}", False),
    ]
    results = {}
    for name, url, cold in pages:
        for _i in range(warmup):
            if cold:
                cache.clear()
            assert client.get(url).status_code == 200, url
        timings = []
        for _i in range(runs):
            if cold:
                cache.clear()
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, url
        if cold:
            cache.clear()
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        results[name] = {
            "median": statistics.median(timings),
            "p95": percentile(timings, 0.95),
            "queries": len(queries.captured_queries),
            "bytes": len(response.content),
        }
    from events.models import Event, Registration

    results["_data"] = {
        "registrations": Registration.objects.count(),
        "year_registrations": Registration.objects.filter(event__fiscal_year=fy).count(),
        "year_events": Event.objects.filter(fiscal_year=fy, kind="exchange").count(),
        "fiscal_year": fy,
        "vendor": connection.vendor,
        "indexes": indexes,
        "load": load,
    }
    return results


# --- orchestration ---------------------------------------------------------------------------


def run_phase(phase: str, target: str, args) -> str:
    env = database_env(target)
    command = [
        sys.executable,
        __file__,
        "--phase",
        phase,
        "--target",
        target,
        "--runs",
        str(args.runs),
        "--warmup",
        str(args.warmup),
        *(["--recommended-indexes"] if args.recommended_indexes else []),
    ]
    done = subprocess.run(command, env=env, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True)
    return done.stdout


def rebuild(target: str) -> None:
    env = database_env(target)
    if "DATABASE_URL" in os.environ:
        import psycopg

        url = env["DATABASE_URL"]
        base, _slash, name = url.rpartition("/")
        name = name.partition("?")[0]
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(env["SQLITE_PATH"] + suffix).unlink(missing_ok=True)


def print_table(results: dict) -> None:
    national, demo = results["national"], results["demo"]
    data = national["_data"]
    print()
    print(f"Committee dashboard benchmark — {backend_label()}, {os.cpu_count()} CPU(s)")
    print(
        f"national: {data['registrations']:,} registrations; FY{data['fiscal_year']}: "
        f"{data['year_events']:,} exchange meetings, {data['year_registrations']:,} registrations"
        f" | demo: FY{demo['_data']['fiscal_year']}, {demo['_data']['year_registrations']} registrations"
    )
    for line in data["indexes"]:
        print(f"index {line}")
    for target in ("national", "demo"):
        load = results[target]["_data"]["load"]
        print(f"load average before measuring {target}: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    header = (
        f"{'page':<27}{'data':<10}{'median ms':>10}{'p95 ms':>9}{'× bare':>8}"
        f"{'nat÷demo':>10}{'queries':>9}"
    )
    print(header)
    print("-" * len(header))
    for name in [k for k in national if not k.startswith("_")]:
        for label, row, bare in (
            ("demo", demo[name], demo["bare"]),
            ("national", national[name], national["bare"]),
        ):
            ratio = row["median"] / bare["median"] if bare["median"] else 0
            flat = (
                f"{national[name]['median'] / demo[name]['median']:.2f}"
                if label == "national"
                else ""
            )
            print(
                f"{name:<27}{label:<10}{row['median']:>10.1f}{row['p95']:>9.1f}{ratio:>8.1f}"
                f"{flat:>10}{row['queries']:>9}"
            )
    print()
    print(
        "median/p95 over the runs after warm-up; × bare = median ÷ the bare logged-in view's "
        "median in the same process; nat÷demo = national median ÷ demo median."
    )
    print("(cold) = the participation cache cleared before every request.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phase", choices=["build", "measure"])
    parser.add_argument("--target", choices=["national", "demo"])
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--recommended-indexes", action="store_true")
    args = parser.parse_args()

    if args.phase:
        setup_django()
        if args.phase == "build":
            build_national() if args.target == "national" else build_demo()
        else:
            print(
                json.dumps(measure(args.target, args.runs, args.warmup, args.recommended_indexes))
            )
        return

    for target in ("national", "demo"):
        if args.rebuild:
            rebuild(target)
        if os.environ.get("DATABASE_URL"):
            ensure_postgres_database(database_env(target)["DATABASE_URL"])
        started = time.perf_counter()
        run_phase("build", target, args)
        log(f"{target}: ready ({time.perf_counter() - started:.0f} s)")
    results = {
        target: json.loads(run_phase("measure", target, args)) for target in ("national", "demo")
    }
    print_table(results)
    out = ARTIFACTS / f"bench-dashboard-{backend_label().lower()}.json"
    out.write_text(json.dumps(results, indent=2))
    log(f"raw numbers: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
