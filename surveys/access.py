"""Who may see and do what with surveys (DESIGN §4). Every surveys rule lives here.

- The secretariat builds, sends and reads everything, including the individual
  answers of named surveys.
- The committee reads aggregates only, and only of closed surveys; any cell
  with fewer than MIN_CELL respondents is suppressed, with its complements.
- An org admin reads the individual answers given for their own organisation
  (named surveys only).
- Respondents answer through their secret invitation link, logged in or not.
"""

from django.utils import timezone

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
    if sees_live_results(user):
        return True
    return survey.status == survey.Status.PUBLISHED and survey.is_closed


def results_released(queryset, user):
    """The surveys whose aggregates `user` may read now (see sees_live_results)."""
    from .models import Survey

    queryset = visible_surveys(queryset, user)
    if sees_live_results(user):
        return queryset
    return queryset.filter(status=Survey.Status.PUBLISHED, closes_at__lte=timezone.now())


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


def raisable_registrations(queryset, user):
    """The registrations whose 事前質問 `user` may read in the needs register's
    candidate list (those with a question), and so may raise as a need (raising copies the text into the register, which
    the whole committee reads): one queryset for both, so posting an id can
    never reach what the list hides.

    The committee: registrations of published (or finished) meetings that
    are not pending, so neither a guest's unconfirmed registration (anyone
    can type one on the public form) nor a draft meeting's. The secretariat
    reads every registration on the event's registration list already, so
    its list and its raising cover them all."""
    if not can_triage_needs(user):
        return queryset.none()
    if can_manage_surveys(user):
        return queryset
    from events.models import Event, Registration

    return queryset.exclude(status=Registration.Status.PENDING).exclude(
        event__status=Event.Status.DRAFT
    )


def raisable_answers(queryset, user, *, by_id: bool):
    """The free-text answers `user` may raise as a need: submitted answers,
    for those who read their content (the secretariat; see may_raise_from).
    By id only for named surveys: an anonymous survey's answers are named by
    their question and text, because ids follow the order answers came in,
    which set beside the invitations' answer times would tell who wrote what
    (the results list anonymous texts in text order for the same reason)."""
    if not may_raise_from(user, "answer"):
        return queryset.none()
    queryset = queryset.filter(response__submitted_at__isnull=False)
    if by_id:
        queryset = queryset.filter(response__survey__anonymous=False)
    return queryset


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
