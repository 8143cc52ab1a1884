"""Events part of `manage.py seed_demo` (demo and development only).

Reproduces the seed (続・後方支援プロジェクト, 令和3年度) so that the dashboards
show its real figures:

* the relay history of the 道央圏 担当者情報交換会, 第1回 2016 in 江別 … 第6回
  2019 in 千歳, 第7回 FY2020 in 北広島 cancelled (コロナ禍でバトンが止まる);
* the FY2021 series of five exchange meetings (27, 49, 90, 69 and 12 people,
  247 in all), the symposium held with the 3rd, and the final report meeting,
  with one registration per participant whose organisation kinds give
  exactly the seed's table (機関 = distinct organisations; 団体 = 受託団体 and
  支援団体; 自治体; 厚労省 = one organisation with N people; the その他
  participants of the 3rd and 4th meetings come without an organisation, as the
  seed's 機関 counts leave them out);
* one upcoming meeting open for registration, so that the demo accounts can
  try the member pages.

The seed gives the relay meetings' month only (and only the year for the 6th);
the days below are representative, not records.

Participants are drawn from seed_demo's organisations in a fixed order, each
meeting taking the first N of the same list, so most organisations and people
come back (the seed: 「リピート率が非常に高い」). People are contacts with
deterministic e-mail addresses (fy2021-<organisation e-mail name>-<n>@example.org),
reused across meetings. Every row is found by a natural key and only saved when
something differs, so a second run changes nothing.
"""

from __future__ import annotations

import datetime
import zlib
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.dates import fiscal_year_of, next_working_day
from network import demo as network_demo
from network.models import Membership, Municipality, Organisation, Program, Region, User

from . import tallies
from .models import Event, Registration, Session

FY2021 = 2021
REPORT_URL = "https://onl.la/e7Fe3Mb"
SYMPOSIUM_VIDEO_URL = "https://youtu.be/rzk8lFoAp_4"
FINAL_REPORT_VIDEO_URL = "https://www.youtube.com/watch?v=Jst1ptXY2RM&t=9813s"

K = Organisation.Kind
GROUPS = {"団体": (K.CONTRACTOR, K.SUPPORT), "自治体": (K.MUNICIPALITY,), "厚労省": (K.GOVERNMENT,)}


# --- the relay (平成28年〜令和2年度) --------------------------------------------


@dataclass(frozen=True)
class RelayMeeting:
    number: int
    day: datetime.date
    city: str
    fiscal_year: int
    note: str = ""
    cancelled: bool = False


RELAY_TITLE = "道央圏 生活困窮者自立支援事業 担当者情報交換会"
RELAY = [
    RelayMeeting(
        1,
        datetime.date(2016, 6, 24),
        "江別市",
        2016,
        "生活困窮者自立支援制度の発足後、道央圏の自治体担当者の情報交換の場としてスタート。",
    ),
    RelayMeeting(
        2, datetime.date(2016, 11, 18), "札幌市", 2016, "道研修会終了後の懇親会として実施。"
    ),
    RelayMeeting(
        3,
        datetime.date(2017, 2, 17),
        "小樽市",
        2016,
        "この回から北海道庁に周知協力を依頼し、北海道全域から参加。",
    ),
    RelayMeeting(4, datetime.date(2017, 9, 22), "苫小牧市", 2017),
    RelayMeeting(5, datetime.date(2018, 9, 21), "岩見沢市", 2018),
    RelayMeeting(6, datetime.date(2019, 9, 20), "千歳市", 2019, "平成31年（令和元年）の開催。"),
    RelayMeeting(7, datetime.date(2020, 9, 18), "北広島市", 2020, cancelled=True),
]
RELAY_CANCELLATION = (
    "新型コロナウイルス感染症の感染拡大（コロナ禍）のため中止。ここでリレーのバトンが止まりました。"
)


# --- the FY2021 series (令和3年度) -----------------------------------------------


@dataclass(frozen=True)
class SeriesMeeting:
    number: int
    day: datetime.date
    # Organisations and people per group: 団体, 自治体, 厚労省 as (orgs, people).
    dantai: tuple[int, int]
    municipal: tuple[int, int]
    government_people: int
    others: int = 0  # その他: people without an organisation
    theme: str = ""
    note: str = ""
    kodomo_only: bool = False

    @property
    def people(self) -> int:
        return self.dantai[1] + self.municipal[1] + self.government_people + self.others

    @property
    def organisations(self) -> int:
        return self.dantai[0] + self.municipal[0] + (1 if self.government_people else 0)


SERIES = [
    SeriesMeeting(1, datetime.date(2021, 6, 4), (9, 13), (4, 4), 10),
    SeriesMeeting(2, datetime.date(2021, 7, 15), (27, 31), (7, 8), 10),
    SeriesMeeting(
        3,
        datetime.date(2021, 10, 15),
        (42, 67),
        (9, 13),
        6,
        others=4,
        note="シンポジウムと同時開催。",
    ),
    SeriesMeeting(
        4,
        datetime.date(2021, 12, 17),
        (39, 54),
        (7, 10),
        1,
        others=4,
        theme="テーマ別ディスカッション",
        note="参加者アンケートの要望を受けて、テーマ別に分かれて情報交換しました。",
    ),
    SeriesMeeting(
        5,
        datetime.date(2022, 2, 24),
        (9, 12),
        (0, 0),
        0,
        theme="子どもの学習・生活支援",
        note="子どもの学習・生活支援事業の実施機関のみを対象に補完実施。",
        kodomo_only=True,
    ),
]
SERIES_TITLE = "北海道生活困窮者支援 情報交換会"
# 第4回 was split by theme, following the survey's wishes (主任同士, 初任者同士,
# 学習支援・一時生活, 地域の社会資源).
FOURTH_SESSIONS = [
    "主任相談支援員同士の情報交換",
    "初任者の相談員同士の情報交換",
    "学習支援・一時生活支援",
    "就労・住まい・家計の社会資源",
]
# 団体 taking part in 第4回 who had not come before (the rest are the first of
# the 第3回 list): a few newcomers alongside the many who came back.
FOURTH_NEWCOMERS = 3
# Municipalities first in line: the relay's host cities, then 札幌 and the 振興局
# of the committee chair and of 石狩.
MUNICIPAL_ORDER = ["江別市", "小樽市", "苫小牧市", "岩見沢市", "千歳市", "北広島市", "札幌市"]
MUNICIPAL_REGIONS = ["根室振興局", "石狩振興局"]
# その他 participants (no organisation in the network): what they wrote as 所属.
OTHERS = [
    ("個人（社会福祉士）", "fy2021-other-1@example.org"),
    ("道内の大学（研究者）", "fy2021-other-2@example.org"),
    ("民生委員・児童委員", "fy2021-other-3@example.org"),
    ("地域の居場所づくりボランティア", "fy2021-other-4@example.org"),
    ("個人（元相談支援員）", "fy2021-other-5@example.org"),
]
# Which of OTHERS came to 第3回 and 第4回 (indices).
OTHERS_AT = {3: (0, 1, 2, 3), 4: (0, 1, 2, 4)}


def _aware(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


# --- upserts that leave unchanged rows untouched ------------------------------------


def _differs(obj, name, value) -> bool:
    field = obj._meta.get_field(name)
    if field.is_relation:
        return getattr(obj, field.attname) != (value.pk if value is not None else None)
    return getattr(obj, name) != value


def _upsert(model, lookup: dict, values: dict):
    """update_or_create that saves only when a value differs (so updated_at
    and the database stay as they are on a second run)."""
    obj = model.objects.filter(**lookup).order_by("pk").first()
    if obj is None:
        return model.objects.create(**lookup, **values)
    changed = [name for name, value in values.items() if _differs(obj, name, value)]
    if changed:
        for name in changed:
            setattr(obj, name, values[name])
        if any(f.name == "updated_at" for f in obj._meta.fields):
            changed.append("updated_at")
        obj.save(update_fields=changed)
    return obj


# --- organisations and people --------------------------------------------------------


def _city_org(city: str) -> Organisation | None:
    return (
        Organisation.objects.filter(
            kind=K.MUNICIPALITY, municipality__name=city, municipality__kind="市"
        )
        .order_by("pk")
        .first()
    )


def _region_org(region: str) -> Organisation | None:
    return (
        Organisation.objects.filter(
            kind=K.MUNICIPALITY, municipality__isnull=True, region__name=region
        )
        .order_by("pk")
        .first()
    )


def _secretariat_org() -> Organisation | None:
    return Organisation.objects.filter(name=network_demo.SECRETARIAT_ORG["name"]).first()


def _dantai_pool(needed: int, kodomo_needed: int) -> list[Organisation]:
    """The 受託団体・支援団体 participants are drawn from, in a fixed order:
    受託団体 running 自立相談支援 first (the core of the meetings), then the
    other 受託団体, then 支援団体; by kana within each. The secretariat's own
    NPO organises the meetings and is not counted among participants."""
    orgs = list(
        Organisation.objects.filter(kind__in=GROUPS["団体"], is_sample=True)
        .prefetch_related("programs")
        .order_by("kana", "name", "pk")
    )
    extra = max(0, needed - len(orgs))
    kodomo_extra = max(0, kodomo_needed - sum(_runs(o, "kodomo_gakushu") for o in orgs))
    if extra or kodomo_extra:
        orgs += _extra_orgs(extra, kodomo_extra)

    def rank(org):
        if org.kind == K.CONTRACTOR and _runs(org, "jiritsu_sodan"):
            return 0
        return 1 if org.kind == K.CONTRACTOR else 2

    return sorted(orgs, key=lambda o: (rank(o), o.kana, o.name, o.pk))


def _runs(org: Organisation, key: str) -> bool:
    return any(p.key == key for p in org.programs.all())


def _extra_orgs(count: int, kodomo: int) -> list[Organisation]:
    """Invented organisations, only if seed_demo's list is ever too short."""
    sapporo = Municipality.objects.get(name="札幌市", kind="市")
    created = []
    for i in range(count + kodomo):
        is_kodomo = i >= count
        name = (
            f"（デモ）子ども学習支援の会 {i - count + 1}"
            if is_kodomo
            else f"（デモ）生活相談支援センター {i + 1}"
        )
        org = _upsert(
            Organisation,
            {"name": name, "municipality": sapporo},
            {
                "kana": "でも",
                "kind": K.CONTRACTOR,
                "region": sapporo.region,
                "is_sample": True,
                "description": _("デモ用の架空の団体です。"),
            },
        )
        program = Program.objects.get(key="kodomo_gakushu" if is_kodomo else "jiritsu_sodan")
        org.programs.add(program)
        created.append(org)
    return Organisation.objects.filter(pk__in=[o.pk for o in created]).prefetch_related("programs")


def _municipal_pool() -> list[Organisation]:
    first = [_city_org(city) for city in MUNICIPAL_ORDER] + [
        _region_org(region) for region in MUNICIPAL_REGIONS
    ]
    first = [org for org in first if org is not None]
    rest = (
        Organisation.objects.filter(kind=K.MUNICIPALITY)
        .exclude(pk__in=[o.pk for o in first])
        .order_by("municipality__code", "region__order", "pk")
    )
    return first + list(rest)


def _government() -> Organisation:
    org = (
        Organisation.objects.filter(name=network_demo.MHLW["name"]).first()
        or Organisation.objects.filter(kind=K.GOVERNMENT).order_by("pk").first()
    )
    if org is None:
        raise RuntimeError("seed_events needs the organisations of seed_demo (厚生労働省)")
    return org


def _email_stem(org: Organisation) -> str:
    local, _at, domain = (org.email or "").partition("@")
    return local if local and domain == "example.org" else f"org{org.pk}"


def _person_name(email: str) -> tuple[str, str]:
    # Same scheme as seed_demo's staff, so the names look alike.
    h = zlib.crc32(email.encode())
    surname, surname_kana = network_demo.SURNAMES[h % len(network_demo.SURNAMES)]
    given, given_kana = network_demo.GIVEN_NAMES[
        (h // len(network_demo.SURNAMES)) % len(network_demo.GIVEN_NAMES)
    ]
    return f"{surname} {given}", f"{surname_kana} {given_kana}"


@dataclass(frozen=True)
class Participant:
    """One registration to make: who, for which organisation (or the free
    text of a participant without one)."""

    email: str
    organisation: Organisation | None
    organisation_name: str = ""
    slot: int = 0  # their place among the organisation's participants


def _participant(org: Organisation, slot: int) -> Participant:
    return Participant(f"fy2021-{_email_stem(org)}-{slot + 1}@example.org", org, "", slot)


def _contacts(emails: set[str]) -> dict[str, User]:
    """Participants by e-mail, created as contacts when missing. Existing
    people are left as they are (they may have claimed the account)."""
    users = {u.email: u for u in User.objects.filter(email__in=emails)}
    missing = []
    for email in sorted(emails - set(users)):
        full_name, kana = _person_name(email)
        # What User.objects.create_contact makes, in one query for all.
        missing.append(
            User(
                email=email, full_name=full_name, full_name_kana=kana, password=make_password(None)
            )
        )
    User.objects.bulk_create(missing)
    users.update((u.email, u) for u in User.objects.filter(email__in=[u.email for u in missing]))
    return users


def _memberships(participants: list[Participant], users: dict[str, User]) -> None:
    wanted = {}
    for p in participants:
        if p.organisation is not None:
            user = users[p.email]
            roles = network_demo.STAFF_ROLES_BY_KIND.get(p.organisation.kind, ["other"])
            wanted.setdefault(
                (user.pk, p.organisation.pk),
                Membership(
                    user=user, organisation=p.organisation, staff_role=roles[p.slot % len(roles)]
                ),
            )
    existing = set(
        Membership.objects.filter(user__in={u for u, _o in wanted}).values_list(
            "user_id", "organisation_id"
        )
    )
    Membership.objects.bulk_create([m for key, m in wanted.items() if key not in existing])


def _spread(orgs: list[Organisation], people: int) -> list[tuple[Organisation, int]]:
    """(organisation, person slot) for `people` people over `orgs`: one each,
    the rest to the first organisations in turn (they send their second and
    third staff)."""
    if not orgs:
        return []
    base, extra = divmod(people, len(orgs))
    slots = []
    for i, org in enumerate(orgs):
        slots.extend((org, s) for s in range(base + (1 if i < extra else 0)))
    return slots


# --- events -----------------------------------------------------------------------------


def _event(kind, fiscal_year, number, **values) -> Event:
    # Every demo event was announced, the cancelled one too (members see it
    # as 中止): a month before it began, so a second run changes nothing.
    if values.get("status") != Event.Status.DRAFT:
        values.setdefault("published_at", values["starts_at"] - datetime.timedelta(days=30))
    return _upsert(Event, {"kind": kind, "fiscal_year": fiscal_year, "number": number}, values)


def seed_relay() -> list[Event]:
    events = []
    for meeting in RELAY:
        city = Municipality.objects.get(name=meeting.city, kind="市")
        host = _city_org(meeting.city)
        events.append(
            _event(
                Event.Kind.EXCHANGE,
                meeting.fiscal_year,
                meeting.number,
                title=f"第{meeting.number}回 {RELAY_TITLE} in {meeting.city.removesuffix('市')}",
                description=(
                    "生活困窮者自立支援制度の各自治体の担当者が、困っていることや知りたいことを持ち寄る"
                    "情報交換会です。開催した自治体が次の自治体にバトンを渡すリレー方式で続いています。"
                    + (meeting.note and "\n" + meeting.note)
                ),
                starts_at=_aware(meeting.day, 14),
                ends_at=_aware(meeting.day, 17),
                format=Event.Format.VENUE,
                venue_name=f"{meeting.city}内の会場",
                municipality=city,
                has_social=True,
                audience=Event.Audience.MUNICIPAL,
                host_organisation=host,
                status=Event.Status.CANCELLED if meeting.cancelled else Event.Status.FINISHED,
                cancellation_reason=RELAY_CANCELLATION if meeting.cancelled else "",
            )
        )
    return events


def _series_event(meeting: SeriesMeeting, host, kodomo) -> Event:
    return _event(
        Event.Kind.EXCHANGE,
        FY2021,
        meeting.number,
        title=f"令和3年度 第{meeting.number}回 {SERIES_TITLE}",
        theme=meeting.theme,
        description=(
            "コロナ禍で支援機関同士の情報交換の機会が難しいなか、行政機関も含めた支援機関同士の"
            "意見交換の場として開催しました（続・後方支援プロジェクト）。"
            + (meeting.note and "\n" + meeting.note)
        ),
        starts_at=_aware(meeting.day, 13, 30),
        ends_at=_aware(meeting.day, 16, 30),
        format=Event.Format.ONLINE,
        venue_name="",
        municipality=None,
        has_social=False,
        audience=Event.Audience.PROGRAM if meeting.kodomo_only else Event.Audience.MEMBERS,
        audience_program=kodomo if meeting.kodomo_only else None,
        host_organisation=host,
        status=Event.Status.FINISHED,
        report_url=REPORT_URL,
    )


REGISTRATION_FIELDS = (
    "organisation",
    "organisation_name",
    "mode",
    "session",
    "social",
    "status",
    "attended",
    "attended_at",
)


def _registrations(plan: list[tuple[Event, list[Participant], list[Session]]]) -> None:
    """Confirmed, attended registrations for exactly these people. Rows of
    earlier runs for other people of the same events are removed, so the
    figures stay exact even if the tables above change. Read and written in
    bulk (a few queries instead of some per person)."""
    everyone = [p for _event, participants, _sessions in plan for p in participants]
    users = _contacts({p.email for p in everyone})
    _memberships(everyone, users)
    events = [event for event, _participants, _sessions in plan]
    existing = {
        (r.event_id, r.user_id): r
        for r in Registration.objects.filter(event__in=events).exclude(status="cancelled")
    }
    new, changed, keep = [], [], set()
    for event, participants, sessions in plan:
        for i, p in enumerate(participants):
            user = users[p.email]
            values = {
                "organisation": p.organisation,
                "organisation_name": p.organisation_name,
                "mode": Registration.Mode.ONLINE,
                "session": sessions[i % len(sessions)] if sessions else None,
                "social": Registration.SocialStatus.NONE,
                "status": Registration.Status.CONFIRMED,
                "attended": True,
                "attended_at": event.starts_at,
            }
            registration = existing.get((event.pk, user.pk))
            if registration is None:
                new.append(Registration(event=event, user=user, **values))
                continue
            keep.add(registration.pk)
            if any(_differs(registration, name, value) for name, value in values.items()):
                for name, value in values.items():
                    setattr(registration, name, value)
                registration.updated_at = timezone.now()
                changed.append(registration)
    Registration.objects.filter(event__in=events).exclude(pk__in=keep).delete()
    Registration.objects.bulk_create(new)
    Registration.objects.bulk_update(changed, [*REGISTRATION_FIELDS, "updated_at"])
    for event in events:
        # 申込日時 a week before the meeting (created_at is auto_now_add).
        registered_at = event.starts_at - datetime.timedelta(days=7)
        Registration.objects.filter(event=event).exclude(created_at=registered_at).update(
            created_at=registered_at
        )


def seed_series() -> list[Event]:
    host = _secretariat_org()
    kodomo = Program.objects.get(key="kodomo_gakushu")
    third = next(m for m in SERIES if m.number == 3)
    fourth = next(m for m in SERIES if m.number == 4)
    fifth = next(m for m in SERIES if m.number == 5)
    pool_size = max(third.dantai[0], fourth.dantai[0] + FOURTH_NEWCOMERS)
    dantai_pool = _dantai_pool(pool_size, fifth.dantai[0])
    municipal_pool = _municipal_pool()
    government = _government()

    events, plan = [], []
    for meeting in SERIES:
        event = _series_event(meeting, host, kodomo)
        sessions = []
        if meeting.number == 4:
            sessions = [
                _upsert(Session, {"event": event, "title": title}, {"order": order})
                for order, title in enumerate(FOURTH_SESSIONS, start=1)
            ]
        if meeting.kodomo_only:
            dantai = [o for o in dantai_pool if _runs(o, "kodomo_gakushu")][: meeting.dantai[0]]
        elif meeting.number == 4:
            returning = meeting.dantai[0] - FOURTH_NEWCOMERS
            dantai = (
                dantai_pool[:returning]
                + dantai_pool[third.dantai[0] : third.dantai[0] + FOURTH_NEWCOMERS]
            )
        else:
            dantai = dantai_pool[: meeting.dantai[0]]
        slots = _spread(dantai, meeting.dantai[1])
        slots += _spread(municipal_pool[: meeting.municipal[0]], meeting.municipal[1])
        slots += [(government, s) for s in range(meeting.government_people)]
        participants = [_participant(org, slot) for org, slot in slots]
        for index in OTHERS_AT.get(meeting.number, ())[: meeting.others]:
            label, email = OTHERS[index]
            participants.append(Participant(email, None, label))
        plan.append((event, participants, sessions))
        events.append(event)
    _registrations(plan)

    events.append(
        _event(
            Event.Kind.SYMPOSIUM,
            FY2021,
            None,
            title="続・後方支援プロジェクト シンポジウム",
            theme="生活困窮者支援の孤立を防ぐ",
            description="第3回情報交換会と同時開催。",
            starts_at=_aware(third.day, 10),
            ends_at=_aware(third.day, 12),
            format=Event.Format.ONLINE,
            audience=Event.Audience.PUBLIC,
            host_organisation=host,
            status=Event.Status.FINISHED,
            video_url=SYMPOSIUM_VIDEO_URL,
        )
    )
    events.append(
        _event(
            Event.Kind.REPORT,
            FY2021,
            None,
            title="続・後方支援プロジェクト 最終報告会",
            description="情報交換会・北海道支援情報ナビ・後方支援メニュー・効果検証の1年間の報告。",
            starts_at=_aware(datetime.date(2022, 2, 18), 13),
            ends_at=_aware(datetime.date(2022, 2, 18), 17),
            format=Event.Format.ONLINE,
            audience=Event.Audience.PUBLIC,
            host_organisation=host,
            status=Event.Status.FINISHED,
            report_url=REPORT_URL,
            video_url=FINAL_REPORT_VIDEO_URL,
        )
    )
    return events


def seed_upcoming(today: datetime.date | None = None) -> Event:
    """The relay starts again where it stopped (北広島), a month from today,
    open for registration: something for the demo accounts to sign up for."""
    today = today or timezone.localdate()
    day = next_working_day(today + datetime.timedelta(days=30))
    city = Municipality.objects.get(name="北広島市", kind="市")
    event = _event(
        Event.Kind.EXCHANGE,
        fiscal_year_of(day),
        1,
        title="情報交換会 in 北広島（リレー再開）",
        theme="相談支援のいま：困っていること・知りたいこと",
        description=(
            "コロナ禍で止まっていたリレーのバトンを北広島から再開します。会場とオンラインの"
            "どちらでも参加できます。終了後は懇親会を予定しています。"
        ),
        starts_at=_aware(day, 13, 30),
        ends_at=_aware(day, 16, 30),
        format=Event.Format.HYBRID,
        venue_name="北広島市芸術文化ホール（デモ）",
        venue_address="北海道北広島市",
        municipality=city,
        venue_capacity=30,
        online_capacity=50,
        online_url="https://meet.example.org/tsunagari-demo",
        has_social=True,
        social_capacity=20,
        social_details="会場近くで18時から（会費制）",
        registration_opens_at=_aware(today, 0),
        registration_closes_at=_aware(day - datetime.timedelta(days=2), 17),
        audience=Event.Audience.MEMBERS,
        host_organisation=_city_org("北広島市"),
        status=Event.Status.PUBLISHED,
    )
    for order, title in enumerate(
        ["主任相談支援員同士の情報交換", "初任者の相談員同士の情報交換"], 1
    ):
        _upsert(Session, {"event": event, "title": title}, {"order": order, "capacity": 20})
    return event


def seed_public_upcoming(today: datetime.date | None = None) -> Event:
    """A public study meeting six weeks ahead, on a working day (never a 祝日 or
    年末年始), so that a visitor without an account can try guest registration."""
    today = today or timezone.localdate()
    day = next_working_day(today + datetime.timedelta(days=42))
    city = Municipality.objects.get(name="札幌市", kind="市")
    return _event(
        Event.Kind.STUDY,
        fiscal_year_of(day),
        1,
        title="公開勉強会「家計改善支援の基本」",
        theme="家計の見直しから始まる相談支援",
        description=(
            "家計改善支援の考え方と実践を、相談の現場から紹介します。どなたでも参加できます"
            "（アカウントは不要です。申込み後に届くメールで参加を確定してください）。"
        ),
        starts_at=_aware(day, 14, 0),
        ends_at=_aware(day, 16, 0),
        format=Event.Format.VENUE,
        venue_name="札幌市社会福祉総合センター（デモ）",
        venue_address="北海道札幌市中央区",
        municipality=city,
        venue_capacity=40,
        registration_opens_at=_aware(today, 0),
        registration_closes_at=_aware(day - datetime.timedelta(days=1), 17),
        audience=Event.Audience.PUBLIC,
        status=Event.Status.PUBLISHED,
    )


@transaction.atomic
def seed_events() -> str:
    """Seed the events; returns a one-line Japanese summary for the command."""
    if not Region.objects.exists():
        raise RuntimeError("reference data missing: run migrate first")
    relay = seed_relay()
    series = seed_series()
    seed_upcoming()
    seed_public_upcoming()
    # The rows above are bulk-written, around the services: derive what the
    # services would have kept (the check-in search keys, the dashboard's tallies).
    Registration.objects.all().index_for_search()
    tallies.rebuild()
    people = sum(m.people for m in SERIES)
    return _(
        "イベント: リレー %(relay)d回・令和3年度 %(series)d件（情報交換会の参加 延べ%(people)d名）・"
        "受付中 2件（うち一般公開 1件）"
    ) % {"relay": len(relay), "series": len(series), "people": people}
