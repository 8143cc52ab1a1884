"""The back-up menus' workflow: apply → triage (accept with a partner and a
coordinator, put on hold, decline with a reason) → session records →
completion with the outcome report and the follow-up survey.

Services are keyword-only, typed and atomic, check the actor first (access)
and refuse with SupportError, a ValidationError whose message is meant for the
person (a dict keyed by form field where one field is at fault). Every status
change writes an ApplicationUpdate and queues its mail in the same
transaction (notifications: one outbox key per change, so each is sent once).

Slots. A menu takes `slots_per_year` engagements per 年度. Accepting locks the
menu's row (`_lock_menu`) before counting the applications that hold a slot,
so two secretariat staff accepting at once cannot both take the last one —
the same discipline as an event's seats (events.services._lock_event). On
SQLite the IMMEDIATE transactions serialise the writers the same way.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _

from core.dates import fiscal_year_of
from core.templatetags.wareki import wareki_fy
from network import access as network_access
from network.models import Organisation, User
from surveys import services as survey_services
from surveys.enums import RespondentUnit, SurveyAudience, SurveyKind

from . import access, notifications
from .enums import REASON_REQUIRED_STATUSES, ApplicationStatus
from .models import Application, ApplicationUpdate, Engagement, EngagementSession, Menu

FOLLOW_UP_TEMPLATE = "support_follow_up"
FOLLOW_UP_ANSWERING_DAYS = 21
TEXT_MAX_LENGTH = 4000


class SupportError(ValidationError):
    pass


def _forbidden() -> SupportError:
    return SupportError(_("この操作を行う権限がありません。"), code="forbidden")


def _require(allowed: bool) -> None:
    if not allowed:
        raise _forbidden()


def _lock_menu(menu_id: int) -> Menu:
    """Serialise the slot decisions of one menu until the transaction ends.
    Kept small so the negative-control test can replace it and show the race."""
    return Menu.objects.select_for_update().get(pk=menu_id)


def _before_write() -> None:
    """Runs between counting slots and writing the decision. Does nothing; the
    concurrency test sleeps here to widen the race window."""


def _locked_application(application: Application) -> Application:
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related("menu", "organisation")
        .get(pk=application.pk)
    )


def _change(application: Application, new_status: str, *, by: User | None, note: str = ""):
    update = ApplicationUpdate.objects.create(
        application=application,
        author=by,
        old_status=application.status if application.pk else "",
        new_status=new_status,
        note=note,
    )
    application.status = new_status
    application.save(update_fields=["status", "status_reason", "decided_at", "updated_at"])
    notifications.status_changed(update)
    return update


def slots_left(menu: Menu, fiscal_year: int) -> int:
    return Menu.objects.with_slots_taken(fiscal_year).get(pk=menu.pk).slots_left


# --- applying ------------------------------------------------------------------------


@transaction.atomic
def submit_application(
    *,
    menu: Menu,
    organisation: Organisation,
    by: User,
    need: str,
    contact_name: str,
    contact_email: str,
    contact_phone: str = "",
    wanted_by: datetime.date | None = None,
    answers: dict | None = None,
) -> Application:
    allowed = access.applicant_organisation_ids(by)
    _require(access.can_apply(by) and (allowed is None or organisation.pk in allowed))
    menu = Menu.objects.with_eligibility().get(pk=menu.pk)
    refusal = menu.refusal_for(organisation)
    if refusal:
        raise SupportError({"organisation": refusal}, code="ineligible")
    need = (need or "").strip()
    if not need:
        raise SupportError({"need": _("困っていること・希望する支援を入力してください。")})
    if len(need) > TEXT_MAX_LENGTH:
        raise SupportError(
            {"need": _("%(n)d文字以内で入力してください。") % {"n": TEXT_MAX_LENGTH}}
        )
    now = timezone.now()
    application = Application.objects.create(
        menu=menu,
        organisation=organisation,
        applicant=by,
        fiscal_year=fiscal_year_of(now),
        need=need,
        wanted_by=wanted_by,
        contact_name=contact_name.strip(),
        contact_email=contact_email.strip(),
        contact_phone=(contact_phone or "").strip(),
        answers=answers or {},
        submitted_at=now,
    )
    update = ApplicationUpdate.objects.create(
        application=application,
        author=by,
        old_status="",
        new_status=ApplicationStatus.SUBMITTED,
        created_at=now,
    )
    notifications.status_changed(update)
    notifications.new_application(application)
    return application


@transaction.atomic
def withdraw_application(*, application: Application, by: User) -> Application:
    application = _locked_application(application)
    _require(access.is_applicant(by, application))
    if not application.can_withdraw():
        raise SupportError(_("この申込は取り下げられません。"), code="state")
    _change(application, ApplicationStatus.WITHDRAWN, by=by)
    return application


# --- triage --------------------------------------------------------------------------


def partner_choices(menu: Menu):
    """The organisations that may be assigned: the menu's partners, or, when
    the catalogue names none, any active organisation."""
    partners = menu.partners.filter(is_active=True)
    if partners.exists():
        return partners
    return Organisation.objects.filter(is_active=True)


def coordinator_choices():
    """The secretariat's people, who coordinate engagements."""
    return User.objects.secretariat_staff().order_by("full_name_kana", "email")


@transaction.atomic
def accept_application(
    *,
    application: Application,
    partner: Organisation,
    coordinator: User,
    by: User,
    note: str = "",
) -> Engagement:
    _require(access.can_manage(by))
    menu = _lock_menu(application.menu_id)
    application = _locked_application(application)
    if not application.can_accept():
        raise SupportError(_("この申込は受理できる状態ではありません。"), code="state")
    if not partner_choices(menu).filter(pk=partner.pk).exists():
        raise SupportError({"partner": _("このメニューの協力団体から選んでください。")})
    if not network_access.is_secretariat(coordinator) or not coordinator.is_active:
        raise SupportError({"coordinator": _("事務局の担当者から選んでください。")})
    taken = Application.objects.holding_slots(menu.pk, application.fiscal_year).count()
    _before_write()
    if taken >= menu.slots_per_year:
        raise SupportError(
            _("%(fy)sの受入件数（%(n)d件）に達しています。")
            % {
                "fy": wareki_fy(application.fiscal_year),
                "n": menu.slots_per_year,
            },
            code="full",
        )
    now = timezone.now()
    application.status_reason = ""
    application.decided_at = now
    engagement = Engagement.objects.create(
        application=application, partner=partner, coordinator=coordinator, accepted_at=now
    )
    _change(application, ApplicationStatus.ACCEPTED, by=by, note=note)
    notifications.partner_assigned(engagement)
    return engagement


def _with_reason(application: Application, status: str, *, by: User, reason: str):
    reason = (reason or "").strip()
    if status in REASON_REQUIRED_STATUSES and not reason:
        raise SupportError({"reason": _("申込組織に伝える理由を入力してください。")})
    application.status_reason = reason
    # On hold is not a decision yet.
    application.decided_at = timezone.now() if status == ApplicationStatus.DECLINED else None
    _change(application, status, by=by, note=reason)
    return application


@transaction.atomic
def hold_application(*, application: Application, by: User, reason: str) -> Application:
    _require(access.can_manage(by))
    application = _locked_application(application)
    if not application.can_hold():
        raise SupportError(_("この申込は保留にできる状態ではありません。"), code="state")
    return _with_reason(application, ApplicationStatus.ON_HOLD, by=by, reason=reason)


@transaction.atomic
def decline_application(*, application: Application, by: User, reason: str) -> Application:
    _require(access.can_manage(by))
    application = _locked_application(application)
    if not application.can_decline():
        raise SupportError(_("この申込は見送りにできる状態ではありません。"), code="state")
    return _with_reason(application, ApplicationStatus.DECLINED, by=by, reason=reason)


# --- records and completion -----------------------------------------------------------


def _locked_engagement(engagement: Engagement) -> Engagement:
    return (
        Engagement.objects.select_for_update(of=("self",))
        .select_related("application__menu", "application__organisation", "partner")
        .get(pk=engagement.pk)
    )


@transaction.atomic
def record_session(
    *,
    engagement: Engagement,
    by: User,
    held_on: datetime.date,
    duration_minutes: int,
    mode: str,
    done: str,
    next_steps: str = "",
    partner_hours: Decimal,
    secretariat_hours: Decimal = Decimal("0"),
) -> EngagementSession:
    engagement = _locked_engagement(engagement)
    _require(access.can_see_records(by, engagement))
    if not engagement.can_record():
        raise SupportError(_("この支援は記録を追加できる状態ではありません。"), code="state")
    if held_on > timezone.localdate():
        raise SupportError({"held_on": _("未来の日付は記録できません。")})
    if held_on < timezone.localtime(engagement.application.submitted_at).date():
        raise SupportError({"held_on": _("申込日より前の日付は記録できません。")})
    session = EngagementSession.objects.create(
        engagement=engagement,
        held_on=held_on,
        duration_minutes=duration_minutes,
        mode=mode,
        done=done.strip(),
        next_steps=(next_steps or "").strip(),
        partner_hours=partner_hours,
        secretariat_hours=secretariat_hours or Decimal("0"),
        recorded_by=by,
    )
    first = engagement.sessions.aggregate(first=Min("held_on"))["first"]
    if engagement.started_on != first:
        engagement.started_on = first
        engagement.save(update_fields=["started_on"])
    return session


def _survey_manager(engagement: Engagement, by: User) -> User | None:
    """Who the follow-up survey is created by: the person completing it when
    they are the secretariat, else the engagement's coordinator."""
    for candidate in (by, engagement.coordinator):
        if candidate is not None and candidate.is_active and access.can_manage(candidate):
            return candidate
    return None


def _send_follow_up(engagement: Engagement, manager: User):
    application = engagement.application
    now = timezone.now()
    survey = survey_services.create_survey(
        title=_("【事後アンケート】%(menu)s") % {"menu": application.menu},
        kind=SurveyKind.SUPPORT_FOLLOW_UP,
        fiscal_year=application.fiscal_year,
        audience=SurveyAudience.CHOSEN,
        respondent_unit=RespondentUnit.ORGANISATION,
        opens_at=now,
        closes_at=now + datetime.timedelta(days=FOLLOW_UP_ANSWERING_DAYS),
        template=FOLLOW_UP_TEMPLATE,
        introduction=_(
            "%(org)sが利用した「%(menu)s」についてお聞きします。"
            "結果は事務局と検討委員会が、メニューの効果の検証に使います。"
        )
        % {"org": application.organisation.name, "menu": application.menu.name},
        chosen_organisations=[application.organisation],
        by=manager,
    )
    survey_services.publish_survey(survey=survey, by=manager)
    return survey


@transaction.atomic
def complete_engagement(
    *,
    engagement: Engagement,
    by: User,
    outcome_answers: dict,
    outcome_text: str,
) -> Engagement:
    engagement = _locked_engagement(engagement)
    _require(access.can_see_records(by, engagement))
    if not engagement.can_complete(engagement.sessions.count()):
        raise SupportError(
            _("支援記録を1件以上つけてから完了にしてください。")
            if engagement.can_record()
            else _("この支援はすでに完了しています。"),
            code="state",
        )
    manager = _survey_manager(engagement, by)
    if manager is None:
        raise SupportError(
            _("事務局の調整担当が設定されていないため、事後アンケートを送れません。"),
            code="coordinator",
        )
    application = _locked_application(engagement.application)
    engagement.outcome_answers = outcome_answers or {}
    engagement.outcome_text = (outcome_text or "").strip()
    engagement.completed_at = timezone.now()
    engagement.follow_up_survey = _send_follow_up(engagement, manager)
    engagement.save(
        update_fields=["outcome_answers", "outcome_text", "completed_at", "follow_up_survey"]
    )
    _change(application, ApplicationStatus.COMPLETED, by=by)
    engagement.application = application
    return engagement
