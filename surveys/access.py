"""Who may see and do what with surveys (DESIGN §4). Every surveys rule lives here.

- The secretariat builds, sends and reads everything, including the individual
  answers of named surveys.
- The committee reads aggregates only; any cell with fewer than
  MIN_CELL respondents is suppressed.
- An org admin reads the individual answers given for their own organisation
  (named surveys only).
- Respondents answer through their secret invitation link, logged in or not.
"""

from network import access as network_access
from network.access import require

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


def can_view_organisation_responses(user, survey, organisation) -> bool:
    if survey.anonymous:
        return False
    if can_manage_surveys(user):
        return True
    return organisation.pk in network_access.roles(user).admin_of


def visible_surveys(queryset, user):
    if can_manage_surveys(user) or can_view_results(user):
        return queryset
    return queryset.none()


surveys_manager_required = require(can_manage_surveys)
results_required = require(can_view_results)


# --- dashboard and needs register (committee and secretariat) ------------------


def can_view_dashboard(user) -> bool:
    return network_access.can_view_dashboard(user)


def can_triage_needs(user) -> bool:
    """The committee and the secretariat sort needs into the seven functions."""
    return network_access.can_view_dashboard(user)


def sees_need_raiser(user, need) -> bool:
    """Who raised a need is shown to the secretariat and to the person who raised it."""
    return network_access.is_secretariat(user) or (
        user.is_authenticated and need.raised_by_id == user.pk
    )


def may_raise_from(user, source: str) -> bool:
    """The committee and the secretariat raise needs. Free-text survey answers
    are read by the secretariat only (the committee sees their number, not
    their content: surveys.results), so only the secretariat raises from one —
    otherwise posting answer ids would read them one by one. Once raised, the
    need's text is the register's to share."""
    if not can_triage_needs(user):
        return False
    if source == "answer":
        return can_manage_surveys(user)
    return True


dashboard_required = require(can_view_dashboard)
