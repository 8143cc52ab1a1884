"""The secretariat's survey builder: list, create (from the seed's templates),
edit, questions (add, edit, conditions, move, delete), preview, copy, publish,
close and remind."""

import datetime
import random
import string

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import OutboxMessage
from events.models import Event
from surveys import services
from surveys.forms_manage import parse_reminder_days
from surveys.models import Invitation, Question, Response, Survey

from .event_factories import EventFactory, RegistrationFactory
from .factories import OrganisationFactory
from .survey_factories import (
    InvitationFactory,
    QuestionFactory,
    ResponseFactory,
    SurveyFactory,
    answer,
    catalog_survey,
    submitted_response,
)
from .test_organisations import assert_flat_query_count

LIST_URL = reverse("surveys:manage_list")
CREATE_URL = reverse("surveys:create")

# Every page of one survey, by URL name.
SURVEY_PAGES = ["detail", "edit", "preview", "copy", "publish", "close", "invitations", "remind"]
QUESTION_PAGES = ["question_edit", "question_delete", "question_move"]


def url(name, survey, **kwargs):
    return reverse(f"surveys:{name}", kwargs={"pk": survey.pk, **kwargs})


def qurl(name, question):
    return reverse(f"surveys:{name}", kwargs={"pk": question.survey_id, "question_pk": question.pk})


def local(*args):
    return timezone.make_aware(datetime.datetime(*args))


def survey_data(**changes):
    """A complete, valid POST for the create form (datetime-local values)."""
    data = {
        "title": "令和3年度 効果検証アンケート",
        "introduction": "情報交換会の効果検証のためのアンケートです。",
        "kind": Survey.Kind.ANNUAL,
        "event": "",
        "fiscal_year": "",
        "template": "",
        "audience": Survey.Audience.ALL_ORGANISATIONS,
        "respondent_unit": Survey.Unit.ORGANISATION,
        "opens_at": "2022-01-10T09:00",
        "closes_at": "2022-01-31T17:00",
        "reminder_days": "7, 3",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def question_data(**changes):
    data = {
        "text": "今後も参加したいですか",
        "help_text": "",
        "kind": Question.Kind.SINGLE,
        "choices": "はい\nいいえ",
        "scale_min_label": "",
        "scale_max_label": "",
        "audience": Question.Audience.ALL,
        "condition": "",
        "key": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def errors_of(response, field):
    return response.context["form"].errors.get(field, [])


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def manager(client_for, secretariat):
    return client_for(secretariat)


def draft_survey(**kwargs):
    kwargs.setdefault("status", Survey.Status.DRAFT)
    return SurveyFactory(**kwargs)


# --- access ---------------------------------------------------------------------------------


def _all_urls(survey, question):
    urls = [LIST_URL, CREATE_URL, url("question_add", survey)]
    urls += [url(name, survey) for name in SURVEY_PAGES]
    urls += [qurl(name, question) for name in QUESTION_PAGES]
    return urls


@pytest.mark.parametrize(
    "actor", ["outsider", "contractor_member", "municipal_member", "org_admin", "committee"]
)
def test_manage_pages_answer_404_to_everyone_but_the_secretariat(client_for, actors, actor):
    survey = draft_survey(title="下書きのアンケート")
    question = QuestionFactory(survey=survey)
    client = client_for(actors[actor])
    for target in _all_urls(survey, question):
        assert client.get(target).status_code == 404, target
        response = client.post(target, {"direction": "up", "title": "x"})
        assert response.status_code == 404, target
    survey.refresh_from_db()
    assert survey.status == Survey.Status.DRAFT
    assert Survey.objects.count() == 1
    assert Question.objects.filter(pk=question.pk).exists()
    assert not Invitation.objects.exists()


def test_manage_pages_send_anonymous_visitors_to_login(client, db):
    survey = draft_survey()
    question = QuestionFactory(survey=survey)
    for target in _all_urls(survey, question):
        response = client.get(target)
        assert response.status_code == 302, target
        assert response["Location"].startswith(reverse("account_login")), target


def test_manage_pages_answer_404_for_an_unknown_survey_or_question(manager):
    survey = draft_survey()
    other = QuestionFactory()  # a question of another survey
    for name in [*SURVEY_PAGES, "question_add"]:
        assert manager.get(reverse(f"surveys:{name}", kwargs={"pk": 999999})).status_code == 404
    for name in QUESTION_PAGES:
        target = reverse(f"surveys:{name}", kwargs={"pk": survey.pk, "question_pk": other.pk})
        if name != "question_move":  # POST only: a GET is 405 before anything is looked up
            assert manager.get(target).status_code == 404
        assert manager.post(target, {"direction": "up"}).status_code == 404


def test_superuser_manages_surveys(client_for, superuser):
    assert client_for(superuser).get(LIST_URL).status_code == 200


# --- manage_list --------------------------------------------------------------------------


def test_manage_list_shows_counts_rate_status_and_actions(manager):
    draft = draft_survey(title="下書きの年次アンケート", kind=Survey.Kind.ANNUAL, fiscal_year=2022)
    open_survey = SurveyFactory(title="第3回 参加者アンケート", fiscal_year=2021)
    InvitationFactory.create_batch(3, survey=open_survey)
    answered = InvitationFactory(survey=open_survey)
    submitted_response(open_survey, invitation=answered)
    closed = SurveyFactory(
        title="締切済みのアンケート",
        opens_at=timezone.now() - datetime.timedelta(days=30),
        closes_at=timezone.now() - datetime.timedelta(days=1),
    )
    response = manager.get(LIST_URL)
    content = response.content.decode()
    rows = {s.pk: s for s in response.context["page_obj"]}
    assert (rows[open_survey.pk].invited_count, rows[open_survey.pk].answered_count) == (4, 1)
    assert rows[open_survey.pk].rate == 25.0
    assert "25.0%" in content
    assert (rows[draft.pk].invited_count, rows[draft.pk].answered_count) == (0, 0)
    assert rows[draft.pk].rate is None
    assert [rows[s.pk].state for s in (draft, open_survey, closed)] == ["draft", "open", "closed"]
    for label in ("下書き", "回答受付中", "締切済み", "令和3年度", "令和4年度"):
        assert label in content
    assert "新しいアンケート" in content and CREATE_URL in content
    assert url("publish", draft) in content
    assert url("invitations", open_survey) in content
    assert url("remind", open_survey) in content
    assert url("results", open_survey) in content


def test_manage_list_filters_by_year_kind_and_status(manager):
    SurveyFactory(title="二〇二一年度", fiscal_year=2021)
    SurveyFactory(title="年次", fiscal_year=2022, kind=Survey.Kind.ANNUAL)
    draft_survey(title="下書き", fiscal_year=2022)
    SurveyFactory(
        title="締切済み",
        fiscal_year=2022,
        opens_at=timezone.now() - datetime.timedelta(days=30),
        closes_at=timezone.now() - datetime.timedelta(days=1),
    )
    SurveyFactory(
        title="開始前",
        fiscal_year=2022,
        opens_at=timezone.now() + datetime.timedelta(days=3),
        closes_at=timezone.now() + datetime.timedelta(days=10),
    )

    def titles(query):
        return {s.title for s in manager.get(LIST_URL, query).context["page_obj"]}

    assert titles({"fiscal_year": "2021"}) == {"二〇二一年度"}
    assert titles({"kind": "annual"}) == {"年次"}
    assert titles({"status": "draft"}) == {"下書き"}
    assert titles({"status": "closed"}) == {"締切済み"}
    assert titles({"status": "scheduled"}) == {"開始前"}
    assert titles({"status": "open"}) == {"二〇二一年度", "年次"}
    assert titles({"q": "年次"}) == {"年次"}


def test_manage_list_shows_an_empty_state(manager):
    assert "まだアンケートがありません" in manager.get(LIST_URL).content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"fiscal_year": "abc"},
        {"status": "nonsense"},
        {"kind": "'; DROP TABLE"},
        {"q": "x" * 500},
        {"page": "-1"},
        {"page": "99999"},
        {"fiscal_year": "\x00"},
    ],
)
def test_manage_list_garbage_query_strings_never_500(manager, query):
    SurveyFactory()
    assert manager.get(LIST_URL, query).status_code == 200


def test_manage_list_query_count_is_flat(django_assert_num_queries, manager):
    def add(n):
        for survey in SurveyFactory.create_batch(n):
            InvitationFactory(survey=survey)

    # session, user, groups, memberships (roles); fiscal years; count; page.
    assert_flat_query_count(
        django_assert_num_queries,
        manager,
        LIST_URL,
        add,
        7,
        lambda response: len(response.context["page_obj"]),
    )


# --- create ------------------------------------------------------------------------------------


def test_create_from_the_annual_template_copies_questions_keys_and_conditions(manager, secretariat):
    response = manager.post(CREATE_URL, survey_data(template="annual"))
    survey = Survey.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("detail", survey)
    assert survey.status == Survey.Status.DRAFT
    assert survey.created_by == secretariat
    assert survey.fiscal_year == 2021  # from opens_at (January 2022 belongs to FY2021)
    assert survey.reminder_days == [7, 3]
    assert survey.respondent_unit == Survey.Unit.ORGANISATION
    questions = list(survey.questions.order_by("order"))
    assert [q.key for q in questions] == ["attended", "useful", "continue", "format", "comments"]
    useful = questions[1]
    assert useful.show_if_question == questions[0]
    assert useful.show_if_value == "参加したことがある"
    detail = manager.get(url("detail", survey)).content.decode()
    assert "Q1が『参加したことがある』の場合のみ" in detail
    assert "「下書き」" not in detail and "下書き" in detail


def test_create_from_the_post_event_template_needs_an_event(manager):
    starts = timezone.localtime().replace(hour=13, minute=30) - datetime.timedelta(days=3)
    event = EventFactory(
        title="第3回 情報交換会",
        starts_at=starts,
        ends_at=starts + datetime.timedelta(hours=3),
        fiscal_year=2021,  # differs from the dates on purpose: the event's 年度 wins
    )
    data = survey_data(
        kind=Survey.Kind.POST_EVENT,
        template="post_event",
        audience=Survey.Audience.EVENT_ATTENDEES,
        respondent_unit=Survey.Unit.PERSON,
        opens_at=(starts + datetime.timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"),
        closes_at=(starts + datetime.timedelta(days=14)).strftime("%Y-%m-%dT%H:%M"),
    )
    response = manager.post(CREATE_URL, data)
    assert "イベント後アンケートでは、対象イベントを選んでください。" in errors_of(
        response, "event"
    )
    assert not Survey.objects.exists()

    response = manager.post(CREATE_URL, {**data, "event": str(event.pk)})
    survey = Survey.objects.get()
    assert response.status_code == 302
    assert survey.event == event
    assert survey.fiscal_year == 2021
    assert [q.key for q in survey.questions.order_by("order")] == [
        "useful",
        "continue",
        "frequency",
        "format",
        "expectations",
        "comments",
    ]
    assert survey.questions.get(key="frequency").choices == [
        "毎月",
        "2か月に1回",
        "四半期",
        "半年",
        "年1〜2回",
    ]


def test_create_without_template_has_no_questions_and_keeps_chosen_organisations(
    manager, contractor_org, municipal_org, other_org
):
    response = manager.post(
        CREATE_URL,
        survey_data(
            kind=Survey.Kind.ADHOC,
            audience=Survey.Audience.CHOSEN,
            chosen_organisations=[str(contractor_org.pk), str(municipal_org.pk)],
            reminder_days="３、14　7",
            fiscal_year="2020",
        ),
    )
    assert response.status_code == 302
    survey = Survey.objects.get()
    assert set(survey.chosen_organisations.all()) == {contractor_org, municipal_org}
    assert survey.reminder_days == [14, 7, 3]
    assert survey.fiscal_year == 2020
    assert not survey.questions.exists()
    assert "まだ質問がありません" in manager.get(url("detail", survey)).content.decode()


def test_create_page_prefills_the_defaults_of_a_kind(manager):
    form = manager.get(CREATE_URL, {"kind": "annual"}).context["form"]
    assert form.initial["audience"] == Survey.Audience.ALL_ORGANISATIONS
    assert form.initial["respondent_unit"] == Survey.Unit.ORGANISATION
    assert form.initial["template"] == "annual"
    form = manager.get(CREATE_URL, {"kind": "post_event"}).context["form"]
    assert form.initial["audience"] == Survey.Audience.EVENT_ATTENDEES
    assert form.initial["respondent_unit"] == Survey.Unit.PERSON
    assert form.initial["template"] == "post_event"


def test_create_page_prefills_from_an_event(manager):
    event = EventFactory(title="第5回 情報交換会", fiscal_year=2021)
    response = manager.get(CREATE_URL, {"event": str(event.pk)})
    form = response.context["form"]
    assert form.initial["kind"] == Survey.Kind.POST_EVENT
    assert form.initial["event"] == event.pk
    assert form.initial["title"] == "第5回 情報交換会 参加者アンケート"
    assert form.initial["fiscal_year"] == 2021
    # The chosen-organisation list is grouped by kind.
    assert "第5回 情報交換会" in response.content.decode()


def test_create_offers_recent_events_ordered_by_date_without_cancelled_ones(manager):
    now = timezone.now()
    later = EventFactory(title="後の会", starts_at=now + datetime.timedelta(days=20))
    earlier = EventFactory(title="先の会", starts_at=now - datetime.timedelta(days=300))
    EventFactory(title="中止の会", status=Event.Status.CANCELLED)
    old = EventFactory(title="昔の会", starts_at=now - datetime.timedelta(days=3 * 365))
    events = list(manager.get(CREATE_URL).context["form"].fields["event"].queryset)
    assert events == [later, earlier]
    # An older event stays available to the survey that already uses it.
    survey = draft_survey(kind=Survey.Kind.POST_EVENT, event=old)
    assert old in manager.get(url("edit", survey)).context["form"].fields["event"].queryset


def test_edit_shows_the_chosen_organisations_checked(manager, contractor_org, other_org):
    survey = draft_survey(audience=Survey.Audience.CHOSEN, chosen_organisations=[contractor_org])
    content = manager.get(url("edit", survey)).content.decode()
    assert f'value="{contractor_org.pk}" checked' in content
    assert f'value="{other_org.pk}">' in content
    assert "受託団体" in content


@pytest.mark.parametrize(
    "changes, field, message",
    [
        (
            {"closes_at": "2022-01-10T08:00"},
            "closes_at",
            "回答締切は回答開始より後にしてください。",
        ),
        ({"reminder_days": "abc"}, "reminder_days", "「abc」は日数として読めません。"),
        ({"reminder_days": "7, 0"}, "reminder_days", "1〜60日前の範囲"),
        ({"reminder_days": "61"}, "reminder_days", "1〜60日前の範囲"),
        ({"reminder_days": "-3"}, "reminder_days", "日数として読めません"),
        ({"reminder_days": "1.5"}, "reminder_days", "日数として読めません"),
        ({"title": "  "}, "title", "タイトルを入力してください。"),
        ({"opens_at": "きのう"}, "opens_at", "回答開始の日時を正しく入力してください。"),
        (
            {"audience": Survey.Audience.CHOSEN},
            "chosen_organisations",
            "対象の組織を1つ以上選んでください。",
        ),
        (
            {"audience": Survey.Audience.EVENT_ATTENDEES},
            "audience",
            "「イベントの参加者」はイベント後アンケートで",
        ),
        ({"fiscal_year": "1999"}, "fiscal_year", "年度は2000以降の西暦で入力してください。"),
        ({"template": "nope"}, "template", "テンプレートを一覧から選んでください。"),
        (
            {"audience": "chosen", "chosen_organisations": ["999999"]},
            "chosen_organisations",
            "選べない組織が含まれています。",
        ),
    ],
)
def test_create_refuses_bad_input_with_japanese_messages(manager, changes, field, message):
    response = manager.post(CREATE_URL, survey_data(**changes))
    assert response.status_code == 200
    assert any(message in error for error in errors_of(response, field)), errors_of(response, field)
    assert "入力内容を確認してください。" in response.content.decode()
    assert not Survey.objects.exists()


def test_parse_reminder_days_accepts_full_width_and_japanese_commas():
    assert parse_reminder_days("7, 3") == [7, 3]
    assert parse_reminder_days("３、７") == [7, 3]
    assert parse_reminder_days("7 7 1") == [7, 1]
    assert parse_reminder_days("") == []


def test_create_form_garbage_input_never_500(manager, contractor_org):
    rng = random.Random(4)
    junk = string.printable + "あ漢字\x00\u202e０１２"
    fields = list(survey_data()) + ["chosen_organisations"]
    for _attempt in range(40):
        data = {
            name: "".join(rng.choice(junk) for _ in range(rng.randint(0, 30))) for name in fields
        }
        response = manager.post(CREATE_URL, data)
        assert response.status_code in (200, 302)
    assert manager.post(CREATE_URL, {"opens_at": ["a", "b"], "kind": "x" * 5000}).status_code == 200


# --- edit --------------------------------------------------------------------------------------


def test_edit_saves_the_settings(manager):
    survey = draft_survey(title="旧タイトル", kind=Survey.Kind.ADHOC)
    data = survey_data(title="新タイトル", kind=Survey.Kind.ADHOC, reminder_days="5")
    data.pop("template")
    response = manager.post(url("edit", survey), data)
    assert response.status_code == 302
    survey.refresh_from_db()
    assert survey.title == "新タイトル"
    assert survey.reminder_days == [5]
    assert "template" not in manager.get(url("edit", survey)).context["form"].fields


def test_edit_locks_unit_and_anonymity_once_invitations_exist(manager):
    survey = SurveyFactory(respondent_unit=Survey.Unit.PERSON, anonymous=False)
    InvitationFactory(survey=survey)
    data = survey_data(
        kind=Survey.Kind.ADHOC,
        respondent_unit=Survey.Unit.ORGANISATION,
        anonymous="on",
        title="変更後",
    )
    response = manager.post(url("edit", survey), data)
    assert response.status_code == 302
    survey.refresh_from_db()
    assert survey.title == "変更後"
    assert survey.respondent_unit == Survey.Unit.PERSON
    assert survey.anonymous is False


def test_edit_of_a_survey_with_responses_warns(manager):
    survey = catalog_survey("annual")
    submitted_response(survey, answers={"attended": "参加したことがある"})
    content = manager.get(url("edit", survey)).content.decode()
    assert "すでに回答があります" in content


# --- detail --------------------------------------------------------------------------------------


def test_detail_lists_questions_in_order_with_badges_counts_and_actions(manager):
    survey = catalog_survey("annual", title="令和3年度 効果検証アンケート", anonymous=False)
    municipal_only = QuestionFactory(
        survey=survey, order=10, text="委託先との連携", audience=Question.Audience.MUNICIPAL
    )
    invitations = InvitationFactory.create_batch(3, survey=survey)
    Invitation.objects.filter(pk=invitations[0].pk).update(
        reminder_count=1, last_reminded_at=timezone.now()
    )
    submitted_response(survey, invitation=invitations[1])
    response = manager.get(url("detail", survey))
    content = response.content.decode()
    texts = [q.text for q in response.context["questions"]]
    assert texts[0] == "今年度、情報交換会に参加したことがありますか"
    assert texts[-1] == municipal_only.text
    assert [q.number for q in response.context["questions"]] == [1, 2, 3, 4, 5, 6]
    assert "Q1が『参加したことがある』の場合のみ" in content
    assert "自治体のみ" in content and "必須" in content and "5段階評価" in content
    counts = response.context["counts"]
    assert (counts["invited"], counts["answered"], counts["unanswered"], counts["reminded"]) == (
        3,
        1,
        2,
        1,
    )
    for name in ("edit", "preview", "copy", "close", "remind", "invitations", "results"):
        assert url(name, survey) in content, name
    assert qurl("question_move", municipal_only) in content
    assert qurl("question_edit", municipal_only) in content
    assert qurl("question_delete", municipal_only) in content


def test_detail_query_count_does_not_grow_with_questions(django_assert_num_queries, manager):
    survey = draft_survey()
    QuestionFactory(survey=survey)
    # session, user, groups, memberships; survey; questions; invitation counts.
    with django_assert_num_queries(7):
        manager.get(url("detail", survey))
    QuestionFactory.create_batch(30, survey=survey, kind=Question.Kind.SINGLE)
    with django_assert_num_queries(7):
        response = manager.get(url("detail", survey))
    assert len(response.context["questions"]) == 31


# --- questions -----------------------------------------------------------------------------------


def test_question_add_appends_a_single_choice_question(manager):
    survey = draft_survey()
    first = QuestionFactory(survey=survey, order=4)
    response = manager.post(
        url("question_add", survey),
        question_data(
            choices="はい\n\n  いいえ  \nどちらともいえない",
            allow_other="on",
            key="join",
            required="on",
        ),
    )
    question = survey.questions.exclude(pk=first.pk).get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"#q-{question.pk}")
    assert question.order == 5
    assert question.choices == ["はい", "いいえ", "どちらともいえない"]
    assert question.allow_other and question.required
    assert question.key == "join"


def test_question_add_then_add_another(manager):
    survey = draft_survey()
    response = manager.post(url("question_add", survey), {**question_data(), "then": "add"})
    assert response["Location"] == url("question_add", survey)


def test_question_add_clears_settings_other_kinds_use(manager):
    survey = draft_survey()
    manager.post(
        url("question_add", survey),
        question_data(kind="text", choices="a\nb", allow_other="on", scale_min_label="低い"),
    )
    question = survey.questions.get()
    assert (question.choices, question.allow_other, question.scale_min_label) == ([], False, "")


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"choices": ""}, "choices", "選択肢を1行に1つずつ2つ以上入力してください。"),
        ({"kind": "multiple", "choices": "\n \n"}, "choices", "2つ以上入力してください。"),
        ({"choices": "はい\nいいえ\nはい"}, "choices", "選択肢「はい」が重複しています。"),
        (
            {"choices": "\n".join(f"選択肢{n}" for n in range(31))},
            "choices",
            "選択肢は30個までにしてください",
        ),
        ({"choices": "はい\n" + "長" * 201}, "choices", "200文字以内"),
        (
            {"choices": "はい\nその他", "allow_other": "on"},
            "choices",
            "「その他」は「その他＋自由記入を付ける」で自動で付きます。",
        ),
        ({"text": ""}, "text", "質問文を入力してください。"),
        ({"kind": "dropdown"}, "kind", "形式を一覧から選んでください。"),
        ({"key": "日本語"}, "key", "半角の英数字"),
        ({"condition": "999999|はい"}, "condition", "この質問より前にある単一選択・複数選択の質問"),
        ({"condition": "garbage"}, "condition", "この質問より前にある"),
    ],
)
def test_question_add_refuses_bad_input_with_japanese_messages(manager, changes, field, message):
    survey = draft_survey()
    response = manager.post(url("question_add", survey), question_data(**changes))
    assert response.status_code == 200
    assert any(message in error for error in errors_of(response, field)), errors_of(response, field)
    assert not survey.questions.exists()


ONE_CHOICE_REFUSED = (
    "単一選択・複数選択では、選択肢を1行に1つずつ2つ以上入力してください。「その他」は数えません。"
)
LITERAL_OTHER_REFUSED = (
    "「その他」は「その他＋自由記入を付ける」で自動で付きます。選択肢から消してください。"
)


@pytest.mark.parametrize(
    "choices, allow_other, message",
    [
        # One real choice plus the その他 option is not a choice (the form let it through).
        ("はい", True, ONE_CHOICE_REFUSED),
        # A typed 「その他」 could never be answered without the option (the form let it through).
        ("はい\nいいえ\nその他", False, LITERAL_OTHER_REFUSED),
    ],
)
def test_question_choice_rule_is_the_same_on_the_page_and_in_the_service(
    manager, secretariat, choices, allow_other, message
):
    survey = draft_survey()
    data = question_data(choices=choices, **({"allow_other": "on"} if allow_other else {}))

    response = manager.post(url("question_add", survey), data)
    with pytest.raises(services.SurveyError) as excinfo:
        services.add_question(
            survey=survey,
            text="今後も参加したいですか",
            kind=Question.Kind.SINGLE,
            choices=choices,
            allow_other=allow_other,
            by=secretariat,
        )

    assert response.status_code == 200
    assert errors_of(response, "choices") == [message]
    assert excinfo.value.messages == [message]
    assert not survey.questions.exists()


def test_question_choice_rule_accepts_two_choices_and_the_other_option(manager):
    survey = draft_survey()

    response = manager.post(
        url("question_add", survey), question_data(choices="はい\nいいえ", allow_other="on")
    )

    assert response.status_code == 302
    question = survey.questions.get()
    assert (question.choices, question.allow_other) == (["はい", "いいえ"], True)


def test_question_key_is_unique_within_the_survey(manager):
    survey = draft_survey()
    QuestionFactory(survey=survey, key="useful")
    QuestionFactory(key="other-survey")
    response = manager.post(url("question_add", survey), question_data(key="useful"))
    assert "キー「useful」はこのアンケートの別の質問で使われています。" in errors_of(
        response, "key"
    )
    response = manager.post(url("question_add", survey), question_data(key="other-survey"))
    assert response.status_code == 302


def test_question_condition_on_an_earlier_choice_question(manager):
    survey = draft_survey()
    attended = QuestionFactory(
        survey=survey, order=1, kind=Question.Kind.SINGLE, choices=["参加した", "参加していない"]
    )
    QuestionFactory(survey=survey, order=2, kind=Question.Kind.TEXT)
    form = manager.get(url("question_add", survey)).context["form"]
    offered = [
        value for _group, options in form.fields["condition"].choices[1:] for value, _ in options
    ]
    # Only the choice question is offered, one option per choice.
    assert offered == [f"{attended.pk}|参加した", f"{attended.pk}|参加していない"]
    response = manager.post(
        url("question_add", survey),
        question_data(kind="scale", choices="", condition=f"{attended.pk}|参加した"),
    )
    assert response.status_code == 302
    question = survey.questions.get(kind=Question.Kind.SCALE)
    assert question.show_if_question == attended
    assert question.show_if_value == "参加した"
    assert "Q1が『参加した』の場合のみ" in manager.get(url("detail", survey)).content.decode()


def test_question_condition_cannot_point_to_a_later_question_or_a_missing_value(manager):
    survey = draft_survey()
    first = QuestionFactory(survey=survey, order=1, kind=Question.Kind.SCALE)
    later = QuestionFactory(
        survey=survey, order=2, kind=Question.Kind.SINGLE, choices=["はい", "いいえ"]
    )
    response = manager.post(
        qurl("question_edit", first),
        question_data(kind="scale", choices="", condition=f"{later.pk}|はい"),
    )
    assert response.status_code == 200
    assert any("この質問より前にある" in e for e in errors_of(response, "condition"))
    earlier = QuestionFactory(
        survey=survey, order=0, kind=Question.Kind.SINGLE, choices=["はい", "いいえ"]
    )
    response = manager.post(
        qurl("question_edit", first),
        question_data(kind="scale", choices="", condition=f"{earlier.pk}|たぶん"),
    )
    assert any("この質問より前にある" in e for e in errors_of(response, "condition"))
    first.refresh_from_db()
    assert first.show_if_question is None


def test_question_edit_keeps_choices_that_conditions_use(manager):
    survey = draft_survey()
    attended = QuestionFactory(survey=survey, order=1, kind="single", choices=["はい", "いいえ"])
    QuestionFactory(survey=survey, order=2, show_if_question=attended, show_if_value="はい")
    response = manager.post(
        qurl("question_edit", attended), question_data(choices="いいえ\nたぶん")
    )
    assert any(
        "Q2の表示条件で選択肢「はい」が使われています" in e for e in errors_of(response, "choices")
    )
    response = manager.post(qurl("question_edit", attended), question_data(kind="text", choices=""))
    assert any("選択式のままにしてください" in e for e in errors_of(response, "kind"))


def test_question_edit_of_an_answered_question_allows_wording_only(manager):
    survey = catalog_survey("annual")
    attended = survey.questions.get(key="attended")
    comments = survey.questions.get(key="comments")
    submitted_response(survey, answers={"attended": "参加したことがある", "comments": "良かった"})
    page = manager.get(qurl("question_edit", attended))
    assert "この質問にはすでに回答があります" in page.content.decode()
    # Removing an answered choice is refused.
    response = manager.post(
        qurl("question_edit", attended),
        question_data(text="参加経験", choices="参加した\n参加したことがない", key="attended"),
    )
    assert any(
        "回答がある選択肢は消したり書き換えたりできません" in e
        for e in errors_of(response, "choices")
    )
    # Changing the kind is ignored (the field is locked); rewording works.
    response = manager.post(
        qurl("question_edit", comments),
        question_data(
            text="ご意見・ご感想をお聞かせください", kind="number", choices="", key="comments"
        ),
    )
    assert response.status_code == 302
    comments.refresh_from_db()
    assert comments.text == "ご意見・ご感想をお聞かせください"
    assert comments.kind == Question.Kind.TEXT


def test_question_form_garbage_input_never_500(manager):
    survey = draft_survey()
    question = QuestionFactory(survey=survey, kind="single", choices=["a", "b"])
    rng = random.Random(7)
    junk = string.printable + "はい|\x00\u202e"
    for _attempt in range(40):
        data = {
            name: "".join(rng.choice(junk) for _ in range(rng.randint(0, 40)))
            for name in question_data()
        }
        data["condition"] = rng.choice(["", f"{question.pk}|a", f"{question.pk}|", "|", "x|y", "1"])
        for target in (url("question_add", survey), qurl("question_edit", question)):
            assert manager.post(target, data).status_code in (200, 302)


def test_question_move_up_and_down_and_normalise_orders(manager):
    survey = draft_survey()
    a = QuestionFactory(survey=survey, order=5, text="A")
    b = QuestionFactory(survey=survey, order=5, text="B")
    c = QuestionFactory(survey=survey, order=9, text="C")

    def texts():
        return list(survey.questions.order_by("order", "pk").values_list("text", flat=True))

    response = manager.post(qurl("question_move", c), {"direction": "up"})
    assert response.status_code == 302
    assert response["Location"].endswith(f"#q-{c.pk}")
    assert texts() == ["A", "C", "B"]
    assert list(survey.questions.order_by("order").values_list("order", flat=True)) == [1, 2, 3]
    manager.post(qurl("question_move", a), {"direction": "down"})
    assert texts() == ["C", "A", "B"]
    # At the edges nothing moves.
    manager.post(qurl("question_move", c), {"direction": "up"})
    manager.post(qurl("question_move", b), {"direction": "down"})
    assert texts() == ["C", "A", "B"]


def test_question_move_refuses_to_put_a_condition_after_its_question(manager):
    survey = draft_survey()
    attended = QuestionFactory(survey=survey, order=1, kind="single", choices=["はい", "いいえ"])
    useful = QuestionFactory(
        survey=survey, order=2, show_if_question=attended, show_if_value="はい"
    )
    response = manager.post(qurl("question_move", useful), {"direction": "up"}, follow=True)
    assert any("Q2はQ1の答えで表示が決まるため" in m for m in messages_of(response))
    manager.post(qurl("question_move", attended), {"direction": "down"})
    assert list(survey.questions.order_by("order", "pk")) == [attended, useful]


def test_question_move_needs_post_and_a_direction(manager):
    question = QuestionFactory(survey=draft_survey())
    assert manager.get(qurl("question_move", question)).status_code == 405
    response = manager.post(qurl("question_move", question), {"direction": "sideways"}, follow=True)
    assert "移動の向きが正しくありません。" in messages_of(response)


def test_question_delete_asks_for_confirmation_then_deletes(manager):
    survey = draft_survey()
    attended = QuestionFactory(survey=survey, order=1, kind="single", choices=["はい", "いいえ"])
    useful = QuestionFactory(
        survey=survey, order=2, show_if_question=attended, show_if_value="はい"
    )
    page = manager.get(qurl("question_delete", attended))
    content = page.content.decode()
    assert "confirm-box" in content and "削除する" in content
    assert "条件なしで全員に表示されるようになります" in content
    assert Question.objects.filter(pk=attended.pk).exists()
    response = manager.post(qurl("question_delete", attended), follow=True)
    assert not Question.objects.filter(pk=attended.pk).exists()
    assert any("削除しました" in m for m in messages_of(response))
    useful.refresh_from_db()
    assert (useful.show_if_question, useful.show_if_value) == (None, "")


def test_question_delete_is_refused_when_the_question_has_answers(manager):
    survey = catalog_survey("annual")
    attended = survey.questions.get(key="attended")
    submitted_response(survey, answers={"attended": "参加したことがある"})
    page = manager.get(qurl("question_delete", attended)).content.decode()
    assert "1件の回答があるため削除できません" in page
    response = manager.post(qurl("question_delete", attended), follow=True)
    assert Question.objects.filter(pk=attended.pk).exists()
    assert any("回答があるため削除できません" in m for m in messages_of(response))
    detail = manager.get(url("detail", survey)).content.decode()
    assert "すでに回答があります" in detail
    assert qurl("question_delete", attended) not in detail


# --- preview ---------------------------------------------------------------------------------------


def test_preview_shows_the_answering_form_and_saves_nothing(manager):
    survey = catalog_survey("annual", status=Survey.Status.DRAFT)
    QuestionFactory(
        survey=survey, order=10, text="自治体だけの質問", audience=Question.Audience.MUNICIPAL
    )
    content = manager.get(url("preview", survey)).content.decode()
    assert "今年度、情報交換会に参加したことがありますか" in content
    assert "自治体だけの質問" in content
    as_contractor = manager.get(url("preview", survey), {"as": "contractor"}).content.decode()
    assert "自治体だけの質問" not in as_contractor
    attended = survey.questions.get(key="attended")
    response = manager.post(url("preview", survey), {f"q{attended.pk}": "参加したことがある"})
    assert response.status_code == 200
    assert "この質問は回答必須です。" in response.content.decode()  # useful is required
    assert not Response.objects.exists()
    assert manager.get(url("preview", survey), {"as": "<script>"}).status_code == 200


# --- copy, publish, close ---------------------------------------------------------------------------


def test_copy_asks_then_makes_a_draft_with_questions_and_conditions(manager, secretariat):
    survey = catalog_survey("annual", title="令和3年度 効果検証アンケート")
    InvitationFactory(survey=survey)
    page = manager.get(url("copy", survey)).content.decode()
    assert "質問 5 問も、表示条件ごとコピーします。" in page
    assert Survey.objects.count() == 1
    response = manager.post(url("copy", survey))
    copy = Survey.objects.exclude(pk=survey.pk).get()
    assert response["Location"] == url("edit", copy)
    assert copy.status == Survey.Status.DRAFT
    assert copy.title.startswith("令和3年度 効果検証アンケート")
    assert not copy.invitations.exists()
    useful = copy.questions.get(key="useful")
    assert useful.show_if_question == copy.questions.get(key="attended")


def test_publish_shows_the_count_then_sends_and_reports_it(manager, municipal_org, contractor_org):
    survey = catalog_survey(
        "annual",
        status=Survey.Status.DRAFT,
        audience=Survey.Audience.ALL_ORGANISATIONS,
        respondent_unit=Survey.Unit.ORGANISATION,
    )
    OrganisationFactory(email="", name="連絡先のない団体")  # no address, no members
    page = manager.get(url("publish", survey))
    assert page.context["preview"]["count"] == 2
    assert page.context["preview"]["unreachable"] == 1
    content = page.content.decode()
    assert "2件の依頼を新しく作り、メールで送ります。" in content
    assert "confirm-box" in content
    response = manager.post(url("publish", survey), follow=True)
    survey.refresh_from_db()
    assert survey.status == Survey.Status.PUBLISHED
    assert survey.invitations.count() == 2
    assert "2件の依頼を送信しました。" in messages_of(response)
    # Publishing again finds nobody new.
    assert manager.get(url("publish", survey)).context["preview"]["count"] == 0
    response = manager.post(url("publish", survey), follow=True)
    assert "新しく依頼を送る相手はいませんでした。" in messages_of(response)
    assert survey.invitations.count() == 2


def test_publish_count_for_people_matches_what_publishing_creates(
    manager, contractor_member, org_admin, municipal_member
):
    survey = SurveyFactory(
        status=Survey.Status.DRAFT, audience=Survey.Audience.CONTRACTOR, respondent_unit="person"
    )
    QuestionFactory(survey=survey)
    assert manager.get(url("publish", survey)).context["preview"]["count"] == 2
    manager.post(url("publish", survey))
    assert set(survey.invitations.values_list("user", flat=True)) == {
        contractor_member.pk,
        org_admin.pk,
    }


def test_publish_of_a_post_event_survey_waits_for_the_event(manager):
    event = EventFactory()  # in 30 days
    RegistrationFactory(event=event)
    survey = catalog_survey(
        "post_event",
        status=Survey.Status.DRAFT,
        kind=Survey.Kind.POST_EVENT,
        event=event,
        audience=Survey.Audience.EVENT_ATTENDEES,
    )
    content = manager.get(url("publish", survey)).content.decode()
    assert "対象イベントはまだ終わっていません" in content
    finished = EventFactory(
        status=Event.Status.FINISHED,
        starts_at=timezone.now() - datetime.timedelta(days=2),
        ends_at=timezone.now() - datetime.timedelta(days=2) + datetime.timedelta(hours=3),
    )
    RegistrationFactory.create_batch(3, event=finished)
    Survey.objects.filter(pk=survey.pk).update(event=finished)
    assert manager.get(url("publish", survey)).context["preview"]["count"] == 3
    response = manager.post(url("publish", survey), follow=True)
    assert "3件の依頼を送信しました。" in messages_of(response)


def test_publish_refusal_is_shown(manager):
    survey = draft_survey()  # no questions
    content = manager.get(url("publish", survey)).content.decode()
    assert "質問を1つ以上追加してから公開してください" in content
    response = manager.post(url("publish", survey), follow=True)
    assert any("質問を1つ以上追加" in m for m in messages_of(response))
    survey.refresh_from_db()
    assert survey.status == Survey.Status.DRAFT


def test_close_asks_then_closes_now(manager):
    survey = SurveyFactory()
    InvitationFactory(survey=survey)
    page = manager.get(url("close", survey)).content.decode()
    assert "いま締め切る" in page
    assert not Survey.objects.get(pk=survey.pk).is_closed
    response = manager.post(url("close", survey), follow=True)
    survey.refresh_from_db()
    assert survey.is_closed
    assert any("締め切りました" in m for m in messages_of(response))
    assert "締切済み" in manager.get(url("detail", survey)).content.decode()


# --- reminders -----------------------------------------------------------------------------------------


def test_remind_twice_in_one_day_sends_nothing_the_second_time(manager):
    survey = SurveyFactory()
    waiting = InvitationFactory.create_batch(2, survey=survey)
    done = InvitationFactory(survey=survey)
    submitted_response(survey, invitation=done)
    page = manager.get(url("remind", survey))
    assert page.context["due_count"] == 2
    assert "未回答の2件にリマインドを送ります。" in page.content.decode()
    response = manager.post(url("remind", survey), follow=True)
    assert "未回答の2件にリマインドを送信しました。" in messages_of(response)
    assert OutboxMessage.objects.filter(kind="surveys.remind").count() == 2
    for invitation in waiting:
        invitation.refresh_from_db()
        assert invitation.reminder_count == 1
    done.refresh_from_db()
    assert done.reminder_count == 0
    page = manager.get(url("remind", survey))
    assert page.context["due_count"] == 0
    assert "本日はすでにリマインドを送信済みです" in page.content.decode()
    assert [row["count"] for row in page.context["history"]] == [2]
    response = manager.post(url("remind", survey), follow=True)
    assert "本日はすでにリマインドを送信済みです。" in messages_of(response)
    assert OutboxMessage.objects.filter(kind="surveys.remind").count() == 2


def test_remind_with_everyone_answered(manager):
    survey = SurveyFactory()
    submitted_response(survey, invitation=InvitationFactory(survey=survey))
    assert "未回答者はいません。" in manager.get(url("remind", survey)).content.decode()
    response = manager.post(url("remind", survey), follow=True)
    assert "未回答者はいません。" in messages_of(response)


def test_remind_of_a_closed_survey_is_refused(manager):
    survey = SurveyFactory(
        opens_at=timezone.now() - datetime.timedelta(days=30),
        closes_at=timezone.now() - datetime.timedelta(days=1),
    )
    InvitationFactory(survey=survey)
    assert (
        "回答受付中のアンケートだけリマインドできます"
        in manager.get(url("remind", survey)).content.decode()
    )
    response = manager.post(url("remind", survey), follow=True)
    assert any("終了しました" in m for m in messages_of(response))
    assert not OutboxMessage.objects.filter(kind="surveys.remind").exists()


# --- a draft response is not an answer -----------------------------------------------------------------


def test_counts_ignore_draft_responses(manager):
    survey = SurveyFactory()
    invitation = InvitationFactory(survey=survey)
    draft = ResponseFactory(invitation=invitation)
    answer(draft, QuestionFactory(survey=survey), 4)
    counts = manager.get(url("detail", survey)).context["counts"]
    assert (counts["invited"], counts["answered"]) == (1, 0)
