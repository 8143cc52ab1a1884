"""Raising a need reads nothing the raiser's candidate list hides (issue 8, defect 9).

POST /dashboard/needs/raise/ copies the source's text into the need, which the
whole committee then reads. So the committee may raise only what its
candidate list shows (事前質問 of confirmed, waitlisted or cancelled
registrations of published meetings), and a free-text answer only where it
may read it; anything else answers 404 and creates no need.
"""

import pytest
from django.urls import reverse

from committee.models import Need
from events.models import Event, Registration
from surveys.models import Answer, Question, Response
from tests.event_factories import EventFactory, RegistrationFactory
from tests.factories import UserFactory
from tests.survey_factories import QuestionFactory, SurveyFactory, submitted_response

pytestmark = pytest.mark.django_db

RAISE = reverse("dashboard:need_raise")
CREATE = reverse("dashboard:need_create")
GUEST_TEXT = "（未確認の申込）家族の借金のことで、担当の○○さんに直接電話してほしい 090-0000-0000"
DRAFT_TEXT = "下書きの会への事前質問：支援調整会議の持ち方"


@pytest.fixture
def meeting():
    return EventFactory(number=4, title="第4回 情報交換会", fiscal_year=2021)


@pytest.fixture
def pending_guest(meeting):
    guest = UserFactory(email="guest@example.net", full_name="申込 未確認")
    return RegistrationFactory(
        event=meeting, user=guest, status=Registration.Status.PENDING, question=GUEST_TEXT
    )


@pytest.fixture
def draft_meeting_question():
    draft = EventFactory(number=5, fiscal_year=2021, status=Event.Status.DRAFT)
    return RegistrationFactory(event=draft, question=DRAFT_TEXT)


def test_need_raise_pending_guest_registration_is_404_for_the_committee(
    client_for, committee_member, pending_guest
):
    client = client_for(committee_member)
    # The candidate list hides it ...
    listed = client.get(CREATE, {"fy": 2021}).content.decode()
    assert GUEST_TEXT not in listed and f'name="id" value="{pending_guest.pk}"' not in listed

    # ... and raising it by id is refused the same way.
    response = client.post(RAISE, {"kind": "registration", "id": pending_guest.pk})

    assert response.status_code == 404
    assert GUEST_TEXT not in response.content.decode()
    assert list(Need.objects.values_list("text", flat=True)) == []


def test_need_raise_registration_of_a_draft_meeting_is_404_for_the_committee(
    client_for, committee_member, draft_meeting_question
):
    client = client_for(committee_member)
    assert DRAFT_TEXT not in client.get(CREATE, {"fy": 2021}).content.decode()

    response = client.post(RAISE, {"kind": "registration", "id": draft_meeting_question.pk})

    assert response.status_code == 404
    assert list(Need.objects.values_list("text", flat=True)) == []


def test_need_raise_listed_registration_still_works_for_the_committee(
    client_for, committee_member, meeting, pending_guest
):
    listed = RegistrationFactory(event=meeting, question="ケース会議の進め方を知りたい")
    client = client_for(committee_member)
    assert f'name="id" value="{listed.pk}"' in client.get(CREATE, {"fy": 2021}).content.decode()

    response = client.post(RAISE, {"kind": "registration", "id": listed.pk})

    need = Need.objects.get()
    assert response.url == reverse("dashboard:need_detail", args=[need.pk])
    assert (need.text, need.source_registration) == ("ケース会議の進め方を知りたい", listed)


def test_need_raise_secretariat_reads_every_registration_and_may_raise_it(
    client_for, secretariat, pending_guest
):
    """The secretariat sees pending guests on the event's registration list, so
    raising one tells them nothing new; its candidate list is the same scope."""
    client = client_for(secretariat)
    listed = client.get(CREATE, {"fy": 2021}).content.decode()
    assert GUEST_TEXT in listed

    client.post(RAISE, {"kind": "registration", "id": pending_guest.pk})

    assert list(Need.objects.values_list("text", flat=True)) == [GUEST_TEXT]


@pytest.fixture
def anonymous_answer():
    survey = SurveyFactory(title="匿名の振り返り", anonymous=True)
    question = QuestionFactory(survey=survey, kind=Question.Kind.TEXT, required=False)
    for words in ("最初の回答", "匿名で書いた本音：上司に相談できない", "三番目"):
        submitted_response(survey, answers={question: words}, anonymous=True)
    return Answer.objects.get(question=question, text="匿名で書いた本音：上司に相談できない")


def test_need_raise_answer_by_id_is_404_for_the_committee(
    client_for, committee_member, anonymous_answer
):
    response = client_for(committee_member).post(
        RAISE, {"kind": "answer", "id": anonymous_answer.pk}
    )
    by_text = client_for(committee_member).post(
        RAISE,
        {"kind": "answer", "question": anonymous_answer.question_id, "text": anonymous_answer.text},
    )

    assert (response.status_code, by_text.status_code) == (404, 404)
    assert list(Need.objects.values_list("text", flat=True)) == []


def test_need_raise_anonymous_answer_by_id_is_404_even_for_the_secretariat(
    client_for, secretariat, anonymous_answer
):
    """The results list anonymous texts in text order and raise them by their
    words: an id follows the order answers came in, which set beside the
    invitations' answer times would tell who wrote what."""
    client = client_for(secretariat)

    by_id = client.post(RAISE, {"kind": "answer", "id": anonymous_answer.pk})
    assert by_id.status_code == 404
    assert list(Need.objects.values_list("text", flat=True)) == []

    by_text = client.post(
        RAISE,
        {"kind": "answer", "question": anonymous_answer.question_id, "text": anonymous_answer.text},
    )
    need = Need.objects.get()
    assert by_text.url == reverse("dashboard:need_detail", args=[need.pk])
    assert need.text == anonymous_answer.text


def test_need_raise_unsubmitted_answer_is_404_for_the_secretariat(client_for, secretariat):
    survey = SurveyFactory()
    question = QuestionFactory(survey=survey, kind=Question.Kind.TEXT, required=False)
    draft = Response.objects.create(survey=survey)
    answer = Answer.objects.create(response=draft, question=question, text="書きかけの下書き")

    response = client_for(secretariat).post(RAISE, {"kind": "answer", "id": answer.pk})

    assert response.status_code == 404
    assert list(Need.objects.values_list("text", flat=True)) == []
