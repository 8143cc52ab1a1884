"""What a survey's state allows (Survey.can_* in surveys/models.py), as a truth
table over every stored status and answering period, and the services that
refuse through the same methods.

The columns: a draft or a published survey whose answering period has not
begun, is running, or has ended.
"""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from surveys import services
from surveys.enums import SurveyState
from surveys.models import Survey
from surveys.services import SurveyError

from .survey_factories import InvitationFactory, QuestionFactory, SurveyFactory

pytestmark = pytest.mark.django_db

STATES = [
    "draft/not_yet_open",
    "draft/open",
    "draft/closed",
    "published/not_yet_open",
    "published/open",
    "published/closed",
]

# method: (draft: not yet open, open, closed; published: not yet open, open, closed)
TRUTH = {
    "can_be_edited": (True, True, True, True, True, True),
    "can_be_published": (True, True, True, False, False, False),
    "can_send_invitations": (True, True, False, True, True, False),
    "can_send_reminders": (False, False, False, False, True, False),
    "can_be_closed": (False, False, False, True, True, False),
    "can_be_reopened": (False, False, False, False, False, True),
    "can_be_copied": (True, True, True, True, True, True),
    "can_be_deleted": (True, True, True, False, False, False),
    "can_show_results": (False, False, False, True, True, True),
}

EXPECTED_STATE = {
    "draft/not_yet_open": SurveyState.DRAFT,
    "draft/open": SurveyState.DRAFT,
    "draft/closed": SurveyState.DRAFT,
    "published/not_yet_open": SurveyState.SCHEDULED,
    "published/open": SurveyState.OPEN,
    "published/closed": SurveyState.CLOSED,
}


def make_survey(state: str) -> Survey:
    status, period = state.split("/")
    now = timezone.now()
    opens_at = {
        "not_yet_open": now + datetime.timedelta(days=2),
        "open": now - datetime.timedelta(days=1),
        "closed": now - datetime.timedelta(days=10),
    }[period]
    closes_at = {
        "not_yet_open": now + datetime.timedelta(days=9),
        "open": now + datetime.timedelta(days=9),
        "closed": now - datetime.timedelta(days=1),
    }[period]
    survey = SurveyFactory(status=status, opens_at=opens_at, closes_at=closes_at)
    QuestionFactory(survey=survey)
    return survey


@pytest.mark.parametrize("method", sorted(TRUTH))
@pytest.mark.parametrize("state", STATES)
def test_survey_state_rules_truth_table(state, method):
    survey = make_survey(state)

    assert getattr(survey, method) is TRUTH[method][STATES.index(state)]


@pytest.mark.parametrize("state", STATES)
def test_survey_state_rules_state_follows_status_and_period(state):
    assert make_survey(state).state == EXPECTED_STATE[state]


@pytest.mark.parametrize("state", STATES)
def test_survey_state_rules_close_service_refuses_what_can_be_closed_does_not_allow(
    state, secretariat
):
    survey = make_survey(state)
    before = Survey.objects.values("status", "opens_at", "closes_at").get(pk=survey.pk)

    if survey.can_be_closed:
        services.close_survey(survey=survey, by=secretariat)
        survey.refresh_from_db()
        assert survey.state == SurveyState.CLOSED
    else:
        with pytest.raises(SurveyError):
            services.close_survey(survey=survey, by=secretariat)
        after = Survey.objects.values("status", "opens_at", "closes_at").get(pk=survey.pk)
        assert after == before


@pytest.mark.parametrize("state", STATES)
def test_survey_state_rules_reminder_service_refuses_what_can_send_reminders_does_not_allow(
    state, secretariat, django_capture_on_commit_callbacks
):
    survey = make_survey(state)
    waiting = InvitationFactory(survey=survey)

    if survey.can_send_reminders:
        with django_capture_on_commit_callbacks(execute=True):
            assert services.send_reminders(survey=survey, by=secretariat) == 1
    else:
        with pytest.raises(SurveyError):
            services.send_reminders(survey=survey, by=secretariat)
    waiting.refresh_from_db()
    assert waiting.reminder_count == (1 if survey.can_send_reminders else 0)


@pytest.mark.parametrize("state", STATES)
def test_survey_state_rules_publish_service_refuses_what_can_send_invitations_does_not_allow(
    state, secretariat, contractor_member, django_capture_on_commit_callbacks
):
    survey = make_survey(state)
    allowed = survey.can_send_invitations

    if allowed:
        with django_capture_on_commit_callbacks(execute=True):
            assert services.publish_survey(survey=survey, by=secretariat) == 1
    else:
        with pytest.raises(SurveyError):
            services.publish_survey(survey=survey, by=secretariat)
    assert list(survey.invitations.values_list("user__email", flat=True)) == (
        ["npo@example.org"] if allowed else []
    )


@pytest.mark.parametrize("state", STATES)
def test_survey_state_rules_manage_pages_show_only_allowed_actions(state, client_for, secretariat):
    """The survey's header offers exactly the actions its state allows."""
    survey = make_survey(state)
    page = client_for(secretariat).get(reverse("surveys:detail", args=[survey.pk]))
    head = page.content.decode().split('class="event-actions"', 1)[1].split("</nav>", 1)[0]
    links = {
        "publish": reverse("surveys:publish", args=[survey.pk]) in head,
        "remind": reverse("surveys:remind", args=[survey.pk]) in head,
        "close": reverse("surveys:close", args=[survey.pk]) in head,
        "results": reverse("surveys:results", args=[survey.pk]) in head,
        "copy": reverse("surveys:copy", args=[survey.pk]) in head,
        "edit": reverse("surveys:edit", args=[survey.pk]) in head,
    }

    allows = {method: row[STATES.index(state)] for method, row in TRUTH.items()}
    assert links == {
        "publish": allows["can_be_published"] or allows["can_send_invitations"],
        "remind": allows["can_send_reminders"],
        "close": allows["can_be_closed"],
        "results": allows["can_show_results"],
        "copy": allows["can_be_copied"],
        "edit": allows["can_be_edited"],
    }
