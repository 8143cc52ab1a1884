"""The opinions the annual report quotes (issue 16): the secretariat chooses,
among the 年度's free-text answers to its post-event and annual surveys, the
ones the report shows under Ⅰ (参加者からの意見) and Ⅳ (主な意見); the
committee reads the chosen ones only, never who wrote them; an answer the
privacy guard flags cannot be chosen; bad posts write nothing.
"""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from committee.models import ReportOpinion
from core.dates import current_fiscal_year
from events.models import Event
from network.models import Organisation

from .event_factories import EventFactory, RegistrationFactory
from .factories import OrganisationFactory, UserFactory
from .survey_factories import QuestionFactory, SurveyFactory, submitted_response
from .test_annual_report import DOCX, REPORT, docx_text, text_of

OPINIONS = "/dashboard/report/opinions/"
USEFUL = "他地域の取り組みが分かって参考になった。"
LONGER = "グループワークの時間をもっと長くしてほしい。"
FLAGGED = "山田太郎さん（090-1234-5678）の件で相談したい。"
ANNUAL = "相談できる仲間が道内にいると分かった。"
WRITER = "江別くらし相談センター"


def year_with_texts(count: int = 0) -> tuple[int, dict[str, int]]:
    """The current 年度 with a held exchange meeting, its post-event survey
    (three free texts, one naming a person) and an annual survey (one free
    text); `count` more free texts to the post-event survey. Returns the 年度
    and the answers' ids by text."""
    fiscal_year = current_fiscal_year()
    meeting = EventFactory(number=1, status=Event.Status.FINISHED)
    writer = OrganisationFactory(name=WRITER, kind=Organisation.Kind.CONTRACTOR)
    RegistrationFactory(event=meeting, organisation=writer)
    from events import tallies

    tallies.refresh([meeting.pk])
    after = SurveyFactory(kind="post_event", event=meeting, title="第1回 アンケート")
    annual = SurveyFactory(kind="annual", title="効果検証アンケート")
    ids = {}
    for survey, texts in ((after, [USEFUL, LONGER, FLAGGED]), (annual, [ANNUAL])):
        question = QuestionFactory(
            survey=survey, kind="text", text="ご意見をお書きください", required=False
        )
        for text in texts:
            response = submitted_response(
                survey,
                organisation=writer,
                user=UserFactory(full_name="山田 花子"),
                answers={question: text},
            )
            ids[text] = response.answers.get().pk
    question = after.questions.get()
    for i in range(count):
        submitted_response(after, organisation=writer, answers={question: f"意見 {i}"})
    return fiscal_year, ids


def choose(client, fiscal_year, shown, chosen, page=None):
    query = f"?fy={fiscal_year}" + (f"&page={page}" if page else "")
    return client.post(OPINIONS + query, {"shown": shown, "chosen": chosen})


@pytest.mark.django_db
def test_secretariat_chooses_opinions_the_committee_then_reads(
    client_for, secretariat, committee_member
):
    fiscal_year, ids = year_with_texts()
    client = client_for(secretariat)

    page = client.get(OPINIONS, {"fy": fiscal_year})
    assert page.status_code == 200
    html = page.content.decode()
    for text in (USEFUL, LONGER, FLAGGED, ANNUAL):
        assert text.split("（")[0] in html
    # The flagged answer has no box to tick.
    boxes = re.findall(r'name="chosen" value="(\d+)"', html)
    assert sorted(map(int, boxes)) == sorted(ids[t] for t in (USEFUL, LONGER, ANNUAL))

    done = choose(client, fiscal_year, list(ids.values()), [ids[USEFUL], ids[ANNUAL]])
    assert done.status_code == 302
    assert set(ReportOpinion.objects.values_list("answer_id", "chosen_by")) == {
        (ids[USEFUL], secretariat.pk),
        (ids[ANNUAL], secretariat.pk),
    }
    assert "checked" in client.get(OPINIONS, {"fy": fiscal_year}).content.decode()

    committee = text_of(client_for(committee_member).get(REPORT, {"fy": fiscal_year}))
    assert "情報交換会・シンポジウム参加者からの意見 " + USEFUL in committee
    # The annual survey is open: the committee reads no Ⅳ yet, nor its opinions.
    assert ANNUAL not in committee
    for unseen in (LONGER, FLAGGED, "山田 花子", WRITER + "（"):
        assert unseen not in committee
    client = client_for(secretariat)  # the same test client, signed in again
    mine = text_of(client.get(REPORT, {"fy": fiscal_year}))
    assert "主な意見（自由記述から） " + ANNUAL in mine
    paragraphs, _tables, _document = docx_text(client.get(DOCX, {"fy": fiscal_year}))
    assert USEFUL in paragraphs and ANNUAL in paragraphs
    assert LONGER not in paragraphs

    # Unticking takes it out again.
    assert choose(client, fiscal_year, list(ids.values()), [ids[ANNUAL]]).status_code == 302
    assert list(ReportOpinion.objects.values_list("answer_id", flat=True)) == [ids[ANNUAL]]
    assert USEFUL not in text_of(client_for(committee_member).get(REPORT, {"fy": fiscal_year}))
    # The secretariat's page of candidates names no respondent either.
    page = client_for(secretariat).get(OPINIONS, {"fy": fiscal_year}).content.decode()
    assert "山田 花子" not in page and WRITER not in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    "case,message",
    [
        (
            "flagged",
            "個人が特定されるおそれのある内容を含む回答は、報告書に載せられません（1件）。",
        ),
        ("not shown", "表示していない回答は選べません。"),
        ("other year", "この年度のアンケートの自由記述ではない回答が含まれています。"),
        ("garbage", "送られた内容が正しくありません。もう一度選んでください。"),
        ("huge", "送られた内容が正しくありません。もう一度選んでください。"),
        ("negative", "送られた内容が正しくありません。もう一度選んでください。"),
        ("too many", "送られた内容が正しくありません。もう一度選んでください。"),
    ],
)
def test_bad_choices_are_refused_in_japanese_and_write_nothing(
    case, message, client_for, secretariat
):
    fiscal_year, ids = year_with_texts()
    client = client_for(secretariat)
    choose(client, fiscal_year, [ids[LONGER]], [ids[LONGER]])
    shown, chosen = list(ids.values()), [ids[USEFUL]]
    year = fiscal_year
    if case == "flagged":
        chosen = [ids[USEFUL], ids[FLAGGED]]
    elif case == "not shown":
        shown = [ids[USEFUL]]
        chosen = [ids[USEFUL], ids[LONGER]]
    elif case == "other year":
        year = fiscal_year - 1
    elif case == "garbage":
        shown = ["1; DROP TABLE", ids[USEFUL]]
    elif case == "huge":
        shown = ["99999999999999999999999", ids[USEFUL]]
    elif case == "negative":
        chosen = ["-1"]
    elif case == "too many":
        shown = [ids[USEFUL]] * 51

    response = choose(client, year, shown, chosen)

    assert response.status_code == 400
    assert (
        re.search(
            r'<p class="message error" role="alert">(.*?)</p>', response.content.decode()
        ).group(1)
        == message
    )
    assert list(ReportOpinion.objects.values_list("answer_id", flat=True)) == [ids[LONGER]]


@pytest.mark.django_db
def test_only_the_secretariat_sees_or_chooses_candidates(
    client_for, committee_member, contractor_member
):
    fiscal_year, ids = year_with_texts()
    for user in (committee_member, contractor_member):
        client = client_for(user)
        assert client.get(OPINIONS, {"fy": fiscal_year}).status_code == 404
        assert choose(client, fiscal_year, [ids[USEFUL]], [ids[USEFUL]]).status_code == 404
    anonymous = client_for(None).get(OPINIONS, {"fy": fiscal_year})
    assert anonymous.status_code == 302
    assert not ReportOpinion.objects.exists()


@pytest.mark.django_db
def test_a_year_without_free_texts_says_so(client_for, secretariat):
    page = text_of(client_for(secretariat).get(OPINIONS, {"fy": 2023}))
    assert "この年度のアンケートには、まだ自由記述の回答がありません。" in page


@pytest.mark.django_db
@pytest.mark.parametrize("count", [0, 60])
def test_candidates_page_query_count_is_fixed(count, client_for, secretariat):
    fiscal_year, ids = year_with_texts(count)
    client = client_for(secretariat)
    choose(client, fiscal_year, [ids[USEFUL]], [ids[USEFUL]])
    # session, user, roles (2), the 年度 list, the candidates' count and the
    # page of them with their question, survey and choice (one query).
    with CaptureQueriesContext(connection) as queries:
        response = client.get(OPINIONS, {"fy": fiscal_year})
    assert response.status_code == 200
    assert len(queries) == 7
    assert response.content.decode().count('name="shown"') == min(4 + count, 50)


@pytest.mark.django_db
def test_erasing_the_writer_takes_the_opinion_out_of_the_report(client_for, secretariat):
    from portal import erasure
    from surveys.models import Answer

    fiscal_year, ids = year_with_texts()
    choose(
        client_for(secretariat), fiscal_year, [ids[USEFUL], ids[LONGER]], [ids[USEFUL], ids[LONGER]]
    )
    writer = Answer.objects.get(pk=ids[USEFUL]).response.user

    erasure.erase_person(person=writer, by=secretariat, confirmation=writer.email)

    assert list(ReportOpinion.objects.values_list("answer_id", flat=True)) == [ids[LONGER]]
    text = text_of(client_for(secretariat).get(REPORT, {"fy": fiscal_year}))
    assert LONGER in text and USEFUL not in text


@pytest.mark.django_db
def test_superusers_look_at_chosen_opinions_in_the_admin_and_change_nothing(
    client_for, secretariat, superuser
):
    from django.urls import reverse

    fiscal_year, ids = year_with_texts()
    choose(client_for(secretariat), fiscal_year, [ids[USEFUL]], [ids[USEFUL]])
    opinion = ReportOpinion.objects.get()
    before = list(ReportOpinion.objects.values_list())
    client = client_for(superuser)

    def url(view, *args):
        return reverse(f"admin:committee_reportopinion_{view}", args=args)

    listed = client.get(url("changelist"))
    opened = client.get(url("change", opinion.pk))
    assert (listed.status_code, opened.status_code) == (200, 200)
    assert [row.pk for row in listed.context["cl"].result_list] == [opinion.pk]
    assert USEFUL in opened.content.decode()
    assert not opened.context["has_change_permission"]

    other = {"fiscal_year": "2020", "answer": str(ids[LONGER])}
    refused = [
        client.post(url("add"), other).status_code,
        client.post(url("change", opinion.pk), other).status_code,
        client.post(url("delete", opinion.pk), {"post": "yes"}).status_code,
    ]
    assert refused == [403, 403, 403]
    assert list(ReportOpinion.objects.values_list()) == before
