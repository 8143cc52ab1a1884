"""committee.participation: who came to the exchange meetings, per 年度 (issue 5).

Small data sets built with factories, one rule per test: what counts as an
event and as present (the check-in rule), the groups and 機関, totals, repeat
rate, first time vs returning (across 年度), coverage and the outreach list,
commissioning 自治体 that never come, a fixed number of queries, and the cache
that follows the data.

The factories write registrations directly, behind the events services: the
helpers below refresh the tallies as the services do (events.tallies), so
that compute reads what production reads. tests/test_tallies.py compares
compute with compute_from_registrations.
"""

import datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from committee import participation as p
from events import services as event_services
from events import tallies
from events.models import Event, Registration
from network.models import Commission, Municipality, Organisation, Program

from .event_factories import EventFactory, RegistrationFactory
from .factories import OrganisationFactory, UserFactory, region

pytestmark = pytest.mark.django_db
K = Organisation.Kind


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def at(year, month, day, hour=13) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(year, month, day, hour, 30))


def meeting(day: datetime.datetime, **kwargs) -> Event:
    """A finished exchange meeting on `day` (年度 from the date)."""
    event = EventFactory(starts_at=day, status=Event.Status.FINISHED, **kwargs)
    tallies.refresh([event.pk])
    return event


def came(event, organisation=None, *, n=1, **kwargs) -> list[Registration]:
    registrations = [
        RegistrationFactory(event=event, organisation=organisation, **kwargs) for _i in range(n)
    ]
    tallies.refresh([event.pk])
    return registrations


def municipality(name) -> Municipality:
    return Municipality.objects.get(name=name)


def org(kind=K.CONTRACTOR, place="札幌市", **kwargs) -> Organisation:
    m = municipality(place)
    return OrganisationFactory(kind=kind, municipality=m, region=m.region, **kwargs)


# --- what counts ------------------------------------------------------------------------


def test_participation_counts_confirmed_registrations_without_checkin():
    event = meeting(at(2021, 6, 4))
    npo = org()
    came(event, npo, n=2)
    came(event, npo, status=Registration.Status.CANCELLED)
    came(event, npo, status=Registration.Status.WAITLISTED)
    came(event, npo, status=Registration.Status.PENDING)

    row = p.compute(2021).events[0]

    assert (row.persons, row.organisations, row.has_checkin) == (2, 1, False)


def test_participation_counts_only_attended_once_checkin_was_used():
    checked, plain = meeting(at(2021, 6, 4)), meeting(at(2021, 7, 15))
    npo, city = org(), org(K.MUNICIPALITY, name="江別市 生活支援課", place="江別市")
    came(checked, npo, n=2, attended=True)
    came(checked, city, n=3)  # registered, never checked in: not counted
    came(plain, npo, n=2)
    came(plain, city, n=3)

    first, second = p.compute(2021).events

    assert (first.persons, first.organisations, first.has_checkin) == (2, 1, True)
    assert (second.persons, second.organisations, second.has_checkin) == (5, 2, False)
    # The same rule as Registration.objects.counted_as_present, event by event.
    for event, row in ((checked, first), (plain, second)):
        assert Registration.objects.counted_as_present(event).count() == row.persons


def test_participation_counts_exchange_meetings_that_took_place_only():
    now = timezone.now()
    counted = meeting(at(2021, 6, 4))
    started = EventFactory(starts_at=at(2021, 7, 1), status=Event.Status.PUBLISHED)
    skipped = [
        meeting(at(2021, 6, 5), kind=Event.Kind.SYMPOSIUM),
        meeting(at(2021, 6, 6), kind=Event.Kind.REPORT),
        EventFactory(starts_at=at(2021, 6, 7), status=Event.Status.CANCELLED),
        EventFactory(starts_at=at(2021, 6, 8), status=Event.Status.DRAFT),
        EventFactory(status=Event.Status.PUBLISHED),  # in 30 days
    ]
    for event in [counted, started, *skipped]:
        came(event, org(name=f"団体 {event.pk}"))

    data = p.compute(2021, now=now)

    assert [e.id for e in data.events] == [counted.pk, started.pk]
    assert data.totals.persons == 2


def test_participation_groups_organisations_and_persons_like_the_seed():
    event = meeting(at(2021, 6, 4), number=1)
    for i in range(3):
        came(event, org(K.CONTRACTOR, name=f"受託 {i}"), n=2)
    came(event, org(K.SUPPORT, name="支援 1"), n=3)
    came(event, org(K.MUNICIPALITY, name="江別市 生活支援課", place="江別市"), n=2)
    mhlw = org(K.GOVERNMENT, name="厚生労働省 社会・援護局 地域福祉課 生活困窮者自立支援室")
    came(event, mhlw, n=4)
    came(event, org(K.OTHER, name="個人の会"), n=1)
    came(event, None, n=2)  # no organisation

    row = p.compute(2021).events[0]

    assert row.group(p.ORGANISATIONS) == p.Figures(4, 9)
    assert row.group(p.MUNICIPALITIES) == p.Figures(1, 2)
    assert row.group(p.GOVERNMENT) == p.Figures(1, 4)
    assert row.group(p.OTHER) == p.Figures(1, 3)
    # 機関 leaves the その他 out; persons count everyone.
    assert (row.persons, row.organisations) == (18, 6)
    assert row.line == "第1回 6月4日 18名 (6機関：団体4(9)・自治体1(2)・厚労省(4)・その他(3))"
    assert row.as_json()["groups"] == {
        "organisations": {"organisations": 4, "persons": 9},
        "municipalities": {"organisations": 1, "persons": 2},
        "government": {"organisations": 1, "persons": 4},
        "other": {"organisations": 1, "persons": 3},
    }


def test_participation_line_names_several_government_organisations_by_group():
    event = meeting(at(2021, 6, 4), number=2)
    came(event, org(K.GOVERNMENT, name="厚生労働省 地域福祉課"), n=2)
    came(event, org(K.GOVERNMENT, name="北海道労働局 職業安定部"), n=1)

    row = p.compute(2021).events[0]

    assert row.line == "第2回 6月4日 3名 (2機関：国2(3))"


def test_participation_totals_count_persons_twice_but_people_and_organisations_once():
    first, second = meeting(at(2021, 6, 4)), meeting(at(2021, 7, 15))
    npo, city = org(), org(K.MUNICIPALITY, name="江別市 生活支援課", place="江別市")
    regular = UserFactory()
    came(first, npo, user=regular)
    came(second, npo, user=regular)
    came(second, city, n=2)
    came(second, None)

    totals = p.compute(2021).totals

    assert (totals.persons, totals.distinct_persons, totals.distinct_organisations) == (5, 4, 2)
    assert totals.group(p.ORGANISATIONS) == p.Figures(1, 2)
    assert totals.group(p.MUNICIPALITIES) == p.Figures(1, 2)
    assert totals.group(p.OTHER) == p.Figures(0, 1)


# --- repeat and reach ----------------------------------------------------------------------


def test_participation_repeat_rate_is_the_share_that_came_twice_or_more():
    events = [meeting(at(2021, m, 10)) for m in (6, 7, 8)]
    npos = [org(name=f"受託 {i}") for i in range(4)]
    cities = [
        org(K.MUNICIPALITY, name=f"{name} 福祉課", place=name) for name in ("江別市", "小樽市")
    ]
    for event in events:
        came(event, npos[0])
    came(events[0], npos[1])
    came(events[2], npos[1])
    came(events[1], npos[2])
    came(events[1], npos[3])
    came(events[0], cities[0])
    came(events[1], cities[1])
    individuals = org(K.OTHER, name="個人の会")
    came(events[0], individuals)
    came(events[1], individuals)

    data = p.compute(2021)
    rates = data.as_json()["repeat_rate"]

    # 団体 2 of 4, 自治体 0 of 2, all 2 of 6 (その他 not counted).
    assert rates == {"all": 0.333, "organisations": 0.5, "municipalities": 0.0}
    assert data.repeat_rate("all").percent == "33.3%"


def test_participation_repeat_rate_is_null_without_organisations():
    assert p.compute(2021).as_json()["repeat_rate"] == {
        "all": None,
        "organisations": None,
        "municipalities": None,
    }


def test_participation_first_time_and_returning_look_back_across_years():
    old, veteran, newcomer = meeting(at(2020, 11, 5)), org(name="古参"), org(name="新顔")
    came(old, veteran)
    first, second = meeting(at(2021, 6, 4)), meeting(at(2021, 7, 15))
    came(first, veteran)
    came(first, newcomer)
    came(second, veteran)
    came(second, newcomer)
    came(second, org(name="二回目から"))

    data = p.compute(2021)

    assert [(e.first_time, e.returning) for e in data.events] == [(1, 1), (1, 2)]
    assert (data.totals.new_organisations, data.totals.returning_organisations) == (2, 1)


def test_participation_first_time_ignores_earlier_registrations_that_did_not_count():
    old = meeting(at(2020, 11, 5))
    npo = org()
    came(old, org(name="受付済み"), attended=True)  # check-in used at the old meeting
    came(old, npo)  # confirmed but not checked in: did not come
    came(meeting(at(2021, 6, 4)), npo)

    assert p.compute(2021).events[0].first_time == 1


def test_participation_coverage_by_region_and_outreach_list():
    ishikari = region("石狩振興局")
    sapporo_city = org(K.MUNICIPALITY, name="札幌市 保護課")
    sapporo_npo = org(name="札幌の団体")
    ebetsu_city = org(K.MUNICIPALITY, name="江別市 生活支援課", place="江別市")
    otaru_npo = org(name="小樽の団体", place="小樽市")
    OrganisationFactory(
        kind=K.MUNICIPALITY, name="石狩振興局 社会福祉課", municipality=None, region=ishikari
    )
    OrganisationFactory(name="退会した団体", municipality=municipality("千歳市"), is_active=False)
    event = meeting(at(2021, 6, 4))
    came(event, sapporo_npo)
    came(event, otaru_npo)

    data = p.compute(2021)
    regions = {r.short_name: r for r in data.regions}
    areas = {a.name: a for a in data.areas}

    assert len(data.regions) == 14 and data.municipalities == 179
    assert (regions["石狩"].municipal.members, regions["石狩"].municipal.came) == (3, 0)
    assert (regions["石狩"].dantai.members, regions["石狩"].dantai.came) == (1, 1)
    assert (regions["石狩"].with_members, regions["石狩"].reached) == (2, 1)
    assert (regions["後志"].dantai.came, regions["後志"].reached) == (1, 1)
    assert (areas["札幌市"].municipal.members, areas["札幌市"].dantai.came) == (1, 1)
    assert [a.name for a in data.outreach] == ["石狩振興局（町村部）", "江別市"]
    assert areas["石狩振興局（町村部）"].is_region_unit
    # 179 市町村 less 札幌, 江別, 小樽 (千歳's organisation left the network).
    assert data.areas_without_members == 176
    assert sapporo_city.pk and ebetsu_city.pk


def test_participation_lists_commissioning_municipalities_that_never_come():
    program = Program.objects.get(key="jiritsu_sodan")
    silent = org(K.MUNICIPALITY, name="小樽市 生活支援課", kana="おたる", place="小樽市")
    present = org(K.MUNICIPALITY, name="江別市 生活支援課", kana="えべつ", place="江別市")
    npo, other_npo = org(name="委託先A"), org(name="委託先B")
    for commissioner, contractor in ((silent, npo), (silent, other_npo), (present, npo)):
        Commission.objects.create(
            commissioner=commissioner, contractor=contractor, program=program, fiscal_year=2021
        )
    Commission.objects.create(
        commissioner=org(K.MUNICIPALITY, name="前年度だけ", place="千歳市"),
        contractor=npo,
        program=program,
        fiscal_year=2020,
    )
    event = meeting(at(2021, 6, 4))
    came(event, present)
    came(event, npo)

    data = p.compute(2021)

    assert data.commissioners == 2
    assert data.silent_commissioners == [
        p.SilentCommissioner(silent.pk, "小樽市 生活支援課", "小樽市", 2, 1)
    ]


# --- queries and cache -----------------------------------------------------------------------


def _events_with_registrations(count: int) -> None:
    for i in range(count):
        event = meeting(at(2021, 4, 5) + datetime.timedelta(days=7 * i))
        came(event, org(name=f"団体 {i}"), n=2, attended=i % 2 == 0)
        came(event, org(K.MUNICIPALITY, name=f"自治体 {i}"))


@pytest.mark.parametrize("events", [1, 50])
def test_participation_compute_runs_eight_queries_whatever_the_size(events):
    _events_with_registrations(events)
    with CaptureQueriesContext(connection) as queries:
        data = p.compute(2021)
    assert len(data.events) == events
    # The events, the organisations (with "came before"), the groups, the
    # distinct persons — all from the tallies — then coverage (3) and commissions.
    assert len(queries) == 8


def test_participation_compute_of_a_year_without_meetings_runs_five_queries():
    with CaptureQueriesContext(connection) as queries:
        data = p.compute(2030)
    assert data.events == [] and data.totals.persons == 0
    assert len(queries) == 5


def test_participation_cache_is_used_until_the_data_changes():
    event = meeting(at(2021, 6, 4))
    npo = org()
    registrations = came(event, npo, n=3)
    assert p.for_year(2021).totals.persons == 3

    with CaptureQueriesContext(connection) as queries:
        assert p.for_year(2021).totals.persons == 3
    assert len(queries) == 1  # the data version only

    # Check-in at the meeting: only the one checked in counts now.
    event_services.set_attended(
        registration=registrations[0], attended=True, by=UserFactory(groups=["secretariat"])
    )
    assert p.for_year(2021).totals.persons == 1


def test_participation_version_ignores_registrations_for_upcoming_meetings():
    meeting(at(2021, 6, 4))
    upcoming = EventFactory(status=Event.Status.PUBLISHED)  # in 30 days
    npo, person = org(), UserFactory()
    before = p.data_version(2021)
    came(upcoming, npo, user=person)
    assert p.data_version(2021) == before
    assert p.data_version(upcoming.fiscal_year) != before


def test_participation_version_changes_with_organisations_and_commissions():
    npo = org()
    versions = [p.data_version(2021)]
    npo.kind = K.SUPPORT
    npo.save()
    versions.append(p.data_version(2021))
    Commission.objects.create(
        commissioner=org(K.MUNICIPALITY, name="江別市 生活支援課", place="江別市"),
        contractor=npo,
        program=Program.objects.get(key="jiritsu_sodan"),
        fiscal_year=2021,
    )
    versions.append(p.data_version(2021))
    assert len(set(versions)) == 3
