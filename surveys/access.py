"""Who may see and do what with surveys (DESIGN §4). Every surveys rule lives here.

- The secretariat builds, sends and reads everything, including the individual
  answers of named surveys.
- The committee reads aggregates only, and only of closed surveys; any cell
  with fewer than MIN_CELL respondents is suppressed, with its complements.
- An org admin reads the individual answers given for their own organisation
  (named surveys only).
- Respondents answer through their secret invitation link, logged in or not;
  a member finds the invitations addressed to them or their organisations.

This module imports nothing of the app but its enums (surveys are read through
the objects handed in), so models and querysets can use it without a cycle.
tests/test_survey_access_rules.py tests every function here as a unit, over
the named actors and survey states.
"""

from django.db.models import Q
from django.utils import timezone

from network import access as network_access
from network.access import require

from .enums import SurveyStatus

MIN_CELL = 3


def can_manage_surveys(user) -> bool:
    return network_access.is_secretariat(user)


def can_view_results(user) -> bool:
    return network_access.can_view_dashboard(user)


def sees_individual_answers(user, survey) -> bool:
    return can_manage_surveys(user) and not survey.anonymous


def must_suppress_small_cells(user) -> bool:
    """Everyone but the secretariat sees suppressed aggregates."""
    return not can_manage_surveys(user)


def sees_live_results(user) -> bool:
    """The secretariat follows a survey's aggregates while it runs. Everyone
    else reads them once it has closed: two looks at an open survey around
    one response (the page, an export) would differ by exactly that
    response, giving its answers and its respondent's 振興局 and kind away
    whatever the suppression. A closed survey takes no more answers, so its
    aggregates stay put."""
    return can_manage_surveys(user)


def may_read_results(user, survey) -> bool:
    """The aggregates of this (visible) survey, now. Same rule as
    results_released, for one survey already fetched."""
    if not can_view_results(user):
        return False
    if sees_live_results(user):
        return True
    return survey.status == SurveyStatus.PUBLISHED and survey.is_closed


def results_released(queryset, user):
    """The surveys whose aggregates `user` may read now (see sees_live_results)."""
    queryset = visible_surveys(queryset, user)
    if sees_live_results(user):
        return queryset
    return queryset.filter(status=SurveyStatus.PUBLISHED, closes_at__lte=timezone.now())


def sees_free_texts(user) -> bool:
    """The words of free-text answers (and of 「その他」): the secretariat only;
    everyone else reads how many there are."""
    return can_manage_surveys(user)


def sees_text_respondents(user, survey) -> bool:
    """Who wrote a free text, beside it on the results page: a named survey's,
    for those who read the texts."""
    return sees_free_texts(user) and sees_individual_answers(user, survey)


def may_export_answers(user, survey) -> bool:
    """The answers export (one row per response): the secretariat. An
    anonymous survey's rows carry no respondent (surveys.exports)."""
    return can_manage_surveys(user)


def can_view_organisation_responses(user, survey, organisation) -> bool:
    """What was answered for one organisation: a published, named survey's,
    for the secretariat and the organisation's admins."""
    if survey.anonymous or survey.status != SurveyStatus.PUBLISHED:
        return False
    if can_manage_surveys(user):
        return True
    return organisation.pk in network_access.roles(user).admin_of


def visible_surveys(queryset, user):
    if can_manage_surveys(user) or can_view_results(user):
        return queryset
    return queryset.none()


# --- answering ------------------------------------------------------------------


def addressed_invitations(queryset, user):
    """The invitations a member finds on their アンケート page: of published
    surveys, their own (person unit) and their active organisations'
    (organisation unit). Anyone else: none."""
    roles = network_access.roles(user)
    if not roles.authenticated:
        return queryset.none()
    return queryset.filter(survey__status=SurveyStatus.PUBLISHED).filter(
        Q(user_id=user.pk) | Q(user__isnull=True, organisation_id__in=list(roles.memberships))
    )


def answers_as_member(user, invitation) -> bool:
    """A logged-in member of the invited organisation answering an
    organisation's survey is kept on a named response as the person who
    answered; anyone else holding the link answers as the organisation."""
    if invitation.user_id is not None or not invitation.organisation_id:
        return False
    return invitation.organisation_id in network_access.roles(user).memberships


surveys_manager_required = require(can_manage_surveys)
results_required = require(can_view_results)
