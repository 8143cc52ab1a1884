"""Answering a survey in the browser: the secret link (no login), the members'
list and answer page, save and resume, confirmation, refusals and errors."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from network.models import Organisation
from surveys.models import Answer, Invitation, Question, Response, Survey

from .factories import MembershipFactory, OrganisationFactory
from .survey_factories import (
    InvitationFactory,
    QuestionFactory,
    SurveyFactory,
    catalog_survey,
    submitted_response,
)

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    return response.content.decode()


def confirm_and_submit(client, url: str, data: dict):
    """Post the form with 送信する, then この内容で送信する on the confirmation page."""
    page = client.post(url, {"action": "confirm", **data})
    assert page.status_code == 200
    html = text_of(page)
    assert "回答内容の確認" in html, html
    version = re.search(r'name="version" value="([^"]+)"', html).group(1)
    return client.post(url, {"action": "submit", "version": version})


@pytest.fixture
def annual(contractor_member, contractor_org):
    """The annual template, person unit, with contractor_member's invitation."""
    survey = catalog_survey("annual", title="令和6年度 効果検証アンケート")
    invitation = InvitationFactory(
        survey=survey, user=contractor_member, organisation=contractor_org
    )
    questions = {q.key: q for q in survey.questions.all()}
    return survey, invitation, questions


def full_answers(q) -> dict:
    return {
        f"q{q['attended'].pk}": "参加したことがある",
        f"q{q['useful'].pk}": "4",
        f"q{q['continue'].pk}": "はい",
        f"q{q['format'].pk}": ["テーマ別ディスカッション", "その他"],
        f"q{q['format'].pk}_other": "事例検討",
        f"q{q['comments'].pk}": "また参加したいです。",
    }


# --- the secret link -----------------------------------------------------------------------


def test_respond_unknown_token_is_a_japanese_404(client):
    response = client.get(reverse("surveys:respond", args=["nothing-here"]))

    assert response.status_code == 404
    assert "アンケートが見つかりません" in text_of(response)
    assert "リンクが正しくないか、無効になっています。" in text_of(response)


def test_respond_shows_the_form_without_login(client, annual):
    survey, invitation, q = annual

    response = client.get(invitation.link)

    assert response.status_code == 200
    html = text_of(response)
    assert "令和6年度 効果検証アンケート" in html
    assert '<meta name="robots" content="noindex">' in html
    # single → radio buttons, scale → five radios with the labels, multiple → checkboxes
    # with その他 and its text box, text → textarea; required marks.
    assert f'type="radio" name="q{q["attended"].pk}"' in html
    assert html.count(f'type="radio" name="q{q["useful"].pk}"') == 5
    assert "1：役に立たなかった" in html and "5：とても役に立った" in html
    assert html.count(f'type="checkbox" name="q{q["format"].pk}"') == 5
    assert f'name="q{q["format"].pk}_other"' in html
    assert f'<textarea name="q{q["comments"].pk}"' in html
    assert html.count('<span class="required">必須</span>') == 3
    # The conditional question says when it applies; the script hides it.
    assert "Q1で「参加したことがある」と答えた方にお聞きします。" in html
    assert f'data-show-if="q{q["attended"].pk}" data-show-if-value="参加したことがある"' in html
    assert "js/surveys.js" in html
    assert "一時保存" in html and "送信する" in html
    assert not Response.objects.exists()  # looking creates nothing


def test_respond_number_question_is_a_number_input(client, contractor_member):
    survey = SurveyFactory()
    question = QuestionFactory(survey=survey, kind="number", text="相談件数")
    invitation = InvitationFactory(survey=survey, user=contractor_member)

    html = text_of(client.get(invitation.link))

    assert f'type="number" name="q{question.pk}"' in html
    assert 'inputmode="decimal"' in html


def test_respond_save_draft_and_resume_keeps_the_answers(client, annual):
    survey, invitation, q = annual

    saved = client.post(
        invitation.link,
        {
            "action": "save",
            f"q{q['attended'].pk}": "参加したことがある",
            f"q{q['format'].pk}": ["講師を招いた勉強会", "その他"],
            f"q{q['format'].pk}_other": "見学",
            f"q{q['comments'].pk}": "途中まで",
        },
    )

    assert saved.status_code == 302
    assert saved.url == invitation.link
    response = Response.objects.get()
    assert response.submitted_at is None
    assert response.invitation == invitation
    html = text_of(client.get(invitation.link))
    assert "一時保存しました。" in html
    assert "に一時保存した回答を表示しています。" in html
    assert re.search(
        rf'name="q{q["attended"].pk}" id="[^"]+" value="参加したことがある" checked', html
    )
    assert re.search(r'value="講師を招いた勉強会" checked', html)
    assert re.search(r'value="その他" checked', html)
    assert 'value="見学"' in html
    assert re.search(r">\s*途中まで</textarea>", html)
    invitation.refresh_from_db()
    assert invitation.responded_at is None


def test_respond_confirm_then_submit_goes_to_thanks_without_token(client, annual):
    survey, invitation, q = annual

    done = confirm_and_submit(client, invitation.link, full_answers(q))

    assert done.status_code == 302
    assert done.url == reverse("surveys:thanks")
    assert invitation.token not in done.url
    thanks = client.get(done.url)
    assert "ご回答ありがとうございました" in text_of(thanks)
    assert "令和6年度 効果検証アンケート" in text_of(thanks)
    response = Response.objects.get()
    assert response.submitted_at is not None
    assert response.user == invitation.user
    assert set(response.answers.values_list("question__key", "choice", "text")) == {
        ("attended", "参加したことがある", ""),
        ("useful", "", ""),
        ("continue", "はい", ""),
        ("format", "テーマ別ディスカッション", ""),
        ("format", "その他", "事例検討"),
        ("comments", "", "また参加したいです。"),
    }


def test_respond_confirmation_page_lists_the_answers_and_does_not_submit(client, annual):
    survey, invitation, q = annual

    page = client.post(invitation.link, {"action": "confirm", **full_answers(q)})

    html = text_of(page)
    assert "以下の内容で送信します。送信後は変更できません。" in html
    assert "<dd>4 / 5</dd>" in html
    assert "テーマ別ディスカッション、その他（事例検討）" in html
    assert "この内容で送信する" in html and "修正する" in html
    invitation.refresh_from_db()
    assert invitation.responded_at is None
    assert Response.objects.get().submitted_at is None


def test_respond_submit_with_a_stale_confirmation_asks_again(client, annual):
    survey, invitation, q = annual
    client.post(invitation.link, {"action": "confirm", **full_answers(q)})

    page = client.post(invitation.link, {"action": "submit", "version": "2000-01-01T00:00:00"})

    assert "回答内容が変更されたため、もう一度内容を確認してください。" in text_of(page)
    assert Response.objects.get().submitted_at is None


def test_respond_token_reuse_after_submit_is_refused_without_showing_answers(client, annual):
    survey, invitation, q = annual
    confirm_and_submit(client, invitation.link, full_answers(q))

    again = client.get(invitation.link)
    post = client.post(invitation.link, {"action": "save", **full_answers(q)})

    for page in (again, post):
        html = text_of(page)
        assert "この回答はすでに送信されています。" in html
        assert "事例検討" not in html and "また参加したいです。" not in html
        assert "<form" not in html.split('id="main"')[1]
    assert Response.objects.count() == 1
    assert Answer.objects.filter(text="事例検討").count() == 1


def test_respond_after_closing_is_410(client, annual):
    survey, invitation, q = annual
    Survey.objects.filter(pk=survey.pk).update(closes_at=timezone.now())

    page = client.get(invitation.link)
    post = client.post(invitation.link, {"action": "save", **full_answers(q)})

    for response in (page, post):
        assert response.status_code == 410
        assert "このアンケートの回答期間は終了しました。" in text_of(response)
    assert not Response.objects.exists()


def test_respond_draft_cannot_be_submitted_after_closing(client, annual):
    survey, invitation, q = annual
    page = client.post(invitation.link, {"action": "confirm", **full_answers(q)})
    version = re.search(r'name="version" value="([^"]+)"', text_of(page)).group(1)
    Survey.objects.filter(pk=survey.pk).update(closes_at=timezone.now())

    late = client.post(invitation.link, {"action": "submit", "version": version})

    assert late.status_code == 410
    assert Response.objects.get().submitted_at is None


def test_respond_before_opening_is_410_with_the_start(client, contractor_member):
    survey = SurveyFactory(opens_at=timezone.now() + datetime.timedelta(days=2))
    QuestionFactory(survey=survey)
    invitation = InvitationFactory(survey=survey, user=contractor_member)

    page = client.get(invitation.link)

    assert page.status_code == 410
    assert "このアンケートはまだ回答を受け付けていません。" in text_of(page)
    assert "から受け付けます" in text_of(page)


def test_respond_token_opens_only_its_own_survey(client, contractor_member):
    survey_a = SurveyFactory(title="アンケートA")
    question_a = QuestionFactory(survey=survey_a)
    survey_b = SurveyFactory(title="アンケートB")
    question_b = QuestionFactory(survey=survey_b)
    token_a = InvitationFactory(survey=survey_a, user=contractor_member)
    InvitationFactory(survey=survey_b, user=contractor_member)

    html = text_of(client.get(token_a.link))
    assert "アンケートA" in html and "アンケートB" not in html
    # Answers to B's question posted through A's link are not stored anywhere.
    done = confirm_and_submit(
        client, token_a.link, {f"q{question_a.pk}": "3", f"q{question_b.pk}": "5"}
    )

    assert done.status_code == 302
    response = Response.objects.get()
    assert response.survey == survey_a
    assert list(Answer.objects.values_list("question", flat=True)) == [question_a.pk]
    assert not Invitation.objects.filter(survey=survey_b, responded_at__isnull=False).exists()


def test_respond_required_errors_are_shown_at_the_top_and_per_question(client, annual):
    survey, invitation, q = annual

    page = client.post(invitation.link, {"action": "confirm"})

    html = text_of(page)
    assert page.status_code == 200
    assert "入力内容を確認してください。" in html
    assert f'<a href="#question-{q["attended"].pk}">Q1</a>：この質問は回答必須です。' in html
    assert f'<a href="#question-{q["continue"].pk}">Q3</a>：この質問は回答必須です。' in html
    # useful is required but only asked of those who came: no error for it.
    assert f'href="#question-{q["useful"].pk}"' not in html
    assert html.count('<ul class="errorlist"') == 2
    assert not Response.objects.exists()


def test_respond_conditional_answer_is_discarded_when_hidden(client, annual):
    survey, invitation, q = annual

    confirm_and_submit(
        client,
        invitation.link,
        {
            f"q{q['attended'].pk}": "参加したことがない",
            f"q{q['useful'].pk}": "5",  # hidden: did not attend
            f"q{q['continue'].pk}": "いいえ",
        },
    )

    assert set(Answer.objects.values_list("question__key", flat=True)) == {"attended", "continue"}


def test_respond_invalid_values_show_japanese_errors_and_keep_input(client, contractor_member):
    survey = SurveyFactory()
    number = QuestionFactory(survey=survey, kind="number", text="相談件数", required=False)
    multiple = QuestionFactory(
        survey=survey, kind="multiple", choices=["A", "B"], allow_other=True, required=False
    )
    invitation = InvitationFactory(survey=survey, user=contractor_member)

    page = client.post(
        invitation.link,
        {"action": "save", f"q{number.pk}": "abc", f"q{multiple.pk}": ["A", "その他"]},
    )

    html = text_of(page)
    assert "数値を入力してください。" in html
    assert "「その他」を選んだ場合は内容を記入してください。" in html
    assert 'value="abc"' in html
    assert not Response.objects.exists()


def test_respond_question_for_municipalities_is_not_shown_to_a_contractor(
    client, contractor_member, contractor_org
):
    survey = SurveyFactory()
    QuestionFactory(survey=survey, text="全員への質問")
    QuestionFactory(
        survey=survey, text="自治体だけへの質問", kind="text", audience=Question.Audience.MUNICIPAL
    )
    invitation = InvitationFactory(
        survey=survey, user=contractor_member, organisation=contractor_org
    )

    html = text_of(client.get(invitation.link))

    assert "全員への質問" in html
    assert "自治体だけへの質問" not in html


# --- organisation unit --------------------------------------------------------------------


def test_organisation_link_answered_by_one_member_refuses_a_second_response(
    client_for, contractor_org, contractor_member, org_admin
):
    survey = SurveyFactory(respondent_unit=Survey.Unit.ORGANISATION)
    question = QuestionFactory(survey=survey)
    invitation = InvitationFactory(survey=survey, user=None, organisation=contractor_org)

    # A colleague (not the admin who got the mail) answers through the shared link.
    client = client_for(contractor_member)
    done = confirm_and_submit(client, invitation.link, {f"q{question.pk}": "5"})
    assert done.status_code == 302
    response = Response.objects.get()
    assert response.organisation == contractor_org
    assert response.user == contractor_member

    # The admin then tries, through the members' page and through the link.
    client = client_for(org_admin)
    for url in (reverse("surveys:answer", args=[survey.pk]), invitation.link):
        html = text_of(client.get(url))
        assert "この組織の回答はすでに送信されています。1つの組織につき回答は1回です。" in html
    assert Response.objects.count() == 1


# --- members' pages ---------------------------------------------------------------------------


def test_survey_list_shows_surveys_for_me_and_my_organisation_open_first(
    client_for, contractor_member, contractor_org, other_org
):
    now = timezone.now()
    closed = SurveyFactory(
        title="締切済みのアンケート",
        opens_at=now - datetime.timedelta(days=20),
        closes_at=now - datetime.timedelta(days=5),
    )
    answered = SurveyFactory(title="回答済みのアンケート")
    open_org = SurveyFactory(
        title="組織で答えるアンケート", respondent_unit=Survey.Unit.ORGANISATION
    )
    open_me = SurveyFactory(
        title="個人で答えるアンケート", closes_at=now + datetime.timedelta(days=3)
    )
    not_mine = SurveyFactory(
        title="ほかの組織のアンケート", respondent_unit=Survey.Unit.ORGANISATION
    )
    draft = SurveyFactory(title="下書きのアンケート", status=Survey.Status.DRAFT)
    InvitationFactory(survey=closed, user=contractor_member)
    InvitationFactory(survey=answered, user=contractor_member, responded_at=now)
    InvitationFactory(survey=open_org, user=None, organisation=contractor_org)
    InvitationFactory(survey=open_me, user=contractor_member)
    InvitationFactory(survey=not_mine, user=None, organisation=other_org)
    InvitationFactory(survey=draft, user=contractor_member)

    html = text_of(client_for(contractor_member).get(reverse("surveys:list")))

    order = re.findall(
        r"(個人で答える|組織で答える|回答済みの|締切済みの|ほかの組織の|下書きの)アンケート", html
    )
    assert [f"{title}アンケート" for title in order] == [
        "個人で答えるアンケート",
        "組織で答えるアンケート",
        "回答済みのアンケート",
        "締切済みのアンケート",
    ]
    assert "ほかの組織のアンケート" not in html and "下書きのアンケート" not in html
    assert "回答済み" in html and "未回答" in html and "締切" in html
    assert f'href="{reverse("surveys:answer", args=[open_org.pk])}?org={contractor_org.pk}"' in html
    assert "札幌生活サポートセンターとして回答" in html


def test_survey_list_query_count_does_not_grow_with_rows(
    client_for, contractor_member, contractor_org, django_assert_num_queries
):
    client = client_for(contractor_member)
    InvitationFactory(survey=SurveyFactory(), user=contractor_member)
    client.get(reverse("surveys:list"))  # warm up the session
    with django_assert_num_queries(6):
        client.get(reverse("surveys:list"))
    for _ in range(19):
        InvitationFactory(survey=SurveyFactory(), user=contractor_member)
    with django_assert_num_queries(6):
        page = client.get(reverse("surveys:list"))
    assert text_of(page).count('class="card survey-item') == 20


def test_survey_list_needs_login(client):
    response = client.get(reverse("surveys:list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_member_answer_is_404_when_nothing_is_addressed_to_me(
    client_for, contractor_member, municipal_member, other_org
):
    survey = SurveyFactory()
    QuestionFactory(survey=survey)
    InvitationFactory(survey=survey, user=municipal_member)
    org_survey = SurveyFactory(respondent_unit=Survey.Unit.ORGANISATION)
    InvitationFactory(survey=org_survey, user=None, organisation=other_org)
    client = client_for(contractor_member)

    assert client.get(reverse("surveys:answer", args=[survey.pk])).status_code == 404
    assert client.get(reverse("surveys:answer", args=[org_survey.pk])).status_code == 404
    assert client.get(reverse("surveys:answer", args=[99999])).status_code == 404


def test_member_answer_renders_the_same_form_and_submits(client_for, annual, contractor_member):
    survey, invitation, q = annual
    client = client_for(contractor_member)
    url = reverse("surveys:answer", args=[survey.pk])

    html = text_of(client.get(url))
    assert f'action="{url}"' in html
    assert invitation.token not in html
    done = confirm_and_submit(client, url, full_answers(q))

    assert done.url == reverse("surveys:thanks")
    invitation.refresh_from_db()
    assert invitation.responded_at is not None


def test_member_answer_lets_a_member_of_two_invited_organisations_choose(
    client_for, contractor_member, contractor_org, municipal_org
):
    MembershipFactory(organisation=municipal_org, user=contractor_member)
    survey = SurveyFactory(respondent_unit=Survey.Unit.ORGANISATION)
    question = QuestionFactory(survey=survey)
    InvitationFactory(survey=survey, user=None, organisation=contractor_org)
    municipal = InvitationFactory(survey=survey, user=None, organisation=municipal_org)
    client = client_for(contractor_member)
    url = reverse("surveys:answer", args=[survey.pk])

    choose = text_of(client.get(url))
    assert "どの組織として回答しますか。" in choose
    assert f"{url}?org={municipal_org.pk}" in choose and f"{url}?org={contractor_org.pk}" in choose

    chosen_url = f"{url}?org={municipal_org.pk}"
    form = text_of(client.get(chosen_url))
    assert "札幌市保健福祉局" in form
    confirm_and_submit(client, chosen_url, {f"q{question.pk}": "3"})

    municipal.refresh_from_db()
    assert municipal.responded_at is not None
    response = Response.objects.get()
    assert response.organisation == municipal_org
    assert response.organisation_kind == Organisation.Kind.MUNICIPALITY


def test_anonymous_survey_through_the_link_stores_no_link_to_the_person(client, contractor_member):
    survey = SurveyFactory(anonymous=True)
    question = QuestionFactory(survey=survey, kind="text", required=True)
    invitation = InvitationFactory(
        survey=survey, user=contractor_member, organisation=OrganisationFactory()
    )
    assert "匿名のアンケートです。" in text_of(client.get(invitation.link))

    confirm_and_submit(client, invitation.link, {f"q{question.pk}": "率直な意見"})

    response = Response.objects.get()
    assert (response.invitation, response.user, response.organisation) == (None, None, None)
    local = timezone.localtime(response.submitted_at)
    assert (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)
    assert response.started_at == response.updated_at == response.submitted_at
    invitation.refresh_from_db()
    assert invitation.responded_at is not None
    assert "この回答はすでに送信されています。" in text_of(client.get(invitation.link))


def test_submitted_response_helper_matches_the_service_shape(annual, contractor_org):
    """The factory helper other tests use stores what the service stores."""
    survey, invitation, q = annual
    response = submitted_response(
        survey,
        invitation=invitation,
        organisation=contractor_org,
        answers={"attended": "参加したことがある", "format": ["事業別テーマ", "その他:見学"]},
    )
    assert response.organisation_kind == "contractor"
    assert set(response.answers.values_list("choice", "text")) == {
        ("参加したことがある", ""),
        ("事業別テーマ", ""),
        ("その他", "見学"),
    }


@pytest.mark.parametrize("questions", [1, 30])
def test_respond_query_count_does_not_grow_with_questions(
    client, contractor_member, contractor_org, django_assert_num_queries, questions
):
    survey = SurveyFactory()
    made = [
        QuestionFactory(survey=survey, kind="multiple", allow_other=True) for _ in range(questions)
    ]
    invitation = InvitationFactory(
        survey=survey, user=contractor_member, organisation=contractor_org
    )

    with django_assert_num_queries(3):  # invitation, draft, questions
        page = client.get(invitation.link)
    assert text_of(page).count('class="question question-multiple') == questions

    client.post(invitation.link, {"action": "save", f"q{made[0].pk}": ["はい", "いいえ"]})
    with django_assert_num_queries(4):  # + the draft's answers
        page = client.get(invitation.link)
    assert text_of(page).count("checked") == 2
