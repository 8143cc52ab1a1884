"""Who may see and do what in the committee's rooms (DESIGN §4): the dashboard
and the needs register. Every committee rule lives here.

- The committee and the secretariat read the dashboard and the needs register,
  triage needs and export them.
- Who raised a need is shown to the secretariat and to the person who raised it.
- A need is raised from a 事前質問 (committee and secretariat) or a free-text
  answer (secretariat only: the committee reads counts of free texts, not the
  texts) — only from what that person may already read.
- A need is raised from a back-up menu application (its 「困っていること」) or
  an engagement's outcome report (its 「成果と今後」) by the committee and the
  secretariat, only from an application they may open
  (support's Application.objects.visible_to: the secretariat all of them, a
  committee member only their own organisation's or those their organisation
  delivers as partner). The committee as such opens no application page, so
  in practice the secretariat raises these from its manage pages.
- A need is owned (担当者) by an active committee or secretariat member.
- Links from a need to its source are the secretariat's.
- The annual report (年度報告書) is read by the committee (its survey figures
  suppressed as on the dashboard) and the secretariat; only the secretariat
  writes its narrative paragraphs.

The querysets (raisable_registrations, raisable_answers) and the one-object
predicates (may_raise_registration, may_raise_answer) state the same rule
for lists and for one row; tests/test_committee_access_rules.py checks that
they agree. The services of committee.needs call these before writing.

Models are imported inside the functions: committee.querysets imports this
module, and committee.models imports the querysets.
"""

from django.db.models import Q

from events.enums import EventStatus, RegistrationStatus
from network import access as network_access
from network.access import require
from surveys.access import (
    can_manage_surveys,
    must_suppress_small_cells,
    sees_individual_answers,
)

from .enums import NeedSource, SourcePage

# --- dashboard and needs register (committee and secretariat) ------------------


def can_view_dashboard(user) -> bool:
    return network_access.can_view_dashboard(user)


def can_triage_needs(user) -> bool:
    """The committee and the secretariat sort needs into the seven functions."""
    return network_access.can_view_dashboard(user)


def may_create_need(user) -> bool:
    """Entering a need by hand (a meeting's discussion, a phone call)."""
    return can_triage_needs(user)


def may_triage_need(user, need) -> bool:
    """Moving a need along (status, function, owner, due date, notes): every
    reader of the register, whoever raised or owns the need."""
    return can_triage_needs(user)


def may_own_needs(user) -> bool:
    """A need's 担当者: an active committee or secretariat member."""
    return user is not None and user.is_active and can_triage_needs(user)


def triage_users():
    """The people may_own_needs allows, as a queryset (the owner choices of
    the forms and the filter): active members of the committee or secretariat
    groups, and active superusers (who count as the secretariat)."""
    from network.models import User

    return (
        User.objects.filter(is_active=True)
        .filter(
            Q(groups__name__in=[network_access.SECRETARIAT_GROUP, network_access.COMMITTEE_GROUP])
            | Q(is_superuser=True)
        )
        .distinct()
        .order_by("full_name_kana", "full_name", "email")
    )


def sees_need_raiser(user, need) -> bool:
    """Who raised a need is shown to the secretariat and to the person who raised it."""
    return network_access.is_secretariat(user) or (
        user is not None and user.is_authenticated and need.raised_by_id == user.pk
    )


def sees_update_author(user, need, update) -> bool:
    """Who wrote an entry of a need's history. The first entry is the raising
    itself (no old status, a new one), so its author is the raiser: shown as
    sees_need_raiser says. Every later entry's author is shown to every
    reader of the register."""
    created = not update.old_status and bool(update.new_status)
    if created:
        return sees_need_raiser(user, need)
    return can_view_dashboard(user)


def raisable_registrations(queryset, user):
    """The registrations whose 事前質問 `user` may read in the needs register's
    candidate list (those with a question), and so may raise as a need (raising copies the text into the register, which
    the whole committee reads): one queryset for both, so posting an id can
    never reach what the list hides.

    The committee: registrations of published (or finished) meetings that
    are not pending, so neither a guest's unconfirmed registration (anyone
    can type one on the public form) nor a draft meeting's, and whose
    question the privacy guard did not flag (Registration.question_flagged). The secretariat
    reads every registration on the event's registration list already, so
    its list and its raising cover them all."""
    if not can_triage_needs(user):
        return queryset.none()
    if can_manage_surveys(user):
        return queryset
    return (
        queryset.exclude(status=RegistrationStatus.PENDING)
        .exclude(event__status=EventStatus.DRAFT)
        # The privacy guard found something its author confirmed anyway: the
        # secretariat reads it first (and raises it, if it is a need).
        .exclude(question_flagged=True)
    )


def raisable_topics(queryset, user):
    """The board's topics `user` may raise as a need: published ones of the
    rooms they read (note.access, through Topic.objects.visible_to). Raising
    copies the title and body, never who asked."""
    return queryset.visible_to(user).published() if can_triage_needs(user) else queryset.none()


def raisable_applications(queryset, user):
    """The back-up menu applications `user` may raise as a need: those they
    may open (support.access through Application.objects.visible_to).
    Raising copies the application's need text, never who applied or the
    contact details."""
    if not may_raise_from(user, NeedSource.APPLICATION):
        return queryset.none()
    return queryset.visible_to(user)


def raisable_engagements(queryset, user):
    """The engagements whose outcome report `user` may raise as a need:
    completed ones with an outcome text, of applications they may open."""
    from support.enums import ApplicationStatus
    from support.models import Application

    if not may_raise_from(user, NeedSource.OUTCOME):
        return queryset.none()
    return queryset.filter(
        application__in=Application.objects.visible_to(user),
        application__status=ApplicationStatus.COMPLETED,
    ).exclude(outcome_text="")


def may_raise_registration(user, registration) -> bool:
    """raisable_registrations for one registration (its event selected)."""
    if not can_triage_needs(user):
        return False
    if can_manage_surveys(user):
        return True
    return (
        registration.status != RegistrationStatus.PENDING
        and registration.event.status != EventStatus.DRAFT
        and not registration.question_flagged
    )


def raisable_answers(queryset, user, *, by_id: bool):
    """The free-text answers `user` may raise as a need: submitted answers,
    for those who read their content (the secretariat; see may_raise_from).
    By id only for named surveys: an anonymous survey's answers are named by
    their question and text, because ids follow the order answers came in,
    which set beside the invitations' answer times would tell who wrote what
    (the results list anonymous texts in text order for the same reason)."""
    if not may_raise_from(user, NeedSource.ANSWER):
        return queryset.none()
    queryset = queryset.filter(response__submitted_at__isnull=False)
    if by_id:
        queryset = queryset.filter(response__survey__anonymous=False)
    return queryset


def may_raise_answer(user, answer) -> bool:
    """raisable_answers for one answer (its response selected), however it
    was named: the rule is about reading the text, the by_id limit about how
    the button names it."""
    return may_raise_from(user, NeedSource.ANSWER) and answer.response.submitted_at is not None


def may_raise_from(user, source: str) -> bool:
    """The committee and the secretariat raise needs. Free-text survey answers
    are read by the secretariat only (the committee sees their number, not
    their content: surveys.results), so only the secretariat raises from one —
    otherwise posting answer ids would read them one by one. Once raised, the
    need's text is the register's to share."""
    if not can_triage_needs(user):
        return False
    if source == NeedSource.ANSWER:
        return can_manage_surveys(user)
    return True


def sees_need_sources(user) -> bool:
    """Links from a need to where it came from (the registration list, a
    survey's answers, a back-up menu application's manage page, an
    engagement's records) are the secretariat's: only it reads those pages."""
    return network_access.is_secretariat(user)


def sees_source_answers(user, survey) -> bool:
    """A need raised from an answer links to the individual answers when the
    person reads them, else to the survey's results."""
    return sees_individual_answers(user, survey)


def source_page(user, need) -> SourcePage | None:
    """Which page a need's source links to for `user`, None for no link
    (expects source_answer__response__survey selected with the need)."""
    if need.source_topic_id:
        # The topic's own page decides who reads it (its room).
        return SourcePage.TOPIC
    if not sees_need_sources(user):
        # The committee reads no application or engagement page (it reads
        # the back-up menus' aggregates on the dashboard): no link.
        return None
    if need.source_application_id:
        # The secretariat's page of the application (triage, history).
        return SourcePage.APPLICATION
    if need.source_engagement_id:
        # The engagement's records and outcome report, the secretariat's too.
        return SourcePage.ENGAGEMENT
    if need.source_registration_id:
        return SourcePage.REGISTRATIONS
    if need.source_answer_id:
        survey = need.source_answer.response.survey
        return SourcePage.RESPONSES if sees_source_answers(user, survey) else SourcePage.RESULTS
    return None


def sees_raisers_in_export(user) -> bool:
    """The export names who raised each need for the secretariat only (the
    committee sees the raiser of its own needs on the page, not in bulk)."""
    return network_access.is_secretariat(user)


# --- the annual report (年度報告書) ------------------------------------------------


def can_view_annual_report(user) -> bool:
    """The report is read by those who read the dashboard: the committee and
    the secretariat. The committee reads its survey figures as the dashboard
    shows them (report_suppresses_small_cells)."""
    return can_view_dashboard(user)


def report_suppresses_small_cells(user) -> bool:
    """The report's survey figures are suppressed exactly as the dashboard's
    (surveys.access.must_suppress_small_cells: everyone but the secretariat)."""
    return must_suppress_small_cells(user)


def may_edit_report_texts(user) -> bool:
    """The narrative paragraphs (課題, アンケート総括) are the secretariat's to
    write; the committee reads them."""
    return network_access.is_secretariat(user) and user.is_active


dashboard_required = require(can_view_dashboard)
annual_report_required = require(can_view_annual_report)
report_edit_required = require(may_edit_report_texts)
