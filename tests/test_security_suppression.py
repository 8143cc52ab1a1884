"""Small-cell suppression cannot be defeated (issue 8, defect 3).

(a) Across questions: a show-if question's n (overall and per column of a
    cross-tabulation) equals the count of the answer it depends on, so it must
    be hidden wherever that count is, and every margin must be part of the
    same complementary suppression. The tests read what the committee is
    given (the results page for every cross-tab axis and the CSV export),
    then act as the attacker: every difference of published margins, and the
    full linear system (row sums, column sums, the show-if equalities) solved
    for every hidden number.
(b) Over time: two exports of an open survey around one response would give
    that respondent's answer. The committee gets aggregates of closed surveys
    only; the secretariat follows them live.
"""

import csv
import datetime
import io
import re
from fractions import Fraction
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from network.models import Organisation
from surveys import services
from surveys.models import Question, Survey
from tests.factories import OrganisationFactory, region
from tests.survey_factories import QuestionFactory, SurveyFactory, submitted_response

pytestmark = pytest.mark.django_db

YES, NO = "はい", "いいえ"
KIND_LABEL = {"municipality": "自治体", "contractor": "受託団体・支援団体"}
# (organisation kind, 振興局, participated, Q1 answer, how many)
PEOPLE = [
    ("contractor", "石狩振興局", True, YES, 10),
    ("contractor", "石狩振興局", True, NO, 1),
    ("contractor", "胆振総合振興局", False, YES, 10),
    ("contractor", "胆振総合振興局", False, NO, 1),
    ("contractor", "上川総合振興局", True, YES, 10),
    ("municipality", "空知総合振興局", True, YES, 8),
    ("municipality", "空知総合振興局", False, NO, 6),
]
REGION_LABEL = {
    "石狩振興局": "石狩",
    "胆振総合振興局": "胆振",
    "上川総合振興局": "上川",
    "空知総合振興局": "空知",
}


def closed_yesterday() -> dict:
    now = timezone.now()
    return {
        "opens_at": now - datetime.timedelta(days=20),
        "closes_at": now - datetime.timedelta(days=1),
    }


@pytest.fixture
def dependent_survey():
    """Q1 はい/いいえ; Q2 (required) asked only of those who said はい. Among
    受託団体 30 said はい and 2 いいえ, one each in 石狩 and 胆振."""
    survey = SurveyFactory(title="連携についての調査", **closed_yesterday())
    q1 = QuestionFactory(
        survey=survey, order=1, key="q1", kind=Question.Kind.SINGLE, choices=[YES, NO]
    )
    q2 = QuestionFactory(
        survey=survey,
        order=2,
        key="q2",
        kind=Question.Kind.SINGLE,
        choices=["月1回以上", "それ未満"],
        show_if_question=q1,
        show_if_value=YES,
    )
    truth = []  # (kind, region short name, participated, q1, q2)
    for kind, region_name, participated, answer, count in PEOPLE:
        for i in range(count):
            organisation = OrganisationFactory(
                kind=kind, municipality=None, region=region(region_name)
            )
            answers = {q1: answer}
            q2_answer = None
            if answer == YES:
                q2_answer = "月1回以上" if i % 3 else "それ未満"
                answers[q2] = q2_answer
            submitted_response(
                survey, organisation=organisation, participated=participated, answers=answers
            )
            truth.append((kind, REGION_LABEL[region_name], participated, answer, q2_answer))
    return survey, truth


# --- what the committee is shown ---------------------------------------------------------

NUMBER = re.compile(r"^\d+$")


def _text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html)).strip()


def crosstabs(page: str) -> dict:
    """{question number: {"columns": [(label, n)], "rows": [(label, [cells], total)]}}
    as displayed ("—" for a hidden number), the last column being 全体."""
    tabs = {}
    for number, body in re.findall(
        r'<section class="card crosstab" aria-labelledby="x(\d+)-title">(.*?)</section>',
        page,
        flags=re.S,
    ):
        columns = [
            (_text(label), _text(n))
            for label, n in re.findall(
                r'<th scope="col" class="num[^"]*">(.*?)<span class="col-n">n=(.*?)</span>', body
            )
        ]
        rows = []
        for label, cells in re.findall(
            r'<tr>\s*<th scope="row">(.*?)</th>(.*?)</tr>', body, flags=re.S
        ):
            values = [
                _text(re.sub(r'<span class="cell-pct">.*?</span>', "", c))
                for c in re.findall(r'<td class="num[^"]*">(.*?)</td>', cells, flags=re.S)
            ]
            rows.append((_text(label), values[:-1], values[-1]))
        tabs[int(number)] = {"columns": columns, "rows": rows}
    return tabs


def published_from_pages(client, survey) -> dict:
    """Every number the committee reads, keyed as the attacker's variables:
    ("ans", q), ("row", q, value), ("head", q, axis, column), ("cell", q, axis, value, column)."""
    published = {}

    def put(key, display):
        if NUMBER.match(display):
            value = int(display)
            assert published.get(key, value) == value, key  # the same number everywhere
            published[key] = value
        else:
            assert display == "—", (key, display)

    for axis in ("kind", "region", "participation"):
        page = client.get(reverse("surveys:results", args=[survey.pk]), {"by": axis})
        html = page.content.decode()
        assert page.status_code == 200 and "クロス集計" in html
        for q, tab in crosstabs(html).items():
            *columns, (_whole, answered) = tab["columns"]
            put(("ans", q), answered)
            for label, n in columns:
                put(("head", q, axis, label), n)
            for label, cells, total in tab["rows"]:
                put(("row", q, label), total)
                for (column, _n), display in zip(columns, cells, strict=True):
                    put(("cell", q, axis, label, column), display)
    export = client.get(reverse("surveys:export", args=[survey.pk, "aggregates", "csv"]))
    assert export.status_code == 200
    _header, *rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    for row in rows:
        q = int(row[0][1:])
        put(("ans", q), row[3])
        put(("row", q, row[4]), row[5])
    return published


def truth_of(truth) -> dict:
    """The true value of every variable, from the data set."""
    values: dict = {}

    def add(key):
        values[key] = values.get(key, 0) + 1

    axes = {
        "kind": lambda p: KIND_LABEL[p[0]],
        "region": lambda p: p[1],
        "participation": lambda p: "今年度参加あり" if p[2] else "今年度参加なし",
    }
    for person in truth:
        for q, answer in ((1, person[3]), (2, person[4])):
            if answer is None:
                continue
            add(("ans", q))
            add(("row", q, answer))
            for axis, column_of in axes.items():
                add(("head", q, axis, column_of(person)))
                add(("cell", q, axis, answer, column_of(person)))
    return values


def attacker_equations(values: dict) -> list[dict]:
    """What anyone knows of these tables: rows add up, columns add up (single
    choice), the columns add up to the question's n, and the show-if question's
    n is the number who gave the answer it depends on, in total and per column."""
    keys = set(values)
    equations = []
    for q in (1, 2):
        answers = sorted({k[2] for k in keys if k[0] == "row" and k[1] == q})
        equations.append({("ans", q): 1, **{("row", q, a): -1 for a in answers}})
        for axis in ("kind", "region", "participation"):
            columns = sorted({k[3] for k in keys if k[0] == "head" and k[1:3] == (q, axis)})
            equations.append({("ans", q): 1, **{("head", q, axis, c): -1 for c in columns}})
            for a in answers:
                equations.append(
                    {
                        ("row", q, a): 1,
                        **{
                            ("cell", q, axis, a, c): -1
                            for c in columns
                            if ("cell", q, axis, a, c) in keys
                        },
                    }
                )
            for c in columns:
                equations.append(
                    {
                        ("head", q, axis, c): 1,
                        **{
                            ("cell", q, axis, a, c): -1
                            for a in answers
                            if ("cell", q, axis, a, c) in keys
                        },
                    }
                )
    equations.append({("ans", 2): 1, ("row", 1, YES): -1})
    for axis in ("kind", "region", "participation"):
        for c in {k[3] for k in keys if k[0] == "head" and k[1:3] == (2, axis)}:
            equations.append({("head", 2, axis, c): 1, ("cell", 1, axis, YES, c): -1})
    return equations


def determined(equations: list[dict], published: dict, hidden: list) -> set:
    """The hidden variables the published numbers pin down (exact linear algebra)."""
    index = {key: i for i, key in enumerate(hidden)}
    matrix = []
    for equation in equations:
        row = [Fraction(0)] * (len(hidden) + 1)
        for key, coefficient in equation.items():
            if key in index:
                row[index[key]] += coefficient
            else:
                row[-1] -= coefficient * published[key]
        if any(row[:-1]):
            matrix.append(row)
    pivots = []
    r = 0
    for col in range(len(hidden)):
        pivot = next((i for i in range(r, len(matrix)) if matrix[i][col]), None)
        if pivot is None:
            continue
        matrix[r], matrix[pivot] = matrix[pivot], matrix[r]
        lead = matrix[r][col]
        matrix[r] = [x / lead for x in matrix[r]]
        for i in range(len(matrix)):
            if i != r and matrix[i][col]:
                factor = matrix[i][col]
                matrix[i] = [a - factor * b for a, b in zip(matrix[i], matrix[r], strict=True)]
        pivots.append((r, col))
        r += 1
    return {
        hidden[col] for row_index, col in pivots if sum(1 for x in matrix[row_index][:-1] if x) == 1
    }


def test_suppression_show_if_n_does_not_give_away_the_hidden_split(
    client_for, committee_member, dependent_survey
):
    survey, truth = dependent_survey
    published = published_from_pages(client_for(committee_member), survey)
    values = truth_of(truth)
    # Everything published is true, and the small cells themselves are hidden.
    assert {k: values.get(k, 0) for k in published} == published
    for key in [
        ("cell", 1, "kind", NO, "受託団体・支援団体"),
        ("cell", 1, "region", NO, "石狩"),
        ("cell", 1, "region", NO, "胆振"),
    ]:
        assert values[key] in (1, 2) and key not in published

    # The attack: the difference of two published margins of one column.
    for axis in ("kind", "region", "participation"):
        for column in {k[3] for k in values if k[0] == "head" and k[2] == axis}:
            hidden_cells = [
                values[k]
                for k in values
                if k[0] == "cell" and k[2] == axis and k[4] == column and k not in published
            ]
            margins = [
                published[k] for k in published if k[0] == "head" and k[2:] == (axis, column)
            ]
            differences = {a - b for a in margins for b in margins if a > b}
            assert not differences & set(hidden_cells), (axis, column, margins)
    overall = [published[k] for k in published if k[0] == "ans"]
    hidden_rows = [values[k] for k in values if k[0] == "row" and k not in published]
    assert not {a - b for a in overall for b in overall if a > b} & set(hidden_rows)

    # Any combination of sums: no hidden number is pinned down.
    hidden = sorted((k for k in values if k not in published), key=str)
    assert hidden, "the data set must have hidden cells"
    assert determined(attacker_equations(values), published, hidden) == set()


def test_suppression_show_if_n_is_hidden_with_the_answer_it_counts(
    client_for, committee_member, dependent_survey
):
    """The issue's numbers: 受託団体 n = 32, Q2 asked of はい only; its n per column
    must not be shown where Q1's はい is hidden."""
    survey, _truth = dependent_survey
    html = client_for(committee_member).get(
        reverse("surveys:results", args=[survey.pk]), {"by": "kind"}
    )
    tabs = crosstabs(html.content.decode())
    q1_columns = dict(tabs[1]["columns"])
    q2_columns = dict(tabs[2]["columns"])
    assert q1_columns["受託団体・支援団体"] == "32"
    q1_yes = dict((label, cells) for label, cells, _t in tabs[1]["rows"])[YES]
    assert q1_yes[1] == "—"
    assert q2_columns["受託団体・支援団体"] == "—"


def test_suppression_secretariat_still_sees_every_count(client_for, secretariat, dependent_survey):
    survey, _truth = dependent_survey
    tabs = crosstabs(
        client_for(secretariat)
        .get(reverse("surveys:results", args=[survey.pk]), {"by": "kind"})
        .content.decode()
    )
    assert tabs[1]["columns"] == [("自治体", "14"), ("受託団体・支援団体", "32"), ("全体", "46")]
    assert tabs[2]["columns"] == [("自治体", "8"), ("受託団体・支援団体", "30"), ("全体", "38")]
    assert [(label, cells) for label, cells, _t in tabs[1]["rows"]] == [
        (YES, ["8", "30"]),
        (NO, ["6", "2"]),
    ]


def test_suppression_hidden_base_hides_the_percentages_over_it(
    client_for, committee_member, dependent_survey
):
    """A percentage over a hidden n would give that n back (n = count / share)."""
    survey, _truth = dependent_survey
    html = (
        client_for(committee_member)
        .get(reverse("surveys:results", args=[survey.pk]), {"by": "kind"})
        .content.decode()
    )
    body = re.search(
        r'<section class="card crosstab" aria-labelledby="x2-title">(.*?)</section>', html, re.S
    ).group(1)
    columns = [n for _l, n in crosstabs(html)[2]["columns"]]
    assert columns[:2] == ["—", "—"]
    for _label, cells in re.findall(r'<tr>\s*<th scope="row">(.*?)</th>(.*?)</tr>', body, re.S):
        first_two = re.findall(r'<td class="num">(.*?)</td>', cells, re.S)[:2]
        assert all("cell-pct" not in cell for cell in first_two)


# --- (b) over time ------------------------------------------------------------------------


@pytest.fixture
def open_survey():
    survey = SurveyFactory(title="実施中の調査")
    q1 = QuestionFactory(
        survey=survey, order=1, key="q1", kind=Question.Kind.SINGLE, choices=[YES, NO]
    )
    for i in range(12):
        submitted_response(
            survey,
            organisation=OrganisationFactory(kind=Organisation.Kind.CONTRACTOR),
            participated=True,
            answers={q1: YES if i % 4 else NO},
        )
    return survey, q1


def _downloads(client, survey):
    return {
        fmt: client.get(reverse("surveys:export", args=[survey.pk, "aggregates", fmt]))
        for fmt in ("csv", "xlsx")
    }


def test_suppression_committee_gets_no_aggregates_of_an_open_survey(
    client_for, committee_member, secretariat, open_survey
):
    survey, q1 = open_survey
    committee = client_for(committee_member)
    results_url = reverse("surveys:results", args=[survey.pk])

    before_page = committee.get(results_url).content.decode()
    before = _downloads(committee, survey)
    submitted_response(
        survey,
        organisation=OrganisationFactory(
            kind=Organisation.Kind.MUNICIPALITY, municipality=None, region=region("上川総合振興局")
        ),
        participated=False,
        answers={q1: NO},
    )
    after_page = committee.get(results_url).content.decode()
    after = _downloads(committee, survey)

    for downloads in (before, after):
        assert {fmt: r.status_code for fmt, r in downloads.items()} == {"csv": 404, "xlsx": 404}
        assert all(b"\xe3\x81\xaf\xe3\x81\x84" not in r.content for r in downloads.values())
    for page in (before_page, after_page):
        assert "締切後に公開します" in page
        assert "クロス集計" not in page and "回答の内訳" not in page
        assert crosstabs(page) == {}
        assert "回答数" not in page and "依頼数" not in page
    # The two pages differ in nothing a respondent gave.
    strip = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
    assert strip.sub("", before_page) == strip.sub("", after_page)

    # The secretariat follows the survey live.
    live = client_for(secretariat).get(
        reverse("surveys:export", args=[survey.pk, "aggregates", "csv"])
    )
    rows = list(csv.reader(io.StringIO(live.content.decode("utf-8-sig"))))
    assert [(r[4], r[5]) for r in rows[1:]] == [(YES, "9"), (NO, "4")]

    # Once closed, the committee reads the (suppressed) aggregates.
    services.close_survey(survey=survey, by=secretariat)
    closed = committee.get(reverse("surveys:export", args=[survey.pk, "aggregates", "csv"]))
    assert closed.status_code == 200
    rows = list(csv.reader(io.StringIO(closed.content.decode("utf-8-sig"))))
    assert [(r[3], r[4], r[5]) for r in rows[1:]] == [("13", YES, "9"), ("13", NO, "4")]
    page = committee.get(results_url).content.decode()
    assert "締切後に公開します" not in page and "クロス集計" in page


def test_suppression_open_neighbour_year_is_not_in_the_year_over_year(
    client_for, committee_member, secretariat
):
    earlier = SurveyFactory(kind=Survey.Kind.ANNUAL, fiscal_year=2021, **closed_yesterday())
    later = SurveyFactory(kind=Survey.Kind.ANNUAL, fiscal_year=2022)  # open now
    for survey, yes in ((earlier, 7), (later, 5)):
        q = QuestionFactory(
            survey=survey, key="continue", kind=Question.Kind.SINGLE, choices=[YES, NO]
        )
        for i in range(yes + 3):
            submitted_response(
                survey,
                organisation=OrganisationFactory(),
                answers={q: YES if i < yes else NO},
            )

    committee_page = client_for(committee_member).get(reverse("surveys:results", args=[earlier.pk]))
    desk_page = client_for(secretariat).get(reverse("surveys:results", args=[earlier.pk]))

    assert committee_page.context["results"].yoy is None
    assert "年度比較" not in committee_page.content.decode()
    assert [s.pk for s in desk_page.context["results"].yoy.surveys] == [earlier.pk, later.pk]


def test_suppression_dashboard_panel_waits_for_the_close(client_for, committee_member, secretariat):
    survey = SurveyFactory(kind=Survey.Kind.ANNUAL, fiscal_year=2021, title="令和3年度 効果検証")
    q = QuestionFactory(survey=survey, key="continue", kind=Question.Kind.SINGLE, choices=[YES, NO])
    for i in range(8):
        submitted_response(
            survey, organisation=OrganisationFactory(), answers={q: YES if i else NO}
        )
    dashboard = reverse("dashboard:home")

    page = client_for(committee_member).get(dashboard, {"fy": 2021}).content.decode()
    assert "令和3年度 効果検証" in page and "締切後に公開します" in page
    assert "対象別の回答率" not in page and "主な結果" not in page
    desk = client_for(secretariat).get(dashboard, {"fy": 2021}).content.decode()
    assert "主な結果" in desk

    services.close_survey(survey=survey, by=secretariat)
    page = client_for(committee_member).get(dashboard, {"fy": 2021}).content.decode()
    assert "締切後に公開します" not in page and "主な結果" in page
