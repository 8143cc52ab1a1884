"""The committee dashboard page /dashboard/ (issue 5).

On the demo data (seed_demo) the 令和3年度 page shows the seed's table,
computed from the stored registrations:

    第1回 6月4日 27名 (14機関：団体9 (13)・自治体4(4)・厚労省(10))
    …
    合計 述べ247名

plus repeat rate, coverage, the outreach list, commissioning 自治体 that do not
come and the annual survey's key results (suppressed for the committee). Who
may open it (404 for members, login for anonymous), its query count (a literal,
the same with 1 and 50 meetings, with and without the cache) and bad ?fy=.
"""

import csv
import datetime
import io
import json
import re
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
from events import services as event_services
from events import tallies
from events.models import Event, Registration
from network.models import Organisation, User

from .event_factories import EventFactory, RegistrationFactory
from .factories import OrganisationFactory, UserFactory

K = Organisation.Kind
# A 年度 the portal accepts (core.dates.parse_fiscal_year) for which the demo
# has no meeting, no annual survey and no commission.
EMPTY_YEAR = 2023
DASHBOARD_URLS = [
    "/dashboard/",
    "/dashboard/?fy=2021",
    "/dashboard/participation.json?fy=2021",
    "/dashboard/participation.csv?fy=2021",
]
# The seed's lines (its 第1回 has a stray space: 団体9 (13)), then its 第5回, whose
# 9機関 are the 子どもの学習・生活支援 団体 with 12 people; 第3回 and 第4回 add
# the その他 people that make 90 and 69 add up.
SEED_LINES = [
    "第1回 6月4日 27名 (14機関：団体9(13)・自治体4(4)・厚労省(10))",
    "第2回 7月15日 49名 (35機関：団体27(31)・自治体7(8)・厚労省(10))",
    "第3回 10月15日 90名 (52機関：団体42(67)・自治体9(13)・厚労省(6)・その他(4))",
    "第4回 12月17日 69名 (47機関：団体39(54)・自治体7(10)・厚労省(1)・その他(4))",
    "第5回 2月24日 12名 (9機関：団体9(12))",
]
# number: persons, 機関, 団体 (orgs, persons), 自治体, 国, その他 persons
SEED_TABLE = {
    1: (27, 14, (9, 13), (4, 4), (1, 10), 0),
    2: (49, 35, (27, 31), (7, 8), (1, 10), 0),
    3: (90, 52, (42, 67), (9, 13), (1, 6), 4),
    4: (69, 47, (39, 54), (7, 10), (1, 1), 4),
    5: (12, 9, (9, 12), (0, 0), (0, 0), 0),
}


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """seed_demo once for the module, rolled back at the end."""
    with django_db_blocker.unblock(), transaction.atomic():
        with override_settings(DEBUG=True):
            call_command("seed_demo", stdout=StringIO())
        yield
        transaction.set_rollback(True)


def demo_user(email):
    return User.objects.get(email=email)


def text_of(response) -> str:
    """The page's text with tags dropped and whitespace folded."""
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- the seed's figures ------------------------------------------------------------------


@pytest.mark.django_db
def test_dashboard_shows_the_seed_table_for_fy2021(seeded, client_for):
    response = client_for(demo_user("committee@example.org")).get("/dashboard/?fy=2021")

    assert response.status_code == 200
    html = response.content.decode()
    for line in SEED_LINES:
        assert f"<li>{line}</li>" in html
    assert "情報交換会の実施　合計 延べ247名" in html
    data = response.context["numbers"].data
    assert data.totals.persons == 247
    for event in data.events:
        persons, orgs, dantai, municipal, government, other = SEED_TABLE[event.number]
        assert (event.persons, event.organisations) == (persons, orgs)
        assert (event.dantai.organisations, event.dantai.persons) == dantai
        assert (event.municipal.organisations, event.municipal.persons) == municipal
        assert (event.government.organisations, event.government.persons) == government
        assert event.other.persons == other
    # The same figures in the table, row by row.
    rows = re.findall(r"<tr>\s*<th scope=\"row\" class=\"event-cell\">(.*?)</tr>", html, re.S)
    assert len(rows) == 5
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows]
    assert cells[0] == ["27名", "14", "9（13）", "4（4）", "1（10）", "0", "14", "0"]
    assert cells[2][:6] == ["90名", "52", "42（67）", "9（13）", "1（6）", "4"]
    assert "延べ247名" in re.search(r"<tfoot>(.*?)</tfoot>", html, re.S).group(1)


@pytest.mark.django_db
def test_dashboard_counts_stored_registrations_not_constants(seeded, client_for):
    """One more person checked in at 第5回 changes the page."""
    fifth = Event.objects.get(kind=Event.Kind.EXCHANGE, fiscal_year=2021, number=5)
    npo = Organisation.objects.filter(kind=K.CONTRACTOR).exclude(registrations__event=fifth)[0]
    RegistrationFactory(event=fifth, organisation=npo, attended=True)
    tallies.refresh([fifth.pk])  # as the services do after a write
    client = client_for(demo_user("committee@example.org"))

    html = client.get("/dashboard/?fy=2021").content.decode()

    assert "第5回 2月24日 13名 (10機関：団体10(13))" in html
    assert "延べ248名" in html


@pytest.mark.django_db
def test_dashboard_shows_repeat_coverage_outreach_and_commissioners(seeded, client_for):
    response = client_for(demo_user("secretariat@example.org")).get("/dashboard/?fy=2021")
    text = text_of(response)
    data = response.context["numbers"].data

    assert "リピート率（2回以上参加した機関） 80.0%" in text
    assert "全体 55 44 80.0%" in text
    assert "自治体 9 7 77.8%" in text
    assert (
        f"道内 179 市町村のうち、今年度参加のあった市町村は {data.reached_municipalities} です"
        in text
    )
    outreach = [area.name for area in data.outreach]
    assert "美唄市" in outreach and "札幌市" not in outreach
    section = text.split("まだ来ていない地域（声かけリスト）")[1].split("受託団体に委託している")[0]
    for name in outreach:
        assert name in section
    assert f"登録されていない市町村が {data.areas_without_members} あります" in text
    assert data.silent_commissioners
    silent = data.silent_commissioners[0]
    assert silent.name in text.split("受託団体に委託しているが参加していない自治体")[1]
    came = set(
        Registration.objects.filter(event__fiscal_year=2021).values_list("organisation", flat=True)
    )
    assert not {c.id for c in data.silent_commissioners} & came


@pytest.mark.django_db
def test_dashboard_survey_panel_shows_the_seed_results_suppressed_for_the_committee(
    seeded, client_for
):
    committee = text_of(client_for(demo_user("committee@example.org")).get("/dashboard/?fy=2021"))
    survey = committee.split("年次アンケート（効果検証）")[1]
    assert "令和3年度 続・後方支援プロジェクト 効果検証アンケート" in survey
    assert "自治体 49 15 30.6%" in survey
    assert "受託団体・支援団体 37 32 86.5%" in survey
    assert "合計 86 47 54.7%" in survey
    assert "参加したことがある 37 78.7%" in survey
    assert "4・5（役に立った） 91.9% （34）" in survey
    assert "はい 39 83.0%" in survey
    assert "テーマ別ディスカッション 22 62.9%" in survey
    assert "講師を招いた勉強会 17 48.6%" in survey
    # いいえ (2) is a small cell: hidden, and どちらともいえない with it.
    assert "いいえ — —" in survey
    assert "回答者が3人未満の区分は「—」" in survey

    secretariat = text_of(
        client_for(demo_user("secretariat@example.org")).get("/dashboard/?fy=2021")
    )
    assert "いいえ 2 4.3%" in secretariat.split("年次アンケート（効果検証）")[1]


@pytest.mark.django_db
def test_dashboard_charts_are_accessible_svg_with_their_numbers(seeded, client_for):
    html = client_for(demo_user("committee@example.org")).get("/dashboard/?fy=2021")
    html = html.content.decode()

    charts = re.findall(r'<svg [^>]*class="chart"[^>]*>.*?</svg>', html, re.S)
    assert len(charts) == 2
    for svg in charts:
        assert 'role="img"' in svg
        labelled = re.search(r'aria-labelledby="([^"]+) ([^"]+)"', svg)
        assert f'<title id="{labelled.group(1)}">' in svg
        assert f'<desc id="{labelled.group(2)}">' in svg
    attendance, coverage = charts
    assert "第1回 6月4日：27名（団体 13、自治体 4、国 10、その他 0）" in attendance
    assert "27名</text>" in attendance
    assert "石狩：" in coverage
    # The legends' swatches are filled by attribute (no style=: the CSP allows
    # no inline style); the muted one is left to site.css's hatching.
    swatches = re.findall(r'<svg class="swatch( muted)?"[^>]*><rect [^>]*fill="([^"]+)"/>', html)
    assert swatches == [
        ("", "#1d6f5f"), ("", "#2f6db5"), ("", "#c9731d"), ("", "#7b8a93"),
        ("", "#2f6db5"), ("", "#1d6f5f"), (" muted", "none"),
    ]  # fmt: skip
    assert "style=" not in "".join(charts)
    # Nothing from the internet, no chart library.
    assert "<script src" not in html.split("</footer>")[0]
    assert not re.search(r'(src|href)="https?://', html)
    assert "data-print hidden>印刷</button>" in html


# --- who may see it --------------------------------------------------------------------------


# The demo accounts (seed_demo) play the actors of the access matrix here: the
# conftest actors share their e-mail addresses.
DEMO_ACTORS = {
    "contractor_member": "npo@example.org",
    "municipal_member": "city@example.org",
    "org_admin": "npo-admin@example.org",
    "committee": "committee@example.org",
    "secretariat": "secretariat@example.org",
    "superuser": "admin@example.org",
}
ALLOWED = {"committee", "secretariat", "superuser"}


@pytest.fixture
def demo_actors(seeded):
    actors = {"anonymous": None, "outsider": UserFactory(email="outsider-dashboard@example.org")}
    actors.update((name, demo_user(email)) for name, email in DEMO_ACTORS.items())
    return actors


@pytest.mark.django_db
@pytest.mark.parametrize("url", DASHBOARD_URLS)
def test_dashboard_urls_answer_404_to_members_and_redirect_anonymous(url, demo_actors, client_for):
    for name, user in demo_actors.items():
        response = client_for(user).get(url)
        if name == "anonymous":
            assert response.status_code == 302, url
            assert response["Location"].startswith("/accounts/login/?next=/dashboard/"), url
        elif name in ALLOWED:
            assert response.status_code == 200, (name, url)
        else:
            assert response.status_code == 404, (name, url)


# --- the 年度 ---------------------------------------------------------------------------------


def at(year, month, day) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(year, month, day, 13, 30))


@pytest.mark.django_db
@pytest.mark.parametrize("fy", ["abc", "1999", "2015", "2101", "20.5", "２０２１x"])
def test_dashboard_bad_fiscal_year_is_a_400_page(fy, seeded, client_for):
    response = client_for(demo_user("committee@example.org")).get("/dashboard/", {"fy": fy})
    assert response.status_code == 400
    assert "年度（fy）は" in response.content.decode()


# The four pages that take ?fy=, and how each shows the Japanese message of a bad one.
FY_PAGES = [
    "/dashboard/",
    "/dashboard/participation.json",
    "/dashboard/participation.csv",
    "/dashboard/needs/new/",
]


def _fy_error(url: str, response) -> str:
    body = response.content.decode()
    if url.endswith(".json"):
        return json.loads(body)["error"]
    if url.endswith(".csv"):
        return body
    found = re.search(r'<p class="message error" role="alert">(.*?)</p>', body, flags=re.S)
    return found.group(1).strip() if found else ""


def _year_shown(url: str, response) -> int:
    if url.endswith(".json"):
        return json.loads(response.content)["fiscal_year"]
    if url.endswith(".csv"):
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        return int(rows[-1][0])  # the totals row
    if "needs" in url:
        return response.context["candidate_year"]
    return response.context["fiscal_year"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", FY_PAGES)
def test_dashboard_fiscal_year_outside_2016_to_next_year_is_a_400_in_japanese(
    url, seeded, client_for
):
    """One ?fy= rule (core.dates.parse_fiscal_year) for the dashboard, its two
    exports and the needs register's candidate list: 2016 (the relay's first
    年度) to the 年度 after the current one."""
    client = client_for(demo_user("committee@example.org"))
    expected = f"年度（fy）は {FIRST_FISCAL_YEAR}〜{last_fiscal_year()} の範囲で指定してください。"
    for fy in (FIRST_FISCAL_YEAR - 1, last_fiscal_year() + 1):
        response = client.get(url, {"fy": fy})
        assert (response.status_code, _fy_error(url, response)) == (400, expected), fy
    for fy in (FIRST_FISCAL_YEAR, last_fiscal_year()):
        response = client.get(url, {"fy": fy})
        assert (response.status_code, _year_shown(url, response)) == (200, fy)


@pytest.mark.django_db
def test_dashboard_defaults_to_the_latest_year_with_meetings(seeded, client_for):
    client = client_for(demo_user("committee@example.org"))
    assert p.current_fiscal_year() not in p.available_years()  # only an upcoming one
    assert client.get("/dashboard/").context["fiscal_year"] == 2021
    EventFactory(starts_at=at(2022, 5, 1), status=Event.Status.FINISHED)

    response = client.get("/dashboard/")

    assert response.context["fiscal_year"] == 2022
    html = response.content.decode()
    assert '<option value="2022" selected>令和4年度</option>' in html
    assert '<option value="2021">令和3年度</option>' in html


@pytest.mark.django_db
def test_dashboard_year_without_meetings_shows_empty_states(seeded, client_for):
    client = client_for(demo_user("committee@example.org"))
    html = client.get(f"/dashboard/?fy={EMPTY_YEAR}").content.decode()
    assert "令和5年度に開催済みの情報交換会はまだありません。" in html
    assert "令和5年度の年次アンケートはまだありません。" in html
    # The coverage chart, all regions at 0; no attendance chart.
    assert 'class="chart" id="chart-coverage"' in html
    assert 'id="chart-attendance"' not in html
    assert "この年度の委託の記録はありません。" in html


@pytest.mark.django_db
def test_dashboard_page_follows_a_checkin(seeded, client_for):
    event = EventFactory(starts_at=at(EMPTY_YEAR, 6, 4), status=Event.Status.FINISHED, number=1)
    npo = OrganisationFactory(name="札幌の団体")
    registrations = [RegistrationFactory(event=event, organisation=npo) for _i in range(3)]
    tallies.refresh([event.pk])  # as the services do after a write
    client = client_for(demo_user("committee@example.org"))
    assert (
        "第1回 6月4日 3名 (1機関：団体1(3))"
        in client.get(f"/dashboard/?fy={EMPTY_YEAR}").content.decode()
    )

    event_services.set_attended(
        registration=registrations[0], attended=True, by=demo_user("secretariat@example.org")
    )

    assert (
        "第1回 6月4日 1名 (1機関：団体1(1))"
        in client.get(f"/dashboard/?fy={EMPTY_YEAR}").content.decode()
    )


# --- queries -------------------------------------------------------------------------------


def meetings(count: int) -> None:
    for i in range(count):
        event = EventFactory(
            starts_at=at(EMPTY_YEAR, 4, 5) + datetime.timedelta(days=7 * i),
            status=Event.Status.FINISHED,
        )
        npo = OrganisationFactory(name=f"団体 {i}")
        city = OrganisationFactory(name=f"自治体 {i}", kind=K.MUNICIPALITY)
        RegistrationFactory(event=event, organisation=npo, attended=i % 2 == 0)
        RegistrationFactory(event=event, organisation=city, attended=i % 2 == 0)
        tallies.refresh([event.pk])  # as the services do after a write


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 50])
def test_dashboard_page_query_count_is_fixed(count, seeded, client_for):
    meetings(count)
    client = client_for(demo_user("committee@example.org"))
    # Cold: session, user, roles (2), 年度 list, data versions (3), the annual survey,
    # then the 8 queries of participation.compute, the navi's tallies and the
    # back-up menus' 8 (support.stats).
    with CaptureQueriesContext(connection) as cold:
        response = client.get(f"/dashboard/?fy={EMPTY_YEAR}")
    assert len(response.context["numbers"].data.events) == count
    assert len(cold) == 26
    # Warm: the numbers and the rendered tables come from the cache; only the
    # navi's tallies (one query) are read.
    with CaptureQueriesContext(connection) as warm:
        assert client.get(f"/dashboard/?fy={EMPTY_YEAR}").status_code == 200
    assert len(warm) == 9


@pytest.mark.django_db
def test_dashboard_cached_survey_panel_is_never_shared_across_suppression(seeded, client_for):
    """The secretariat's unsuppressed panel, once cached, is not what the committee gets."""
    secretariat = client_for(demo_user("secretariat@example.org"))
    assert "いいえ 2 4.3%" in text_of(secretariat.get("/dashboard/?fy=2021"))

    committee = client_for(demo_user("committee@example.org"))
    survey = text_of(committee.get("/dashboard/?fy=2021")).split("年次アンケート（効果検証）")[1]

    assert "いいえ — —" in survey
    assert "いいえ 2" not in survey


@pytest.mark.django_db
def test_dashboard_survey_panel_follows_new_invitations(seeded, client_for):
    from surveys.models import Invitation, Survey

    client = client_for(demo_user("secretariat@example.org"))
    assert "合計 86 47 54.7%" in text_of(client.get("/dashboard/?fy=2021"))
    survey = Survey.objects.get(kind=Survey.Kind.ANNUAL, fiscal_year=2021)
    newcomer = OrganisationFactory(name="新しい受託団体", kind=K.CONTRACTOR)
    Invitation.objects.create(
        survey=survey, organisation=newcomer, email="new@example.org", token_hash="x" * 64
    )

    assert "合計 87 47 54.0%" in text_of(client.get("/dashboard/?fy=2021"))
