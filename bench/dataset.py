"""The benchmark's data sets: the national one (built here with bulk inserts)
and the demo one (migrate + seed_demo), each in a database of its own.

A built data set carries a stamp (table `bench_stamp`): the generator's
version, the scale, the month it was built in (the upcoming meetings are placed
relative to that day) and the project's migrations. A database whose stamp
matches is reused as it is; one whose stamp differs is dropped and built again;
a database with data but no stamp is never touched (it is somebody else's).

Everything runs inside a process whose settings point at the data set's
database (bench/run.py sets them), never at the development database.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import random
import time
from dataclasses import asdict, dataclass
from decimal import Decimal

# Bump when the generator changes what it builds: every stamped database is
# then rebuilt on its next run.
GENERATOR_VERSION = 12
SEED = 20211015
STAMP_TABLE = "bench_stamp"

# Functions ("module:function") run after the bulk inserts, for data the
# application keeps derived from the rows (summaries, search keys) that raw
# inserts do not maintain. Each is called with no arguments, inside the
# build's transaction; the list is part of the stamp.
AFTER_BUILD: tuple[str, ...] = (
    "bench.dataset:fill_registration_search_keys",
    # The dashboard's tallies (events.tallies), recomputed from the registrations.
    "events.tallies:rebuild",
    # The board's and the note's search documents (core.search).
    "note.search:reindex",
    # The navi's keyword-search documents and trouble × area listing.
    "directory.indexing:rebuild",
)


def after_build_functions() -> list[tuple[str, object]]:
    """The AFTER_BUILD functions this tree has (an entry naming a module or a
    function that does not exist yet is left out, and so not stamped)."""
    import importlib

    found = []
    for dotted in AFTER_BUILD:
        module, _colon, function = dotted.partition(":")
        try:
            found.append((dotted, getattr(importlib.import_module(module), function)))
        except (ImportError, AttributeError):
            continue
    return found


@dataclass(frozen=True)
class Scale:
    name: str
    organisations: int
    users: int
    events: int
    registrations: int
    big_event: int  # the registrations of the one large upcoming meeting
    responses: int  # survey responses in all
    answers: int  # answer rows in all
    big_survey: int  # responses of the one large survey (results page)
    needs: int
    topics: int  # board topics (note app)
    replies: int
    windows: int = 0  # the navi's windows (directory app)
    applications: int = 0  # the back-up menus' applications (support app)


NATIONAL = Scale(
    name="national",
    organisations=1_800,
    users=20_000,
    events=3_000,
    registrations=300_000,
    big_event=5_000,
    responses=100_000,
    answers=2_000_000,
    big_survey=10_000,
    needs=2_000,
    topics=20_000,
    replies=100_000,
    windows=150_000,
    applications=6_000,
)
# CI's scale: a few thousand rows, the same shapes.
SMALL = Scale(
    name="small",
    organisations=260,
    users=1_500,
    events=60,
    registrations=4_000,
    big_event=500,
    responses=2_000,
    answers=40_000,
    big_survey=500,
    needs=100,
    topics=300,
    replies=1_500,
    windows=3_000,
    applications=300,
)
SCALES = {s.name: s for s in (NATIONAL, SMALL)}

# The role accounts: (national / small data set, demo data set).
ROLE_EMAILS = {
    "contractor": ("bench-npo@example.org", "npo@example.org"),
    "municipal": ("bench-city@example.org", "city@example.org"),
    "org_admin": ("bench-npo-admin@example.org", "npo-admin@example.org"),
    "committee": ("bench-committee@example.org", "committee@example.org"),
    "secretariat": ("bench-secretariat@example.org", "secretariat@example.org"),
    "partner": ("bench-partner@example.org", "partner@example.org"),
}
ROLE_LABELS = {
    "anonymous": "anonymous",
    "contractor": "受託団体 member",
    "municipal": "自治体 member",
    "org_admin": "org admin",
    "committee": "committee",
    "secretariat": "secretariat",
    "partner": "partner (back-up menus)",
}
BIG_EVENT_TITLE = "全道情報交換会（ベンチ・5,000人）"
CONCURRENCY_EVENT_TITLE = "同時申込ベンチ"
BIG_SURVEY_TITLE = "全会員アンケート（ベンチ）"

# fmt: off
SURNAMES = [
    ("佐藤", "さとう"), ("鈴木", "すずき"), ("高橋", "たかはし"), ("田中", "たなか"),
    ("伊藤", "いとう"), ("渡辺", "わたなべ"), ("山本", "やまもと"), ("中村", "なかむら"),
    ("小林", "こばやし"), ("加藤", "かとう"), ("吉田", "よしだ"), ("山田", "やまだ"),
    ("佐々木", "ささき"), ("山口", "やまぐち"), ("松本", "まつもと"), ("井上", "いのうえ"),
    ("木村", "きむら"), ("林", "はやし"), ("斎藤", "さいとう"), ("清水", "しみず"),
    ("山崎", "やまざき"), ("森", "もり"), ("池田", "いけだ"), ("橋本", "はしもと"),
    ("阿部", "あべ"), ("石川", "いしかわ"), ("山下", "やました"), ("中島", "なかじま"),
    ("石井", "いしい"), ("小川", "おがわ"), ("前田", "まえだ"), ("岡田", "おかだ"),
    ("長谷川", "はせがわ"), ("藤田", "ふじた"), ("後藤", "ごとう"), ("近藤", "こんどう"),
    ("村上", "むらかみ"), ("遠藤", "えんどう"), ("青木", "あおき"), ("坂本", "さかもと"),
    ("福田", "ふくだ"), ("太田", "おおた"), ("西村", "にしむら"), ("藤井", "ふじい"),
    ("金子", "かねこ"), ("岡本", "おかもと"), ("藤原", "ふじわら"), ("中野", "なかの"),
    ("三浦", "みうら"), ("原田", "はらだ"), ("中川", "なかがわ"), ("松田", "まつだ"),
    ("竹内", "たけうち"), ("小野", "おの"), ("田村", "たむら"), ("中山", "なかやま"),
    ("和田", "わだ"), ("石田", "いしだ"), ("森田", "もりた"), ("上田", "うえだ"),
    ("内田", "うちだ"), ("柴田", "しばた"), ("酒井", "さかい"), ("宮崎", "みやざき"),
    ("横山", "よこやま"), ("高木", "たかぎ"), ("安藤", "あんどう"), ("宮本", "みやもと"),
    ("大野", "おおの"), ("小島", "こじま"), ("谷口", "たにぐち"), ("今井", "いまい"),
    ("工藤", "くどう"), ("高田", "たかだ"), ("増田", "ますだ"), ("丸山", "まるやま"),
    ("杉山", "すぎやま"), ("村田", "むらた"), ("大塚", "おおつか"), ("新井", "あらい"),
    ("小山", "こやま"), ("平野", "ひらの"), ("藤本", "ふじもと"), ("河野", "こうの"),
    ("上野", "うえの"), ("野口", "のぐち"), ("武田", "たけだ"), ("松井", "まつい"),
    ("千葉", "ちば"), ("岩崎", "いわさき"), ("菅原", "すがわら"), ("木下", "きのした"),
    ("久保", "くぼ"), ("佐野", "さの"), ("野村", "のむら"), ("松尾", "まつお"),
    ("菊地", "きくち"), ("東", "あずま"), ("北川", "きたがわ"), ("桜井", "さくらい"),
]
GIVEN_ROOTS = [
    ("健", "けん"), ("大", "だい"), ("翔", "しょう"), ("優", "ゆう"), ("陽", "よう"),
    ("拓", "たく"), ("悠", "はる"), ("和", "かず"), ("誠", "せい"), ("亮", "りょう"),
    ("浩", "こう"), ("真", "しん"), ("純", "じゅん"), ("正", "まさ"), ("博", "ひろ"),
    ("隆", "たか"), ("直", "なお"), ("智", "とも"), ("明", "あき"), ("典", "のり"),
]
GIVEN_ENDINGS = [
    ("太", "た"), ("介", "すけ"), ("斗", "と"), ("也", "や"), ("平", "へい"),
    ("子", "こ"), ("美", "み"), ("香", "か"), ("奈", "な"), ("恵", "え"),
]
COMMENTS = [
    "他の市町村の取り組みを聞けて参考になりました。",
    "オンラインでも参加しやすかったです。",
    "同じ悩みを持つ支援員と話せてよかった。",
    "事例検討の時間をもう少し長くしてほしい。",
    "家計改善支援の具体的な進め方を知りたい。",
    "就労準備支援の連携先の探し方を共有してほしい。",
    "小さな町では相談できる相手がいないので助かります。",
    "次回は会場で参加したいと思います。",
]
QUESTIONS_ASKED = [
    "住まいを失いそうな相談者への初動を教えてください。",
    "関係機関との情報共有で気をつけていることは何ですか。",
    "長期の引きこもりの方への支援の入り方に悩んでいます。",
    "食料支援の地域資源をどう開拓していますか。",
]
# fmt: on


def person_name(n: int) -> tuple[str, str]:
    """(kanji, kana) of bench person n: every n below 20,000 has a name of its own."""
    surname, surname_kana = SURNAMES[n % len(SURNAMES)]
    rest = n // len(SURNAMES)
    root, root_kana = GIVEN_ROOTS[rest % len(GIVEN_ROOTS)]
    ending, ending_kana = GIVEN_ENDINGS[(rest // len(GIVEN_ROOTS)) % len(GIVEN_ENDINGS)]
    return f"{surname} {root}{ending}", f"{surname_kana} {root_kana}{ending_kana}"


def log(message: str) -> None:
    import sys

    print(message, file=sys.stderr, flush=True)


def fiscal_year_of(day: datetime.date) -> int:
    """年度: April to March."""
    return day.year if day.month >= 4 else day.year - 1


# --- the stamp ---------------------------------------------------------------------------


def migration_leaves() -> list[str]:
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    return sorted(f"{app}.{name}" for app, name in loader.graph.leaf_nodes())


def expected_stamp(kind: str, scale: Scale | None) -> dict:
    today = datetime.date.today()
    return {
        "kind": kind,
        "generator": GENERATOR_VERSION,
        "scale": asdict(scale) if scale else None,
        "month": today.strftime("%Y-%m"),
        "migrations": hashlib.sha256(json.dumps(migration_leaves()).encode()).hexdigest()[:16],
        "after_build": [dotted for dotted, _f in after_build_functions()],
    }


def read_stamp() -> dict | None:
    """The stamp stored in the database, or None when there is none."""
    from django.db import connection

    with connection.cursor() as cursor:
        if STAMP_TABLE not in connection.introspection.table_names(cursor):
            return None
        cursor.execute(f"SELECT value FROM {STAMP_TABLE} WHERE key = 'stamp'")
        row = cursor.fetchone()
    return json.loads(row[0]) if row else None


def write_stamp(stamp: dict, built: dict) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {STAMP_TABLE} (key varchar(40) PRIMARY KEY, value text)"
        )
        cursor.execute(f"DELETE FROM {STAMP_TABLE}")
        cursor.execute(
            f"INSERT INTO {STAMP_TABLE} (key, value) VALUES (%s, %s), (%s, %s)",
            ["stamp", json.dumps(stamp), "built", json.dumps(built)],
        )


def read_built() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT value FROM {STAMP_TABLE} WHERE key = 'built'")
        row = cursor.fetchone()
    return json.loads(row[0]) if row else {}


def holds_data() -> bool:
    """Anything in the database beyond what migrations load (reference data, groups)?"""
    from django.db import connection

    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        if "network_user" not in tables:
            return False
        cursor.execute("SELECT EXISTS (SELECT 1 FROM network_user)")
        return bool(cursor.fetchone()[0])


def drop_database() -> None:
    """Empties the data set's database (the file, or DROP + CREATE DATABASE)."""
    from pathlib import Path

    from django.db import connection

    settings_dict = connection.settings_dict
    connection.close()
    if connection.vendor == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(str(settings_dict["NAME"]) + suffix).unlink(missing_ok=True)
        return
    import psycopg

    name = settings_dict["NAME"]
    if "bench" not in name:  # the guard of last resort: never anybody else's database
        raise SystemExit(f"refusing to drop {name!r}: not a benchmark database")
    params = {
        "host": settings_dict.get("HOST") or None,
        "port": settings_dict.get("PORT") or None,
        "user": settings_dict.get("USER") or None,
        "password": settings_dict.get("PASSWORD") or None,
    }
    with psycopg.connect(
        dbname="postgres", autocommit=True, **{k: v for k, v in params.items() if v}
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def prepare(kind: str, scale: Scale | None, rebuild: bool) -> tuple[dict, bool]:
    """Migrates; returns (stamp, reusable). Drops a stamped database whose
    stamp differs; refuses one with data and no stamp."""
    from django.core.management import call_command

    stamp = expected_stamp(kind, scale)
    found = read_stamp()
    if found == stamp and not rebuild:
        call_command("migrate", verbosity=0, interactive=False)
        return stamp, True
    if found is None and holds_data():
        raise SystemExit(
            f"the {kind} benchmark database holds data that the benchmark did not build; "
            "remove it or point the benchmark elsewhere"
        )
    if found is not None or rebuild:
        if found is not None and found != stamp:
            changed = sorted(k for k in stamp if found.get(k) != stamp[k])
            log(f"{kind}: stamp changed ({', '.join(changed)}): building again")
        drop_database()
    call_command("migrate", verbosity=0, interactive=False)
    return stamp, False


# --- bulk inserts --------------------------------------------------------------------------


def _dt(value: datetime.datetime):
    from django.db import connection

    return connection.ops.adapt_datetimefield_value(value)


def _filled_defaults(model, columns: list[str]) -> list[tuple[str, object]]:
    """Columns the rows leave out that the database would refuse as NULL:
    filled with the field's default, so that a column added by a migration
    does not break the raw inserts (a field without a default stops the build
    with its name)."""
    from django.db import connection
    from django.db.models import NOT_PROVIDED

    extra = []
    for field in model._meta.concrete_fields:
        if field.column in columns or field.primary_key or field.null:
            continue
        if getattr(field, "db_default", NOT_PROVIDED) is not NOT_PROVIDED:
            continue
        if not field.has_default() and field.blank and field.empty_strings_allowed:
            # A text that may be left blank: what a form would store.
            extra.append((field.column, ""))
            continue
        if not field.has_default():
            raise SystemExit(
                f"bench: {model.__name__}.{field.name} is NOT NULL without a default; "
                "bench/dataset.py must fill it"
            )
        extra.append((field.column, field.get_db_prep_save(field.get_default(), connection)))
    return extra


def insert_rows(model, columns: list[str], rows, chunk: int = 20_000) -> int:
    """Raw bulk insert of an iterable of tuples: COPY on PostgreSQL,
    executemany on SQLite. Returns the number of rows."""
    from django.db import connection

    extra = _filled_defaults(model, columns)
    columns = columns + [c for c, _v in extra]
    tail = tuple(v for _c, v in extra)
    table = connection.ops.quote_name(model._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row + tail)
                    count += 1
        else:
            sql = f"INSERT INTO {table} ({cols}) VALUES ({', '.join(['%s'] * len(columns))})"
            batch = []
            for row in rows:
                batch.append(row + tail)
                if len(batch) >= chunk:
                    cursor.executemany(sql, batch)
                    count += len(batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
                count += len(batch)
    return count


# --- the national data set ---------------------------------------------------------------


class Builder:
    """Builds one scale of the national data set. Years are placed around
    today's 年度: the five before it (the one just before the busiest) and the
    current one, whose meetings before today are held and after today open."""

    def __init__(self, scale: Scale):
        from django.utils import timezone

        self.scale = scale
        self.rng = random.Random(SEED)
        self.now = timezone.now()
        self.current_fy = fiscal_year_of(timezone.localdate())
        self.years = list(range(self.current_fy - 5, self.current_fy + 1))
        self.year_weights = [0.10, 0.12, 0.15, 0.18, 0.25, 0.20]
        self.busy_fy = self.current_fy - 1
        self.counts: dict[str, int] = {}

    def aware(self, *args) -> datetime.datetime:
        from django.utils import timezone

        return timezone.make_aware(datetime.datetime(*args))

    def build(self) -> dict:
        from django.db import connection, transaction

        started = time.perf_counter()
        steps = {}
        replica = _skip_foreign_key_checks()
        with transaction.atomic():
            for step in (
                self.organisations,
                self.people,
                self.events,
                self.registrations,
                self.surveys,
                self.needs,
                self.board,
                self.directory,
                self.support,
            ):
                t0 = time.perf_counter()
                step()
                steps[step.__name__] = round(time.perf_counter() - t0, 1)
                log(f"{self.scale.name}: {step.__name__} in {steps[step.__name__]} s")
            for dotted, function in after_build_functions():
                t0 = time.perf_counter()
                function()
                steps[dotted] = round(time.perf_counter() - t0, 1)
                log(f"{self.scale.name}: {dotted} in {steps[dotted]} s")
            t0 = time.perf_counter()
        # PostgreSQL checks the deferred foreign keys of every row here (unless
        # the session could skip them).
        steps["commit"] = round(time.perf_counter() - t0, 1)
        if replica:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
        steps["analyze"] = round(time.perf_counter() - t0, 1)
        empty = empty_tables()
        log(f"{self.scale.name}: tables the build left empty: {', '.join(empty)}")
        return {
            # A table here that the application fills from other rows (a
            # summary, search keys) needs its function in AFTER_BUILD.
            "empty_tables": empty,
            "seconds": round(time.perf_counter() - started, 1),
            "steps": steps,
            "counts": self.counts,
            "current_fy": self.current_fy,
            "busy_fy": self.busy_fy,
            "built_at": self.now.isoformat(timespec="seconds"),
        }

    # --- organisations and people ----------------------------------------------------

    def organisations(self) -> None:
        from network.models import Commission, Municipality, Organisation, Program, Region

        rng, K = self.rng, Organisation.Kind
        regions = list(Region.objects.order_by("order"))
        municipalities = list(Municipality.objects.order_by("code"))
        # Bigger places have more organisations: 市 weigh more than 町村.
        weights = [8 if m.kind == "市" else 1 for m in municipalities]
        orgs = [
            Organisation(
                name=f"{m.name} 福祉課",
                kana=f"{m.kana} ふくしか",
                kind=K.MUNICIPALITY,
                municipality=m,
                region_id=m.region_id,
            )
            for m in municipalities
        ]
        orgs += [
            Organisation(
                name=f"{r.name} 社会福祉課",
                kana=f"{r.kana} しゃかいふくしか",
                kind=K.MUNICIPALITY,
                region=r,
            )
            for r in regions
        ]
        rest = self.scale.organisations - len(orgs)
        plan = [
            (K.CONTRACTOR, "受託", round(rest * 0.56)),
            (K.SUPPORT, "支援", round(rest * 0.30)),
            (K.GOVERNMENT, "国", max(1, round(rest * 0.0125))),
        ]
        plan.append((K.OTHER, "その他", rest - sum(n for *_x, n in plan)))
        for kind, label, count in plan:
            for i in range(count):
                m = rng.choices(municipalities, weights)[0]
                orgs.append(
                    Organisation(
                        name=f"{m.name} {label}団体{i + 1:04d}",
                        kana=f"{m.kana} だんたい{i + 1:04d}",
                        kind=kind,
                        municipality=m,
                        region_id=m.region_id,
                    )
                )
        Organisation.objects.bulk_create(orgs, batch_size=1000)
        self.orgs = list(Organisation.objects.order_by("pk"))
        self.municipal = [o for o in self.orgs if o.kind == K.MUNICIPALITY]
        self.contractors = [o for o in self.orgs if o.kind == K.CONTRACTOR]
        self.supporters = [o for o in self.orgs if o.kind == K.SUPPORT]

        jiritsu = Program.objects.get(key="jiritsu_sodan")
        commissions = [
            Commission(contractor=c, commissioner=commissioner, program=jiritsu, fiscal_year=fy)
            for fy in self.years
            for c in self.contractors
            for commissioner in rng.sample(self.municipal, rng.choice([1, 1, 2]))
        ]
        Commission.objects.bulk_create(commissions, batch_size=2000, ignore_conflicts=True)
        self.counts["organisations"] = len(self.orgs)
        self.counts["commissions"] = len(commissions)

    def people(self) -> None:
        from django.contrib.auth.hashers import make_password
        from django.contrib.auth.models import Group

        from network.models import Membership, User

        rng = self.rng
        unusable = "!" + "0" * 40  # a contact: no usable password
        password = make_password("bench")
        # The role accounts, placed as the demo's are: the two 受託団体 staff in
        # one organisation, the 自治体 officer in 札幌市, the committee member
        # at a 振興局, the secretariat in a 支援団体.
        contractor = self.contractors[0]
        sapporo = next(
            (o for o in self.municipal if o.name.startswith("札幌市")), self.municipal[0]
        )
        region_org = next(o for o in self.municipal if o.municipality_id is None)
        secretariat_org = self.supporters[0]
        roles = [
            ("contractor", "野口 美咲", "のぐち みさき", contractor, False, ()),
            ("org_admin", "中島 健一", "なかじま けんいち", contractor, True, ()),
            ("municipal", "小野 由紀", "おの ゆき", sapporo, False, ()),
            ("committee", "北川 直人", "きたがわ なおと", region_org, False, ("committee",)),
            ("secretariat", "森 さくら", "もり さくら", secretariat_org, True, ("secretariat",)),
            # staff of a partner of ⑦ (support: menu i's partners are supporters[2i:2i+2])
            ("partner", "木村 あおい", "きむら あおい", self.supporters[12], False, ()),
        ]
        self.role_users = {}
        for role, name, kana, org, admin, groups in roles:
            user = User.objects.create(
                email=ROLE_EMAILS[role][0],
                full_name=f"{name}（ベンチ）",
                full_name_kana=kana,
                password=password,
                is_staff="secretariat" in groups,
            )
            user.groups.set(Group.objects.filter(name__in=groups))
            Membership.objects.create(
                user=user, organisation=org, staff_role="sodan", is_org_admin=admin
            )
            self.role_users[role] = user
        people = []
        for n in range(self.scale.users - len(roles)):
            name, kana = person_name(n)
            people.append(
                User(
                    email=f"bench-{n:05d}@example.org",
                    full_name=name,
                    full_name_kana=kana,
                    password=unusable,
                    date_joined=self.now,
                )
            )
        User.objects.bulk_create(people, batch_size=2000)
        role_ids = {u.pk for u in self.role_users.values()}
        self.user_ids = [
            pk
            for pk in User.objects.order_by("pk").values_list("pk", flat=True)
            if pk not in role_ids
        ]
        # Organisation of each person (5% with none).
        self.org_of = {}
        memberships = []
        staff_roles = ["sodan", "sodan", "shunin_sodan", "shuro", "kakei_kaizen", "gyosei"]
        for index, uid in enumerate(self.user_ids):
            if rng.random() < 0.05:
                self.org_of[uid] = None
                continue
            # The contractor of the role accounts has a staff of a dozen.
            org = contractor if index < 12 else rng.choice(self.orgs)
            self.org_of[uid] = org
            memberships.append(
                Membership(user_id=uid, organisation=org, staff_role=rng.choice(staff_roles))
            )
        Membership.objects.bulk_create(memberships, batch_size=2000)
        for user in self.role_users.values():
            self.org_of[user.pk] = user.memberships.get().organisation
        self.counts["users"] = len(self.user_ids) + len(roles)
        self.counts["memberships"] = len(memberships) + len(roles)

    # --- events ------------------------------------------------------------------------

    def events(self) -> None:
        from events.models import Event, Session
        from network.models import Municipality

        rng, now = self.rng, self.now
        municipalities = list(Municipality.objects.order_by("code"))
        regular = self.scale.events - 2  # the large meeting and the concurrency one
        counts = [round(regular * w) for w in self.year_weights]
        counts[-1] += regular - sum(counts)
        kinds = [Event.Kind.EXCHANGE] * 8 + [Event.Kind.STUDY, Event.Kind.SYMPOSIUM]
        formats = [Event.Format.VENUE] * 4 + [Event.Format.ONLINE] * 3 + [Event.Format.HYBRID] * 3
        events = []
        for fy, count in zip(self.years, counts, strict=True):
            start = self.aware(fy, 4, 5, 13, 30)
            for i in range(count):
                day = start + datetime.timedelta(
                    days=int(355 * i / count), minutes=rng.randrange(0, 240)
                )
                held = day < now
                if rng.random() < 0.04:
                    status = Event.Status.CANCELLED
                else:
                    status = Event.Status.FINISHED if held else Event.Status.PUBLISHED
                fmt = rng.choice(formats)
                events.append(
                    Event(
                        kind=rng.choice(kinds),
                        number=i + 1,
                        fiscal_year=fy,
                        title=f"第{i + 1}回 情報交換会（ベンチ {fy}年度）",
                        theme="相談支援のいま",
                        starts_at=day,
                        ends_at=day + datetime.timedelta(hours=3),
                        status=status,
                        format=fmt,
                        venue_name="" if fmt == Event.Format.ONLINE else "かでる2・7（ベンチ）",
                        municipality=rng.choice(municipalities),
                        published_at=day - datetime.timedelta(days=30),
                    )
                )
        # The one large meeting: open, six weeks ahead, with what a large
        # meeting has (hybrid, two breakouts, a 懇親会 with a waiting list).
        day = now.replace(hour=13, minute=30, second=0, microsecond=0) + datetime.timedelta(days=45)
        sapporo = next(m for m in municipalities if m.name == "札幌市")
        events.append(
            Event(
                kind=Event.Kind.SYMPOSIUM,
                number=1,
                fiscal_year=fiscal_year_of(day.date()),
                title=BIG_EVENT_TITLE,
                theme="つながりを20年続けるために",
                starts_at=day,
                ends_at=day + datetime.timedelta(hours=4),
                format=Event.Format.HYBRID,
                venue_name="札幌コンベンションセンター（ベンチ）",
                municipality=sapporo,
                venue_capacity=2_500,
                online_capacity=None,
                has_social=True,
                social_capacity=300,
                status=Event.Status.PUBLISHED,
                published_at=now - datetime.timedelta(days=10),
            )
        )
        # Registered for by the concurrency measurement only (emptied after it).
        day += datetime.timedelta(days=14)
        events.append(
            Event(
                kind=Event.Kind.STUDY,
                number=1,
                fiscal_year=fiscal_year_of(day.date()),
                title=CONCURRENCY_EVENT_TITLE,
                starts_at=day,
                ends_at=day + datetime.timedelta(hours=2),
                format=Event.Format.VENUE,
                venue_name="かでる2・7（ベンチ）",
                municipality=sapporo,
                status=Event.Status.PUBLISHED,
                published_at=now - datetime.timedelta(days=1),
            )
        )
        Event.objects.bulk_create(events, batch_size=1000)
        rows = list(Event.objects.order_by("pk").values_list("pk", "starts_at", "status", "format"))
        self.big_event_id = Event.objects.get(title=BIG_EVENT_TITLE).pk
        self.concurrency_event_id = Event.objects.get(title=CONCURRENCY_EVENT_TITLE).pk
        self.regular_events = [
            r for r in rows if r[0] not in (self.big_event_id, self.concurrency_event_id)
        ]
        Session.objects.bulk_create(
            [
                Session(event_id=self.big_event_id, title=title, capacity=1_500, order=order)
                for order, title in enumerate(["主任相談支援員の分科会", "初任者の分科会"], 1)
            ]
        )
        self.big_sessions = list(
            Session.objects.filter(event_id=self.big_event_id).values_list("pk", flat=True)
        )
        self.counts["events"] = len(rows)

    def registrations(self) -> None:
        from events.models import Event, Registration

        rng = self.rng
        columns = [
            "event_id",
            "user_id",
            "organisation_id",
            "organisation_name",
            "mode",
            "session_id",
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
        # Confirmed registrants of held meetings, for the post-event surveys.
        self.confirmed_at: dict[int, list[int]] = {}
        finished = Event.Status.FINISHED
        regular = self.scale.registrations - self.scale.big_event
        per_event = regular // len(self.regular_events)
        spare = regular - per_event * len(self.regular_events)
        # The role accounts register for a few upcoming meetings (their home pages list them).
        upcoming = [r[0] for r in self.regular_events if r[2] == Event.Status.PUBLISHED][:3]
        role_ids = [u.pk for u in self.role_users.values()]

        def mode_for(fmt):
            if fmt == Event.Format.HYBRID:
                return "venue" if rng.random() < 0.5 else "online"
            return "online" if fmt == Event.Format.ONLINE else "venue"

        def row(event_id, uid, status, mode, *, attended, starts_at, session=None, social="none"):
            org = self.org_of.get(uid)
            # Registered 10–30 days before the meeting, and never in the future.
            days = 10 + rng.randrange(20)
            created = _dt(
                min(
                    starts_at - datetime.timedelta(days=days),
                    self.now - datetime.timedelta(hours=days),
                )
            )
            question = rng.choice(QUESTIONS_ASKED) if rng.random() < 0.1 else ""
            return (
                event_id,
                uid,
                org.pk if org else None,
                "" if org else "個人",
                mode,
                session,
                social,
                question,
                status,
                attended,
                _dt(starts_at) if attended else None,
                "",
                created,
                created,
                created if status == "cancelled" else None,
            )

        # Read before the rows stream: no query may run while COPY holds the connection.
        big_starts_at = Event.objects.get(pk=self.big_event_id).starts_at

        def generate():
            for index, (event_id, starts_at, status, fmt) in enumerate(self.regular_events):
                n = per_event + (1 if index < spare else 0)
                held = status == finished
                checkin = held and rng.random() < 0.6
                people = rng.sample(self.user_ids, n)
                if event_id in upcoming:
                    people = role_ids + people[len(role_ids) :]
                confirmed = []
                for uid in people:
                    roll = rng.random()
                    state = (
                        "confirmed"
                        if roll < 0.88
                        else ("cancelled" if roll < 0.95 else "waitlisted")
                    )
                    attended = checkin and state == "confirmed" and rng.random() < 0.9
                    if state == "confirmed" and held:
                        confirmed.append(uid)
                    yield row(
                        event_id,
                        uid,
                        state,
                        mode_for(fmt),
                        attended=attended,
                        starts_at=starts_at,
                    )
                if confirmed:
                    self.confirmed_at[event_id] = confirmed
            # The large meeting: 5% cancelled, 300 懇親会 seats taken and 100 waiting.
            starts_at = big_starts_at
            social_left, social_waiting = 300, 100
            for uid in rng.sample(self.user_ids, self.scale.big_event):
                state = "cancelled" if rng.random() < 0.05 else "confirmed"
                mode = "venue" if rng.random() < 0.45 else "online"
                social = "none"
                if state == "confirmed" and mode == "venue" and rng.random() < 0.2:
                    if social_left:
                        social, social_left = "confirmed", social_left - 1
                    elif social_waiting:
                        social, social_waiting = "waitlisted", social_waiting - 1
                yield row(
                    self.big_event_id,
                    uid,
                    state,
                    mode,
                    attended=False,
                    starts_at=starts_at,
                    session=rng.choice(self.big_sessions) if mode == "venue" else None,
                    social=social,
                )

        self.counts["registrations"] = insert_rows(Registration, columns, generate())

    # --- surveys -----------------------------------------------------------------------

    # The bench's questions after the post-event template's: what a longer
    # questionnaire asks (scales and single choices), so that a response has
    # about twenty answers, as the 2M ÷ 100k of DESIGN §6.
    EXTRA_QUESTIONS = (
        [
            {
                "key": f"bench_scale_{i}",
                "text": f"満足度（項目{i}）",
                "kind": "scale",
                "scale_min_label": "低い",
                "scale_max_label": "高い",
            }
            for i in range(1, 7)
        ]
        + [
            {
                "key": f"bench_single_{i}",
                "text": f"次回の参加について（設問{i}）",
                "kind": "single",
                "choices": ["参加したい", "たぶん参加する", "わからない", "参加しない"],
            }
            for i in range(1, 5)
        ]
        + [{"key": "bench_staff", "text": "相談支援の担当者数", "kind": "number"}]
    )

    def surveys(self) -> None:
        from surveys import catalog
        from surveys.models import Survey

        self.survey_specs = catalog.TEMPLATES["post_event"]["questions"] + self.EXTRA_QUESTIONS
        self.responses_made = 0
        self.answers_made = 0
        self.annual_surveys(catalog)
        by = self.role_users["secretariat"]
        Unit, Kind, Audience = Survey.Unit, Survey.Kind, Survey.Audience
        # The large survey (results page): everyone invited, 10k answering. An
        # annual survey, as the demo's largest is, so that the results page
        # does the same work on both (an annual one is compared with its
        # neighbours); in a 年度 without annual neighbours, as the demo's.
        fy = self.busy_fy - 3
        opens = self.aware(fy + 1, 1, 10, 9)
        big = Survey.objects.create(
            title=BIG_SURVEY_TITLE,
            kind=Kind.ANNUAL,
            fiscal_year=fy,
            audience=Audience.ALL_ORGANISATIONS,
            respondent_unit=Unit.PERSON,
            opens_at=opens,
            closes_at=opens + datetime.timedelta(days=30),
            status=Survey.Status.PUBLISHED,
            created_by=by,
        )
        invited = self.rng.sample(
            self.user_ids, min(len(self.user_ids), self.scale.big_survey * 6 // 5)
        )
        person_surveys = [(big, invited, invited[: self.scale.big_survey])]
        # Post-event surveys of held meetings, newest first, until the totals are reached.
        remaining = self.scale.responses - self.responses_made - self.scale.big_survey
        events = sorted(self.confirmed_at, reverse=True)
        starts = dict((r[0], r[1]) for r in self.regular_events)
        plans = []
        for event_id in events:
            if remaining <= 0:
                break
            people = self.confirmed_at[event_id]
            answering = people[: min(remaining, max(1, len(people) * 7 // 10))]
            plans.append((event_id, people, answering))
            remaining -= len(answering)
        # The newest is still open and the role accounts are invited to it (and
        # have not answered): their home pages list it.
        role_ids = [self.role_users[r].pk for r in ("contractor", "municipal", "org_admin")]
        if plans:
            event_id, people, answering = plans[0]
            plans[0] = (
                event_id,
                [u for u in people if u not in role_ids] + role_ids,
                [u for u in answering if u not in role_ids],
            )
        surveys = Survey.objects.bulk_create(
            [
                Survey(
                    title=f"イベント後アンケート（ベンチ #{event_id}）",
                    kind=Kind.POST_EVENT,
                    event_id=event_id,
                    fiscal_year=fiscal_year_of(starts[event_id].date()),
                    audience=Audience.EVENT_ATTENDEES,
                    respondent_unit=Unit.PERSON,
                    opens_at=starts[event_id] + datetime.timedelta(hours=4),
                    closes_at=(
                        self.now + datetime.timedelta(days=14)
                        if index == 0
                        else starts[event_id] + datetime.timedelta(days=14)
                    ),
                    status=Survey.Status.PUBLISHED,
                    created_by=by,
                )
                for index, (event_id, _p, _a) in enumerate(plans)
            ],
            batch_size=500,
        )
        for survey, (_e, people, answering) in zip(surveys, plans, strict=True):
            person_surveys.append((survey, people, answering))
        self.person_survey_rows(person_surveys)
        self.counts["surveys"] = Survey.objects.count()
        self.counts["responses"] = self.responses_made
        self.counts["answers"] = self.answers_made

    def annual_surveys(self, catalog) -> None:
        """The annual survey of the busiest 年度 and the one before (organisation
        unit, the catalog's questions), ~60% of the 自治体 and 団体 answering, so
        that the dashboard's survey panel and its year over year have something
        to count."""
        from network.models import Organisation
        from surveys.models import Answer, Invitation, Question, Response, Survey

        rng, K = self.rng, Organisation.Kind
        invited = [o for o in self.orgs if o.kind in (K.MUNICIPALITY, K.CONTRACTOR, K.SUPPORT)]
        for fy in (self.busy_fy - 1, self.busy_fy):
            opens = self.aware(fy + 1, 1, 10, 9)
            survey = Survey.objects.create(
                title=f"{fy}年度 効果検証アンケート（ベンチ）",
                kind=Survey.Kind.ANNUAL,
                fiscal_year=fy,
                audience=Survey.Audience.CHOSEN,
                respondent_unit=Survey.Unit.ORGANISATION,
                opens_at=opens,
                closes_at=opens + datetime.timedelta(days=20),
                status=Survey.Status.PUBLISHED,
                created_by=self.role_users["secretariat"],
            )
            questions = {}
            for order, spec in enumerate(catalog.TEMPLATES["annual"]["questions"], 1):
                fields = {k: v for k, v in spec.items() if k != "show_if"}
                questions[spec["key"]] = Question.objects.create(
                    survey=survey, order=order, **fields
                )
            Invitation.objects.bulk_create(
                [
                    Invitation(
                        survey=survey,
                        organisation=o,
                        email=f"org{o.pk}@example.org",
                        token_hash=hashlib.sha256(f"annual-{fy}-{o.pk}".encode()).hexdigest(),
                        sent_at=opens,
                    )
                    for o in invited
                ],
                batch_size=1000,
            )
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
            self.responses_made += len(responses)
            self.answers_made += len(answers)

    def person_survey_rows(self, person_surveys) -> None:
        """Questions, invitations, responses and answers of the person-unit
        surveys, by raw inserts (2M answer rows are too many for the ORM)."""
        from surveys.models import Answer, Invitation, Question, Response

        rng = self.rng
        questions = []
        for survey, _p, _a in person_surveys:
            for order, spec in enumerate(self.survey_specs, 1):
                questions.append(Question(survey=survey, order=order, **spec))
        Question.objects.bulk_create(questions, batch_size=1000)
        by_survey: dict[int, list] = {}
        for q in Question.objects.filter(
            survey_id__in=[s.pk for s, _p, _a in person_surveys]
        ).order_by("survey_id", "order"):
            by_survey.setdefault(q.survey_id, []).append(q)

        invitation_rows = []
        for survey, people, answering in person_surveys:
            answered = set(answering)
            closes = survey.closes_at
            for uid in people:
                invitation_rows.append(
                    (
                        survey.pk,
                        uid,
                        None,
                        f"bench-{uid}@example.org",
                        hashlib.sha256(f"person-{survey.pk}-{uid}".encode()).hexdigest(),
                        _dt(survey.opens_at),
                        _dt(survey.opens_at),
                        None,
                        0,
                        _dt(min(closes, survey.opens_at + datetime.timedelta(days=3)))
                        if uid in answered
                        else None,
                    )
                )
        insert_rows(
            Invitation,
            [
                "survey_id",
                "user_id",
                "organisation_id",
                "email",
                "token_hash",
                "created_at",
                "sent_at",
                "last_reminded_at",
                "reminder_count",
                "responded_at",
            ],
            invitation_rows,
        )
        invitation_of = {
            (s, u): pk
            for pk, s, u in Invitation.objects.filter(user__isnull=False).values_list(
                "pk", "survey_id", "user_id"
            )
        }
        # Responses, in the order the answers are generated below.
        response_rows = []
        for survey, _people, answering in person_surveys:
            submitted = _dt(survey.opens_at + datetime.timedelta(days=2))
            for uid in answering:
                org = self.org_of.get(uid)
                response_rows.append(
                    (
                        survey.pk,
                        invitation_of[(survey.pk, uid)],
                        uid,
                        org.pk if org else None,
                        org.kind if org else "",
                        org.region_id if org else None,
                        None,
                        submitted,
                        submitted,
                        submitted,
                    )
                )
        insert_rows(
            Response,
            [
                "survey_id",
                "invitation_id",
                "user_id",
                "organisation_id",
                "organisation_kind",
                "region_id",
                "participated",
                "started_at",
                "updated_at",
                "submitted_at",
            ],
            response_rows,
        )
        survey_ids = [s.pk for s, _p, _a in person_surveys]
        response_ids = list(
            Response.objects.filter(survey_id__in=survey_ids)
            .order_by("pk")
            .values_list("pk", "survey_id")
        )
        # The multiple-choice answers fill the budget: about answers ÷ responses each.
        budget = (self.scale.answers - self.answers_made) / max(1, len(response_ids))
        fixed = sum(1 for s in self.survey_specs if s["kind"] != "multiple")
        extra = max(2.0, budget - fixed)
        low, share = int(extra), extra - int(extra)

        def answers():
            for response_id, survey_id in response_ids:
                for q in by_survey[survey_id]:
                    if q.kind == "multiple":
                        continue
                    if q.kind == "scale":
                        yield (response_id, q.pk, "", rng.choice([5, 5, 4, 4, 4, 3, 2, 1]), "")
                    elif q.kind == "number":
                        yield (response_id, q.pk, "", Decimal(rng.randint(1, 12)), "")
                    elif q.kind == "text":
                        yield (response_id, q.pk, "", None, rng.choice(COMMENTS))
                    else:
                        yield (response_id, q.pk, rng.choice(q.choices), None, "")
                # The multiple choices: `wanted` options over the two questions.
                wanted = low + (1 if rng.random() < share else 0)
                multiples = [q for q in by_survey[survey_id] if q.kind == "multiple"]
                options = [(q, c) for q in multiples for c in q.choices]
                for q, choice in rng.sample(options, min(wanted, len(options))):
                    yield (response_id, q.pk, choice, None, "")

        self.answers_made += insert_rows(
            Answer, ["response_id", "question_id", "choice", "number", "text"], answers()
        )
        self.responses_made += len(response_rows)

    def needs(self) -> None:
        from committee.models import Need

        rng = self.rng
        statuses = [s for s, _label in Need.Status.choices]
        functions = [f for f, _label in Need.Function.choices] + [None, None]
        Need.objects.bulk_create(
            [
                Need(
                    title=f"課題 {i + 1}: {rng.choice(QUESTIONS_ASKED)[:30]}",
                    text=rng.choice(QUESTIONS_ASKED),
                    fiscal_year=rng.choice(self.years),
                    function=rng.choice(functions),
                    status=rng.choice(statuses),
                    raised_by=self.role_users["committee"],
                )
                for i in range(self.scale.needs)
            ],
            batch_size=1000,
        )
        self.counts["needs"] = self.scale.needs

    # --- the members' board (note) ---------------------------------------------------------

    def board(self) -> None:
        """Topics in the board's standing rooms (migration note/0002) and
        replies to them, posted over the last two years; a fifth anonymous,
        a third resolved, one topic in ten without a reply (the unanswered
        view). The busiest topic, in the network room, has the most replies."""
        from note.models import Reply, Room, Topic

        rng = self.rng
        rooms = list(
            Room.objects.filter(event__isnull=True).order_by("pk").values_list("pk", flat=True)
        )
        people = self.user_ids
        start = self.now - datetime.timedelta(days=730)
        span = 730 * 24 * 3600

        def author(uid):
            org = self.org_of.get(uid)
            return (org.pk, org.kind) if org is not None else (None, "")

        topic_rows = []
        created = []
        # The busiest topic and the member role's own ("my topics") are in the network room.
        network = Room.objects.get(kind="network").pk
        mine = self.role_users["contractor"].pk
        for i in range(self.scale.topics):
            uid = mine if i % 97 == 1 else rng.choice(people)
            org_id, org_kind = author(uid)
            at = start + datetime.timedelta(seconds=span * i // self.scale.topics)
            created.append(at)
            question = rng.choice(QUESTIONS_ASKED)
            topic_rows.append(
                (
                    network if i == 0 or uid == mine else rng.choice(rooms),
                    f"{question[:40]}（{i + 1}）",
                    f"{question}\n{rng.choice(COMMENTS)}\n" * 3,
                    uid,
                    org_id,
                    org_kind,
                    rng.random() < 0.2,
                    "published",
                    _dt(at),
                    # A third resolved, and every twentieth (kept in the note below).
                    _dt(at) if rng.random() < 0.33 or i % 20 == 0 else None,
                )
            )
        insert_rows(
            Topic,
            [
                "room_id",
                "title",
                "body",
                "author_id",
                "author_org_id",
                "author_org_kind",
                "is_anonymous",
                "state",
                "created_at",
                "resolved_at",
            ],
            topic_rows,
        )
        topic_ids = list(Topic.objects.order_by("pk").values_list("pk", flat=True))
        answered = [pk for pk in topic_ids if rng.random() >= 0.1]
        busiest = topic_ids[0]
        created_of = dict(zip(topic_ids, created, strict=True))
        reply_rows = []
        for n in range(self.scale.replies):
            index = 0 if n % 50 == 0 else rng.randrange(len(answered))
            topic = busiest if index == 0 else answered[index]
            uid = rng.choice(people)
            org_id, org_kind = author(uid)
            at = created_of[topic] + datetime.timedelta(hours=1 + n % 48)
            reply_rows.append(
                (
                    topic,
                    rng.choice(COMMENTS),
                    uid,
                    org_id,
                    org_kind,
                    rng.random() < 0.2,
                    "published",
                    _dt(at),
                )
            )
        insert_rows(
            Reply,
            [
                "topic_id",
                "body",
                "author_id",
                "author_org_id",
                "author_org_kind",
                "is_anonymous",
                "state",
                "created_at",
            ],
            reply_rows,
        )
        # Every twentieth topic (resolved) kept in the note by the secretariat.
        from note.models import NoteEntry

        curator = self.role_users["secretariat"].pk
        entry_rows = []
        for index, (pk, row) in enumerate(zip(topic_ids, topic_rows, strict=True)):
            if row[9] is None or index % 20:
                continue
            at = created_of[pk] + datetime.timedelta(days=7)
            entry_rows.append(
                (
                    f"ノート：{row[1]}",
                    f"家計改善支援とのつなぎ方も含めて。{rng.choice(COMMENTS)}\n"
                    f"{rng.choice(QUESTIONS_ASKED)}",
                    pk,
                    curator,
                    fiscal_year_of(at.date()),
                    at.date(),
                    True,
                    "published",
                    _dt(at),
                    _dt(at),
                )
            )
        insert_rows(
            NoteEntry,
            [
                "title",
                "summary",
                "source_topic_id",
                "curator_id",
                "fiscal_year",
                "reviewed_on",
                "anonymisation_checked",
                "state",
                "created_at",
                "updated_at",
            ],
            entry_rows,
        )
        self.counts["topics"] = len(topic_rows)
        self.counts["replies"] = len(reply_rows)
        self.counts["note entries"] = len(entry_rows)

    # --- the navi (directory) --------------------------------------------------------------

    def directory(self) -> None:
        _directory(self)

    # --- the back-up menus (support) ---------------------------------------------------------

    def support(self) -> None:
        _support(self)


# The navi's windows: what they are called and say, per 困りごと key.
WINDOW_KINDS = {
    "seikatsu": ("くらしサポートセンター", "生活のこまりごとを まとめて 相談できます。"),
    "shigoto": ("就労支援コーナー", "就労に向けた準備、仕事さがしの相談。"),
    "kakei": ("家計相談室", "家計の見直し、借金や滞納の相談。"),
    "kazoku": ("家族相談窓口", "家族とのことで こまったときの相談。"),
    "sumai": ("住まいの相談窓口", "家賃が払えない、住む家がないときの相談。"),
    "tabemono": ("フードバンク窓口", "食べものに困ったときの食料支援。"),
    "kokoro": ("こころの相談室", "眠れない、不安がつづくときの相談。"),
    "kodomo": ("子ども学習支援教室", "子どもの勉強と居場所。"),
    "boryoku": ("暴力・虐待相談ダイヤル", "家の中の暴力、虐待の相談。"),
    "shogai_kaigo": ("障がい・介護相談センター", "障がいのある人、介護が必要な人と家族の相談。"),
}


def _directory(builder: Builder) -> None:
    """The navi's windows: one provider for five windows; one service, one
    location, one phone and its weekly hours per window; one or two 困りごと;
    the service area is the location's municipality. A third of the windows
    are in 札幌市 (as its people are), near its centre; the others spread over
    the 179 municipalities, each around a point of its own."""
    from directory.models import (
        Category,
        Location,
        Phone,
        Provider,
        Schedule,
        Service,
        ServiceAtLocation,
    )
    from network.models import Municipality

    n = builder.scale.windows
    if not n:
        return
    rng = builder.rng
    towns = list(Municipality.objects.order_by("code").values_list("pk", "code", "name"))
    sapporo = next(t for t in towns if t[1] == "011002")
    centre = {t[0]: (41.6 + rng.random() * 3.6, 140.1 + rng.random() * 5.2) for t in towns}
    centre[sapporo[0]] = (43.0621, 141.3544)
    categories = {c.key: c.pk for c in Category.objects.filter(parent__isnull=True)}
    keys = list(WINDOW_KINDS)
    providers = -(-n // 5)
    insert_rows(
        Provider,
        ["name", "kana", "source_key", "is_sample"],
        ((f"ベンチ法人{p:06d}", "", f"bench:p{p}", False) for p in range(providers)),
    )
    provider_ids = list(
        Provider.objects.filter(source_key__startswith="bench:p")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    now = _dt(builder.now)
    today = builder.now.date()
    plan = []
    for _i in range(n):
        town = sapporo if rng.random() < 0.33 else rng.choice(towns)
        kind = rng.choice(keys)
        plan.append((town, kind, rng.choice(keys) if rng.random() < 0.4 else None))
    service_rows = []
    for i, (town, kind, _also) in enumerate(plan):
        name, text = WINDOW_KINDS[kind]
        service_rows.append(
            (
                provider_ids[i // 5],
                f"{town[2]}{name}{i:06d}",
                text,
                "active" if i % 50 else "inactive",
                today - datetime.timedelta(days=i % 500),
                f"bench:s{i}",
                False,
                now,
                now,
            )
        )
    insert_rows(
        Service,
        [
            "provider_id",
            "name",
            "description",
            "status",
            "verified_on",
            "source_key",
            "is_sample",
            "created_at",
            "updated_at",
        ],  # fmt: skip
        service_rows,
    )
    service_ids = list(
        Service.objects.filter(source_key__startswith="bench:s")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    location_rows = []
    for i, (town, kind, _also) in enumerate(plan):
        lat, lon = centre[town[0]]
        spread = 0.08 if town is sapporo else 0.04
        location_rows.append(
            (
                f"{town[2]}{WINDOW_KINDS[kind][0]}{i:06d}",
                f"{town[2]}ベンチ町{i % 30 + 1}丁目",
                town[0],
                round(lat + (rng.random() - 0.5) * spread, 6),
                round(lon + (rng.random() - 0.5) * spread * 1.4, 6),
                f"bench:l{i}",
            )
        )
    insert_rows(
        Location,
        ["name", "address", "municipality_id", "latitude", "longitude", "source_key"],
        location_rows,
    )
    location_ids = list(
        Location.objects.filter(source_key__startswith="bench:l")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    insert_rows(
        ServiceAtLocation,
        ["service_id", "location_id"],
        zip(service_ids, location_ids, strict=True),
    )
    windows = list(
        ServiceAtLocation.objects.filter(service_id__in=service_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    insert_rows(
        Phone,
        ["service_at_location_id", "number", "order"],
        ((w, f"0120-{i // 10_000:03d}-{i % 10_000:04d}", 0) for i, w in enumerate(windows)),
    )
    weekdays = ("mon", "tue", "wed", "thu", "fri")
    insert_rows(
        Schedule,
        ["service_at_location_id", "weekday", "opens_at", "closes_at"],
        (
            (w, day, "09:00:00", "17:00:00")
            for i, w in enumerate(windows)
            for day in (weekdays if i % 2 else weekdays[::2])
        ),
    )
    insert_rows(
        Service.categories.through,
        ["service_id", "category_id"],
        (
            (sid, categories[key])
            for sid, (_town, kind, also) in zip(service_ids, plan, strict=True)
            for key in dict.fromkeys(k for k in (kind, also) if k)
        ),
    )
    insert_rows(
        Service.service_area.through,
        ["service_id", "municipality_id"],
        ((sid, town[0]) for sid, (town, _k, _a) in zip(service_ids, plan, strict=True)),
    )
    builder.counts["windows"] = len(windows)


def _skip_foreign_key_checks() -> bool:
    """On PostgreSQL, as a superuser: the build's session skips the foreign-key
    triggers (session_replication_role = replica), as bulk loads do — the rows
    are consistent by construction, and checking ~9M deferred references at
    the commit took minutes. Returns whether it could."""
    from django.db import DatabaseError, connection

    if connection.vendor != "postgresql":
        return False
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
    except DatabaseError:
        return False
    return True


def empty_tables() -> list[str]:
    """The project's tables without a row after the build."""
    from django.apps import apps
    from django.db import DatabaseError, connection

    names = []
    from pathlib import Path

    from django.conf import settings

    base = Path(settings.BASE_DIR).resolve()
    for model in apps.get_models(include_auto_created=True):
        # The project's own apps: those whose package lives in the project.
        if Path(model._meta.app_config.path).resolve().parent != base:
            continue
        table = connection.ops.quote_name(model._meta.db_table)
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
                if not cursor.fetchone()[0]:
                    names.append(model._meta.db_table)
        except DatabaseError:  # a model whose migration is not written yet
            names.append(f"{model._meta.db_table} (no such table)")
    return sorted(names)


def fill_registration_search_keys() -> None:
    """The check-in search keys (events.RegistrationSearchKey) of every
    registration, computed by events.querysets.key_rows as the
    application's own backfill (migration events/0006) does. Nothing when
    the application has no such table."""
    try:
        from events.models import Registration, RegistrationSearchKey
        from events.querysets import KEY_SOURCES, key_rows
    except ImportError:
        return
    # Read first: nothing may be read while COPY holds the connection.
    sources = list(Registration.objects.order_by("pk").values_list(*KEY_SOURCES))
    count = insert_rows(
        RegistrationSearchKey, ["registration_id", "event_id", "key"], key_rows(sources)
    )
    log(f"bench: {count:,} check-in search keys for {len(sources):,} registrations")


def build_national(scale: Scale, rebuild: bool) -> dict:
    stamp, reusable = prepare(scale.name, scale, rebuild)
    if reusable:
        built = read_built()
        log(f"{scale.name}: reused (built {built.get('built_at')}, {built.get('seconds')} s)")
        return {**built, "reused": True}
    built = Builder(scale).build()
    write_stamp(stamp, built)
    log(f"{scale.name}: built in {built['seconds']} s")
    return {**built, "reused": False}


def build_demo(rebuild: bool) -> dict:
    from django.core.management import call_command
    from django.test import override_settings

    stamp, reusable = prepare("demo", None, rebuild)
    if reusable:
        log("demo: reused")
        return {**read_built(), "reused": True}
    started = time.perf_counter()
    # seed_demo refuses to run with DEBUG off; the benchmark's settings have it off.
    with override_settings(DEBUG=True), open(os.devnull, "w") as devnull:
        call_command("seed_demo", stdout=devnull)
    built = {"seconds": round(time.perf_counter() - started, 1)}
    write_stamp(stamp, built)
    log(f"demo: built in {built['seconds']} s")
    return {**built, "reused": False}


def _support(builder: Builder) -> None:
    """The seven menus (support.demo's catalogue, two 支援団体 partners each)
    and their applications over the six 年度: a fifth pending, a tenth
    declined, the rest accepted — of those, the ones of past years completed
    with their outcome — each engagement with three session records. The
    contractor's organisation has 12 applications (its 「申込一覧」)."""
    from support.demo import seed_menus
    from support.enums import ApplicationStatus as S
    from support.models import (
        Application,
        ApplicationUpdate,
        Engagement,
        EngagementSession,
        Menu,
    )

    n = builder.scale.applications
    if not n:
        return
    rng = builder.rng
    menus = seed_menus()
    Menu.objects.update(slots_per_year=10_000)
    for index, menu in enumerate(menus):
        menu.partners.set(builder.supporters[2 * index : 2 * index + 2])
    partners = {
        m.pk: [o.pk for o in builder.supporters[2 * i : 2 * i + 2]] for i, m in enumerate(menus)
    }
    applicants = builder.municipal + builder.contractors + builder.supporters
    mine = builder.role_users["contractor"]
    my_org = mine.memberships.get().organisation_id
    coordinator = builder.role_users["secretariat"].pk
    plan = []
    for i in range(n):
        fy = rng.choices(builder.years, builder.year_weights)[0]
        org = my_org if i < 12 else rng.choice(applicants).pk
        roll = rng.random()
        if roll < 0.2:
            status = S.ON_HOLD if roll < 0.05 else S.SUBMITTED
        elif roll < 0.3:
            status = S.DECLINED
        else:
            status = S.COMPLETED if fy < builder.current_fy else S.ACCEPTED
        submitted = builder.aware(fy, 4, 1) + datetime.timedelta(days=rng.randrange(300))
        submitted = min(submitted, builder.now - datetime.timedelta(days=1))
        plan.append((rng.choice(menus), org, fy, status, submitted))
    insert_rows(
        Application,
        [
            "menu_id",
            "organisation_id",
            "applicant_id",
            "fiscal_year",
            "need",
            "contact_name",
            "contact_email",
            "answers",
            "status",
            "status_reason",
            "submitted_at",
            "updated_at",
        ],
        (
            (
                menu.pk,
                org,
                mine.pk if org == my_org else None,
                fy,
                f"ベンチの申込{i}: 窓口との連携を始めたい。",
                "ベンチ 担当",
                "bench-contact@example.org",
                "{}",
                status,
                "今年度の枠が埋まりました。" if status == S.DECLINED else "",
                submitted,
                submitted,
            )
            for i, (menu, org, fy, status, submitted) in enumerate(plan)
        ),
    )
    apps = list(
        Application.objects.order_by("pk").values_list("pk", "menu_id", "status", "submitted_at")
    )
    insert_rows(
        ApplicationUpdate,
        ["application_id", "old_status", "new_status", "note", "created_at"],
        ((pk, "", S.SUBMITTED, "", at) for pk, _m, _s, at in apps),
    )
    taken = [
        (pk, menu_id, status, at)
        for pk, menu_id, status, at in apps
        if status in (S.ACCEPTED, S.COMPLETED)
    ]
    insert_rows(
        Engagement,
        [
            "application_id",
            "partner_id",
            "coordinator_id",
            "accepted_at",
            "started_on",
            "completed_at",
            "outcome_answers",
            "outcome_text",
        ],
        (
            (
                pk,
                rng.choice(partners[menu_id]),
                coordinator,
                at + datetime.timedelta(days=7),
                (at + datetime.timedelta(days=14)).date(),
                at + datetime.timedelta(days=90) if status == S.COMPLETED else None,
                '{"links_made": 2}' if status == S.COMPLETED else "{}",
                "連携が始まった。" if status == S.COMPLETED else "",
            )
            for pk, menu_id, status, at in taken
        ),
    )
    engagements = list(Engagement.objects.order_by("pk").values_list("pk", "started_on"))
    insert_rows(
        EngagementSession,
        [
            "engagement_id",
            "held_on",
            "duration_minutes",
            "mode",
            "done",
            "next_steps",
            "partner_hours",
            "secretariat_hours",
            "created_at",
        ],
        (
            (
                pk,
                started + datetime.timedelta(days=10 * k),
                60 + 30 * k,
                ("visit", "online", "phone")[k],
                "窓口の流れを一緒に確認した。",
                "",
                "2.00",
                "0.50",
                builder.now,
            )
            for pk, started in engagements
            for k in range(3)
        ),
    )
    _support_showcase(builder, next(m for m in menus if m.number == 7))
    builder.counts["support applications"] = len(apps) + 1
    builder.counts["support engagements"] = len(engagements) + 1


def _support_showcase(builder: Builder, menu) -> None:
    """The contractor's organisation's ⑦, the way people do it (support.services):
    applied, accepted for the partner account's organisation, two session
    records, completed with its outcome and follow-up survey — the same shape
    as the demo's, so the pages showing it (bench.pages: my_application,
    partner_engagement) read the same rows on both data sets."""
    from django.utils.timezone import localdate

    from support import services

    contractor = builder.role_users["contractor"]
    secretariat = builder.role_users["secretariat"]
    partner = builder.role_users["partner"]
    application = services.submit_application(
        menu=menu,
        organisation=contractor.memberships.get().organisation,
        by=contractor,
        need="相談窓口に来た方へ、その日のうちに食料を渡せる仕組みをつくりたい。",
        contact_name=contractor.full_name,
        contact_email=contractor.email,
        answers={"households": 12},
    )
    engagement = services.accept_application(
        application=application,
        partner=partner.memberships.get().organisation,
        coordinator=secretariat,
        by=secretariat,
    )
    for mode in ("visit", "online"):
        services.record_session(
            engagement=engagement,
            by=partner,
            held_on=localdate(builder.now),
            duration_minutes=60,
            mode=mode,
            done="窓口の流れを一緒に確認した。",
            partner_hours=Decimal("2"),
            secretariat_hours=Decimal("0.5"),
        )
    services.complete_engagement(
        engagement=engagement,
        by=partner,
        outcome_answers={"links_made": 2, "deliveries": 9},
        outcome_text="窓口で当日に食料を渡せるようになった。",
    )
