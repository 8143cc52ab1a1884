"""/dashboard/participation.json (a contract, DESIGN §5) and .csv (issue 5).

On the demo data the FY2021 JSON is exactly the seed's table; importing another
year's attendance (events.importing) shows up in that year's JSON; bad ?fy=
gives a 400 with a Japanese error; a missing one means the current 年度; the CSV
is UTF-8 with a BOM and Japanese headers; query counts are literals.
"""

import csv
import datetime
import io
import json
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from committee import participation as p
from core.dates import FIRST_FISCAL_YEAR, last_fiscal_year
from events import tallies
from events.importing import COLUMNS, import_attendance
from events.models import Event, Registration
from network.models import Organisation, User

from .event_factories import EventFactory, RegistrationFactory
from .factories import OrganisationFactory

K = Organisation.Kind
JSON_URL = "/dashboard/participation.json"
CSV_URL = "/dashboard/participation.csv"
# A 年度 the portal accepts for which the demo has no meeting.
EMPTY_YEAR = 2023

# number: date, persons, organisations, groups (organisations, persons) in the
# contract's order: organisations (団体), municipalities, government, other.
SEED = {
    1: ("2021-06-04", 27, 14, [(9, 13), (4, 4), (1, 10), (0, 0)]),
    2: ("2021-07-15", 49, 35, [(27, 31), (7, 8), (1, 10), (0, 0)]),
    3: ("2021-10-15", 90, 52, [(42, 67), (9, 13), (1, 6), (0, 4)]),
    4: ("2021-12-17", 69, 47, [(39, 54), (7, 10), (1, 1), (0, 4)]),
    5: ("2022-02-24", 12, 9, [(9, 12), (0, 0), (0, 0), (0, 0)]),
}


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        with override_settings(DEBUG=True):
            call_command("seed_demo", stdout=StringIO())
        yield
        transaction.set_rollback(True)


@pytest.fixture
def committee(seeded, client_for):
    return client_for(User.objects.get(email="committee@example.org"))


def get_json(client, **params):
    response = client.get(JSON_URL, params)
    assert response["Content-Type"] == "application/json"
    return response, json.loads(response.content)


# --- the contract ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_dashboard_json_fy2021_is_the_seed_table(committee):
    response, body = get_json(committee, fy=2021)

    assert response.status_code == 200
    meetings = Event.objects.filter(kind=Event.Kind.EXCHANGE, fiscal_year=2021)
    expected_events = []
    for event in sorted(meetings, key=lambda e: e.starts_at):
        date, persons, orgs, groups = SEED[event.number]
        expected_events.append(
            {
                "id": event.pk,
                "title": event.title,
                "number": event.number,
                "date": date,
                "persons": persons,
                "organisations": orgs,
                "groups": {
                    key: {"organisations": o, "persons": n}
                    for key, (o, n) in zip(p.GROUPS, groups, strict=True)
                },
            }
        )
    assert body == {
        "fiscal_year": 2021,
        "events": expected_events,
        "totals": {"persons": 247, "distinct_persons": 101, "distinct_organisations": 55},
        "repeat_rate": {"all": 0.8, "organisations": 0.8, "municipalities": 0.778},
    }
    # The totals as the registrations give them.
    present = Registration.objects.filter(event__in=meetings, status="confirmed", attended=True)
    assert present.values("user").distinct().count() == 101
    assert (
        present.exclude(organisation__kind=K.OTHER)
        .exclude(organisation=None)
        .values("organisation")
        .distinct()
        .count()
        == 55
    )


@pytest.mark.django_db
def test_dashboard_json_keys_are_exactly_the_contract(committee):
    _response, body = get_json(committee, fy=2021)
    assert list(body) == ["fiscal_year", "events", "totals", "repeat_rate"]
    assert list(body["events"][0]) == [
        "id",
        "title",
        "number",
        "date",
        "persons",
        "organisations",
        "groups",
    ]
    assert list(body["events"][0]["groups"]) == [
        "organisations",
        "municipalities",
        "government",
        "other",
    ]
    assert list(body["totals"]) == ["persons", "distinct_persons", "distinct_organisations"]
    assert list(body["repeat_rate"]) == ["all", "organisations", "municipalities"]


@pytest.mark.django_db
def test_dashboard_json_without_fy_is_the_current_year(committee):
    _response, body = get_json(committee)
    assert body["fiscal_year"] == p.current_fiscal_year()
    assert body["events"] == []  # the demo's upcoming meeting has not taken place
    assert body["repeat_rate"] == {"all": None, "organisations": None, "municipalities": None}


@pytest.mark.django_db
@pytest.mark.parametrize("fy", ["abc", "2021.0", "1999", "2015", "2101", "-2021", "２０２１年"])
def test_dashboard_json_bad_fy_is_a_400_with_a_japanese_error(committee, fy):
    response = committee.get(JSON_URL, {"fy": fy})
    assert response.status_code == 400
    error = json.loads(response.content)["error"]
    assert error.startswith("年度（fy）は")


@pytest.mark.django_db
def test_dashboard_json_accepts_the_range_limits(committee):
    for fy in (FIRST_FISCAL_YEAR, last_fiscal_year()):
        response, body = get_json(committee, fy=fy)
        assert response.status_code == 200 and body["fiscal_year"] == fy


# --- importing another year ---------------------------------------------------------------------


def at(year, month, day) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(year, month, day, 13, 30))


def attendance_csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.mark.django_db
def test_dashboard_json_follows_an_attendance_import_for_fy2022(committee):
    event = EventFactory(
        title="令和4年度 第1回 情報交換会",
        number=1,
        starts_at=at(2022, 6, 10),
        status=Event.Status.FINISHED,
    )
    city = Organisation.objects.get(name__startswith="江別市", kind=K.MUNICIPALITY)
    came_in_2021 = Registration.objects.filter(event__fiscal_year=2021, organisation=city).exists()
    npo = Organisation.objects.filter(kind=K.CONTRACTOR, registrations__isnull=False)[0]
    mhlw = Organisation.objects.get(kind=K.GOVERNMENT)
    _response, before = get_json(committee, fy=2022)
    assert before["events"][0]["persons"] == 0

    code = city.municipality.code
    npo_code = npo.municipality.code if npo.municipality else ""
    result = import_attendance(
        raw=attendance_csv(
            [
                [
                    event.pk,
                    "new-1@example.org",
                    "新規 一郎",
                    "",
                    city.name,
                    "",
                    code,
                    "会場",
                    "",
                    "1",
                ],
                [
                    event.pk,
                    "new-2@example.org",
                    "新規 二郎",
                    "",
                    city.name,
                    "",
                    code,
                    "会場",
                    "",
                    "1",
                ],
                [
                    event.pk,
                    "new-3@example.org",
                    "新規 三郎",
                    "",
                    npo.name,
                    "",
                    npo_code,
                    "",
                    "",
                    "1",
                ],
                [event.pk, "new-4@example.org", "新規 四郎", "", mhlw.name, "", "", "", "", "1"],
                [
                    event.pk,
                    "new-5@example.org",
                    "新規 五郎",
                    "",
                    "新しいNPO",
                    "支援団体",
                    "011002",
                    "",
                    "",
                    "1",
                ],
                # Registered but did not come: check-in was used, so not counted.
                [
                    event.pk,
                    "new-6@example.org",
                    "新規 六郎",
                    "",
                    npo.name,
                    "",
                    npo_code,
                    "",
                    "",
                    "0",
                ],
                [event.pk, "new-7@example.org", "個人 七子", "", "", "", "", "", "", "1"],
            ]
        ),
        filename="fy2022.csv",
    )
    assert result.ok, [str(e) for e in result.errors]

    _response, body = get_json(committee, fy=2022)

    assert body["events"] == [
        {
            "id": event.pk,
            "title": "令和4年度 第1回 情報交換会",
            "number": 1,
            "date": "2022-06-10",
            "persons": 6,
            "organisations": 4,
            "groups": {
                "organisations": {"organisations": 2, "persons": 2},
                "municipalities": {"organisations": 1, "persons": 2},
                "government": {"organisations": 1, "persons": 1},
                "other": {"organisations": 0, "persons": 1},
            },
        }
    ]
    assert body["totals"] == {"persons": 6, "distinct_persons": 6, "distinct_organisations": 4}
    assert body["repeat_rate"] == {"all": 0.0, "organisations": 0.0, "municipalities": 0.0}
    # Returning across 年度: the organisations that came in 2021 are not new.
    data = p.for_year(2022)
    assert came_in_2021
    assert (data.events[0].first_time, data.events[0].returning) == (1, 3)
    # FY2021 is untouched.
    _response, fy2021 = get_json(committee, fy=2021)
    assert fy2021["totals"]["persons"] == 247


# --- CSV --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_dashboard_csv_is_utf8_with_bom_one_row_per_event_and_totals(committee):
    response = committee.get(CSV_URL, {"fy": 2021})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="participation-2021.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "年度", "回", "名称", "開催日", "参加者数（延べ）", "実人数", "機関数",
        "団体（機関）", "団体（人）", "自治体（機関）", "自治体（人）",
        "国（機関）", "国（人）", "その他（機関）", "その他（人）",
        "初参加の機関", "継続参加の機関",
    ]  # fmt: skip
    assert len(rows) == 1 + 5 + 1
    assert rows[1][:4] == [
        "2021",
        "1",
        "令和3年度 第1回 北海道生活困窮者支援 情報交換会",
        "2021-06-04",
    ]
    assert rows[1][4:15] == ["27", "27", "14", "9", "13", "4", "4", "1", "10", "0", "0"]
    assert rows[3][4:7] == ["90", "90", "52"]
    assert rows[-1][0] == "2021" and rows[-1][2].startswith("合計")
    assert rows[-1][4:7] == ["247", "101", "55"]


@pytest.mark.django_db
def test_dashboard_csv_bad_fy_is_a_400(committee):
    response = committee.get(CSV_URL, {"fy": "x"})
    assert response.status_code == 400
    assert "年度（fy）は" in response.content.decode()


@pytest.mark.django_db
def test_dashboard_csv_defuses_formulae_in_titles(committee):
    EventFactory(
        title="=HYPERLINK(1)", starts_at=at(EMPTY_YEAR, 5, 1), status=Event.Status.FINISHED
    )
    EventFactory(title="@SUM(A1)", starts_at=at(EMPTY_YEAR, 6, 1), status=Event.Status.FINISHED)
    body = committee.get(CSV_URL, {"fy": EMPTY_YEAR}).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert [row[2] for row in rows[1:3]] == ["'=HYPERLINK(1)", "'@SUM(A1)"]


# --- queries ----------------------------------------------------------------------------------------


def meetings(count: int) -> None:
    for i in range(count):
        event = EventFactory(
            starts_at=at(EMPTY_YEAR, 4, 5) + datetime.timedelta(days=7 * i),
            status=Event.Status.FINISHED,
        )
        RegistrationFactory(event=event, organisation=OrganisationFactory(name=f"団体 {i}"))
        tallies.refresh([event.pk])  # as the services do after a write


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 50])
@pytest.mark.parametrize("url", [JSON_URL, CSV_URL])
def test_dashboard_exports_query_count_is_fixed(committee, count, url):
    meetings(count)
    # Cold: session, user, roles (2), data version, then participation.compute (8).
    with CaptureQueriesContext(connection) as cold:
        assert committee.get(url, {"fy": EMPTY_YEAR}).status_code == 200
    assert len(cold) == 13
    # Warm: the body comes from the cache.
    with CaptureQueriesContext(connection) as warm:
        response = committee.get(url, {"fy": EMPTY_YEAR})
    assert len(warm) == 5
    if url == JSON_URL:
        assert len(json.loads(response.content)["events"]) == count
