"""The secretariat's files of the back-up menus: applications and session
records of a 年度, as CSV (UTF-8 with BOM) and XLSX."""

import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from core.dates import current_fiscal_year
from core.templatetags.wareki import wareki_fy
from support.enums import ApplicationStatus
from support.models import Application

from . import support_factories as sf
from .factories import MembershipFactory, OrganisationFactory
from .queries import assert_flat_query_count

pytestmark = pytest.mark.django_db

APPLICATION_HEADER = [
    "申込ID",
    "年度",
    "メニュー",
    "申込組織",
    "組織種別",
    "振興局",
    "状態",
    "申込日",
    "決定日",
    "担当する協力団体",
    "開始日",
    "完了日",
    "協力団体の従事時間（合計）",
    "事務局の調整時間（合計）",
    "支援記録の件数",
]
SESSION_HEADER = [
    "支援ID",
    "メニュー",
    "申込組織",
    "担当する協力団体",
    "実施日",
    "所要時間（分）",
    "方法",
    "協力団体の従事時間",
    "事務局の調整時間",
    "実施内容",
    "次の予定",
]


def _url(what, fmt, **query):
    url = reverse(f"support:export_{what}", args=[fmt])
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def _csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def _xlsx_rows(response) -> list[list]:
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    return [list(row) for row in book.active.iter_rows(values_only=True)]


@pytest.fixture
def engaged(secretariat, contractor_member):
    """One application accepted with two sessions, one waiting from another org."""
    menu = sf.menu(number=4, name="相談窓口の立ち上げ支援")
    app = sf.application(menu, contractor_member)
    engagement = sf.engagement(app, by=secretariat)
    partner = sf.partner_member(menu)
    sf.session(engagement, partner, days_ago=0, hours="2", coordination="0.5")
    sf.session(engagement, partner, days_ago=0, hours="1.5", coordination="0")
    waiting_member = MembershipFactory(organisation=OrganisationFactory(name="旭川の相談室")).user
    waiting = sf.application(menu, waiting_member)
    return app, engagement, waiting


def test_export_applications_csv_has_bom_japanese_header_and_totals(
    client_for, secretariat, engaged
):
    app, engagement, waiting = engaged
    fy = current_fiscal_year()
    response = client_for(secretariat).get(_url("applications", "csv", fy=fy))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="support-applications-{fy}.csv"' in response["Content-Disposition"]
    rows = _csv_rows(response)
    assert rows[0] == APPLICATION_HEADER
    by_id = {row[0]: row for row in rows[1:]}
    assert sorted(by_id) == sorted([str(app.pk), str(waiting.pk)])
    accepted = by_id[str(app.pk)]
    assert accepted[1:7] == [
        wareki_fy(fy),
        "④ 相談窓口の立ち上げ支援",
        "札幌生活サポートセンター",
        app.organisation.get_kind_display(),
        app.organisation.region.name if app.organisation.region_id else "",
        "実施中",
    ]
    assert accepted[9] == "協力団体4"
    assert accepted[12:] == ["3.5", "0.5", "2"]
    assert by_id[str(waiting.pk)][6] == "受付"
    assert by_id[str(waiting.pk)][9:] == ["", "", "", "", "", ""]


def test_export_applications_follows_the_list_filters(client_for, secretariat, engaged):
    app, _engagement, waiting = engaged
    fy = current_fiscal_year()
    rows = _csv_rows(
        client_for(secretariat).get(_url("applications", "csv", fy=fy, status="pending"))
    )
    assert [row[0] for row in rows[1:]] == [str(waiting.pk)]
    rows = _csv_rows(client_for(secretariat).get(_url("applications", "csv", fy=fy - 1)))
    assert rows == [APPLICATION_HEADER]


def test_export_sessions_xlsx_opens_and_carries_no_person(client_for, secretariat, engaged):
    app, engagement, _waiting = engaged
    response = client_for(secretariat).get(
        _url("sessions", "xlsx", fy=current_fiscal_year(), status="pending")
    )
    rows = _xlsx_rows(response)
    assert rows[0] == SESSION_HEADER
    assert [row[:4] for row in rows[1:]] == [
        [engagement.pk, "④ 相談窓口の立ち上げ支援", "札幌生活サポートセンター", "協力団体4"]
    ] * 2
    assert sorted(row[7] for row in rows[1:]) == [1.5, 2]
    assert [row[6] for row in rows[1:]] == ["オンライン", "オンライン"]
    assert [row[9] for row in rows[1:]] == ["窓口の流れを一緒に確認した。"] * 2
    # Nobody is named: not the recorder, the coordinator or the applicant.
    text = repr(rows)
    recorders = {s.recorded_by.full_name for s in engagement.sessions.all()}
    for name in {*recorders, secretariat.full_name, app.applicant.full_name, app.contact_email}:
        assert name not in text


def test_export_sessions_csv_has_bom_and_header(client_for, secretariat, engaged):
    rows = _csv_rows(client_for(secretariat).get(_url("sessions", "csv")))
    assert rows[0] == SESSION_HEADER
    assert len(rows) == 3


def test_export_cell_that_looks_like_a_formula_is_defused(client_for, secretariat, engaged):
    app, _engagement, _waiting = engaged
    Application.objects.filter(pk=app.pk).update(status=ApplicationStatus.ACCEPTED)
    app.organisation.name = "=HYPERLINK(1)"
    app.organisation.save()
    rows = _csv_rows(client_for(secretariat).get(_url("applications", "csv")))
    assert "'=HYPERLINK(1)" in [row[3] for row in rows[1:]]


@pytest.mark.parametrize("what", ["applications", "sessions"])
@pytest.mark.parametrize("fy", ["abc", "1999", "3000"])
def test_export_bad_fiscal_year_is_a_japanese_400(client_for, secretariat, what, fy):
    response = client_for(secretariat).get(_url(what, "csv", fy=fy))
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "年度（fy）は" in response.content.decode()


def test_export_bad_filter_is_a_japanese_400(client_for, secretariat):
    response = client_for(secretariat).get(_url("applications", "csv", menu="abc"))
    assert response.status_code == 400
    assert "絞り込みの条件に誤りがあります" in response.content.decode()


@pytest.mark.parametrize("what", ["applications", "sessions"])
def test_export_unknown_format_is_404(client_for, secretariat, what):
    response = client_for(secretariat).get(_url(what, "pdf"))
    assert response.status_code == 404
    assert b"\xef\xbb\xbf" not in response.content


@pytest.mark.parametrize("what", ["applications", "sessions"])
def test_export_is_404_for_everyone_but_the_secretariat(client_for, actors, engaged, what):
    for name in ("outsider", "contractor_member", "org_admin", "committee"):
        response = client_for(actors[name]).get(_url(what, "csv"))
        assert (name, response.status_code) == (name, 404)
        assert "札幌生活サポートセンター" not in response.content.decode()
    assert "札幌生活サポートセンター" in response_text(client_for(actors["secretariat"]), what)


def response_text(client, what) -> str:
    return client.get(_url(what, "csv")).content.decode("utf-8-sig")


def _add_engagements(secretariat, menu):
    def add_rows(n):
        for _ in range(n):
            member = MembershipFactory(organisation=OrganisationFactory()).user
            engagement = sf.engagement(sf.application(menu, member), by=secretariat)
            sf.session(engagement, sf.partner_member(menu))

    return add_rows


@pytest.mark.parametrize("what", ["applications", "sessions"])
def test_export_query_count_is_flat(client_for, secretariat, what, django_assert_num_queries):
    menu = sf.menu(slots=50)
    assert_flat_query_count(
        django_assert_num_queries,
        client_for(secretariat),
        _url(what, "csv"),
        _add_engagements(secretariat, menu),
        5,  # session, user, groups, memberships (access), the file's one query
        lambda response: len(_csv_rows(response)) - 1,
        large=20,
    )
