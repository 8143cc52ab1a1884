"""Survey results (surveys/results.py, surveys/views/results.py): percentages
over those who answered, suppression of small cells for the committee, the
individual answers pages, year over year, and literal query counts."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from network.models import Organisation
from surveys import results as survey_results
from surveys.models import Answer, Question, Response, Survey
from tests.factories import MembershipFactory, OrganisationFactory, region
from tests.survey_factories import (
    InvitationFactory,
    QuestionFactory,
    SurveyFactory,
    catalog_survey,
    submitted_response,
)

pytestmark = pytest.mark.django_db


def closed(survey):
    """The committee reads the aggregates of closed surveys only (issue 8, defect 3)."""
    survey.closes_at = timezone.now() - datetime.timedelta(minutes=1)
    survey.save(update_fields=["closes_at"])
    return survey


def org(kind=Organisation.Kind.CONTRACTOR, region_name="石狩振興局"):
    return OrganisationFactory(kind=kind, municipality=None, region=region(region_name))


def respond(survey, answers, *, kind=Organisation.Kind.CONTRACTOR, participated=True, **kw):
    return submitted_response(
        survey, organisation=org(kind), participated=participated, answers=answers, **kw
    )


def single_question(survey, choices=("はい", "いいえ", "どちらともいえない"), **kw):
    return QuestionFactory(
        survey=survey, kind=Question.Kind.SINGLE, choices=list(choices), key="continue", **kw
    )


def answer_counts(survey, question, counts, **kw):
    """counts: {choice: how many responses}"""
    for choice, n in counts.items():
        for _i in range(n):
            respond(survey, {question: choice}, **kw)


# --- percentages --------------------------------------------------------------------------


def test_results_percentages_are_over_those_who_answered_the_question(secretariat):
    survey = catalog_survey("annual")
    fmt = survey.questions.get(key="format")
    for i in range(7):
        answers = {"attended": "参加したことがある", "continue": "はい"}
        if i < 5:
            answers["format"] = ["テーマ別ディスカッション"] + (
                ["講師を招いた勉強会"] if i < 2 else []
            )
        respond(survey, answers)

    data = survey_results.compute(survey, secretariat)

    q = data.question("format")
    assert q.question == fmt
    assert q.answered.n == 5
    assert (
        q.row("テーマ別ディスカッション").cell.n,
        q.row("テーマ別ディスカッション").cell.pct,
    ) == (
        5,
        Decimal("100.0"),
    )
    assert q.row("講師を招いた勉強会").cell.pct == Decimal("40.0")  # 2 of 5, not of 7
    assert data.answered.n == 7
    assert data.question("continue").row("はい").cell.pct == Decimal("100.0")


def test_results_percent_rounds_half_up_like_the_seed():
    assert survey_results.percent(22, 35) == Decimal("62.9")
    assert survey_results.percent(17, 35) == Decimal("48.6")
    assert survey_results.percent(1, 8) == Decimal("12.5")
    assert survey_results.percent(1, 0) is None


def test_results_scale_distribution_mean_and_top_share(secretariat):
    survey = SurveyFactory()
    scale = QuestionFactory(survey=survey, kind=Question.Kind.SCALE, key="useful")
    for value in [5, 5, 4, 4, 4, 3, 2]:
        respond(survey, {scale: value})

    q = survey_results.compute(survey, secretariat).question("useful")

    assert [(row.value, row.cell.n) for row in q.rows] == [
        ("5", 2),
        ("4", 3),
        ("3", 1),
        ("2", 1),
        ("1", 0),
    ]
    assert q.rows[0].label == "5（とても役に立った）"
    assert (q.top.n, q.top.pct) == (5, Decimal("71.4"))
    assert q.mean == Decimal("3.9")  # 27 / 7


def test_results_number_question_stats(secretariat, committee_member):
    survey = SurveyFactory()
    number = QuestionFactory(survey=survey, kind=Question.Kind.NUMBER, key="staff")
    for value in [1, 4, 10]:
        respond(survey, {number: value})

    full = survey_results.compute(survey, secretariat).question("staff")
    shown = survey_results.compute(survey, committee_member).question("staff")

    assert (full.count, full.mean, full.minimum, full.maximum) == (3, Decimal("5.0"), 1, 10)
    # The extremes are single respondents' values: not for the committee.
    assert (shown.mean, shown.minimum, shown.maximum) == (Decimal("5.0"), None, None)


def test_results_other_texts_and_extra_choices_are_counted(secretariat):
    survey = SurveyFactory()
    multiple = QuestionFactory(
        survey=survey, kind=Question.Kind.MULTIPLE, choices=["A", "B"], allow_other=True, key="m"
    )
    respond(survey, {multiple: ["A", "その他:同様の状況にある他機関の相談員との情報交換"]})
    respond(survey, {multiple: ["A", "B"]})
    respond(survey, {multiple: ["廃止した選択肢"]})

    q = survey_results.compute(survey, secretariat).question("m")

    assert [(r.value, r.cell.n) for r in q.rows] == [
        ("A", 2),
        ("B", 1),
        ("その他", 1),
        ("廃止した選択肢", 1),
    ]
    assert q.answered.n == 3
    assert [t.text for t in q.texts] == ["同様の状況にある他機関の相談員との情報交換"]
    assert q.text_count == 1


# --- suppression --------------------------------------------------------------------------


def test_results_committee_sees_small_cells_suppressed_with_their_complement(
    client_for, secretariat, committee_member
):
    survey = SurveyFactory()
    question = single_question(survey)
    answer_counts(survey, question, {"はい": 10, "いいえ": 2, "どちらともいえない": 5})
    closed(survey)

    committee = survey_results.compute(survey, committee_member).question("continue")
    full = survey_results.compute(survey, secretariat).question("continue")

    assert [(r.value, r.cell.display, r.cell.pct_display) for r in full.rows] == [
        ("はい", "10", "58.8%"),
        ("いいえ", "2", "11.8%"),
        ("どちらともいえない", "5", "29.4%"),
    ]
    # いいえ (2) is hidden; どちらともいえない would give it away as 17 - 10 - 5.
    assert [(r.value, r.cell.display, r.cell.pct_display) for r in committee.rows] == [
        ("はい", "10", "58.8%"),
        ("いいえ", "—", "—"),
        ("どちらともいえない", "—", "—"),
    ]
    body = client_for(committee_member).get(reverse("surveys:results", args=[survey.pk]))
    html = body.content.decode()
    assert body.status_code == 200
    assert "11.8%" not in html and "29.4%" not in html
    assert "58.8%" in html


def test_results_multiple_choice_cells_do_not_need_a_complement(committee_member):
    survey = SurveyFactory()
    question = QuestionFactory(
        survey=survey, kind=Question.Kind.MULTIPLE, choices=["A", "B", "C"], key="m"
    )
    for i in range(10):
        respond(survey, {question: ["A"] + (["B"] if i < 1 else []) + (["C"] if i < 4 else [])})

    q = survey_results.compute(survey, committee_member).question("m")

    # Choices of a multiple-choice question do not add up to the total.
    assert [r.cell.display for r in q.rows] == ["10", "—", "4"]


def test_results_whole_question_suppressed_below_three_answers(committee_member):
    survey = SurveyFactory()
    scale = QuestionFactory(survey=survey, kind=Question.Kind.SCALE, key="useful")
    respond(survey, {scale: 5})
    respond(survey, {scale: 4})

    q = survey_results.compute(survey, committee_member).question("useful")

    assert q.answered.display == "—"
    assert all(r.cell.display == "—" for r in q.rows)
    assert q.top.suppressed and q.mean is None


def test_results_crosstab_suppression_is_complementary_in_rows_and_columns(
    secretariat, committee_member
):
    survey = SurveyFactory()
    question = single_question(survey, choices=("はい", "いいえ"))
    # 自治体: はい 6, いいえ 1; 受託団体: はい 8, いいえ 4; その他: はい 3
    answer_counts(survey, question, {"はい": 6, "いいえ": 1}, kind=Organisation.Kind.MUNICIPALITY)
    answer_counts(survey, question, {"はい": 8, "いいえ": 4})
    answer_counts(survey, question, {"はい": 3}, kind=Organisation.Kind.OTHER)

    full = survey_results.compute(survey, secretariat).question("continue").crosstab
    shown = survey_results.compute(survey, committee_member).question("continue").crosstab

    assert [c.label for c in full.columns] == ["自治体", "受託団体・支援団体", "その他"]
    assert [c.total.n for c in full.columns] == [7, 12, 3]
    assert [[c.display for c in r.cells] for r in full.rows] == [["6", "8", "3"], ["1", "4", "0"]]
    assert full.rows[0].cells[0].pct == Decimal("85.7")  # of the 自治体 column
    # いいえ/自治体 (1) is hidden; its row (total 5 shown) and its column
    # (total 7) would give it away, so the next smallest cells go too.
    displays = [[c.display for c in r.cells] for r in shown.rows]
    assert displays[1][0] == "—"
    assert displays[1][1] == "—"  # row complement: 5 - 0 - x
    assert displays[0][0] == "—"  # column complement: 7 - x
    # and no row or column is left with exactly one hidden cell
    for row in shown.rows:
        assert sum(c.suppressed for c in row.cells) != 1
    for i in range(len(shown.columns)):
        assert sum(r.cells[i].suppressed for r in shown.rows) != 1


def test_results_crosstab_by_region_and_participation(secretariat):
    survey = SurveyFactory()
    question = single_question(survey, choices=("はい", "いいえ"))
    respond(survey, {question: "はい"}, participated=True)
    respond(survey, {question: "いいえ"}, participated=False)
    submitted_response(survey, organisation=None, participated=None, answers={question: "はい"})

    by_region = survey_results.compute(survey, secretariat, dimension="region")
    by_part = survey_results.compute(survey, secretariat, dimension="participation")

    region_tab = by_region.question("continue").crosstab
    labels = [c.label for c in region_tab.columns]
    assert labels[0] == "空知" and labels[-1] == "不明" and len(labels) == 15
    ishikari = labels.index("石狩")
    assert region_tab.columns[ishikari].total.n == 2
    part_tab = by_part.question("continue").crosstab
    assert [(c.label, c.total.n) for c in part_tab.columns] == [
        ("今年度参加あり", 1),
        ("今年度参加なし", 1),
        ("不明", 1),
    ]


def test_results_committee_sees_no_free_texts_only_their_number(
    client_for, secretariat, committee_member
):
    survey = catalog_survey("annual")
    for i in range(4):
        respond(
            survey,
            {"attended": "参加したことがある", "comments": f"感想その{i}：とても有意義でした"},
        )
    closed(survey)

    committee_page = client_for(committee_member).get(reverse("surveys:results", args=[survey.pk]))
    secretariat_page = client_for(secretariat).get(reverse("surveys:results", args=[survey.pk]))

    assert "とても有意義でした" not in committee_page.content.decode()
    assert "自由記述 4件（内容は事務局のみが閲覧できます）" in committee_page.content.decode()
    assert committee_page.context["results"].question("comments").texts == []
    secretariat_html = secretariat_page.content.decode()
    assert len(secretariat_page.context["results"].question("comments").texts) == 4
    for i in range(4):
        assert f"<p>感想その{i}：とても有意義でした</p>" in secretariat_html


def test_results_anonymous_texts_carry_no_respondent(secretariat):
    survey = catalog_survey("annual", anonymous=True)
    named = catalog_survey("annual")
    for i, s in enumerate((survey, named)):
        o = OrganisationFactory(name="回答した団体" if i else "匿名で回答した団体")
        submitted_response(
            s, organisation=o, answers={"comments": "ありがとう"}, anonymous=s.anonymous
        )

    anonymous_text = survey_results.compute(survey, secretariat).question("comments").texts[0]
    named_text = survey_results.compute(named, secretariat).question("comments").texts[0]

    assert (anonymous_text.respondent, anonymous_text.submitted_at) == ("", None)
    assert named_text.respondent == "回答した団体"


def test_results_response_rate_by_audience_group(secretariat, committee_member):
    survey = SurveyFactory(respondent_unit=Survey.Unit.ORGANISATION)
    question = single_question(survey)
    for i in range(6):
        invitation = InvitationFactory(survey=survey, user=None, organisation=org())
        if i < 4:
            submitted_response(survey, invitation=invitation, answers={question: "はい"})
    for i in range(3):
        invitation = InvitationFactory(
            survey=survey, user=None, organisation=org(Organisation.Kind.MUNICIPALITY)
        )
        if i < 1:
            submitted_response(survey, invitation=invitation, answers={question: "はい"})
    # a person-unit style invitation: the person's organisation decides the group
    person = MembershipFactory(organisation=org(Organisation.Kind.SUPPORT)).user
    InvitationFactory(survey=survey, user=person)

    full = survey_results.compute(survey, secretariat)
    shown = survey_results.compute(survey, committee_member)

    rows = {r.key: (r.invited.n, r.answered.n, r.answered.pct) for r in full.rate_rows}
    assert rows == {
        "municipal": (3, 1, Decimal("33.3")),
        "contractor": (7, 4, Decimal("57.1")),
        "other": (0, 0, None),
    }
    assert (full.invited.n, full.answered.n, full.response_rate) == (10, 5, "50.0%")
    committee_rows = {r.key: r.answered.display for r in shown.rate_rows}
    # 1 is hidden, and with it the next smallest (4), or 5 - 4 would tell.
    assert committee_rows == {"municipal": "—", "contractor": "—", "other": "0"}


# --- individual answers -------------------------------------------------------------------


def test_responses_page_is_for_the_secretariat_and_named_surveys_only(
    client_for, secretariat, committee_member, org_admin
):
    named = catalog_survey("annual")
    anonymous = catalog_survey("annual", anonymous=True)
    submitted_response(
        named,
        organisation=OrganisationFactory(name="回答した団体"),
        answers={"comments": "記名の感想"},
    )

    ok = client_for(secretariat).get(reverse("surveys:responses", args=[named.pk]))

    assert ok.status_code == 200
    assert "回答した団体" in ok.content.decode() and "記名の感想" in ok.content.decode()
    assert (
        client_for(committee_member).get(reverse("surveys:responses", args=[named.pk])).status_code
        == 404
    )
    assert (
        client_for(org_admin).get(reverse("surveys:responses", args=[named.pk])).status_code == 404
    )
    assert (
        client_for(secretariat).get(reverse("surveys:responses", args=[anonymous.pk])).status_code
        == 404
    )


def test_responses_page_is_paginated(client_for, secretariat):
    survey = catalog_survey("annual")
    for i in range(25):
        respond(survey, {"comments": f"感想{i:02d}"})

    first = client_for(secretariat).get(reverse("surveys:responses", args=[survey.pk]))
    second = client_for(secretariat).get(
        reverse("surveys:responses", args=[survey.pk]), {"page": 2}
    )

    assert len(first.context["entries"]) == 20
    assert len(second.context["entries"]) == 5


def test_organisation_responses_for_the_org_admin_of_that_organisation_only(
    client_for,
    org_admin,
    contractor_org,
    other_org,
    secretariat,
    committee_member,
    contractor_member,
):
    survey = catalog_survey("annual", respondent_unit=Survey.Unit.ORGANISATION)
    submitted_response(
        survey,
        organisation=contractor_org,
        user=org_admin,
        answers={"attended": "参加したことがある", "continue": "はい", "comments": "自団体の感想"},
    )
    submitted_response(survey, organisation=other_org, answers={"comments": "他団体の感想"})
    own = reverse("surveys:organisation_responses", args=[survey.pk, contractor_org.pk])
    other = reverse("surveys:organisation_responses", args=[survey.pk, other_org.pk])

    page = client_for(org_admin).get(own)

    assert page.status_code == 200
    html = page.content.decode()
    assert "自団体の感想" in html and "他団体の感想" not in html
    assert "参加したことがある" in html
    assert client_for(org_admin).get(other).status_code == 404
    assert client_for(contractor_member).get(own).status_code == 404
    assert client_for(committee_member).get(own).status_code == 404
    assert client_for(secretariat).get(other).status_code == 200
    assert client_for(None).get(own).status_code == 302


def test_organisation_responses_404_for_anonymous_surveys(client_for, org_admin, contractor_org):
    survey = catalog_survey("annual", anonymous=True)
    url = reverse("surveys:organisation_responses", args=[survey.pk, contractor_org.pk])

    assert client_for(org_admin).get(url).status_code == 404


def test_results_page_404_for_members_and_login_for_anonymous(client_for, contractor_member):
    survey = SurveyFactory()
    url = reverse("surveys:results", args=[survey.pk])

    assert client_for(contractor_member).get(url).status_code == 404
    assert client_for(None).get(url).status_code == 302


# --- year over year -----------------------------------------------------------------------


def test_results_year_over_year_pairs_questions_by_key(client_for, secretariat):
    previous = catalog_survey("annual", kind=Survey.Kind.ANNUAL, fiscal_year=2021, title="R3")
    current = catalog_survey("annual", kind=Survey.Kind.ANNUAL, fiscal_year=2022, title="R4")
    catalog_survey("annual", kind=Survey.Kind.ADHOC, fiscal_year=2021, title="臨時")  # not annual
    # A question only this year has no counterpart.
    QuestionFactory(survey=current, key="new_question", kind=Question.Kind.SCALE)
    for _i in range(4):
        respond(previous, {"attended": "参加したことがある", "continue": "はい", "useful": 5})
    for i in range(5):
        respond(current, {"attended": "参加したことがある", "continue": "はい" if i else "いいえ"})

    data = survey_results.compute(current, secretariat)

    yoy = data.yoy
    assert [s.title for s in yoy.surveys] == ["R3", "R4"]
    keys = [q.key for q in yoy.questions]
    assert keys == ["attended", "useful", "continue", "format"]
    cont = next(q for q in yoy.questions if q.key == "continue")
    lines = {line.label: line.values for line in cont.lines}
    assert lines["回答者数"] == ["4", "5"]
    assert lines["はい"] == ["100.0%（4）", "80.0%（4）"]
    assert lines["いいえ"] == ["0.0%（0）", "20.0%（1）"]
    page = client_for(secretariat).get(reverse("surveys:results", args=[current.pk]))
    assert "令和3年度" in page.content.decode() and "年度比較" in page.content.decode()


def test_results_year_over_year_figures_are_suppressed_for_the_committee(committee_member):
    previous = catalog_survey("annual", kind=Survey.Kind.ANNUAL, fiscal_year=2021)
    current = catalog_survey("annual", kind=Survey.Kind.ANNUAL, fiscal_year=2022)
    for s in (previous, current):
        for i in range(6):
            respond(
                s, {"attended": "参加したことがある", "continue": "はい" if i > 1 else "いいえ"}
            )
    closed(previous)  # the committee compares closed years only

    yoy = survey_results.compute(current, committee_member).yoy

    cont = next(q for q in yoy.questions if q.key == "continue")
    lines = {line.label: line.values for line in cont.lines}
    assert lines["いいえ"] == ["—", "—"]
    assert lines["はい"] == ["—", "—"]  # complementary: 6 - 4 = 2


# --- query counts ---------------------------------------------------------------------------


def bulk_survey(n: int) -> Survey:
    """An annual survey with the catalog's questions and n submitted responses,
    written with bulk_create (1,000 responses in a second or two)."""
    survey = catalog_survey("annual", kind=Survey.Kind.ANNUAL, fiscal_year=2022)
    questions = {q.key: q for q in survey.questions.all()}
    orgs = [org(kind) for kind in ("municipality", "contractor", "support", "other")]
    now = timezone.now()
    responses = Response.objects.bulk_create(
        [
            Response(
                survey=survey,
                organisation=orgs[i % 4],
                organisation_kind=orgs[i % 4].kind,
                region_id=orgs[i % 4].region_id,
                participated=i % 3 != 0,
                submitted_at=now,
            )
            for i in range(n)
        ]
    )
    formats = ["テーマ別ディスカッション", "講師を招いた勉強会", "事業別テーマ"]
    answers = []
    for i, r in enumerate(responses):
        attended = i % 3 != 0
        answers.append(
            Answer(
                response=r,
                question=questions["attended"],
                choice="参加したことがある" if attended else "参加したことがない",
            )
        )
        if attended:
            answers.append(Answer(response=r, question=questions["useful"], number=i % 5 + 1))
        answers.append(
            Answer(response=r, question=questions["continue"], choice=["はい", "いいえ"][i % 2])
        )
        for f in formats[: i % 4]:
            answers.append(Answer(response=r, question=questions["format"], choice=f))
        if i % 7 == 0:
            answers.append(
                Answer(response=r, question=questions["format"], choice="その他", text=f"その他{i}")
            )
        answers.append(Answer(response=r, question=questions["comments"], text=f"感想{i}"))
    Answer.objects.bulk_create(answers, batch_size=2000)
    return closed(survey)


# Session, user, roles (groups, memberships) = 4; the survey = 1; the data
# version the cached results are keyed by = 1; the results (a first view,
# computed): neighbouring annual surveys, questions, responses per survey,
# choice counts, respondents per question, per-question statistics,
# invitations per group = 7; the secretariat also reads the free texts (+1).
# The cross-tabulation by region reads the 振興局 (+1). A warm view:
# tests/test_survey_results_cache.py.
@pytest.mark.parametrize("responses", [10, 1000])
@pytest.mark.parametrize(
    ("actor", "by", "queries"),
    [("secretariat", "kind", 14), ("committee", "kind", 13), ("committee", "region", 14)],
)
def test_results_page_query_count_is_flat(
    client_for, actors, django_assert_num_queries, responses, actor, by, queries
):
    survey = bulk_survey(responses)
    client = client_for(actors[actor])

    with django_assert_num_queries(queries):
        page = client.get(reverse("surveys:results", args=[survey.pk]), {"by": by})

    assert page.status_code == 200
    data = page.context["results"]
    assert data.answered.n == responses
    assert data.question("attended").answered.n == responses
    assert data.question("useful").answered.n == responses - len(range(0, responses, 3))
    if actor == "secretariat":
        assert len(data.question("comments").texts) == min(responses, survey_results.TEXT_LIMIT)


@pytest.mark.parametrize("responses", [10, 1000])
def test_responses_page_query_count_is_flat(
    client_for, secretariat, django_assert_num_queries, responses
):
    survey = bulk_survey(responses)
    client = client_for(secretariat)

    # session, user, roles (2), survey, count, page of responses, their answers, questions
    with django_assert_num_queries(9):
        page = client.get(reverse("surveys:responses", args=[survey.pk]))

    assert page.status_code == 200
    assert len(page.context["entries"]) == min(responses, 20)


def test_results_anonymous_crosstabs_are_suppressed_for_the_secretariat_too(secretariat):
    survey = SurveyFactory(anonymous=True)
    question = single_question(survey, choices=("はい", "いいえ"))
    answer_counts(survey, question, {"はい": 5, "いいえ": 1}, anonymous=True)
    # one 自治体 alone: its answer must not be readable from the cross-tab
    submitted_response(
        survey,
        organisation=org(Organisation.Kind.MUNICIPALITY),
        answers={question: "いいえ"},
        anonymous=True,
    )

    q = survey_results.compute(survey, secretariat).question("continue")

    # The counts per choice are not about anyone: shown in full.
    assert [r.cell.display for r in q.rows] == ["5", "2"]
    municipal = next(i for i, c in enumerate(q.crosstab.columns) if c.key == "municipal")
    assert q.crosstab.columns[municipal].total.display == "—"
    assert all(row.cells[municipal].display == "—" for row in q.crosstab.rows)
