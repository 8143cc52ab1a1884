"""committee.access as a unit: every rule over the eight named actors of
DESIGN §4 (tests/conftest.py) and the states and sources of what a need is
raised from; the needs services refusing the actors the rules refuse, with
nothing written; and the {% raise_need_button %} tag showing its form to
exactly the actors committee.access.may_raise_from allows.

The expectations are written out as tables here, not computed from the
rules, so that a change of a rule fails a test on purpose.
"""

import re
from html import unescape

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.template import engines
from django.test import RequestFactory

from committee import access, needs
from committee.enums import NeedSource, NeedStatus, SourcePage
from committee.models import Need, NeedUpdate
from events.models import Event, Registration
from surveys.models import Answer, Question, Response
from surveys.results import TextAnswer

from .conftest import ACTOR_NAMES
from .event_factories import EventFactory, RegistrationFactory
from .factories import UserFactory
from .survey_factories import QuestionFactory, SurveyFactory, submitted_response

pytestmark = pytest.mark.django_db

READERS = {"committee", "secretariat", "superuser"}  # the committee's rooms
DESK = {"secretariat", "superuser"}  # the superuser counts as the secretariat
QUESTION = "ケース会議に福祉事務所が来てくれません。"
ANSWER_TEXT = "家計改善支援と就労準備の連携事例を知りたい"


def _actor(actors, name):
    """The actor as a view sees it: AnonymousUser for "anonymous"."""
    return actors[name] or AnonymousUser()


def _allowed(actors, predicate) -> set[str]:
    return {name for name in ACTOR_NAMES if predicate(_actor(actors, name))}


# --- the objects a need comes from ------------------------------------------------------


@pytest.fixture
def meeting():
    return EventFactory(number=3, title="第3回 情報交換会", fiscal_year=2021)


@pytest.fixture
def registrations(meeting):
    """A registration's 事前質問 in each state the rules tell apart."""
    draft = EventFactory(number=9, fiscal_year=2021, status=Event.Status.DRAFT)
    guest = UserFactory(email="guest@example.net", full_name="申込 未確認")
    return {
        "published": RegistrationFactory(event=meeting, question=QUESTION),
        "draft_event": RegistrationFactory(event=draft, question=QUESTION + "（下書きの会）"),
        "pending_guest": RegistrationFactory(
            event=meeting,
            user=guest,
            status=Registration.Status.PENDING,
            question=QUESTION + "（未確認）",
        ),
    }


@pytest.fixture
def answers():
    """A free-text answer of a named survey, of an anonymous one, and one
    that was never sent."""
    named = SurveyFactory(title="記名アンケート", fiscal_year=2021)
    named_q = QuestionFactory(survey=named, kind=Question.Kind.TEXT)
    anonymous = SurveyFactory(title="匿名アンケート", anonymous=True, fiscal_year=2021)
    anonymous_q = QuestionFactory(survey=anonymous, kind=Question.Kind.TEXT)
    draft = Response.objects.create(survey=named)
    return {
        "named": submitted_response(named, answers={named_q: ANSWER_TEXT}).answers.get(),
        "anonymous": submitted_response(
            anonymous, answers={anonymous_q: ANSWER_TEXT + "（匿名）"}, anonymous=True
        ).answers.get(),
        "unsent": Answer.objects.create(response=draft, question=named_q, text="書きかけ"),
    }


def _with_response(answer):
    return Answer.objects.select_related("response__survey", "question").get(pk=answer.pk)


# --- role rules: who reads and works the register ----------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (access.can_view_dashboard, READERS),
        (access.can_triage_needs, READERS),
        (access.may_create_need, READERS),
        (access.may_own_needs, READERS),
        (access.sees_need_sources, DESK),
        (access.sees_raisers_in_export, DESK),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_committee_access_role_rules_allow_exactly(rule, expected, actors):
    assert _allowed(actors, rule) == expected


def test_committee_access_may_triage_need_is_every_reader_whoever_raised_it(actors):
    for raiser in (None, actors["committee"], actors["secretariat"]):
        need = Need.objects.create(title="t", text="x", fiscal_year=2021, raised_by=raiser)
        assert (
            _allowed(actors, lambda user, need=need: access.may_triage_need(user, need)) == READERS
        )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (NeedSource.REGISTRATION, READERS),
        (NeedSource.MANUAL, READERS),
        (NeedSource.TOPIC, READERS),
        # The committee reads how many free texts there are, not the texts.
        (NeedSource.ANSWER, DESK),
    ],
)
def test_committee_access_may_raise_from_each_source(source, expected, actors):
    assert _allowed(actors, lambda user: access.may_raise_from(user, source)) == expected


def test_committee_access_may_own_needs_refuses_an_inactive_member(actors):
    gone = UserFactory(email="former@example.org", groups=["committee"], is_active=False)
    assert (access.may_own_needs(gone), access.may_own_needs(None)) == (False, False)


def test_committee_access_triage_users_are_the_active_readers(actors):
    UserFactory(email="former@example.org", groups=["committee"], is_active=False)
    expected = {actors[name].pk for name in READERS}
    assert set(access.triage_users().values_list("pk", flat=True)) == expected


def test_committee_access_need_queryset_is_visible_to_readers_only(actors):
    need = Need.objects.create(title="t", text="x", fiscal_year=2021)
    for name in ACTOR_NAMES:
        visible = list(Need.objects.visible_to(_actor(actors, name)))
        assert visible == ([need] if name in READERS else []), name


# --- who raised it, who wrote the history ------------------------------------------------


@pytest.mark.parametrize(
    ("raiser", "expected"),
    [
        ("committee", DESK | {"committee"}),
        ("secretariat", DESK),
        (None, DESK),
    ],
)
def test_committee_access_sees_need_raiser(raiser, expected, actors):
    need = Need.objects.create(
        title="t", text="x", fiscal_year=2021, raised_by=actors[raiser] if raiser else None
    )
    assert _allowed(actors, lambda user: access.sees_need_raiser(user, need)) == expected


def test_committee_access_sees_update_author_hides_only_the_raising(actors):
    need, _created = needs.raise_need(
        source=NeedSource.MANUAL, title="t", text="x", by=actors["committee"]
    )
    needs.update_need(need=need, by=actors["secretariat"], status=NeedStatus.SORTING)
    raising, triage = need.updates.order_by("pk")

    assert _allowed(actors, lambda u: access.sees_update_author(u, need, raising)) == DESK | {
        "committee"
    }
    assert _allowed(actors, lambda u: access.sees_update_author(u, need, triage)) == READERS


# --- raising from a registration or an answer: the predicate and the queryset agree -------------

REGISTRATION_RAISERS = {
    "published": READERS,
    # The committee does not read a draft meeting's registrations, nor a guest's
    # unconfirmed one (anyone can type one on the public form).
    "draft_event": DESK,
    "pending_guest": DESK,
}


@pytest.mark.parametrize("state", REGISTRATION_RAISERS)
def test_committee_access_may_raise_registration_by_state(state, actors, registrations):
    registration = registrations[state]
    allowed = _allowed(actors, lambda user: access.may_raise_registration(user, registration))
    listed = _allowed(
        actors,
        lambda user: (
            access.raisable_registrations(Registration.objects.all(), user)
            .filter(pk=registration.pk)
            .exists()
        ),
    )
    assert (allowed, listed) == (REGISTRATION_RAISERS[state], REGISTRATION_RAISERS[state])


ANSWER_RAISERS = {"named": DESK, "anonymous": DESK, "unsent": set()}


@pytest.mark.parametrize("state", ANSWER_RAISERS)
def test_committee_access_may_raise_answer_by_state(state, actors, answers):
    answer = _with_response(answers[state])
    allowed = _allowed(actors, lambda user: access.may_raise_answer(user, answer))
    by_text = _allowed(
        actors,
        lambda user: (
            access.raisable_answers(Answer.objects.all(), user, by_id=False)
            .filter(pk=answer.pk)
            .exists()
        ),
    )
    by_id = _allowed(
        actors,
        lambda user: (
            access.raisable_answers(Answer.objects.all(), user, by_id=True)
            .filter(pk=answer.pk)
            .exists()
        ),
    )
    assert (allowed, by_text) == (ANSWER_RAISERS[state], ANSWER_RAISERS[state])
    # An anonymous survey's answer is never named by its id (ids follow the
    # order answers came in).
    assert by_id == (set() if state == "anonymous" else ANSWER_RAISERS[state])


# --- the link to the source --------------------------------------------------------------


def _need_from(kind, registrations, answers):
    if kind == "manual":
        return Need.objects.create(title="t", text="x", fiscal_year=2021)
    if kind == "registration":
        return Need.objects.create(
            title="t",
            text="x",
            fiscal_year=2021,
            source=NeedSource.REGISTRATION,
            source_registration=registrations["published"],
        )
    return Need.objects.create(
        title="t",
        text="x",
        fiscal_year=2021,
        source=NeedSource.ANSWER,
        source_answer=answers[kind],
    )


@pytest.mark.parametrize(
    ("kind", "page"),
    [
        ("registration", SourcePage.REGISTRATIONS),
        ("named", SourcePage.RESPONSES),
        # An anonymous survey's answers are read as aggregates only.
        ("anonymous", SourcePage.RESULTS),
        ("manual", None),
    ],
)
def test_committee_access_source_page_is_the_secretariats(
    kind, page, actors, registrations, answers
):
    need = needs.with_sources(Need.objects.filter(pk=_need_from(kind, registrations, answers).pk))
    need = need.get()
    pages = {name: access.source_page(_actor(actors, name), need) for name in ACTOR_NAMES}
    assert pages == {name: page if name in DESK else None for name in ACTOR_NAMES}


# --- the services refuse before writing ---------------------------------------------------


def _refused(call) -> str:
    with pytest.raises(ValidationError) as error:
        call()
    return error.value.code


def _nothing_written():
    return (Need.objects.count(), NeedUpdate.objects.count()) == (0, 0)


@pytest.mark.parametrize("actor", ACTOR_NAMES)
@pytest.mark.parametrize("state", REGISTRATION_RAISERS)
def test_committee_raise_need_from_registration_refuses_forbidden_actors(
    actor, state, actors, registrations
):
    by = _actor(actors, actor)
    registration = Registration.objects.select_related("event").get(pk=registrations[state].pk)

    def call():
        return needs.raise_need(source=NeedSource.REGISTRATION, registration=registration, by=by)

    if actor in REGISTRATION_RAISERS[state]:
        need, created = call()
        assert (created, need.source_registration, need.raised_by) == (True, registration, by)
    else:
        assert _refused(call) == "forbidden"
        assert _nothing_written()


@pytest.mark.parametrize("actor", ACTOR_NAMES)
@pytest.mark.parametrize("state", ["named", "anonymous"])
def test_committee_raise_need_from_answer_refuses_forbidden_actors(actor, state, actors, answers):
    by = _actor(actors, actor)
    answer = _with_response(answers[state])

    def call():
        return needs.raise_need(source=NeedSource.ANSWER, answer=answer, by=by)

    if actor in ANSWER_RAISERS[state]:
        need, created = call()
        assert (created, need.source_answer, need.text) == (True, answer, answer.text)
    else:
        assert _refused(call) == "forbidden"
        assert _nothing_written()


@pytest.mark.parametrize("actor", ACTOR_NAMES)
def test_committee_create_need_refuses_forbidden_actors(actor, actors):
    by = _actor(actors, actor)

    def call():
        return needs.create_need(by=by, title="", text="町村部では相談員が1人で休めない")

    if actor in READERS:
        need = call()
        assert (need.source, need.raised_by, need.updates.count()) == (NeedSource.MANUAL, by, 1)
    else:
        assert _refused(call) == "forbidden"
        # raise_need's manual path is refused the same way.
        assert (
            _refused(lambda: needs.raise_need(source=NeedSource.MANUAL, text="x", by=by))
            == "forbidden"
        )
        assert _nothing_written()


@pytest.mark.parametrize("actor", ACTOR_NAMES)
def test_committee_update_need_refuses_forbidden_actors(actor, actors):
    by = _actor(actors, actor)
    need = Need.objects.create(title="t", text="x", fiscal_year=2021)

    def call():
        return needs.update_need(
            need=need, by=by, status=NeedStatus.CLOSED, notes="書き換え", note="理由"
        )

    if actor in READERS:
        call()
        need.refresh_from_db()
        assert (need.status, need.notes, need.updates.count()) == (NeedStatus.CLOSED, "書き換え", 1)
    else:
        assert _refused(call) == "forbidden"
        need.refresh_from_db()
        assert (need.status, need.notes, need.updates.count()) == (NeedStatus.NEW, "", 0)


# --- the 「課題にする」 button -------------------------------------------------------------------

PAGE = "/surveys/1/results/"


def _render_button(user, **context) -> str:
    request = RequestFactory().get(PAGE)
    request.user = user
    template = engines["django"].from_string(
        "{% load needs %}{% raise_need_button source source_kind question=question %}"
    )
    return template.render({"question": None, **context}, request=request).strip()


def _render_form(user) -> str:
    request = RequestFactory().get(PAGE)
    request.user = user
    template = engines["django"].from_string("{% load needs %}{% raise_need_form %}")
    return template.render({}, request=request).strip()


def _fields(html: str) -> dict:
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', html))
    fields.pop("csrfmiddlewaretoken", None)
    return {name: unescape(value) for name, value in fields.items()}


BUTTON_SHOWN_TO = {NeedSource.REGISTRATION: READERS, NeedSource.ANSWER: DESK}


@pytest.mark.parametrize("actor", ACTOR_NAMES)
def test_raise_need_button_renders_for_registrations_exactly_where_access_allows(
    actor, actors, registrations
):
    user = _actor(actors, actor)
    registration = registrations["published"]

    html = _render_button(user, source=registration, source_kind="registration")

    shown = actor in BUTTON_SHOWN_TO[NeedSource.REGISTRATION]
    assert shown == access.may_raise_from(user, NeedSource.REGISTRATION)
    form = _render_form(user)
    if shown:
        # A button of the page's one form, which holds the kind and the way back.
        assert html.startswith('<button type="submit" form="raise-need-registration"')
        assert _fields(html) == {"id": str(registration.pk)}
        assert form.startswith('<form id="raise-need-registration" method="post"')
        assert 'action="/dashboard/needs/raise/"' in form
        assert _fields(form) == {"kind": "registration", "next": PAGE}
    else:
        assert html == "" and form == ""


@pytest.mark.parametrize("actor", ACTOR_NAMES)
def test_raise_need_button_renders_for_answers_exactly_where_access_allows(actor, actors, answers):
    user = _actor(actors, actor)
    answer = _with_response(answers["anonymous"])
    shown_text = TextAnswer(text=answer.text)  # as surveys.results lists it: no id

    html = _render_button(user, source=shown_text, source_kind="answer", question=answer.question)

    shown = actor in BUTTON_SHOWN_TO[NeedSource.ANSWER]
    assert shown == access.may_raise_from(user, NeedSource.ANSWER)
    if shown:
        assert html.startswith('<form method="post" action="/dashboard/needs/raise/"')
        assert _fields(html) == {
            "kind": "answer",
            "question": str(answer.question_id),
            "text": answer.text,
            "next": PAGE,
        }
    else:
        assert html == ""
