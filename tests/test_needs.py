"""The needs register (課題): raising, triage, the board, filters, export, access."""

import csv
import datetime
import io
import re
from html import unescape

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.template import engines
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from committee import needs
from committee.models import Need, NeedUpdate
from core.dates import fiscal_year_of
from surveys.models import Answer, Question
from surveys.results import TextAnswer

from .event_factories import EventFactory, RegistrationFactory
from .factories import UserFactory
from .survey_factories import QuestionFactory, SurveyFactory, submitted_response

pytestmark = pytest.mark.django_db

BOARD = reverse("dashboard:needs")
CREATE = reverse("dashboard:need_create")
RAISE = reverse("dashboard:need_raise")
QUESTION = "生活保護との連携で、ケース会議に福祉事務所が来てくれません。他の地域ではどう声をかけていますか。"


def detail_url(need):
    return reverse("dashboard:need_detail", args=[need.pk])


@pytest.fixture
def third_meeting():
    return EventFactory(number=3, title="第3回 情報交換会", fiscal_year=2021)


@pytest.fixture
def asked(third_meeting, contractor_member, contractor_org):
    return RegistrationFactory(
        event=third_meeting, user=contractor_member, organisation=contractor_org, question=QUESTION
    )


@pytest.fixture
def committee_colleague(db):
    return UserFactory(email="iin2@example.org", full_name="委員 六子", groups=["committee"])


def raise_from(client, kind, pk, **extra):
    return client.post(RAISE, {"kind": kind, "id": pk, **extra})


def triage(client, need, **data):
    fields = {
        "status": need.status,
        "function": "",
        "owner": "",
        "due_date": "",
        "notes": "",
        "note": "",
    }
    fields.update({k: "" if v is None else v for k, v in data.items()})
    return client.post(detail_url(need), fields)


def make_need(**kwargs):
    defaults = {"title": "課題", "text": "内容", "fiscal_year": 2021}
    defaults.update(kwargs)
    return Need.objects.create(**defaults)


# --- raising and triage through the views -------------------------------------------------


def test_need_from_registration_question_walked_to_proposed_by_committee(
    client_for, committee_member, asked
):
    client = client_for(committee_member)

    response = raise_from(client, "registration", asked.pk)

    need = Need.objects.get()
    assert response.status_code == 302
    assert response.url == detail_url(need)
    assert need.source == Need.Source.REGISTRATION
    assert need.source_registration == asked
    assert need.text == QUESTION
    assert need.title == needs.default_title(QUESTION)
    assert len(need.title) == needs.TITLE_LENGTH + 1 and need.title.endswith("…")
    assert (need.event, need.fiscal_year, need.status) == (asked.event, 2021, Need.Status.NEW)
    assert need.raised_by == committee_member
    page = client.get(response.url)
    assert "課題として登録しました" in page.content.decode()
    assert "第3回 情報交換会の事前質問" in page.content.decode()

    assert (
        triage(client, need, status="sorting", note="福祉事務所の参加状況を調べる").status_code
        == 302
    )
    refused = triage(client, need, status="in_progress")
    assert refused.status_code == 200
    assert "機能（1〜7）を選んでから対応中にしてください。" in refused.content.decode()
    assert Need.objects.get().status == Need.Status.SORTING
    assert triage(client, need, status="in_progress", function=3).status_code == 302
    done = triage(client, need, status="proposed", function=3, note="道へ提言書を提出")
    assert done.status_code == 302

    need.refresh_from_db()
    assert (need.status, need.function) == (Need.Status.PROPOSED, Need.Function.POLICY)
    history = list(need.updates.values_list("old_status", "new_status", "function", "note"))
    assert history == [
        ("", "new", None, ""),
        ("new", "sorting", None, "福祉事務所の参加状況を調べる"),
        ("sorting", "in_progress", 3, ""),
        ("in_progress", "proposed", None, "道へ提言書を提出"),
    ]
    assert set(need.updates.values_list("author", flat=True)) == {committee_member.pk}
    page = client.get(detail_url(need)).content.decode()
    assert "提言済" in page and "3 論点整理・政策提言" in page
    assert "道へ提言書を提出" in page


def test_need_raised_twice_opens_the_same_need(client_for, committee_member, secretariat, asked):
    client = client_for(committee_member)
    first = raise_from(client, "registration", asked.pk)
    assert "課題として登録しました" in client.get(first.url).content.decode()

    again = raise_from(client, "registration", asked.pk)

    need = Need.objects.get()
    assert first.url == again.url == detail_url(need)
    page = client.get(again.url).content.decode()
    assert "すでに登録されている課題を開きました" in page
    assert "課題として登録しました" not in page
    # Someone else raising it opens the same need; the raiser stays the first one.
    assert raise_from(client_for(secretariat), "registration", asked.pk).url == detail_url(need)
    need.refresh_from_db()
    assert need.raised_by == committee_member
    assert NeedUpdate.objects.count() == 1


def test_need_raise_race_reads_the_winners_row(monkeypatch, committee_member, asked):
    winner, _created = needs.raise_need(
        source="registration", registration=asked, by=committee_member
    )
    # The second request checked before the first one committed: it sees no
    # need, its insert hits the unique constraint, and it re-reads.
    real_existing = needs._existing
    calls = []

    def not_yet(source, item):
        calls.append(source)
        return None if len(calls) == 1 else real_existing(source, item)

    monkeypatch.setattr(needs, "_existing", not_yet)

    need, created = needs.raise_need(source="registration", registration=asked, by=committee_member)

    assert (need, created) == (winner, False)
    assert len(calls) == 2
    assert Need.objects.count() == 1 and NeedUpdate.objects.count() == 1


def test_need_empty_question_is_refused(client_for, committee_member, third_meeting):
    silent = RegistrationFactory(event=third_meeting, question="   ")
    client = client_for(committee_member)

    response = raise_from(client, "registration", silent.pk, next="/dashboard/needs/new/")

    assert response.status_code == 302 and response.url == "/dashboard/needs/new/"
    assert not Need.objects.exists()
    page = client.get(CREATE).content.decode()
    assert "事前質問が空のため、課題にできません。" in page
    with pytest.raises(ValidationError):
        needs.raise_need(source="registration", registration=silent, by=committee_member)


def test_need_raise_next_outside_the_site_is_ignored(client_for, committee_member, third_meeting):
    silent = RegistrationFactory(event=third_meeting, question="")
    response = raise_from(
        client_for(committee_member), "registration", silent.pk, next="https://evil.example/"
    )
    assert response.url == BOARD


def test_need_function_required_before_in_progress_proposed_resolved(committee_member):
    need = make_need()
    for status, label in [("in_progress", "対応中"), ("proposed", "提言済"), ("resolved", "解決")]:
        with pytest.raises(ValidationError) as error:
            needs.update_need(need=need, by=committee_member, status=status)
        assert error.value.message_dict["function"] == [
            f"機能（1〜7）を選んでから{label}にしてください。"
        ]
    # Closing without a function is allowed (a need may be dropped).
    needs.update_need(need=need, by=committee_member, status="closed", note="重複のため")
    need = needs.update_need(need=need, by=committee_member, status="in_progress", function=5)
    with pytest.raises(ValidationError):
        needs.update_need(need=need, by=committee_member, function=None)
    assert Need.objects.get().function == 5


def test_need_update_records_owner_due_date_and_notes(committee_member, secretariat):
    need = make_need()
    need = needs.update_need(
        need=need,
        by=committee_member,
        owner=secretariat,
        due_date=datetime.date(2022, 3, 31),
        notes="道の担当課に確認",
    )
    assert (need.owner, need.due_date, need.notes) == (
        secretariat,
        datetime.date(2022, 3, 31),
        "道の担当課に確認",
    )
    update = need.updates.get()
    assert (update.old_status, update.new_status, update.function) == ("", "", None)
    assert "担当者: なし → 事務 四郎" in update.note
    assert "期限: なし → 2022年3月31日(木)" in update.note
    assert "メモを更新しました" in update.note
    # Nothing changed and no note: nothing recorded.
    needs.update_need(need=need, by=committee_member, owner=secretariat, notes="道の担当課に確認")
    assert need.updates.count() == 1


def test_need_owner_must_be_committee_or_secretariat(committee_member, contractor_member):
    with pytest.raises(ValidationError) as error:
        needs.update_need(need=make_need(), by=committee_member, owner=contractor_member)
    assert "owner" in error.value.message_dict


# --- free-text answers ---------------------------------------------------------------------


@pytest.fixture
def annual_texts(contractor_member, contractor_org):
    survey = SurveyFactory(title="令和3年度 効果検証アンケート", fiscal_year=2021, kind="annual")
    wish = QuestionFactory(
        survey=survey, kind=Question.Kind.TEXT, text="今後取り上げてほしいテーマ"
    )
    form = QuestionFactory(
        survey=survey,
        kind=Question.Kind.SINGLE,
        text="望ましい形式",
        choices=["講義", "グループワーク"],
        allow_other=True,
    )
    response = submitted_response(
        survey,
        user=contractor_member,
        organisation=contractor_org,
        answers={wish: "家計改善支援と就労準備の連携事例を知りたい", form: "その他:現地見学"},
    )
    return {a.question_id: a for a in response.answers.all()}, wish, form


def test_need_from_free_text_answer_by_secretariat(client_for, secretariat, annual_texts):
    answers, wish, form = annual_texts
    client = client_for(secretariat)

    response = raise_from(client, "answer", answers[wish.pk].pk)

    need = Need.objects.get()
    assert response.url == detail_url(need)
    assert (need.source, need.source_answer, need.fiscal_year) == ("answer", answers[wish.pk], 2021)
    assert need.text == "家計改善支援と就労準備の連携事例を知りたい"
    page = client.get(detail_url(need)).content.decode()
    assert "令和3年度 効果検証アンケートの自由記述" in page
    assert reverse("surveys:responses", args=[wish.survey_id]) in page

    other = raise_from(client, "answer", answers[form.pk].pk)
    need = Need.objects.get(source_answer=answers[form.pk])
    assert other.url == detail_url(need) and need.text == "現地見学"
    assert "「その他」の記入" in client.get(other.url).content.decode()


def test_need_from_answer_refused_for_committee_and_for_choices(
    client_for, committee_member, secretariat, annual_texts
):
    answers, wish, form = annual_texts
    # The committee does not read free-text answers, so it cannot raise one by id.
    assert (
        raise_from(client_for(committee_member), "answer", answers[wish.pk].pk).status_code == 404
    )
    choice = submitted_response(wish.survey, answers={form: "講義"}).answers.get()
    response = raise_from(client_for(secretariat), "answer", choice.pk, next=BOARD)
    assert response.url == BOARD
    assert not Need.objects.exists()


def test_need_from_anonymous_answer_shows_no_respondent(client_for, secretariat, committee_member):
    survey = SurveyFactory(title="匿名アンケート", anonymous=True)
    question = QuestionFactory(survey=survey, kind=Question.Kind.TEXT)
    answer = submitted_response(
        survey, answers={question: "スーパーバイズを受けられる場がほしい"}, anonymous=True
    ).answers.get()

    need, created = needs.raise_need(source="answer", answer=answer, by=secretariat)

    assert created and need.source_answer == answer
    for user in (secretariat, committee_member):
        page = client_for(user).get(detail_url(need)).content.decode()
        assert "匿名アンケートの自由記述" in page
    # The link for an anonymous survey goes to the aggregates, not to individual answers.
    page = client_for(secretariat).get(detail_url(need)).content.decode()
    assert reverse("surveys:results", args=[survey.pk]) in page


def _button(user, **context):
    """The {% raise_need_button %} tag as a page of `user` renders it."""
    request = RequestFactory().get("/surveys/1/results/")
    request.user = user
    template = engines["django"].from_string(
        "{% load needs %}{% raise_need_button source source_kind question=question %}"
    )
    return template.render({"question": None, **context}, request=request)


def _posted(html: str) -> dict:
    """The hidden fields as a browser sends them: line breaks become CRLF."""
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', html, flags=re.S))
    fields.pop("csrfmiddlewaretoken", None)
    return {k: unescape(v).replace("\n", "\r\n") for k, v in fields.items()}


def test_need_button_raises_an_anonymous_answer_without_its_id(
    client_for, secretariat, committee_member
):
    survey = SurveyFactory(title="匿名アンケート", anonymous=True)
    question = QuestionFactory(survey=survey, kind=Question.Kind.TEXT)
    text = '研修の案内が\n届かない <町村部> & "小規模"'
    for words in ("別の意見", text, text):
        submitted_response(survey, answers={question: words}, anonymous=True)
    first = Answer.objects.filter(question=question, text=text).order_by("pk").first()
    shown = TextAnswer(text=text)

    html = _button(secretariat, source=shown, source_kind="answer", question=question)

    assert 'name="id"' not in html and f'value="{first.pk}"' not in html
    assert (
        _button(committee_member, source=shown, source_kind="answer", question=question).strip()
        == ""
    )
    client = client_for(secretariat)
    response = client.post(RAISE, _posted(html))
    need = Need.objects.get()
    assert response.url == detail_url(need)
    assert (need.source_answer, need.text) == (first, text)
    # The same words again (or the second person's identical answer) open the same need.
    assert client.post(RAISE, _posted(html)).url == detail_url(need)
    assert Need.objects.count() == 1
    # A text nobody wrote is not found.
    assert client.post(RAISE, {**_posted(html), "text": "ない"}).status_code == 404


def test_need_button_for_a_registration_posts_its_id(
    client_for, committee_member, contractor_member, asked
):
    """A registration's button sends its id with the page's one form
    ({% raise_need_form %}: the kind and the way back)."""
    request = RequestFactory().get("/surveys/1/results/")
    request.user = committee_member
    html = (
        engines["django"]
        .from_string(
            "{% load needs %}{% raise_need_button source 'registration' %}{% raise_need_form %}"
        )
        .render({"source": asked}, request=request)
    )
    posted = _posted(html)
    assert (posted["id"], posted["kind"]) == (str(asked.pk), "registration")
    response = client_for(committee_member).post(RAISE, posted)
    need = Need.objects.get()
    assert (response.url, need.source_registration) == (detail_url(need), asked)
    assert _button(contractor_member, source=asked, source_kind="registration").strip() == ""


# --- who raised it -------------------------------------------------------------------------


def _raiser_shown(page: str, name: str) -> bool:
    # The owner list offers every committee member by name: discount those options.
    return page.count(name) > page.count(f">{name}</option>")


def test_need_raiser_seen_by_the_raiser_and_the_secretariat_only(
    client_for, committee_member, committee_colleague, secretariat, asked
):
    raise_from(client_for(committee_member), "registration", asked.pk)
    need = Need.objects.get()
    name = committee_member.full_name

    mine = client_for(committee_member).get(detail_url(need)).content.decode()
    colleague = client_for(committee_colleague).get(detail_url(need)).content.decode()
    desk = client_for(secretariat).get(detail_url(need)).content.decode()

    assert "登録者" in mine and _raiser_shown(mine, name) and "（あなた）" in mine
    assert "登録者" not in colleague and not _raiser_shown(colleague, name)
    assert "登録者" in desk and _raiser_shown(desk, name)
    # Nobody sees who asked the question, except through the secretariat's link.
    asker = asked.user.full_name
    assert asker not in mine and asker not in colleague and asker not in desk
    assert reverse("events:registrations", args=[asked.event_id]) in desk
    assert reverse("events:registrations", args=[asked.event_id]) not in colleague


# --- access --------------------------------------------------------------------------------


def _urls(need):
    return [
        ("get", BOARD),
        ("get", CREATE),
        ("post", CREATE),
        ("post", RAISE),
        ("get", reverse("dashboard:need_export", args=["csv"])),
        ("get", reverse("dashboard:need_export", args=["xlsx"])),
        ("get", detail_url(need)),
        ("post", detail_url(need)),
    ]


@pytest.mark.parametrize(
    "actor", ["outsider", "contractor_member", "municipal_member", "org_admin"]
)
def test_needs_urls_404_for_members(actor, actors, client_for, asked):
    need = make_need(source_registration=asked, source="registration")
    client = client_for(actors[actor])
    for method, url in _urls(need):
        data = {
            "kind": "registration",
            "id": asked.pk,
            "status": "closed",
            "title": "x",
            "text": "y",
        }
        response = getattr(client, method)(url, data if method == "post" else None)
        assert response.status_code == 404, (method, url)
    assert Need.objects.count() == 1 and need.updates.count() == 0


def test_needs_urls_send_anonymous_to_login(client_for, asked):
    need = make_need()
    client = client_for(None)
    for method, url in _urls(need):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_need_raise_is_post_only(client_for, committee_member):
    assert client_for(committee_member).get(RAISE).status_code == 405


# --- manual entry and the 事前質問 not yet raised ------------------------------------------


def test_need_create_by_hand(client_for, committee_member, secretariat):
    meeting = EventFactory(title="第5回 情報交換会")
    client = client_for(committee_member)
    response = client.post(
        CREATE,
        {
            "title": "",
            "text": "町村部では相談員が1人で、休みが取れない",
            "function": "5",
            "status": "in_progress",
            "owner": secretariat.pk,
            "due_date": "2022-02-28",
            "notes": "",
            "event": meeting.pk,
            "fiscal_year": "2019",
        },
    )
    need = Need.objects.get()
    assert response.status_code == 302 and response.url == detail_url(need)
    assert need.title == "町村部では相談員が1人で、休みが取れない"
    assert (need.source, need.function, need.status, need.owner) == (
        "manual",
        5,
        "in_progress",
        secretariat,
    )
    # The event decides the 年度.
    assert need.event == meeting and need.fiscal_year == meeting.fiscal_year != 2019
    assert need.raised_by == committee_member
    assert need.updates.get().new_status == "in_progress"


def test_need_create_refuses_a_member_as_owner_and_in_progress_without_function(
    client_for, committee_member, contractor_member
):
    response = client_for(committee_member).post(
        CREATE,
        {
            "text": "研修の案内が届かない",
            "status": "in_progress",
            "owner": contractor_member.pk,
            "fiscal_year": str(fiscal_year_of(timezone.now())),
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "機能（1〜7）を選んでから対応中にしてください。" in page
    assert "正しく選択してください" in page or "選択肢にありません" in page
    assert not Need.objects.exists()


def test_need_create_lists_unraised_questions_without_names(
    client_for, committee_member, asked, third_meeting
):
    RegistrationFactory(event=third_meeting, question="")
    client = client_for(committee_member)

    page = client.get(CREATE, {"fy": 2021}).content.decode()

    assert QUESTION in page and "第3回 情報交換会" in page
    assert asked.user.full_name not in page
    assert f'name="id" value="{asked.pk}"' in page
    raise_from(client, "registration", asked.pk)
    page = client.get(CREATE, {"fy": 2021}).content.decode()
    assert QUESTION not in page
    assert "まだ課題になっていないものはありません" in page


@pytest.mark.parametrize("fy", ["abc", "2015", "2021.5"])
def test_need_create_bad_fiscal_year_is_the_dashboards_400_page(
    fy, client_for, committee_member, asked
):
    """The candidate list used to fall back to the current 年度 on a bad ?fy=;
    now it answers like the dashboard (core.dates.parse_fiscal_year)."""
    response = client_for(committee_member).get(CREATE, {"fy": fy})

    page = response.content.decode()
    assert response.status_code == 400
    assert [t.name for t in response.templates][0] == "committee/bad_year.html"
    assert "年度の指定が正しくありません" in page
    assert QUESTION not in page and "手入力で登録" not in page


def test_need_raise_button_on_the_registration_list(client_for, secretariat, asked):
    page = (
        client_for(secretariat)
        .get(reverse("events:registrations", args=[asked.event_id]))
        .content.decode()
    )
    # One form for the page, a button per row that names its registration.
    assert page.count(f'action="{RAISE}"') == 1
    assert f'form="raise-need-registration" name="id" value="{asked.pk}"' in page


# --- the board, the list and its filters ------------------------------------------------------


def test_need_board_counts_by_function_and_status(client_for, committee_member):
    make_need(function=3, status="in_progress")
    make_need(function=3, status="in_progress")
    make_need(function=3, status="proposed")
    make_need(status="new")
    make_need(function=7, status="closed", fiscal_year=2020)

    response = client_for(committee_member).get(BOARD)

    rows = {row.key: [c.count for c in row.cells] for row in response.context["board_rows"]}
    # columns: new, sorting, in_progress, proposed, resolved, closed
    assert rows["3"] == [0, 0, 2, 1, 0, 0]
    assert rows["none"] == [1, 0, 0, 0, 0, 0]
    assert rows["7"] == [0, 0, 0, 0, 0, 1]
    assert response.context["board_totals"].total.count == 5
    page = response.content.decode()
    assert "function=3&amp;status=in_progress#need-list" in page

    # The board follows the 年度 filter but not the status/function ones.
    response = client_for(committee_member).get(BOARD, {"fiscal_year": 2021, "status": "new"})
    assert response.context["board_totals"].total.count == 4
    assert response.context["page_obj"].paginator.count == 1


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "in_progress"}, {"A"}),
        ({"function": "3"}, {"A", "B"}),
        ({"function": "none"}, {"C"}),
        ({"fiscal_year": "2020"}, {"C"}),
        ({"source": "registration"}, {"B"}),
        ({"q": "スーパーバイズ"}, {"B"}),
        ({"q": "メモに 書いた"}, {"C"}),
        ({}, {"A", "B", "C"}),
    ],
)
def test_need_list_filters(params, expected, client_for, committee_member, asked):
    make_need(title="A", function=3, status="in_progress", owner=committee_member)
    make_need(
        title="B",
        text="スーパーバイズの場",
        function=3,
        source="registration",
        source_registration=asked,
    )
    make_need(title="C", fiscal_year=2020, notes="メモに書いた")

    page_obj = client_for(committee_member).get(BOARD, params).context["page_obj"]

    assert {need.title for need in page_obj} == expected


def test_need_list_filter_by_owner(client_for, committee_member, secretariat):
    make_need(title="mine", owner=committee_member)
    make_need(title="desk", owner=secretariat)
    page_obj = (
        client_for(committee_member).get(BOARD, {"owner": secretariat.pk}).context["page_obj"]
    )
    assert [n.title for n in page_obj] == ["desk"]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "nonsense"},
        {"function": "99"},
        {"fiscal_year": "1"},
        {"owner": "abc"},
        {"source": "<script>"},
        {"q": "x" * 500},
        {"page": "-1"},
        {"function": "3", "status": "\x00"},
    ],
)
def test_need_board_garbage_query_never_500(params, client_for, committee_member):
    make_need()
    response = client_for(committee_member).get(BOARD, params)
    assert response.status_code == 200


@pytest.mark.parametrize("rows", [1, 50])
def test_need_board_query_count(
    rows, client_for, committee_member, secretariat, django_assert_num_queries
):
    event = EventFactory()
    for i in range(rows):
        make_need(
            title=f"課題{i}",
            function=(i % 7) + 1 if i % 3 else None,
            owner=secretariat,
            event=event,
        )
    client = client_for(committee_member)
    # session, user, roles (groups, memberships), 年度 choices, board GROUP BY,
    # list count, list page, owner choices of the filter form
    with django_assert_num_queries(9):
        response = client.get(BOARD)
    assert response.status_code == 200
    assert response.context["page_obj"].paginator.count == rows


@pytest.mark.parametrize("rows", [1, 30])
def test_need_detail_query_count(
    rows, client_for, committee_member, asked, django_assert_num_queries
):
    need, _created = needs.raise_need(
        source="registration", registration=asked, by=committee_member
    )
    for i in range(rows - 1):
        needs.update_need(need=need, by=committee_member, note=f"メモ{i}")
    client = client_for(committee_member)
    with django_assert_num_queries(7):
        response = client.get(detail_url(need))
    assert response.status_code == 200


# --- garbage input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"kind": "topic", "id": "1"},
        {"kind": "registration", "id": "abc"},
        {"kind": "registration", "id": "99999999999999999999"},
        {"kind": "registration", "id": "-1"},
        {"kind": "answer", "id": "0"},
        {"kind": "registration", "id": "424242"},
    ],
)
def test_need_raise_garbage_never_500(data, client_for, secretariat):
    response = client_for(secretariat).post(RAISE, data)
    assert response.status_code in (400, 404)
    assert not Need.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"status": "flying", "function": "99", "owner": "x", "due_date": "yesterday"},
        {"status": "new", "function": "abc", "due_date": "9999-99-99"},
        {"status": "closed", "due_date": "1800-01-01"},
        {"status": "new", "note": "x" * 5000, "notes": "y" * 5000},
        {"status": ["new", "flying"], "function": ["1", "x"]},
    ],
)
def test_need_triage_garbage_never_500(data, client_for, committee_member):
    need = make_need()
    response = client_for(committee_member).post(detail_url(need), data)
    assert response.status_code == 200
    assert need.updates.count() == 0


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"text": "", "fiscal_year": "abc"},
        {"text": "x", "fiscal_year": "1900", "event": "abc", "owner": "-1", "status": "?"},
        {"text": "x" * 10000, "title": "t" * 500, "fiscal_year": "2021"},
        {"text": "\x00", "fiscal_year": "2021", "status": "new"},
    ],
)
def test_need_create_garbage_never_500(data, client_for, committee_member):
    response = client_for(committee_member).post(CREATE, data)
    assert response.status_code == 200
    assert not Need.objects.exists()


def test_need_detail_unknown_is_404(client_for, committee_member):
    assert client_for(committee_member).get("/dashboard/needs/424242/").status_code == 404


# --- export --------------------------------------------------------------------------------

COLUMNS = [
    "番号",
    "件名",
    "内容",
    "機能",
    "状態",
    "担当者",
    "期限",
    "出どころ",
    "年度",
    "登録日",
    "更新日",
]


def _csv_rows(response):
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_need_export_csv_for_the_committee(client_for, committee_member, secretariat, asked):
    need, _created = needs.raise_need(source="registration", registration=asked, by=secretariat)
    needs.update_need(
        need=need,
        by=secretariat,
        status="in_progress",
        function=3,
        owner=committee_member,
        due_date=datetime.date(2022, 1, 31),
    )
    make_need(title='=HYPERLINK("http://evil.example")', text="+1+1", fiscal_year=2020)

    response = client_for(committee_member).get(reverse("dashboard:need_export", args=["csv"]))

    assert response["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="needs-' in response["Content-Disposition"]
    rows = _csv_rows(response)
    assert rows[0] == COLUMNS
    by_number = {row[0]: row for row in rows[1:]}
    row = by_number[str(need.pk)]
    assert row[2] == QUESTION
    assert row[3:9] == [
        "3 論点整理・政策提言",
        "対応中",
        "委員 三郎",
        "2022-01-31",
        "第3回 情報交換会の事前質問",
        "令和3年度",
    ]
    assert secretariat.full_name not in response.content.decode("utf-8-sig")
    evil = next(r for r in rows[1:] if r[0] != str(need.pk))
    assert evil[1] == '\'=HYPERLINK("http://evil.example")' and evil[2] == "'+1+1"
    assert evil[3] == "未分類"


def test_need_export_has_raiser_column_for_the_secretariat(
    client_for, secretariat, committee_member, asked
):
    needs.raise_need(source="registration", registration=asked, by=committee_member)
    rows = _csv_rows(client_for(secretariat).get(reverse("dashboard:need_export", args=["csv"])))
    assert rows[0] == [*COLUMNS, "登録者"]
    assert rows[1][-1] == "委員 三郎"


def test_need_export_xlsx_follows_the_filters(client_for, committee_member):
    make_need(title="今年", fiscal_year=2021)
    make_need(title="去年", fiscal_year=2020)
    response = client_for(committee_member).get(
        reverse("dashboard:need_export", args=["xlsx"]), {"fiscal_year": 2021}
    )
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == COLUMNS
    assert [row[1] for row in values[1:]] == ["今年"]


def test_need_export_unknown_format_is_404(client_for, committee_member):
    assert client_for(committee_member).get("/dashboard/needs/export.pdf").status_code == 404


def test_need_export_query_count_is_flat(
    client_for, committee_member, secretariat, third_meeting, django_assert_num_queries
):
    from .queries import assert_flat_query_count

    def add_rows(n):
        # Every row has a source, an owner and a raiser to look up.
        for registration in RegistrationFactory.create_batch(
            n, event=third_meeting, question=QUESTION
        ):
            need, _created = needs.raise_need(
                source="registration", registration=registration, by=committee_member
            )
            needs.update_need(need=need, by=committee_member, owner=secretariat)

    # session, user, roles x2, 年度 choices, the needs with their sources
    assert_flat_query_count(
        django_assert_num_queries,
        client_for(committee_member),
        reverse("dashboard:need_export", args=["csv"]),
        add_rows,
        6,
        # Rows counted only with their owner and source filled in from the joins.
        lambda response: sum(
            row[5:8] == ["事務 四郎", "", "第3回 情報交換会の事前質問"]
            for row in _csv_rows(response)[1:]
        ),
    )


# --- in the browser --------------------------------------------------------------------------


def _walk_in_browser(executable: str, site: str, email: str, password: str, year: int) -> str:
    from playwright.sync_api import sync_playwright

    from .test_browser import CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(locale="ja-JP", viewport={"width": 390, "height": 844})
            page.goto(f"{site}/accounts/login/")
            page.locator("input[name=login]").fill(email)
            page.locator("input[name=password]").fill(password)
            with page.expect_navigation():
                page.locator("input[name=password]").press("Enter")
            page.goto(f"{site}/dashboard/needs/new/?fy={year}#candidates")
            with page.expect_navigation():
                page.get_by_role("button", name="課題にする").first.click()
            assert "課題として登録しました" in page.locator("body").inner_text()
            for status, function in [
                ("整理中", None),
                ("対応中", "3 論点整理・政策提言"),
                ("提言済", None),
            ]:
                page.get_by_label("状態").select_option(label=status)
                if function:
                    page.get_by_label("機能").select_option(label=function)
                with page.expect_navigation():
                    page.get_by_role("button", name="保存する").click()
                assert "課題を更新しました。" in page.locator("body").inner_text()
            return page.locator(".need-badges").inner_text()
        finally:
            browser.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_need_browser_committee_takes_a_question_to_proposed(live_server, password):
    from .services import require_browser
    from .test_browser import in_browser_thread

    executable = require_browser()
    committee = UserFactory(email="iin@example.org", full_name="委員 七海", groups=["committee"])
    meeting = EventFactory(title="第3回 情報交換会")
    registration = RegistrationFactory(event=meeting, question=QUESTION)

    badges = in_browser_thread(
        _walk_in_browser,
        executable,
        live_server.url,
        committee.email,
        password,
        meeting.fiscal_year,
    )

    need = Need.objects.get(source_registration=registration)
    assert "提言済" in badges and "3 論点整理・政策提言" in badges
    assert (need.status, need.function, need.raised_by) == ("proposed", 3, committee)
    assert need.updates.count() == 4


@pytest.mark.parametrize("rows", [1, 30])
def test_need_create_query_count(rows, client_for, committee_member, django_assert_num_queries):
    meeting = EventFactory(fiscal_year=2021)
    for i in range(rows):
        RegistrationFactory(event=meeting, question=f"事前質問{i}")
    client = client_for(committee_member)
    # session, user, roles x2, candidates count and page, owner and event choices
    with django_assert_num_queries(8):
        response = client.get(CREATE, {"fy": 2021})
    assert response.context["candidates"].paginator.count == rows
