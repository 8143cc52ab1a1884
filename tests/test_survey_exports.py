"""Survey exports (surveys/exports.py): answers and aggregates as CSV (UTF-8
with BOM) and XLSX, formula escaping, who may download what."""

import csv
import datetime
import io

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from network.models import Organisation
from surveys.models import Question, Survey
from tests.factories import OrganisationFactory
from tests.survey_factories import (
    QuestionFactory,
    SurveyFactory,
    catalog_survey,
    submitted_response,
)

pytestmark = pytest.mark.django_db


def url(survey, what, fmt):
    return reverse("surveys:export", args=[survey.pk, what, fmt])


def closed(survey):
    """The committee reads the aggregates of closed surveys only (issue 8, defect 3)."""
    survey.closes_at = timezone.now() - datetime.timedelta(minutes=1)
    survey.save(update_fields=["closes_at"])
    return survey


def rows_of(response):
    content = response.content
    assert content.startswith("\ufeff".encode())  # BOM: Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


@pytest.fixture
def survey():
    survey = catalog_survey("annual", kind=Survey.Kind.ANNUAL, fiscal_year=2021)
    city = OrganisationFactory(name="札幌市 保健福祉局", kind=Organisation.Kind.MUNICIPALITY)
    npo = OrganisationFactory(name="くらしサポートさっぽろ")
    submitted_response(
        survey,
        organisation=city,
        participated=True,
        answers={
            "attended": "参加したことがある",
            "useful": 5,
            "continue": "はい",
            "format": ["講師を招いた勉強会", "テーマ別ディスカッション", 'その他:=HYPERLINK("x")'],
            "comments": "=1+2",
        },
    )
    submitted_response(
        survey,
        organisation=npo,
        participated=False,
        answers={"attended": "参加したことがない", "continue": "はい", "comments": "@SUM(A1)"},
    )
    for _i in range(3):
        submitted_response(
            survey,
            organisation=OrganisationFactory(),
            participated=True,
            answers={"attended": "参加したことがある", "useful": 4, "continue": "はい"},
        )
    return closed(survey)


def test_answers_csv_has_bom_headers_and_one_row_per_response(client_for, secretariat, survey):
    response = client_for(secretariat).get(url(survey, "answers", "csv"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="survey-' in response["Content-Disposition"]
    header, *rows = rows_of(response)
    assert header[:8] == [
        "回答ID",
        "送信日時",
        "回答者",
        "メール",
        "組織",
        "組織種別",
        "振興局",
        "今年度の参加",
    ]
    assert header[8:] == [
        "Q1 今年度、情報交換会に参加したことがありますか",
        "Q2 情報交換会は役に立ちましたか",
        "Q3 情報交換会の継続を希望しますか",
        "Q4 情報交換会への希望（複数回答可）",
        "Q5 ご意見・ご感想（自由記述）",
    ]
    assert len(rows) == 5
    city = next(r for r in rows if r[4] == "札幌市 保健福祉局")
    assert city[5:8] == ["自治体", "石狩振興局", "あり"]
    # choices in the question's order, joined with "、"; numbers without decimals
    assert city[8:11] == ["参加したことがある", "5", "はい"]
    assert city[11] == 'テーマ別ディスカッション、講師を招いた勉強会、その他（=HYPERLINK("x")）'


def test_answers_export_escapes_formulae(client_for, secretariat, survey):
    rows = rows_of(client_for(secretariat).get(url(survey, "answers", "csv")))

    comments = {r[4]: r[12] for r in rows[1:]}
    assert comments["札幌市 保健福祉局"] == "'=1+2"
    assert comments["くらしサポートさっぽろ"] == "'@SUM(A1)"


def test_answers_xlsx_has_the_same_rows_as_text(client_for, secretariat, survey):
    response = client_for(secretariat).get(url(survey, "answers", "xlsx"))

    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "回答ID"
    assert len(values) == 6
    comments = [row[12] for row in values[1:] if row[12]]
    assert "'=1+2" in comments  # text, not a formula
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_answers_export_of_anonymous_survey_has_no_respondent_columns(client_for, secretariat):
    survey = catalog_survey("annual", anonymous=True)
    org = OrganisationFactory(name="名前が出てはいけない団体")
    submitted_response(
        survey,
        organisation=org,
        anonymous=True,
        answers={"continue": "はい", "comments": "匿名の感想"},
    )

    header, *rows = rows_of(client_for(secretariat).get(url(survey, "answers", "csv")))

    assert header[0].startswith("Q1 ")
    assert "回答者" not in header and "組織" not in header and "送信日時" not in header
    assert rows[0][2] == "はい" and rows[0][4] == "匿名の感想"
    assert "名前が出てはいけない団体" not in "".join(sum(rows, []))


def test_aggregates_csv_for_the_secretariat_has_every_count(client_for, secretariat, survey):
    header, *rows = rows_of(client_for(secretariat).get(url(survey, "aggregates", "csv")))

    assert header == ["番号", "質問", "形式", "回答者数", "選択肢・項目", "件数", "割合（%）"]
    by_item = {(r[0], r[4]): r for r in rows}
    assert by_item[("Q1", "参加したことがない")][3:] == ["5", "参加したことがない", "1", "20.0"]
    assert by_item[("Q2", "4・5の割合")][5:] == ["4", "100.0"]
    assert by_item[("Q2", "平均")][5] == "4.3"
    assert by_item[("Q4", "テーマ別ディスカッション")][3:] == [
        "1",
        "テーマ別ディスカッション",
        "1",
        "100.0",
    ]
    assert by_item[("Q5", "自由記述の件数")][5] == "2"


def test_committee_gets_suppressed_aggregates_but_no_answers(client_for, committee_member, survey):
    client = client_for(committee_member)

    assert client.get(url(survey, "answers", "csv")).status_code == 404
    assert client.get(url(survey, "answers", "xlsx")).status_code == 404
    response = client.get(url(survey, "aggregates", "csv"))
    assert response.status_code == 200
    header, *rows = rows_of(response)
    by_item = {(r[0], r[4]): r for r in rows}
    # 1 of 5 answered 参加したことがない: hidden, and so is its complement
    assert by_item[("Q1", "参加したことがない")][5:] == ["—", "—"]
    assert by_item[("Q1", "参加したことがある")][5:] == ["—", "—"]
    # the format question had a single respondent: nothing of it shows
    assert by_item[("Q4", "テーマ別ディスカッション")][3:] == [
        "—",
        "テーマ別ディスカッション",
        "—",
        "—",
    ]
    assert by_item[("Q3", "はい")][5:] == ["5", "100.0"]
    assert "=HYPERLINK" not in response.content.decode("utf-8-sig")


def test_committee_aggregates_xlsx_is_suppressed_too(client_for, committee_member, survey):
    response = client_for(committee_member).get(url(survey, "aggregates", "xlsx"))

    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = {(row[0].value, row[4].value): row[5].value for row in sheet.iter_rows(min_row=2)}
    assert values[("Q1", "参加したことがない")] == "—"


@pytest.mark.parametrize(
    ("what", "fmt"), [("answers", "pdf"), ("everything", "csv"), ("aggregates", "json")]
)
def test_export_anything_else_is_404(client_for, secretariat, survey, what, fmt):
    assert client_for(secretariat).get(url(survey, what, fmt)).status_code == 404


def test_export_404_for_members_and_login_for_anonymous(client_for, org_admin, survey):
    assert client_for(org_admin).get(url(survey, "aggregates", "csv")).status_code == 404
    assert client_for(None).get(url(survey, "aggregates", "csv")).status_code == 302


def test_number_question_extremes_are_not_in_the_committee_export(
    client_for, secretariat, committee_member
):
    survey = SurveyFactory()
    question = QuestionFactory(survey=survey, kind=Question.Kind.NUMBER, text="相談員の人数")
    for value in (2, 3, 11):
        submitted_response(survey, organisation=OrganisationFactory(), answers={question: value})
    closed(survey)

    full = {
        r[4]: r[5]
        for r in rows_of(client_for(secretariat).get(url(survey, "aggregates", "csv")))[1:]
    }
    shown = {
        r[4]: r[5]
        for r in rows_of(client_for(committee_member).get(url(survey, "aggregates", "csv")))[1:]
    }

    assert (full["平均"], full["最小"], full["最大"]) == ("5.3", "2", "11")
    assert (shown["平均"], shown["最小"], shown["最大"]) == ("5.3", "—", "—")
