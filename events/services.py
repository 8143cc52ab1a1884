"""Workflows of the events app: registrations that never overbook, and the
secretariat's event life cycle (copy, publish, cancel, finish, bulk message).

Every service is keyword-only, typed and atomic, and refuses with a
RegistrationError carrying a Japanese message for the person.

Seats. Every decision about seats of one event (register, confirm a guest,
change, cancel, promote) first locks the event row (`_lock_event`), then counts
and writes. On PostgreSQL that is a row lock (SELECT … FOR UPDATE) held until
commit, so the decisions of one event happen one after another while other
events are not held up. On SQLite the settings open every transaction with BEGIN
IMMEDIATE, which takes the database write lock up front: writers are serialised
before they count. Either way nobody counts a seat another request is about to
take. The "one active registration per person per event" rule is also a partial
unique index, so a double submission cannot create two even without the lock.

Waiting lists are ordered by (created_at, pk). A seat that frees up (a
cancellation, a change, a higher capacity) goes to the first waitlisted person
whose mode and session both have room; the 懇親会 has its own list. Everyone
affected is told through the outbox (events.notifications), queued on commit.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from core.templatetags.wareki import jdate
from network.models import Membership, Organisation, User

from . import access, notifications
from .models import Event, Registration, Session

CONFIRMED = Registration.Status.CONFIRMED
WAITLISTED = Registration.Status.WAITLISTED
PENDING = Registration.Status.PENDING
CANCELLED = Registration.Status.CANCELLED
SOCIAL_NONE = Registration.SocialStatus.NONE
SOCIAL_CONFIRMED = Registration.SocialStatus.CONFIRMED
SOCIAL_WAITLISTED = Registration.SocialStatus.WAITLISTED
# Registrations that hold (or wait for) a seat; a pending guest holds nothing.
DECIDED = (CONFIRMED, WAITLISTED)


class RegistrationError(ValidationError):
    """A refusal, with a Japanese message meant for the person (forms can show it)."""


# --- locking ------------------------------------------------------------------------


def _lock_event(event_id: int) -> Event:
    """Serialise the seat decisions of one event until the transaction ends.

    Kept in one small function so that the negative-control test can replace it
    and show the race it prevents."""
    return Event.objects.select_for_update().get(pk=event_id)


def _before_write() -> None:
    """Runs between counting seats and writing the decision. Does nothing; the
    negative-control test sleeps here to widen the race window."""


# --- checks -----------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _is_manager(user) -> bool:
    return user is not None and access.can_manage_events(user)


def _require_manager(by) -> None:
    if not _is_manager(by):
        raise RegistrationError(_("この操作を行う権限がありません。"), code="forbidden")


def _check_open(event: Event, *, managed: bool) -> None:
    """Is the event taking registrations (and changes) now? The secretariat may
    add or change registrations outside the window, e.g. on the day."""
    if event.status != Event.Status.PUBLISHED:
        raise RegistrationError(
            _("このイベントは申し込みを受け付けていません。"), code="not_published"
        )
    if managed:
        return
    now = timezone.now()
    if event.registration_opens_at and now < event.registration_opens_at:
        opens = timezone.localtime(event.registration_opens_at)
        raise RegistrationError(
            _("申込受付は%(when)sからです。") % {"when": f"{jdate(opens)} {opens:%H:%M}"},
            code="not_open_yet",
        )
    if event.registration_closes_at and now >= event.registration_closes_at:
        raise RegistrationError(_("申込受付は終了しました。"), code="closed")
    if now >= event.ends_at:
        raise RegistrationError(_("このイベントは終了しました。"), code="ended")


def _check_choice(
    event: Event, *, mode: str, session: Session | None, social: bool
) -> Session | None:
    """Validate mode, session and 懇親会 against the event; returns the session
    re-read from the database (its capacity may have changed)."""
    if mode not in Registration.Mode.values:
        raise RegistrationError(_("参加方法を選んでください。"), code="bad_mode")
    if mode == Registration.Mode.VENUE and not event.offers_venue:
        raise RegistrationError(
            _("このイベントは会場での参加を受け付けていません。"), code="mode_not_offered"
        )
    if mode == Registration.Mode.ONLINE and not event.offers_online:
        raise RegistrationError(
            _("このイベントはオンラインでの参加を受け付けていません。"), code="mode_not_offered"
        )
    if session is not None:
        session = Session.objects.filter(pk=session.pk, event=event).first()
        if session is None:
            raise RegistrationError(
                _("選択した分科会はこのイベントのものではありません。"), code="bad_session"
            )
    if social and not event.has_social:
        raise RegistrationError(_("このイベントには懇親会がありません。"), code="no_social")
    return session


def _organisation_for(user: User, organisation: Organisation | None) -> Organisation | None:
    """The organisation a member registers for: their only one by default; with
    several they choose; it must be one of theirs."""
    memberships = list(
        Membership.objects.filter(user=user, organisation__is_active=True).select_related(
            "organisation"
        )
    )
    if organisation is None:
        if len(memberships) == 1:
            return memberships[0].organisation
        if memberships:
            raise RegistrationError(
                _("どの所属組織として参加するか選んでください。"), code="organisation_required"
            )
        return None
    for membership in memberships:
        if membership.organisation_id == organisation.pk:
            return membership.organisation
    raise RegistrationError(_("選択した組織に所属していません。"), code="bad_organisation")


def _may_change(registration: Registration, by) -> bool:
    return by is not None and (by.pk == registration.user_id or _is_manager(by))


# --- seats --------------------------------------------------------------------------


def _has_room(
    event: Event, mode: str, session: Session | None, *, exclude_pk: int | None = None
) -> bool:
    """Is there a free seat in this mode (and session)? Call with the event locked."""
    confirmed = Registration.objects.filter(event=event, status=CONFIRMED)
    if exclude_pk is not None:
        confirmed = confirmed.exclude(pk=exclude_pk)
    capacity = event.capacity_for(mode)
    if capacity is not None and confirmed.filter(mode=mode).count() >= capacity:
        return False
    if session is not None and session.capacity is not None:
        if confirmed.filter(session=session).count() >= session.capacity:
            return False
    return True


def _social_status(event: Event, wanted: bool, *, exclude_pk: int | None = None) -> str:
    if not wanted:
        return SOCIAL_NONE
    if event.social_capacity is None:
        return SOCIAL_CONFIRMED
    taken = Registration.objects.filter(event=event, status__in=DECIDED, social=SOCIAL_CONFIRMED)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    return SOCIAL_CONFIRMED if taken.count() < event.social_capacity else SOCIAL_WAITLISTED


def _counts(queryset, field: str) -> dict:
    return dict(queryset.values_list(field).annotate(n=Count("pk")).order_by())


def _promote_waitlisted(event: Event) -> list[Registration]:
    """Give free seats to the waiting list, oldest first, skipping people whose
    mode or session is still full. Call with the event locked."""
    waitlisted = Registration.objects.filter(event=event, status=WAITLISTED)
    # Cheap exits first: this runs on every registration, and a full event with
    # a long waiting list must not load that list each time.
    waiting_modes = set(waitlisted.values_list("mode", flat=True).distinct().order_by())
    if not waiting_modes:
        return []
    confirmed = Registration.objects.filter(event=event, status=CONFIRMED)
    by_mode = _counts(confirmed, "mode")
    open_modes = [
        mode
        for mode in waiting_modes
        if event.capacity_for(mode) is None or by_mode.get(mode, 0) < event.capacity_for(mode)
    ]
    if not open_modes:
        return []
    waiting = list(
        waitlisted.filter(mode__in=open_modes)
        .select_related("event", "user", "session")
        .order_by("created_at", "pk")
    )
    by_session = _counts(confirmed.exclude(session=None), "session")
    session_capacity = dict(event.sessions.values_list("pk", "capacity"))
    promoted = []
    for registration in waiting:
        mode_capacity = event.capacity_for(registration.mode)
        if mode_capacity is not None and by_mode.get(registration.mode, 0) >= mode_capacity:
            continue
        capacity = session_capacity.get(registration.session_id)
        if capacity is not None and by_session.get(registration.session_id, 0) >= capacity:
            continue
        registration.status = CONFIRMED
        registration.save(update_fields=["status", "updated_at"])
        by_mode[registration.mode] = by_mode.get(registration.mode, 0) + 1
        if registration.session_id:
            by_session[registration.session_id] = by_session.get(registration.session_id, 0) + 1
        promoted.append(registration)
    return promoted


def _promote_social(event: Event) -> list[Registration]:
    """Give free 懇親会 seats to its waiting list, oldest first."""
    if not event.has_social:
        return []
    waiting = (
        Registration.objects.filter(event=event, status__in=DECIDED, social=SOCIAL_WAITLISTED)
        .select_related("event", "user", "session")
        .order_by("created_at", "pk")
    )
    if event.social_capacity is not None:
        taken = Registration.objects.filter(
            event=event, status__in=DECIDED, social=SOCIAL_CONFIRMED
        ).count()
        free = event.social_capacity - taken
        if free <= 0:
            return []
        waiting = waiting[:free]
    promoted = list(waiting)
    for registration in promoted:
        registration.social = SOCIAL_CONFIRMED
        registration.save(update_fields=["social", "updated_at"])
    return promoted


def _fill_and_notify(event: Event) -> list[Registration]:
    promoted = _promote_waitlisted(event)
    for registration in promoted:
        notifications.promoted(registration)
    social = _promote_social(event)
    for registration in social:
        notifications.social_promoted(registration)
    return promoted + [r for r in social if r not in promoted]


# --- registrations ----------------------------------------------------------------------


@transaction.atomic
def register(
    *,
    event: Event,
    user: User,
    mode: str,
    session: Session | None = None,
    social: bool = False,
    question: str = "",
    organisation: Organisation | None = None,
    organisation_name: str = "",
    by: User | None = None,
    guest: bool = False,
) -> Registration:
    """Register `user` for `event`: confirmed when the mode (and session) has a
    free seat, otherwise waitlisted; the 懇親会 is decided separately.

    `by` is who acts (default: the user); the secretariat may add anyone, also
    outside the registration window. `guest=True` (the public form, through
    register_guest) makes a pending registration that holds no seat until the
    e-mailed link is opened; it is returned with `.raw_token` set."""
    event = _lock_event(event.pk)
    managed = not guest and by is not None and _is_manager(by)
    _check_open(event, managed=managed)
    if not user.is_active:
        raise RegistrationError(_("このアカウントではお申し込みいただけません。"), code="inactive")
    if guest:
        if event.audience != Event.Audience.PUBLIC:
            raise RegistrationError(_("このイベントは一般公開されていません。"), code="not_public")
    elif not managed and not (
        access.may_register(user, event) and access.may_see_event(user, event)
    ):
        raise RegistrationError(_("このイベントにはお申し込みいただけません。"), code="not_allowed")
    session = _check_choice(event, mode=mode, session=session, social=social)
    organisation = None if guest else _organisation_for(user, organisation)
    if Registration.objects.filter(event=event, user=user).active().exists():
        raise RegistrationError(_("すでにお申し込み済みです。"), code="duplicate")

    # Seats freed while nobody was promoting (e.g. a capacity raised in the
    # edit form) go to the people already waiting, before this newcomer.
    _fill_and_notify(event)
    registration = Registration(
        event=event,
        user=user,
        organisation=organisation,
        organisation_name=organisation_name.strip(),
        mode=mode,
        session=session,
        question=question.strip(),
    )
    token = None
    if guest:
        # No seat until confirmed; a requested 懇親会 is remembered as
        # "waitlisted" and decided on confirmation (pending rows are never
        # promoted).
        registration.status = PENDING
        registration.social = SOCIAL_WAITLISTED if social else SOCIAL_NONE
        token = secrets.token_urlsafe(32)
        registration.confirmation_token_hash = hash_token(token)
    else:
        registration.status = CONFIRMED if _has_room(event, mode, session) else WAITLISTED
        registration.social = _social_status(event, social)
    _before_write()
    try:
        # A savepoint: the partial unique index turns a concurrent duplicate into
        # a refusal, and the caller's transaction stays usable.
        with transaction.atomic():
            registration.save()
    except IntegrityError as exc:
        raise RegistrationError(_("すでにお申し込み済みです。"), code="duplicate") from exc
    if guest:
        registration.raw_token = token
        notifications.guest_confirm(registration, token)
    else:
        notifications.registration_result(registration)
    return registration


@transaction.atomic
def register_guest(
    *,
    event: Event,
    email: str,
    full_name: str,
    full_name_kana: str,
    organisation_name: str,
    mode: str,
    session: Session | None = None,
    social: bool = False,
    question: str = "",
) -> Registration:
    """A registration from the public form (public events only): creates or reuses
    a contact user for the address and e-mails a confirmation link.

    Sending the form again before confirming replaces the choices and mails a new
    link (the old one stops working). An existing account keeps its name."""
    email = User.objects.normalize_email(email)
    if not email:
        raise RegistrationError(_("メールアドレスを入力してください。"), code="email_required")
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        try:
            with transaction.atomic():
                user = User.objects.create_contact(
                    email, full_name=full_name.strip(), full_name_kana=full_name_kana.strip()
                )
        except IntegrityError:
            user = User.objects.get(email__iexact=email)
    pending = Registration.objects.filter(event=event, user=user, status=PENDING).first()
    if pending is None:
        return register(
            event=event,
            user=user,
            mode=mode,
            session=session,
            social=social,
            question=question,
            organisation_name=organisation_name,
            guest=True,
        )
    event = _lock_event(event.pk)
    registration = Registration.objects.select_related("event", "user").get(pk=pending.pk)
    if registration.status != PENDING:
        raise RegistrationError(_("すでにお申し込み済みです。"), code="duplicate")
    _check_open(event, managed=False)
    if event.audience != Event.Audience.PUBLIC:
        raise RegistrationError(_("このイベントは一般公開されていません。"), code="not_public")
    registration.session = _check_choice(event, mode=mode, session=session, social=social)
    registration.mode = mode
    registration.social = SOCIAL_WAITLISTED if social else SOCIAL_NONE
    registration.question = question.strip()
    registration.organisation_name = organisation_name.strip()
    token = secrets.token_urlsafe(32)
    registration.confirmation_token_hash = hash_token(token)
    registration.save()
    registration.raw_token = token
    notifications.guest_confirm(registration, token)
    return registration


@transaction.atomic
def confirm_guest(*, token: str) -> Registration:
    """Open the e-mailed link: the pending registration becomes confirmed or
    waitlisted by the seats free at this moment. The link works once."""
    invalid = RegistrationError(
        _("この確認リンクは無効か、すでに使われています。"), code="bad_token"
    )
    token_hash = hash_token(token or "")
    found = (
        Registration.objects.filter(status=PENDING, confirmation_token_hash=token_hash)
        .values_list("pk", "event_id")
        .first()
    )
    if found is None:
        raise invalid
    event = _lock_event(found[1])
    registration = Registration.objects.select_related("event", "user", "session").get(pk=found[0])
    # Re-checked under the lock: a concurrent click may have used the link.
    if registration.status != PENDING or registration.confirmation_token_hash != token_hash:
        raise invalid
    _check_open(event, managed=False)
    _fill_and_notify(event)
    registration.status = (
        CONFIRMED if _has_room(event, registration.mode, registration.session) else WAITLISTED
    )
    registration.social = _social_status(
        event, registration.social != SOCIAL_NONE, exclude_pk=registration.pk
    )
    registration.confirmation_token_hash = ""
    # The place in the waiting list counts from the confirmation: an unconfirmed
    # address held nothing and must not jump ahead of people who waited.
    registration.created_at = timezone.now()
    _before_write()
    registration.save()
    notifications.registration_result(registration)
    return registration


@transaction.atomic
def change_registration(
    *,
    registration: Registration,
    mode: str,
    session: Session | None = None,
    social: bool = False,
    question: str = "",
    by: User,
) -> Registration:
    """Change mode, session, 懇親会 or question. A new mode or session is checked
    for room like a new registration (the person may end up waitlisted there, and
    is told so); the seat left behind goes to the waiting list."""
    event = _lock_event(registration.event_id)
    registration = Registration.objects.select_related("event", "user", "session").get(
        pk=registration.pk
    )
    if not _may_change(registration, by):
        raise RegistrationError(_("この申し込みは変更できません。"), code="forbidden")
    if registration.status == CANCELLED:
        raise RegistrationError(_("キャンセル済みの申し込みは変更できません。"), code="cancelled")
    if registration.status == PENDING:
        raise RegistrationError(
            _("メールアドレスの確認が済んでいないため、変更できません。"), code="pending"
        )
    _check_open(event, managed=_is_manager(by))
    session = _check_choice(event, mode=mode, session=session, social=social)
    question = question.strip()
    moved = (
        mode != registration.mode or (session.pk if session else None) != registration.session_id
    )
    before = (registration.status, registration.social, registration.question)
    if moved:
        registration.mode = mode
        registration.session = session
        if _has_room(event, mode, session, exclude_pk=registration.pk):
            registration.status = CONFIRMED
        else:
            registration.status = WAITLISTED
            # Joining another waiting list means joining it at the back.
            registration.created_at = timezone.now()
    if not social:
        registration.social = SOCIAL_NONE
    elif registration.social == SOCIAL_NONE:
        registration.social = _social_status(event, True, exclude_pk=registration.pk)
    registration.question = question
    if not moved and before == (registration.status, registration.social, registration.question):
        return registration
    _before_write()
    registration.save()
    _fill_and_notify(event)
    registration.refresh_from_db(fields=["status", "social", "updated_at"])
    notifications.changed(registration, lost_seat=moved and registration.status == WAITLISTED)
    return registration


@transaction.atomic
def cancel_registration(*, registration: Registration, by: User) -> Registration:
    """Cancel; the freed seat (and 懇親会 seat) goes to the first waitlisted
    person who fits, who is told. Cancelling twice changes nothing."""
    event = _lock_event(registration.event_id)
    registration = Registration.objects.select_related("event", "user", "session").get(
        pk=registration.pk
    )
    if not _may_change(registration, by):
        raise RegistrationError(_("この申し込みはキャンセルできません。"), code="forbidden")
    if registration.status == CANCELLED:
        return registration
    if event.status != Event.Status.PUBLISHED and not _is_manager(by):
        raise RegistrationError(
            _("このイベントの申し込みはキャンセルできません。"), code="not_published"
        )
    registration.status = CANCELLED
    registration.cancelled_at = timezone.now()
    registration.confirmation_token_hash = ""
    registration.save(
        update_fields=["status", "cancelled_at", "confirmation_token_hash", "updated_at"]
    )
    notifications.cancelled(registration)
    _fill_and_notify(event)
    return registration


@transaction.atomic
def confirm_over_capacity(*, registration: Registration, by: User) -> Registration:
    """The secretariat confirms a waitlisted person although the mode or
    session is full (a speaker, a host, a promise made on the phone). The
    person is told as if promoted; nobody else's seat changes."""
    _require_manager(by)
    _lock_event(registration.event_id)
    registration = Registration.objects.select_for_update().get(pk=registration.pk)
    if registration.status != WAITLISTED:
        raise RegistrationError(
            _("キャンセル待ちの申し込みだけを定員を超えて確定できます。"), code="not_waitlisted"
        )
    registration.status = CONFIRMED
    registration.save(update_fields=["status", "updated_at"])
    notifications.promoted(registration)
    return registration


@transaction.atomic
def set_attended(*, registration: Registration, attended: bool, by: User) -> Registration:
    """Check-in on the day (or undo it)."""
    _require_manager(by)
    registration = Registration.objects.select_for_update().get(pk=registration.pk)
    if registration.status == CANCELLED and attended:
        raise RegistrationError(_("キャンセル済みの申し込みです。"), code="cancelled")
    if registration.attended != attended:
        registration.attended = attended
        registration.attended_at = timezone.now() if attended else None
        registration.save(update_fields=["attended", "attended_at", "updated_at"])
    return registration


@transaction.atomic
def fill_waitlist(*, event: Event, by: User) -> list[Registration]:
    """Promote waitlisted people into seats that exist now, e.g. after the
    secretariat raised a capacity; returns who was promoted (they are told)."""
    _require_manager(by)
    event = _lock_event(event.pk)
    if event.status != Event.Status.PUBLISHED:
        return []
    return _fill_and_notify(event)


# --- events ------------------------------------------------------------------------------


@transaction.atomic
def copy_event(*, event: Event, by: User) -> Event:
    """A draft copy with the same sessions, to be edited into the next meeting.
    Dates are kept (the form shows them for editing); registrations, materials
    and the cancellation are not copied."""
    _require_manager(by)
    source = Event.objects.get(pk=event.pk)
    copy = Event.objects.get(pk=event.pk)
    copy.pk = None
    copy._state.adding = True
    copy.title = (_("%(title)s（コピー）") % {"title": source.title})[:200]
    copy.status = Event.Status.DRAFT
    copy.cancellation_reason = ""
    copy.report_url = ""
    copy.video_url = ""
    copy.slides = ""
    copy.save()
    Session.objects.bulk_create(
        Session(
            event=copy,
            title=session.title,
            description=session.description,
            capacity=session.capacity,
            order=session.order,
        )
        for session in source.sessions.all()
    )
    return copy


@transaction.atomic
def publish_event(*, event: Event, by: User) -> Event:
    _require_manager(by)
    event = _lock_event(event.pk)
    if event.status == Event.Status.PUBLISHED:
        return event
    if event.status != Event.Status.DRAFT:
        raise RegistrationError(
            _("中止または終了したイベントは公開できません。"), code="bad_status"
        )
    event.status = Event.Status.PUBLISHED
    event.save(update_fields=["status", "updated_at"])
    return event


@transaction.atomic
def cancel_event(*, event: Event, reason: str, by: User) -> Event:
    """Cancel the event and tell everyone with an active registration, with the reason."""
    _require_manager(by)
    reason = (reason or "").strip()
    if not reason:
        raise RegistrationError(_("中止の理由を入力してください。"), code="reason_required")
    event = _lock_event(event.pk)
    if event.status == Event.Status.CANCELLED:
        return event
    if event.status == Event.Status.FINISHED:
        raise RegistrationError(_("終了したイベントは中止できません。"), code="bad_status")
    event.status = Event.Status.CANCELLED
    event.cancellation_reason = reason
    event.save(update_fields=["status", "cancellation_reason", "updated_at"])
    for registration in (
        Registration.objects.filter(event=event).active().select_related("event", "user", "session")
    ):
        notifications.event_cancelled(registration)
    return event


@transaction.atomic
def finish_event(*, event: Event, by: User) -> Event:
    """Mark the event finished and send the thanks + materials mail to those who
    came (the checked-in, or every confirmed person when check-in was not used).
    Finishing again sends nothing twice."""
    _require_manager(by)
    event = _lock_event(event.pk)
    if event.status not in (Event.Status.PUBLISHED, Event.Status.FINISHED):
        raise RegistrationError(_("公開中のイベントだけを終了にできます。"), code="bad_status")
    if event.starts_at > timezone.now():
        raise RegistrationError(_("開催前のイベントは終了にできません。"), code="not_started")
    if event.status != Event.Status.FINISHED:
        event.status = Event.Status.FINISHED
        event.save(update_fields=["status", "updated_at"])
    queue_thanks(event)
    return event


def queue_thanks(event: Event) -> int:
    """Queue the thanks mail for everyone who came; returns how many were new."""
    present = Registration.objects.counted_as_present(event).select_related(
        "event", "user", "session"
    )
    return sum(1 for registration in present if notifications.thanks(registration))


@transaction.atomic
def send_bulk_message(
    *,
    event: Event,
    subject: str,
    body: str,
    statuses: list[str],
    by: User,
    message_id: str | None = None,
) -> int:
    """E-mail everyone whose registration has one of `statuses`; returns how many
    messages were queued (one outbox row per person).

    `message_id` (32 hex digits) names this message in the outbox keys: the
    preview step issues one, so a double-submitted send queues nothing twice."""
    _require_manager(by)
    subject = (subject or "").strip()
    body = (body or "").strip()
    if not subject or not body:
        raise RegistrationError(_("件名と本文を入力してください。"), code="empty")
    statuses = list(dict.fromkeys(statuses or []))
    if not statuses or any(s not in Registration.Status.values for s in statuses):
        raise RegistrationError(_("送信先の申込状態を選んでください。"), code="bad_statuses")
    if message_id is None:
        message_id = uuid.uuid4().hex
    elif not re.fullmatch(r"[0-9a-f]{32}", message_id):
        raise RegistrationError(_("送信内容の確認からやり直してください。"), code="bad_message_id")
    registrations = Registration.objects.filter(event=event, status__in=statuses).select_related(
        "event", "user", "session"
    )
    return sum(
        1
        for registration in registrations
        if notifications.bulk_message(
            registration, message_id=message_id, subject=subject, body=body
        )
    )
