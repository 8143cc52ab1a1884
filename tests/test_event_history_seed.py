"""`seed_demo` reproduces the seed's meeting history (issue 3, DESIGN §1).

The figures are recomputed from the registration rows with ORM aggregates, the
way the committee dashboard (issue 5) will compute them, and compared with the
numbers printed in the seed:

    第1回 6月4日 27名 (14機関：団体9 (13)・自治体4(4)・厚労省(10))
    第2回 7月15日 49名 (35機関：団体27(31)・自治体7(8)・厚労省(10))
    第3回 10月15日 90名 (52機関：団体42(67)・自治体9(13)・厚労省(6))
    第4回 12月17日 69名 (47機関：団体39(54)・自治体7(10)・厚労省(1))
    第5回 2月24日 12名 (9機関：子どもの学習・生活支援機関のみ補完実施)
    合計 述べ247名

Seeding takes seconds, so the module seeds once inside a transaction that is
rolled back at the end; each test runs in its own savepoint within it.
"""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Q
from django.test import override_settings
from django.utils import timezone

from core.dates import is_working_day
from events import demo as events_demo
from events.models import Event, Registration, Session
from network.models import Membership, Organisation, User

K = Organisation.Kind
DANTAI = [K.CONTRACTOR, K.SUPPORT]

# number: (date, persons, organisations, 団体 (orgs, persons), 自治体 (orgs, persons),
#          厚労省 persons, その他 persons) — literally the seed's table.
SEED_TABLE = {
    1: (datetime.date(2021, 6, 4), 27, 14, (9, 13), (4, 4), 10, 0),
    2: (datetime.date(2021, 7, 15), 49, 35, (27, 31), (7, 8), 10, 0),
    3: (datetime.date(2021, 10, 15), 90, 52, (42, 67), (9, 13), 6, 4),
    4: (datetime.date(2021, 12, 17), 69, 47, (39, 54), (7, 10), 1, 4),
    5: (datetime.date(2022, 2, 24), 12, 9, (9, 12), (0, 0), 0, 0),
}


def seed() -> str:
    out = StringIO()
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        output = seed()
        yield output
        transaction.set_rollback(True)


def present(event):
    return Registration.objects.filter(event=event, status="confirmed", attended=True)


def figures(event) -> dict:
    """The dashboard's numbers for one event, in one aggregate query."""
    return present(event).aggregate(
        persons=Count("pk"),
        organisations=Count("organisation", distinct=True),
        dantai_orgs=Count("organisation", filter=Q(organisation__kind__in=DANTAI), distinct=True),
        dantai_persons=Count("pk", filter=Q(organisation__kind__in=DANTAI)),
        municipal_orgs=Count(
            "organisation", filter=Q(organisation__kind=K.MUNICIPALITY), distinct=True
        ),
        municipal_persons=Count("pk", filter=Q(organisation__kind=K.MUNICIPALITY)),
        government_orgs=Count(
            "organisation", filter=Q(organisation__kind=K.GOVERNMENT), distinct=True
        ),
        government_persons=Count("pk", filter=Q(organisation__kind=K.GOVERNMENT)),
        other_persons=Count(
            "pk", filter=Q(organisation__isnull=True) | Q(organisation__kind=K.OTHER)
        ),
        people=Count("user", distinct=True),
    )


def fy2021_meetings() -> dict[int, Event]:
    events = Event.objects.filter(kind=Event.Kind.EXCHANGE, fiscal_year=2021)
    return {event.number: event for event in events}


@pytest.mark.django_db
def test_history_seed_fy2021_meetings_reproduce_the_seed_table(seeded):
    meetings = fy2021_meetings()
    assert sorted(meetings) == [1, 2, 3, 4, 5]
    for number, expected in SEED_TABLE.items():
        day, persons, orgs, dantai, municipal, government, others = expected
        event = meetings[number]
        got = figures(event)
        assert timezone.localtime(event.starts_at).date() == day, number
        assert event.status == Event.Status.FINISHED
        assert event.report_url == "https://onl.la/e7Fe3Mb"
        assert got["persons"] == persons, number
        assert got["people"] == persons, number  # one registration per person
        assert got["organisations"] == orgs, number
        assert (got["dantai_orgs"], got["dantai_persons"]) == dantai, number
        assert (got["municipal_orgs"], got["municipal_persons"]) == municipal, number
        assert got["government_persons"] == government, number
        assert got["government_orgs"] == (1 if government else 0), number
        assert got["other_persons"] == others, number
        # Every registration of these meetings is a present participant.
        assert Registration.objects.filter(event=event).count() == persons


@pytest.mark.django_db
def test_history_seed_fy2021_total_is_247(seeded):
    total = Registration.objects.filter(
        event__kind=Event.Kind.EXCHANGE, event__fiscal_year=2021, status="confirmed", attended=True
    ).count()
    assert total == 247


@pytest.mark.django_db
def test_history_seed_fifth_meeting_is_for_kodomo_gakushu_organisations_only(seeded):
    fifth = fy2021_meetings()[5]
    assert fifth.audience == Event.Audience.PROGRAM
    assert fifth.audience_program.key == "kodomo_gakushu"
    orgs = Organisation.objects.filter(registrations__event=fifth).distinct()
    assert orgs.count() == 9
    assert orgs.exclude(programs__key="kodomo_gakushu").count() == 0


@pytest.mark.django_db
def test_history_seed_participants_come_back(seeded):
    """「リピート率が非常に高い」: most organisations of a meeting come to the next one."""
    meetings = fy2021_meetings()

    def orgs(number):
        return set(
            present(meetings[number])
            .exclude(organisation=None)
            .values_list("organisation", flat=True)
        )

    for number in (1, 2, 3):
        before, after = orgs(number), orgs(number + 1)
        assert len(before & after) / len(before) >= 0.8, number
    # 第4回 also had newcomers.
    assert orgs(4) - orgs(1) - orgs(2) - orgs(3)
    # The same people, not only the same organisations.
    repeaters = (
        Registration.objects.filter(event__in=meetings.values())
        .values("user")
        .annotate(n=Count("pk"))
        .filter(n__gte=2)
        .count()
    )
    assert repeaters >= 40
    # Participants are contacts who belong to the organisation they came for.
    first = present(meetings[1]).exclude(organisation=None).select_related("user")
    for registration in first:
        assert registration.user.is_contact
        assert Membership.objects.filter(
            user=registration.user, organisation=registration.organisation
        ).exists()


@pytest.mark.django_db
def test_history_seed_symposium_and_final_report(seeded):
    symposium = Event.objects.get(kind=Event.Kind.SYMPOSIUM, fiscal_year=2021)
    assert timezone.localtime(symposium.starts_at).date() == datetime.date(2021, 10, 15)
    assert symposium.video_url == "https://youtu.be/rzk8lFoAp_4"
    report = Event.objects.get(kind=Event.Kind.REPORT, fiscal_year=2021)
    assert timezone.localtime(report.starts_at).date() == datetime.date(2022, 2, 18)
    assert report.video_url == "https://www.youtube.com/watch?v=Jst1ptXY2RM&t=9813s"
    # Their audiences are counted with the 3rd meeting, not twice.
    assert not Registration.objects.filter(event__in=[symposium, report]).exists()
    assert Session.objects.filter(event=fy2021_meetings()[4]).count() == 4


@pytest.mark.django_db
def test_history_seed_relay_from_ebetsu_to_kitahiroshima(seeded):
    relay = {
        (e.fiscal_year, e.number): e
        for e in Event.objects.filter(
            kind=Event.Kind.EXCHANGE, fiscal_year__lte=2020
        ).select_related("municipality", "host_organisation__municipality")
    }
    expected = [
        (2016, 1, 2016, 6, "江別市"),
        (2016, 2, 2016, 11, "札幌市"),
        (2016, 3, 2017, 2, "小樽市"),
        (2017, 4, 2017, 9, "苫小牧市"),
        (2018, 5, 2018, 9, "岩見沢市"),
        (2019, 6, 2019, None, "千歳市"),
        (2020, 7, None, None, "北広島市"),
    ]
    assert len(relay) == len(expected)
    for fiscal_year, number, year, month, city in expected:
        event = relay[(fiscal_year, number)]
        local = timezone.localtime(event.starts_at)
        assert year is None or local.year == year
        assert month is None or local.month == month
        assert event.municipality.name == city
        assert event.host_organisation.kind == K.MUNICIPALITY
        assert event.host_organisation.municipality == event.municipality
        assert event.status == (Event.Status.CANCELLED if number == 7 else Event.Status.FINISHED)
    assert "コロナ" in relay[(2020, 7)].cancellation_reason
    assert "道研修会" in relay[(2016, 2)].description


@pytest.mark.django_db
def test_history_seed_leaves_a_member_and_a_public_event_open_for_registration(seeded):
    upcoming = Event.objects.filter(
        status=Event.Status.PUBLISHED, starts_at__gt=timezone.now()
    ).order_by("starts_at")
    assert [(e.municipality.name, e.audience) for e in upcoming] == [
        ("北広島市", Event.Audience.MEMBERS),
        ("札幌市", Event.Audience.PUBLIC),
    ]
    for event in upcoming:
        assert event.registration_opens_at <= timezone.now() < event.registration_closes_at
        assert is_working_day(timezone.localdate(event.starts_at)), event.starts_at


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        # 30 days after 1 December is 31 December (年末年始), then 1–3 January, then
        # Saturday 2 and Sunday 3 January 2027: the first working day is Monday 4 January.
        (datetime.date(2026, 12, 1), datetime.date(2027, 1, 4)),
        # 30 days after 13 October 2026 is Thursday 12 November: a plain weekday.
        (datetime.date(2026, 10, 13), datetime.date(2026, 11, 12)),
        # 30 days after 24 October 2026 is Monday 23 November, 勤労感謝の日.
        (datetime.date(2026, 10, 24), datetime.date(2026, 11, 24)),
    ],
)
@pytest.mark.django_db
def test_history_seed_upcoming_meeting_falls_on_a_working_day(today, expected):
    event = events_demo.seed_upcoming(today=today)
    assert timezone.localdate(event.starts_at) == expected


@pytest.mark.django_db
def test_history_seed_public_event_is_never_on_new_years_day_or_a_holiday():
    # 42 days after 20 November 2026 is 1 January 2027 (元日).
    event = events_demo.seed_public_upcoming(today=datetime.date(2026, 11, 20))
    day = timezone.localdate(event.starts_at)
    assert day == datetime.date(2027, 1, 4)
    assert event.audience == Event.Audience.PUBLIC


@pytest.mark.django_db
def test_history_seed_public_event_offers_guest_registration_to_a_visitor(seeded, client):
    """An anonymous visitor finds the public event and its guest form."""
    event = Event.objects.get(audience=Event.Audience.PUBLIC, starts_at__gt=timezone.now())
    listing = client.get("/events/").content.decode()
    assert event.title in listing
    form = client.get(f"/events/{event.pk}/register/guest/")
    assert form.status_code == 200
    html = form.content.decode()
    assert 'name="full_name"' in html and 'name="email"' in html


def snapshot() -> dict:
    return {
        "events": list(Event.objects.order_by("pk").values()),
        "sessions": list(Session.objects.order_by("pk").values()),
        "registrations": list(Registration.objects.order_by("pk").values()),
        "users": User.objects.count(),
        "memberships": Membership.objects.count(),
        "organisations": Organisation.objects.count(),
    }


@pytest.mark.django_db
def test_history_seed_second_run_changes_nothing(seeded):
    before = snapshot()
    seed()
    assert snapshot() == before


@pytest.mark.django_db
def test_history_seed_admin_pages_open(seeded, client_for):
    """The admin of events (and the outbox) lists and edits the seeded history."""
    client = client_for(User.objects.get(email="admin@example.org", is_superuser=True))
    third = fy2021_meetings()[3]
    pages = [
        "/admin/events/event/",
        "/admin/events/event/?status__exact=cancelled",
        f"/admin/events/event/{third.pk}/change/",
        "/admin/events/event/add/",
        "/admin/events/registration/",
        f"/admin/events/registration/?event__id__exact={third.pk}&attended__exact=1",
        "/admin/events/registration/?q=fy2021",
        f"/admin/events/registration/{present(third).first().pk}/change/",
        "/admin/events/session/",
        "/admin/events/calendarfeed/",
        "/admin/core/outboxmessage/",
    ]
    for url in pages:
        assert client.get(url).status_code == 200, url
    listing = client.get(f"/admin/events/registration/?event__id__exact={third.pk}")
    assert "90" in listing.content.decode()
    # Read-only tables offer no add page.
    assert client.get("/admin/events/calendarfeed/add/").status_code == 403
    assert client.get("/admin/core/outboxmessage/add/").status_code == 403
