"""surveys.services: building, publishing to each audience and unit, the
invitation mails, answering (validation, submission, anonymity) and closing."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from core.models import OutboxMessage
from events.models import Event, Registration
from network.models import Organisation
from surveys import services
from surveys.models import Answer, Invitation, Question, Response, Survey
from surveys.services import SurveyError

from .event_factories import EventFactory, RegistrationFactory
from .factories import MembershipFactory, OrganisationFactory, UserFactory
from .survey_factories import (
    InvitationFactory,
    QuestionFactory,
    SurveyFactory,
    catalog_survey,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """committed(service, **kwargs): call a service and run its on-commit work
    (the outbox deliveries), as after a real request."""

    def call(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return call


def draft_survey(**kwargs) -> Survey:
    survey = SurveyFactory(status=Survey.Status.DRAFT, **kwargs)
    QuestionFactory(survey=survey)
    return survey


def invited(survey) -> dict:
    """email -> organisation name (or None) of the survey's invitations."""
    return {
        i.email: (i.organisation.name if i.organisation else None)
        for i in survey.invitations.select_related("organisation")
    }


def refusal(excinfo) -> str:
    return excinfo.value.messages[0]


def finished_event(**kwargs) -> Event:
    end = timezone.now() - datetime.timedelta(hours=2)
    return EventFactory(
        starts_at=end - datetime.timedelta(hours=3),
        ends_at=end,
        status=Event.Status.FINISHED,
        **kwargs,
    )


# --- building ------------------------------------------------------------------------


def test_create_survey_from_annual_template_copies_questions_and_condition(secretariat):
    now = timezone.now()
    survey = services.create_survey(
        title="令和3年度 効果検証アンケート",
        kind=Survey.Kind.ANNUAL,
        fiscal_year=2021,
        audience=Survey.Audience.ALL_ORGANISATIONS,
        respondent_unit=Survey.Unit.ORGANISATION,
        opens_at=now,
        closes_at=now + datetime.timedelta(days=14),
        template="annual",
        by=secretariat,
    )

    questions = list(survey.questions.order_by("order"))
    assert [q.key for q in questions] == ["attended", "useful", "continue", "format", "comments"]
    assert [q.order for q in questions] == [1, 2, 3, 4, 5]
    useful = questions[1]
    assert useful.show_if_question == questions[0]
    assert useful.show_if_value == "参加したことがある"
    assert questions[3].allow_other is True
    assert "テーマ別ディスカッション" in questions[3].choices
    assert survey.status == Survey.Status.DRAFT
    assert survey.created_by == secretariat


def test_create_survey_refuses_bad_input_and_non_secretariat(secretariat, org_admin):
    now = timezone.now()
    base = {
        "title": "アンケート",
        "kind": Survey.Kind.ADHOC,
        "fiscal_year": 2024,
        "audience": Survey.Audience.ALL_ORGANISATIONS,
        "respondent_unit": Survey.Unit.PERSON,
        "opens_at": now,
        "closes_at": now + datetime.timedelta(days=3),
    }
    with pytest.raises(SurveyError) as excinfo:
        services.create_survey(**{**base, "closes_at": now}, by=secretariat)
    assert refusal(excinfo) == "回答締切は回答開始より後にしてください。"
    with pytest.raises(SurveyError) as excinfo:
        services.create_survey(**{**base, "audience": "event_attendees"}, by=secretariat)
    assert refusal(excinfo) == "「イベントの参加者」を対象にするにはイベントを選んでください。"
    with pytest.raises(SurveyError) as excinfo:
        services.create_survey(**base, by=org_admin)
    assert refusal(excinfo) == "この操作を行う権限がありません。"
    assert not Survey.objects.exists()


def test_copy_survey_copies_questions_and_conditions_as_draft(secretariat):
    survey = catalog_survey("annual", title="効果検証 2023")
    survey.chosen_organisations.add(OrganisationFactory())

    copy = services.copy_survey(survey=survey, by=secretariat)

    assert copy.pk != survey.pk
    assert copy.title == "効果検証 2023（コピー）"
    assert copy.status == Survey.Status.DRAFT
    assert copy.chosen_organisations.count() == 1
    originals = list(survey.questions.order_by("order"))
    copies = list(copy.questions.order_by("order"))
    assert [q.key for q in copies] == [q.key for q in originals]
    assert {q.pk for q in copies}.isdisjoint({q.pk for q in originals})
    useful = copy.questions.get(key="useful")
    assert useful.show_if_question == copy.questions.get(key="attended")
    assert not copy.invitations.exists()


def test_add_and_move_question_keep_a_clean_order(secretariat):
    survey = SurveyFactory()
    first = services.add_question(survey=survey, text="質問A", kind="scale", by=secretariat)
    second = services.add_question(
        survey=survey,
        text="質問B",
        kind="single",
        choices="はい\nいいえ\n",
        required=True,
        by=secretariat,
    )
    third = services.add_question(
        survey=survey,
        text="質問C",
        kind="text",
        show_if_question=second,
        show_if_value="はい",
        by=secretariat,
    )
    assert (first.order, second.order, third.order) == (1, 2, 3)
    assert second.choices == ["はい", "いいえ"]

    # A condition stays on an earlier question: C (shown on B's answer) cannot pass B.
    with pytest.raises(SurveyError) as excinfo:
        services.move_question(question=third, direction="up", by=secretariat)
    services.move_question(question=first, direction="down", by=secretariat)
    services.move_question(question=second, direction="up", by=secretariat)  # first: no change

    assert refusal(excinfo).startswith("Q3はQ2の答えで表示が決まるため")
    assert list(survey.questions.order_by("order").values_list("text", flat=True)) == [
        "質問B",
        "質問A",
        "質問C",
    ]


def test_add_question_refuses_condition_on_a_text_question(secretariat):
    survey = SurveyFactory()
    text = services.add_question(survey=survey, text="自由記述", kind="text", by=secretariat)
    with pytest.raises(SurveyError) as excinfo:
        services.add_question(
            survey=survey,
            text="次",
            kind="scale",
            show_if_question=text,
            show_if_value="x",
            by=secretariat,
        )
    assert refusal(excinfo) == "表示条件には選択式（単一・複数）の質問を選んでください。"
    with pytest.raises(SurveyError) as excinfo:
        services.add_question(
            survey=survey, text="一択", kind="single", choices=["はい"], by=secretariat
        )
    assert refusal(excinfo) == (
        "単一選択・複数選択では、選択肢を1行に1つずつ2つ以上入力してください。"
        "「その他」は数えません。"
    )
    assert list(survey.questions.values_list("text", flat=True)) == ["自由記述"]


# --- publishing: audiences and units ---------------------------------------------------------


def test_publish_person_unit_invites_every_member_of_all_organisations(
    secretariat, contractor_member, municipal_member, org_admin, contractor_org, municipal_org
):
    both = MembershipFactory(organisation=contractor_org, user__email="both@example.org").user
    MembershipFactory(organisation=municipal_org, user=both)
    MembershipFactory(
        organisation=OrganisationFactory(is_active=False), user__email="gone@example.org"
    )
    MembershipFactory(
        organisation=contractor_org, user__email="left@example.org", user__is_active=False
    )
    survey = draft_survey(audience=Survey.Audience.ALL_ORGANISATIONS)

    created = services.publish_survey(survey=survey, by=secretariat)

    assert created == 4
    survey.refresh_from_db()
    assert survey.status == Survey.Status.PUBLISHED
    assert invited(survey) == {
        "npo@example.org": "札幌生活サポートセンター",
        "city@example.org": "札幌市保健福祉局",
        "npo-admin@example.org": "札幌生活サポートセンター",
        "both@example.org": "札幌生活サポートセンター",
    }
    assert set(survey.invitations.values_list("user__email", flat=True)) == set(invited(survey))


def test_publish_municipal_only_invites_municipal_members(
    secretariat, contractor_member, municipal_member
):
    survey = draft_survey(audience=Survey.Audience.MUNICIPAL)

    assert services.publish_survey(survey=survey, by=secretariat) == 1

    assert invited(survey) == {"city@example.org": "札幌市保健福祉局"}


def test_publish_chosen_organisations_invites_only_them(
    secretariat, contractor_member, municipal_member, other_org
):
    MembershipFactory(organisation=other_org, user__email="hakodate@example.org")
    survey = draft_survey(audience=Survey.Audience.CHOSEN, chosen_organisations=[other_org])

    assert services.publish_survey(survey=survey, by=secretariat) == 1

    assert invited(survey) == {"hakodate@example.org": "函館くらし相談室"}


def test_publish_chosen_without_organisations_is_refused(secretariat):
    survey = draft_survey(audience=Survey.Audience.CHOSEN)
    with pytest.raises(SurveyError) as excinfo:
        services.publish_survey(survey=survey, by=secretariat)
    assert refusal(excinfo) == "対象の組織を選んでください。"
    survey.refresh_from_db()
    assert survey.status == Survey.Status.DRAFT


def test_publish_organisation_unit_goes_to_org_admin_else_org_email_else_members(
    secretariat, contractor_member, org_admin, contractor_org, municipal_org, committed, mailoutbox
):
    municipal_org.email = "fukushi@city.example.org"
    municipal_org.save()
    MembershipFactory(organisation=municipal_org, user__email="city-staff@example.org")
    no_contact = OrganisationFactory(name="石狩相談室", email="", kind=Organisation.Kind.CONTRACTOR)
    MembershipFactory(organisation=no_contact, user__email="ishikari1@example.org")
    MembershipFactory(organisation=no_contact, user__email="ishikari2@example.org")
    OrganisationFactory(name="誰もいない会", email="")  # nobody to send to: not invited
    survey = draft_survey(respondent_unit=Survey.Unit.ORGANISATION)

    created = committed(services.publish_survey, survey=survey, by=secretariat)

    assert created == 3
    assert invited(survey) == {
        "npo-admin@example.org": "札幌生活サポートセンター",
        "fukushi@city.example.org": "札幌市保健福祉局",
        "ishikari1@example.org": "石狩相談室",
    }
    assert not survey.invitations.filter(user__isnull=False).exists()
    # The organisation without an admin or address: every member gets the link.
    assert sorted(m.to[0] for m in mailoutbox) == [
        "fukushi@city.example.org",
        "ishikari1@example.org",
        "ishikari2@example.org",
        "npo-admin@example.org",
    ]
    assert "npo@example.org" not in [m.to[0] for m in mailoutbox]  # not an admin
    assert "1つの組織につき1回の回答" in mailoutbox[0].body


def test_publish_event_attendees_with_check_in_invites_only_those_checked_in(secretariat):
    event = finished_event()
    came = RegistrationFactory(event=event, attended=True, user__email="came@example.org")
    RegistrationFactory(event=event, user__email="noshow@example.org")  # confirmed, absent
    RegistrationFactory(event=event, status=Registration.Status.CANCELLED)
    survey = draft_survey(
        kind=Survey.Kind.POST_EVENT, event=event, audience=Survey.Audience.EVENT_ATTENDEES
    )

    assert services.publish_survey(survey=survey, by=secretariat) == 1

    assert list(survey.invitations.values_list("user", flat=True)) == [came.user_id]


def test_publish_event_attendees_without_check_in_invites_the_confirmed(
    secretariat, contractor_org
):
    event = finished_event()
    confirmed = RegistrationFactory(event=event, organisation=contractor_org)
    RegistrationFactory(event=event, status=Registration.Status.WAITLISTED)
    RegistrationFactory(event=event, status=Registration.Status.CANCELLED)
    survey = draft_survey(
        kind=Survey.Kind.POST_EVENT, event=event, audience=Survey.Audience.EVENT_ATTENDEES
    )

    assert services.publish_survey(survey=survey, by=secretariat) == 1

    invitation = survey.invitations.get()
    assert invitation.user == confirmed.user
    assert invitation.organisation == contractor_org


def test_publish_event_attendees_before_the_event_is_over_invites_nobody_yet(secretariat):
    event = EventFactory()  # in 30 days
    RegistrationFactory(event=event)
    survey = draft_survey(
        kind=Survey.Kind.POST_EVENT, event=event, audience=Survey.Audience.EVENT_ATTENDEES
    )

    assert services.count_new_invitations(survey=survey) == 0
    assert services.publish_survey(survey=survey, by=secretariat) == 0

    survey.refresh_from_db()
    assert survey.status == Survey.Status.PUBLISHED
    assert not survey.invitations.exists()


def test_publish_again_only_invites_new_audience_members(
    secretariat, contractor_member, contractor_org, committed, mailoutbox
):
    survey = draft_survey()
    assert committed(services.publish_survey, survey=survey, by=secretariat) == 1
    newcomer = MembershipFactory(organisation=contractor_org, user__email="new@example.org").user

    assert services.count_new_invitations(survey=survey) == 1
    assert committed(services.publish_survey, survey=survey, by=secretariat) == 1
    assert committed(services.publish_survey, survey=survey, by=secretariat) == 0

    assert sorted(m.to[0] for m in mailoutbox) == ["new@example.org", "npo@example.org"]
    assert survey.invitations.filter(user=newcomer).exists()


def test_publish_queues_invitation_mail_with_a_working_link(
    secretariat, contractor_member, committed, mailoutbox
):
    survey = draft_survey(title="第3回 情報交換会アンケート")

    committed(services.publish_survey, survey=survey, by=secretariat)

    invitation = survey.invitations.get()
    message = OutboxMessage.objects.get()
    assert message.key == f"survey:{survey.pk}:invite:{invitation.pk}"
    assert message.status == OutboxMessage.Status.SENT
    assert invitation.sent_at is not None
    (mail,) = mailoutbox
    assert mail.to == ["npo@example.org"]
    assert mail.subject == "【つながり】アンケートへのご協力のお願い：第3回 情報交換会アンケート"
    assert "受託 花子 様" in mail.body
    link = next(line for line in mail.body.splitlines() if "/surveys/r/" in line)
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert services.invitation_for_token(token) == invitation
    # Only the hash is stored.
    assert token not in invitation.token_hash


def test_publish_refuses_without_questions_after_close_and_for_non_secretariat(
    secretariat, org_admin
):
    empty = SurveyFactory(status=Survey.Status.DRAFT)
    with pytest.raises(SurveyError) as excinfo:
        services.publish_survey(survey=empty, by=secretariat)
    assert refusal(excinfo) == "質問を1つ以上追加してから公開してください。"

    past = draft_survey(
        opens_at=timezone.now() - datetime.timedelta(days=9),
        closes_at=timezone.now() - datetime.timedelta(days=1),
    )
    with pytest.raises(SurveyError) as excinfo:
        services.publish_survey(survey=past, by=secretariat)
    assert refusal(excinfo) == "回答締切が過ぎています。締切を変更してから公開してください。"

    with pytest.raises(SurveyError) as excinfo:
        services.publish_survey(survey=draft_survey(), by=org_admin)
    assert refusal(excinfo) == "この操作を行う権限がありません。"
    assert not Invitation.objects.exists()


def test_invitation_for_token_finds_only_its_own_invitation():
    first = InvitationFactory()
    second = InvitationFactory()
    assert services.invitation_for_token(first.token) == first
    assert services.invitation_for_token(second.token) == second
    assert services.invitation_for_token("not-a-token") is None
    assert services.invitation_for_token("") is None
    assert services.invitation_for_token("x" * 500) is None


def test_close_survey_moves_the_deadline_to_now(secretariat):
    survey = SurveyFactory()
    before = timezone.now()

    services.close_survey(survey=survey, by=secretariat)

    survey.refresh_from_db()
    assert before <= survey.closes_at <= timezone.now()
    assert survey.is_closed
    old = survey.closes_at
    with pytest.raises(SurveyError) as excinfo:  # nothing left to close
        services.close_survey(survey=survey, by=secretariat)
    assert refusal(excinfo) == "このアンケートはすでに締め切られています。"
    survey.refresh_from_db()
    assert survey.closes_at == old


# --- answering ---------------------------------------------------------------------------


def test_save_answers_draft_then_submit_copies_the_respondent_attributes(contractor_org):
    survey = catalog_survey("annual", respondent_unit=Survey.Unit.ORGANISATION, fiscal_year=2021)
    came = EventFactory(
        kind=Event.Kind.EXCHANGE,
        fiscal_year=2021,
        starts_at=timezone.now() - datetime.timedelta(days=30),
        ends_at=timezone.now() - datetime.timedelta(days=30) + datetime.timedelta(hours=2),
        status=Event.Status.FINISHED,
    )
    RegistrationFactory(event=came, organisation=contractor_org)
    invitation = InvitationFactory(survey=survey, user=None, organisation=contractor_org)

    response = services.start_or_resume(invitation=invitation)
    assert services.start_or_resume(invitation=invitation) == response
    services.save_answers(response=response, data={"attended": "参加したことがある"}, submit=False)
    assert response.answers.count() == 1
    services.save_answers(
        response=response,
        data={
            "attended": "参加したことがある",
            "useful": 5,
            "continue": "はい",
            "format": {"choices": ["テーマ別ディスカッション", "その他"], "other": "事例検討"},
            "comments": "また参加したいです。",
        },
        submit=True,
    )

    response.refresh_from_db()
    invitation.refresh_from_db()
    assert response.submitted_at is not None
    assert invitation.responded_at is not None
    assert response.organisation_kind == "contractor"
    assert response.region == contractor_org.region
    assert response.participated is True
    rows = set(response.answers.values_list("question__key", "choice", "number", "text"))
    assert rows == {
        ("attended", "参加したことがある", None, ""),
        ("useful", "", Decimal("5.00"), ""),
        ("continue", "はい", None, ""),
        ("format", "テーマ別ディスカッション", None, ""),
        ("format", "その他", None, "事例検討"),
        ("comments", "", None, "また参加したいです。"),
    }


def test_participated_is_false_without_an_exchange_meeting_that_year(municipal_org):
    survey = catalog_survey("annual", respondent_unit=Survey.Unit.ORGANISATION, fiscal_year=2021)
    symposium = EventFactory(
        kind=Event.Kind.SYMPOSIUM,
        fiscal_year=2021,
        starts_at=timezone.now() - datetime.timedelta(days=10),
        status=Event.Status.FINISHED,
    )
    RegistrationFactory(event=symposium, organisation=municipal_org)
    invitation = InvitationFactory(survey=survey, user=None, organisation=municipal_org)
    response = services.start_or_resume(invitation=invitation)

    services.save_answers(
        response=response,
        data={"attended": "参加したことがない", "continue": "どちらともいえない"},
        submit=True,
    )

    response.refresh_from_db()
    assert response.participated is False
    assert response.organisation_kind == "municipality"


def test_second_submission_is_refused(contractor_member):
    survey = SurveyFactory()
    question = QuestionFactory(survey=survey, kind="single", choices=["はい", "いいえ"])
    invitation = InvitationFactory(survey=survey, user=contractor_member)
    response = services.start_or_resume(invitation=invitation)
    services.save_answers(response=response, data={question.pk: "はい"}, submit=True)

    with pytest.raises(SurveyError) as excinfo:
        services.save_answers(response=response, data={question.pk: "いいえ"}, submit=True)
    assert refusal(excinfo) == "この回答はすでに送信されています。"
    with pytest.raises(SurveyError) as excinfo:
        services.start_or_resume(invitation=invitation)
    assert refusal(excinfo) == "この回答はすでに送信されています。"
    assert list(Answer.objects.values_list("choice", flat=True)) == ["はい"]


def test_second_response_for_the_same_organisation_is_refused(contractor_org):
    survey = SurveyFactory(respondent_unit=Survey.Unit.ORGANISATION)
    question = QuestionFactory(survey=survey)
    invitation = InvitationFactory(survey=survey, user=None, organisation=contractor_org)
    first = services.start_or_resume(invitation=invitation)
    services.save_answers(response=first, data={question.pk: 4}, submit=True)

    with pytest.raises(SurveyError) as excinfo:
        services.start_or_resume(invitation=invitation)

    assert (
        refusal(excinfo) == "この組織の回答はすでに送信されています。1つの組織につき回答は1回です。"
    )
    assert Response.objects.count() == 1


def test_submission_after_closing_is_refused(contractor_member):
    survey = SurveyFactory()
    question = QuestionFactory(survey=survey)
    invitation = InvitationFactory(survey=survey, user=contractor_member)
    response = services.start_or_resume(invitation=invitation)
    Survey.objects.filter(pk=survey.pk).update(closes_at=timezone.now())

    with pytest.raises(SurveyError) as excinfo:
        services.save_answers(response=response, data={question.pk: 3}, submit=True)

    assert refusal(excinfo) == "このアンケートの回答期間は終了しました。"
    response.refresh_from_db()
    assert response.submitted_at is None
    invitation.refresh_from_db()
    assert invitation.responded_at is None


def test_anonymous_submission_keeps_no_link_and_only_the_day(contractor_member, contractor_org):
    survey = SurveyFactory(anonymous=True)
    question = QuestionFactory(survey=survey)
    invitation = InvitationFactory(
        survey=survey, user=contractor_member, organisation=contractor_org
    )
    response = services.start_or_resume(invitation=invitation)

    services.save_answers(response=response, data={question.pk: 2}, submit=True)

    response = Response.objects.get(pk=response.pk)
    invitation.refresh_from_db()
    assert response.invitation is None
    assert response.user is None
    assert response.organisation is None
    # What cross-tabulation needs is kept.
    assert response.organisation_kind == "contractor"
    assert response.region == contractor_org.region
    day = timezone.localtime(invitation.responded_at).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    for moment in (response.submitted_at, response.started_at, response.updated_at):
        assert timezone.localtime(moment) == day
    assert invitation.responded_at != response.submitted_at
    assert not Response.objects.filter(invitation=invitation).exists()
    assert Answer.objects.get().number == 2
    # The invitation still refuses a second response.
    with pytest.raises(SurveyError):
        services.start_or_resume(invitation=invitation)


def test_required_question_is_required_on_submit_only(contractor_member):
    survey = SurveyFactory()
    required = QuestionFactory(survey=survey, required=True)
    QuestionFactory(survey=survey, kind="text", required=False)
    invitation = InvitationFactory(survey=survey, user=contractor_member)
    response = services.start_or_resume(invitation=invitation)

    services.save_answers(response=response, data={}, submit=False)  # a draft may be empty
    with pytest.raises(SurveyError) as excinfo:
        services.save_answers(response=response, data={}, submit=True)

    assert excinfo.value.message_dict == {f"q{required.pk}": ["この質問は回答必須です。"]}
    response.refresh_from_db()
    assert response.submitted_at is None


def test_hidden_conditional_answer_is_discarded_and_visible_one_required(contractor_member):
    survey = SurveyFactory()
    attended = QuestionFactory(survey=survey, kind="single", choices=["参加した", "参加していない"])
    useful = QuestionFactory(
        survey=survey,
        kind="scale",
        required=True,
        show_if_question=attended,
        show_if_value="参加した",
    )
    invitation = InvitationFactory(survey=survey, user=contractor_member)
    response = services.start_or_resume(invitation=invitation)

    with pytest.raises(SurveyError) as excinfo:
        services.save_answers(response=response, data={attended.pk: "参加した"}, submit=True)
    assert excinfo.value.message_dict == {f"q{useful.pk}": ["この質問は回答必須です。"]}

    services.save_answers(
        response=response, data={attended.pk: "参加していない", useful.pk: 5}, submit=True
    )
    assert list(response.answers.values_list("question", "choice")) == [
        (attended.pk, "参加していない")
    ]


def test_question_for_the_other_kind_of_organisation_is_not_asked(municipal_member, municipal_org):
    survey = SurveyFactory()
    common = QuestionFactory(survey=survey, kind="scale")
    for_contractors = QuestionFactory(
        survey=survey, kind="text", required=True, audience=Question.Audience.CONTRACTOR
    )
    for_municipal = QuestionFactory(
        survey=survey, kind="number", required=True, audience=Question.Audience.MUNICIPAL
    )
    invitation = InvitationFactory(survey=survey, user=municipal_member, organisation=municipal_org)
    response = services.start_or_resume(invitation=invitation)

    with pytest.raises(SurveyError) as excinfo:
        services.save_answers(response=response, data={common.pk: 3}, submit=True)
    assert set(excinfo.value.message_dict) == {f"q{for_municipal.pk}"}

    services.save_answers(
        response=response,
        data={common.pk: 3, for_municipal.pk: "12.5", for_contractors.pk: "答えない"},
        submit=True,
    )
    assert set(response.answers.values_list("question", flat=True)) == {
        common.pk,
        for_municipal.pk,
    }
    assert response.answers.get(question=for_municipal).number == Decimal("12.50")


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("scale", "6", "1〜5から選んでください。"),
        ("number", "十二", "数値を入力してください。"),
        ("number", "1.234", "小数は第2位までで入力してください。"),
        ("number", "NaN", "数値を入力してください。"),
        ("single", "たぶん", "選択肢から選んでください。"),
        ("multiple", ["はい", "その他"], "選択肢から選んでください。"),
    ],
)
def test_save_answers_refuses_values_that_do_not_fit(contractor_member, kind, value, message):
    survey = SurveyFactory()
    question = QuestionFactory(survey=survey, kind=kind, required=False)
    invitation = InvitationFactory(survey=survey, user=contractor_member)
    response = services.start_or_resume(invitation=invitation)

    with pytest.raises(SurveyError) as excinfo:
        services.save_answers(response=response, data={question.pk: value}, submit=False)

    assert excinfo.value.message_dict == {f"q{question.pk}": [message]}
    assert not Answer.objects.exists()


def test_other_choice_needs_its_text(contractor_member):
    survey = SurveyFactory()
    question = QuestionFactory(survey=survey, kind="multiple", allow_other=True, required=False)
    invitation = InvitationFactory(survey=survey, user=contractor_member)
    response = services.start_or_resume(invitation=invitation)

    with pytest.raises(SurveyError) as excinfo:
        services.save_answers(response=response, data={question.pk: ["その他"]}, submit=False)
    assert excinfo.value.message_dict == {
        f"q{question.pk}": ["「その他」を選んだ場合は内容を記入してください。"]
    }

    services.save_answers(
        response=response, data={question.pk: ["はい", "その他:見学会"]}, submit=False
    )
    assert set(response.answers.values_list("choice", "text")) == {
        ("はい", ""),
        ("その他", "見学会"),
    }


def test_person_invitation_to_a_user_without_organisation_sees_common_questions_only():
    survey = SurveyFactory()
    common = QuestionFactory(survey=survey)
    QuestionFactory(survey=survey, kind="text", required=True, audience=Question.Audience.MUNICIPAL)
    invitation = InvitationFactory(survey=survey, user=UserFactory())
    response = services.start_or_resume(invitation=invitation)

    services.save_answers(response=response, data={common.pk: 4}, submit=True)

    response.refresh_from_db()
    assert response.submitted_at is not None
    assert response.organisation_kind == ""
    assert response.participated is False


def test_invitation_to_a_survey_opening_later_says_when_it_opens(
    secretariat, contractor_member, committed, mailoutbox
):
    opens = timezone.now() + datetime.timedelta(days=2)
    survey = draft_survey(opens_at=opens, closes_at=opens + datetime.timedelta(days=14))

    committed(services.publish_survey, survey=survey, by=secretariat)

    (mail,) = mailoutbox
    local = timezone.localtime(opens)
    assert f"回答開始：{local.year}年{local.month}月{local.day}日" in mail.body
    with pytest.raises(SurveyError) as excinfo:
        services.send_reminders(survey=survey, by=secretariat)
    assert refusal(excinfo) == "回答期間が始まってからリマインドしてください。"
