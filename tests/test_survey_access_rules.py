"""Every rule of surveys/access.py as a unit: each function over the named
actors (tests/conftest.py) and the survey states it depends on — draft,
published and not yet open, open or closed; anonymous or named; answered per
person or per organisation. The expected values are literals: the table of
DESIGN §4 for surveys, not a restatement of the code.

The pages built on these rules are tested as a matrix in test_access_matrix.py.
"""

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from surveys import access
from surveys.models import Invitation, Survey

from .conftest import ACTOR_NAMES
from .survey_factories import InvitationFactory, SurveyFactory

pytestmark = pytest.mark.django_db

SECRETARIAT = {"secretariat", "superuser"}
DASHBOARD = {"committee", "secretariat", "superuser"}


def as_user(actors, name):
    return actors[name] or AnonymousUser()


def _survey(state: str, **kwargs) -> Survey:
    now = timezone.now()
    dates = {
        "draft": (now - datetime.timedelta(days=1), now + datetime.timedelta(days=9)),
        "not_yet_open": (now + datetime.timedelta(days=2), now + datetime.timedelta(days=9)),
        "open": (now - datetime.timedelta(days=1), now + datetime.timedelta(days=9)),
        "closed": (now - datetime.timedelta(days=10), now - datetime.timedelta(days=1)),
    }[state]
    status = Survey.Status.DRAFT if state == "draft" else Survey.Status.PUBLISHED
    return SurveyFactory(
        title=f"{state}のアンケート",
        status=status,
        opens_at=dates[0],
        closes_at=dates[1],
        **kwargs,
    )


STATES = ["draft", "not_yet_open", "open", "closed"]


# --- who the actor is, whatever the survey -----------------------------------------------

USER_RULES = {
    "can_manage_surveys": SECRETARIAT,
    "can_view_results": DASHBOARD,
    "sees_live_results": SECRETARIAT,
    "sees_free_texts": SECRETARIAT,
    "must_suppress_small_cells": set(ACTOR_NAMES) - SECRETARIAT,
}


@pytest.mark.parametrize("rule", sorted(USER_RULES))
@pytest.mark.parametrize("actor", ACTOR_NAMES)
def test_survey_access_rules_user_predicates(actors, actor, rule):
    assert getattr(access, rule)(as_user(actors, actor)) is (actor in USER_RULES[rule])


# --- one survey -------------------------------------------------------------------------------

# may_read_results: the secretariat always; the committee once a published survey closed.
MAY_READ_RESULTS = {
    "draft": SECRETARIAT,
    "not_yet_open": SECRETARIAT,
    "open": SECRETARIAT,
    "closed": DASHBOARD,
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("actor", ACTOR_NAMES)
def test_survey_access_rules_may_read_results(actors, actor, state):
    survey = _survey(state)

    assert access.may_read_results(as_user(actors, actor), survey) is (
        actor in MAY_READ_RESULTS[state]
    )


# Individual answers, who wrote a free text, the answers export: named or anonymous.
SURVEY_RULES = {
    "sees_individual_answers": {"named": SECRETARIAT, "anonymous": set()},
    "sees_text_respondents": {"named": SECRETARIAT, "anonymous": set()},
    "may_export_answers": {"named": SECRETARIAT, "anonymous": SECRETARIAT},
}


@pytest.mark.parametrize("rule", sorted(SURVEY_RULES))
@pytest.mark.parametrize("naming", ["named", "anonymous"])
@pytest.mark.parametrize("state", ["open", "closed"])
@pytest.mark.parametrize("actor", ACTOR_NAMES)
def test_survey_access_rules_named_or_anonymous(actors, actor, state, naming, rule):
    survey = _survey(state, anonymous=naming == "anonymous")

    allowed = getattr(access, rule)(as_user(actors, actor), survey)

    assert allowed is (actor in SURVEY_RULES[rule][naming])


# can_view_organisation_responses: (survey, organisation) → who. org_admin is
# the admin of contractor_org; other_org has no actor in it.
ORGANISATION_RESPONSES = {
    ("named", "contractor_org"): SECRETARIAT | {"org_admin"},
    ("named", "other_org"): SECRETARIAT,
    ("anonymous", "contractor_org"): set(),
    ("anonymous", "other_org"): set(),
    ("draft", "contractor_org"): set(),
    ("draft", "other_org"): set(),
}


@pytest.mark.parametrize("case", sorted(ORGANISATION_RESPONSES))
@pytest.mark.parametrize("actor", ACTOR_NAMES)
def test_survey_access_rules_organisation_responses(actors, actor, case, request):
    kind, organisation_name = case
    survey = {
        "named": lambda: _survey("closed", respondent_unit=Survey.Unit.ORGANISATION),
        "anonymous": lambda: _survey(
            "closed", respondent_unit=Survey.Unit.ORGANISATION, anonymous=True
        ),
        "draft": lambda: _survey("draft", respondent_unit=Survey.Unit.ORGANISATION),
    }[kind]()
    organisation = request.getfixturevalue(organisation_name)

    allowed = access.can_view_organisation_responses(as_user(actors, actor), survey, organisation)

    assert allowed is (actor in ORGANISATION_RESPONSES[case])


# --- many surveys: the scoped querysets ----------------------------------------------------------


@pytest.fixture
def surveys_in_every_state(db):
    return {state: _survey(state) for state in STATES}


# visible_surveys: what the results pages and the dashboard may list at all.
VISIBLE = {name: set(STATES) if name in DASHBOARD else set() for name in ACTOR_NAMES}
# results_released: whose aggregates may be read now.
RELEASED = {
    name: set(STATES) if name in SECRETARIAT else {"closed"} if name in DASHBOARD else set()
    for name in ACTOR_NAMES
}


@pytest.mark.parametrize("actor", ACTOR_NAMES)
def test_survey_access_rules_visible_surveys(actors, actor, surveys_in_every_state):
    titles = set(
        access.visible_surveys(Survey.objects.all(), as_user(actors, actor)).values_list(
            "title", flat=True
        )
    )

    assert titles == {f"{state}のアンケート" for state in VISIBLE[actor]}


@pytest.mark.parametrize("actor", ACTOR_NAMES)
def test_survey_access_rules_results_released(actors, actor, surveys_in_every_state):
    titles = set(
        access.results_released(Survey.objects.all(), as_user(actors, actor)).values_list(
            "title", flat=True
        )
    )

    assert titles == {f"{state}のアンケート" for state in RELEASED[actor]}


@pytest.fixture
def invitations(actors, contractor_org, municipal_org, other_org):
    """Person and organisation invitations of a published survey and of a draft."""
    published = _survey("open")
    published_orgs = _survey("open", respondent_unit=Survey.Unit.ORGANISATION)
    draft = _survey("draft")
    draft_orgs = _survey("draft", respondent_unit=Survey.Unit.ORGANISATION)
    made = {
        "contractor_member": InvitationFactory(survey=published, user=actors["contractor_member"]),
        "municipal_member": InvitationFactory(survey=published, user=actors["municipal_member"]),
        "contractor_org": InvitationFactory(
            survey=published_orgs, user=None, organisation=contractor_org
        ),
        "other_org": InvitationFactory(survey=published_orgs, user=None, organisation=other_org),
        "draft_person": InvitationFactory(survey=draft, user=actors["contractor_member"]),
        "draft_org": InvitationFactory(survey=draft_orgs, user=None, organisation=contractor_org),
    }
    return made


# addressed_invitations: a member's own invitations and their organisations',
# of published surveys only.
ADDRESSED = {
    "anonymous": set(),
    "outsider": set(),
    "contractor_member": {"contractor_member", "contractor_org"},
    "municipal_member": {"municipal_member"},
    "org_admin": {"contractor_org"},
    "committee": set(),
    "secretariat": set(),
    "superuser": set(),
}


@pytest.mark.parametrize("actor", ACTOR_NAMES)
def test_survey_access_rules_addressed_invitations(actors, actor, invitations):
    names = {invitation.pk: name for name, invitation in invitations.items()}

    found = access.addressed_invitations(Invitation.objects.all(), as_user(actors, actor))

    assert {names[pk] for pk in found.values_list("pk", flat=True)} == ADDRESSED[actor]


# answers_as_member: who is recorded as the person answering an invitation.
AS_MEMBER = {
    "contractor_member": set(),  # a person's invitation: they answer as themselves
    "contractor_org": {"contractor_member", "org_admin"},
    "other_org": set(),
}


@pytest.mark.parametrize("invitation_name", sorted(AS_MEMBER))
@pytest.mark.parametrize("actor", ACTOR_NAMES)
def test_survey_access_rules_answers_as_member(actors, actor, invitation_name, invitations):
    invitation = invitations[invitation_name]

    assert access.answers_as_member(as_user(actors, actor), invitation) is (
        actor in AS_MEMBER[invitation_name]
    )


# --- the view decorators ---------------------------------------------------------------------------

DECORATORS = {"surveys_manager_required": SECRETARIAT, "results_required": DASHBOARD}


@pytest.mark.parametrize("decorator", sorted(DECORATORS))
@pytest.mark.parametrize("actor", ACTOR_NAMES)
def test_survey_access_rules_view_decorators(actors, actor, decorator):
    view = getattr(access, decorator)(lambda request: HttpResponse("秘密の内容"))
    request = RequestFactory().get("/surveys/manage/")
    request.user = as_user(actors, actor)

    if actor == "anonymous":
        response = view(request)
        assert (response.status_code, response["Location"]) == (
            302,
            "/accounts/login/?next=/surveys/manage/",
        )
    elif actor in DECORATORS[decorator]:
        assert view(request).content.decode() == "秘密の内容"
    else:
        with pytest.raises(Http404):
            view(request)
