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

import datetime
import functools
import re
import uuid
from dataclasses import dataclass, field

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, ProtectedError, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.templatetags.wareki import jdate
from core.tokens import hash_token, new_token
from network.models import Organisation, User

from . import access, notifications, tallies
from .enums import (
    DECIDED_REGISTRATION_STATUSES,
    Attendance,
    EventStatus,
    RegistrationMode,
    RegistrationStatus,
    RegistrationWindow,
    SocialStatus,
)
from .models import Event, GuestRequest, Registration, RegistrationSearchKey, Session
from .querysets import registration_search_keys

CONFIRMED = RegistrationStatus.CONFIRMED
WAITLISTED = RegistrationStatus.WAITLISTED
PENDING = RegistrationStatus.PENDING
CANCELLED = RegistrationStatus.CANCELLED
SOCIAL_NONE = SocialStatus.NONE
SOCIAL_CONFIRMED = SocialStatus.CONFIRMED
SOCIAL_WAITLISTED = SocialStatus.WAITLISTED
# Registrations that hold (or wait for) a seat; a pending guest holds nothing.
DECIDED = DECIDED_REGISTRATION_STATUSES

# The public form mails whatever address it is given: bound how often one
# address is mailed and how often one client may send the form, so that it
# cannot be used to flood someone's mailbox.
GUEST_MAILS_PER_ADDRESS = 5
GUEST_ADDRESS_WINDOW = 24 * 60 * 60  # seconds
GUEST_FORMS_PER_CLIENT = 20
GUEST_CLIENT_WINDOW = 60 * 60
# An e-mailed confirmation link works this long; then the unconfirmed guest
# registration or request is discarded by the periodic sweep.
GUEST_CONFIRMATION_DAYS = 7


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


def _is_manager(user) -> bool:
    return user is not None and access.can_manage_events(user)


def _require_manager(by) -> None:
    if not _is_manager(by):
        raise RegistrationError(_("この操作を行う権限がありません。"), code="forbidden")


def _check_open(event: Event, *, managed: bool) -> None:
    """Is the event taking registrations (and changes) now? The secretariat may
    add or change registrations outside the window, e.g. on the day
    (Event.can_add_registrations); everyone else within it
    (Event.registration_window), told why not."""
    if not event.can_add_registrations():
        raise RegistrationError(
            _("このイベントは申し込みを受け付けていません。"), code="not_published"
        )
    if managed:
        return
    now = timezone.now()
    window = event.registration_window(now)
    if window == RegistrationWindow.NOT_YET:
        opens = timezone.localtime(event.registration_opens_at)
        raise RegistrationError(
            _("申込受付は%(when)sからです。") % {"when": f"{jdate(opens)} {opens:%H:%M}"},
            code="not_open_yet",
        )
    if window == RegistrationWindow.CLOSED:
        if event.registration_closes_at and now >= event.registration_closes_at:
            raise RegistrationError(_("申込受付は終了しました。"), code="closed")
        raise RegistrationError(_("このイベントは終了しました。"), code="ended")


def _check_choice(
    event: Event, *, mode: str, session: Session | None, social: bool
) -> Session | None:
    """Validate mode, session and 懇親会 against the event; returns the session
    re-read from the database (its capacity may have changed)."""
    if mode not in RegistrationMode.values:
        raise RegistrationError(_("参加方法を選んでください。"), code="bad_mode")
    if mode == RegistrationMode.VENUE and not event.offers_venue:
        raise RegistrationError(
            _("このイベントは会場での参加を受け付けていません。"), code="mode_not_offered"
        )
    if mode == RegistrationMode.ONLINE and not event.offers_online:
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
    organisations = list(access.registering_organisations(user).order_by("pk"))
    if organisation is None:
        if len(organisations) == 1:
            return organisations[0]
        if organisations:
            raise RegistrationError(
                _("どの所属組織として参加するか選んでください。"), code="organisation_required"
            )
        return None
    for candidate in organisations:
        if candidate.pk == organisation.pk:
            return candidate
    raise RegistrationError(_("選択した組織に所属していません。"), code="bad_organisation")


def _save_new(registration: Registration) -> None:
    """Write a registration that takes its place now. The partial unique
    index turns a concurrent duplicate into a refusal. No savepoint of its
    own (two round trips with the event locked): the refusal leaves the
    service's atomic block at once, which rolls back its transaction, or its
    savepoint when the caller had one open, so the caller's stays usable."""
    _before_write()
    try:
        registration.save()
    except IntegrityError as exc:
        raise RegistrationError(_("すでにお申し込み済みです。"), code="duplicate") from exc


def _index_for_search(registration: Registration, keys: set[str]) -> None:
    """The check-in search keys of a registration just written (one INSERT)."""
    RegistrationSearchKey.objects.bulk_create(
        RegistrationSearchKey(registration=registration, event_id=registration.event_id, key=key)
        for key in sorted(keys)
    )


def corrected(*, event_ids=(), registration_ids=()) -> None:
    """Events or registrations were written around the services (the admin's
    corrections): write again what the services derive from such a write —
    the registrations' check-in search keys, the events' dashboard tallies."""
    if registration_ids:
        Registration.objects.filter(pk__in=list(registration_ids)).index_for_search()
    tallies.refresh(event_ids)


def before_deleting_registrations(registration_ids) -> None:
    """Registrations are about to be deleted outright (the admin): they stop
    counting first, so that the tallies take away what they added."""
    registrations = Registration.objects.filter(pk__in=list(registration_ids))
    event_ids = set(registrations.values_list("event_id", flat=True).order_by())
    registrations.update(status=CANCELLED, attended=False, updated_at=timezone.now())
    tallies.refresh(event_ids)


def before_deleting_events(event_ids) -> None:
    """Events are about to be deleted outright (the admin): drop what they
    added to the dashboard's tallies (a deletion leaves nothing to recompute)."""
    tallies.forget(event_ids)


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
    """Promote from the seat and the 懇親会 waiting lists, then mail each person
    once: a promoted seat's mail states the 懇親会 as it stands after both
    promotions, and a 懇親会-only promotion gets its own mail."""
    seated = {r.pk for r in _promote_waitlisted(event)}
    socialised = {r.pk for r in _promote_social(event)}
    changed = (
        Registration.objects.filter(pk__in=seated | socialised)
        .select_related("event", "user", "session")
        .order_by("created_at", "pk")
    )
    result = []
    for registration in changed:
        if registration.pk in seated:
            notifications.promoted(registration)
        else:
            notifications.social_promoted(registration)
        result.append(registration)
    return result


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
    e-mailed link is opened; it is returned with `.raw_token` set.

    The event stays locked only for the seat decision and the writes that
    commit with it: the checks (roles, memberships, the session), the search
    keys and the mail are done before the lock, on the event as read then;
    under the lock the checks run again only if the event row changed
    meanwhile, and the mail is rendered again only if the outcome differs
    from the one expected."""
    managed = not guest and by is not None and _is_manager(by)
    seen = Event.objects.get(pk=event.pk)
    _check_registrant(seen, user, guest=guest, managed=managed)
    session = _check_choice(seen, mode=mode, session=session, social=social)
    organisation = None if guest else _organisation_for(user, organisation)
    held = set(
        Registration.objects.filter(event=seen, user=user).active().values_list("status", flat=True)
    )
    # An unconfirmed guest registration of the person themselves is discarded
    # below, under the lock; anything else active is a registration already.
    if held - ({PENDING} if not guest else set()):
        raise RegistrationError(_("すでにお申し込み済みです。"), code="duplicate")
    registration = Registration(
        event=seen,
        user=user,
        organisation=organisation,
        organisation_name=organisation_name.strip(),
        mode=mode,
        session=session,
    )
    registration.set_question(question)
    keys = registration_search_keys(registration)
    if guest:
        # No seat until confirmed; a requested 懇親会 is remembered as
        # "waitlisted" and decided on confirmation (pending rows are never
        # promoted).
        registration.status = PENDING
        registration.social = SOCIAL_WAITLISTED if social else SOCIAL_NONE
        _new_token(registration)
        mail = notifications.render_guest_confirm(registration, registration.raw_token)
    else:
        # The mail for the outcome the seats give now; rendered again under
        # the lock only if the decision turns out otherwise.
        registration.status, registration.social = _seat_decision(
            seen, mode, session, social, _seat_state(seen, session)
        )
        mail = notifications.render_registration_result(registration)

    event = _lock_event(seen.pk)
    if _row(event) != _row(seen):
        # Edited, published, cancelled… meanwhile: check again on the locked row.
        _check_registrant(event, user, guest=guest, managed=managed)
        session = _check_choice(event, mode=mode, session=session, social=social)
        registration.session = session
    else:
        # Time has passed while waiting for the lock: the window may have closed.
        _check_open(event, managed=managed)
    registration.event = event
    if not guest:
        _discard_unconfirmed_guest(event, user, pending=PENDING in held)
        state = _seat_state(event, session)
        if _may_promote(event, state):
            # Seats freed while nobody was promoting (e.g. a capacity raised in
            # the edit form) go to the people already waiting, before this newcomer.
            _fill_and_notify(event)
            state = _seat_state(event, session)
        registration.status, registration.social = _seat_decision(
            event, mode, session, social, state
        )
    _save_new(registration)
    _index_for_search(registration, keys)
    tallies.refresh([event.pk])
    if guest:
        notifications.guest_confirm(registration, registration.raw_token, rendered=mail)
    else:
        notifications.registration_result(registration, rendered=mail)
    return registration


def _row(event: Event) -> tuple:
    """The event's stored values: equal when nobody changed the row in between."""
    return tuple(getattr(event, f.attname) for f in Event._meta.concrete_fields)


# (column, condition) of what a seat decision reads; the condition's values
# follow it as parameters. Each is an indexed count or EXISTS over one event's
# registrations (reg_event_status_mode, reg_event_social, the session's index).
_BY_MODE = "{status} = %s AND {mode} = %s"
_BY_SOCIAL = "{status} IN (%s, %s) AND {social} = %s"
_VENUE, _ONLINE = RegistrationMode.VENUE, RegistrationMode.ONLINE
_SEAT_STATE = (
    ("confirmed_venue", "COUNT", _BY_MODE, (CONFIRMED, _VENUE)),
    ("confirmed_online", "COUNT", _BY_MODE, (CONFIRMED, _ONLINE)),
    ("waiting_venue", "EXISTS", _BY_MODE, (WAITLISTED, _VENUE)),
    ("waiting_online", "EXISTS", _BY_MODE, (WAITLISTED, _ONLINE)),
    ("social_taken", "COUNT", _BY_SOCIAL, (*DECIDED, SOCIAL_CONFIRMED)),
    ("social_waiting", "EXISTS", _BY_SOCIAL, (*DECIDED, SOCIAL_WAITLISTED)),
)
_SESSION_TAKEN = ("session_taken", "COUNT", "{status} = %s AND {session} = %s", (CONFIRMED,))


def _seat_columns(with_session: bool) -> tuple:
    return (*_SEAT_STATE, _SESSION_TAKEN) if with_session else _SEAT_STATE


@functools.cache
def _seat_state_sql(vendor: str, with_session: bool) -> str:
    """The query, built once per database kind (`vendor` keys the cache: quoting)."""
    quote = connection.ops.quote_name
    column = {
        name: quote(Registration._meta.get_field(name).column)
        for name in ("event", "status", "mode", "social", "session")
    }
    table = quote(Registration._meta.db_table)
    parts = []
    for name, kind, condition, _values in _seat_columns(with_session):
        where = f"{column['event']} = %s AND " + condition.format(**column)
        if kind == "COUNT":
            parts.append(f"(SELECT COUNT(*) FROM {table} WHERE {where}) AS {name}")
        else:
            parts.append(f"EXISTS (SELECT 1 FROM {table} WHERE {where}) AS {name}")
    return "SELECT " + ", ".join(parts)


def _seat_state(event: Event, session: Session | None) -> dict:
    """What a seat decision reads, in one query of indexed counts: the
    confirmed and whether anyone waits, per mode; the 懇親会's seats taken and
    whether anyone waits for one; the session's confirmed. Plain SQL, built
    once: compiling the same seven subqueries through the ORM took longer
    than running them, and it runs with the event locked."""
    columns = _seat_columns(session is not None)
    params: list = []
    for name, _kind, _condition, values in columns:
        params += [event.pk, *values]
        if name == "session_taken":
            params.append(session.pk)
    with connection.cursor() as cursor:
        cursor.execute(_seat_state_sql(connection.vendor, session is not None), params)
        row = cursor.fetchone()
    return {
        name: (bool(value) if kind == "EXISTS" else value)
        for (name, kind, _condition, _values), value in zip(columns, row, strict=True)
    }


def _may_promote(event: Event, state: dict) -> bool:
    """Could _fill_and_notify promote anyone: a waiting list in a mode, or of
    the 懇親会, that has a free seat? (Its session may still be full: then
    _fill_and_notify finds nobody to promote.)"""
    for mode in RegistrationMode.values:
        capacity = event.capacity_for(mode)
        if state[f"waiting_{mode}"] and (capacity is None or state[f"confirmed_{mode}"] < capacity):
            return True
    return bool(
        event.has_social
        and state["social_waiting"]
        and (event.social_capacity is None or state["social_taken"] < event.social_capacity)
    )


def _seat_decision(
    event: Event, mode: str, session: Session | None, social: bool, state: dict
) -> tuple[str, str]:
    """(status, 懇親会) of a newcomer by the counts in `state`, as _has_room
    and _social_status decide them."""
    capacity = event.capacity_for(mode)
    room = capacity is None or state[f"confirmed_{mode}"] < capacity
    if room and session is not None and session.capacity is not None:
        room = state["session_taken"] < session.capacity
    if not social:
        social_status = SOCIAL_NONE
    elif event.social_capacity is None or state["social_taken"] < event.social_capacity:
        social_status = SOCIAL_CONFIRMED
    else:
        social_status = SOCIAL_WAITLISTED
    return (CONFIRMED if room else WAITLISTED), social_status


def _check_registrant(event: Event, user: User, *, guest: bool, managed: bool) -> None:
    """May `user` be registered for `event` now: the window (not for the
    secretariat), an active account, and the audience (the public form for
    public events only; a member for an event they may see)."""
    _check_open(event, managed=managed)
    if not user.is_active:
        raise RegistrationError(_("このアカウントではお申し込みいただけません。"), code="inactive")
    if guest:
        if not event.is_public:
            raise RegistrationError(_("このイベントは一般公開されていません。"), code="not_public")
    elif not managed and not (
        access.may_register(user, event) and access.may_see_event(user, event)
    ):
        raise RegistrationError(_("このイベントにはお申し込みいただけません。"), code="not_allowed")


def _discard_unconfirmed_guest(event: Event, user: User, *, pending: bool = True) -> None:
    """The account holder registers themselves: what the public form left
    for their address and this event, unconfirmed, goes (its link stops
    working). Someone else may have typed their address; it must not stand
    in their way. `pending=False`: the person was seen to have no pending
    registration (none can appear for an existing account meanwhile: the
    public form makes one only for a new contact), so only the request is
    looked for."""
    if pending:
        Registration.objects.filter(event=event, user=user, status=PENDING).update(
            status=CANCELLED,
            cancelled_at=timezone.now(),
            confirmation_token_hash="",
            updated_at=timezone.now(),
        )
    GuestRequest.objects.filter(event=event, email__iexact=user.email).delete()


def _count_within(key: str, window: int) -> int:
    """Add one to a counter that starts at the first use and lasts `window`
    seconds; returns the new count. The cache is shared by the workers when
    Redis (or another shared cache) is configured."""
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return 1


def check_guest_rate(*, email: str, client: str) -> None:
    """Refuse the public form when this address was mailed, or this client
    sent the form, too often lately. Call it before register_guest, for every
    submission that would send a mail."""
    address = User.objects.normalize_email(email or "").lower()
    by_address = _count_within("events:guest:address:" + hash_token(address), GUEST_ADDRESS_WINDOW)
    by_client = _count_within(
        "events:guest:client:" + hash_token(client or ""), GUEST_CLIENT_WINDOW
    )
    if by_address > GUEST_MAILS_PER_ADDRESS or by_client > GUEST_FORMS_PER_CLIENT:
        raise RegistrationError(
            _(
                "短時間に同じメールアドレスや同じ接続元からの申込が続いたため、受け付けを止めています。"
                "しばらく時間をおいてからもう一度お試しください。"
            ),
            code="throttled",
        )


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
) -> Registration | GuestRequest:
    """A registration from the public form (public events only), confirmed by
    a link e-mailed to the address; the result has `.raw_token` set.

    An address without an account gets a contact user and a pending
    registration of it. An address that already belongs to an account gets a
    GuestRequest instead: nothing is attached to the account, and nothing of
    the form is written into it, until the link is opened from that mailbox.

    Sending the form again before confirming replaces the choices and mails a new
    link (the old one stops working). An existing account keeps its name."""
    email = User.objects.normalize_email(email)
    if not email:
        raise RegistrationError(_("メールアドレスを入力してください。"), code="email_required")
    choices = {
        "mode": mode,
        "session": session,
        "social": social,
        "question": question,
        "organisation_name": organisation_name,
    }
    user = User.objects.filter(email__iexact=email).first()
    pending = (
        Registration.objects.filter(event=event, user=user, status=PENDING).first()
        if user is not None
        else None
    )
    if pending is not None:
        # A contact this form created earlier and that has not confirmed yet.
        return _renew_pending(pending, **choices)
    if user is not None:
        return _request_for_account(
            event=event,
            email=email,
            full_name=full_name,
            full_name_kana=full_name_kana,
            **choices,
        )
    try:
        with transaction.atomic():
            user = User.objects.create_contact(
                email, full_name=full_name.strip(), full_name_kana=full_name_kana.strip()
            )
    except IntegrityError:
        # The same address sent twice at once: the other request made the
        # account, so this one must not attach to it.
        return _request_for_account(
            event=event,
            email=email,
            full_name=full_name,
            full_name_kana=full_name_kana,
            **choices,
        )
    return register(event=event, user=user, guest=True, **choices)


def _check_guest_event(event: Event) -> None:
    _check_open(event, managed=False)
    if not event.is_public:
        raise RegistrationError(_("このイベントは一般公開されていません。"), code="not_public")


def _apply_choices(target, event, *, mode, session, social, question, organisation_name) -> None:
    """The form's choices onto a pending registration or a GuestRequest, with
    a new token (returned through `.raw_token`)."""
    target.session = _check_choice(event, mode=mode, session=session, social=social)
    target.mode = mode
    # Decided on confirmation; until then "waitlisted" only remembers the wish.
    target.social = SOCIAL_WAITLISTED if social else SOCIAL_NONE
    target.set_question(question)
    target.organisation_name = organisation_name.strip()
    _new_token(target)


def _new_token(target) -> None:
    """A new confirmation link: only its hash is stored; the token itself
    travels in the mail and is handed back through `.raw_token`."""
    target.raw_token, target.confirmation_token_hash = new_token()


def _renew_pending(pending: Registration, **choices) -> Registration:
    event = _lock_event(pending.event_id)
    registration = Registration.objects.select_related("event", "user").get(pk=pending.pk)
    if registration.status != PENDING:
        raise RegistrationError(_("すでにお申し込み済みです。"), code="duplicate")
    _check_guest_event(event)
    _apply_choices(registration, event, **choices)
    registration.save()
    tallies.refresh([event.pk])
    notifications.guest_confirm(registration, registration.raw_token)
    return registration


def _request_for_account(
    *, event: Event, email: str, full_name: str, full_name_kana: str, **choices
) -> GuestRequest:
    event = _lock_event(event.pk)
    _check_guest_event(event)
    request = GuestRequest.objects.filter(event=event, email__iexact=email).first()
    if request is None:
        request = GuestRequest(event=event, email=email)
    request.event = event
    request.full_name = full_name.strip()
    request.full_name_kana = full_name_kana.strip()
    _apply_choices(request, event, **choices)
    request.save()
    notifications.guest_confirm(request, request.raw_token)
    return request


def find_pending_guest(token: str) -> Registration | GuestRequest | None:
    """What an e-mailed confirmation link stands for, if it is still usable."""
    token_hash = hash_token(token or "")
    registration = (
        Registration.objects.filter(status=PENDING, confirmation_token_hash=token_hash)
        .select_related("event", "user", "session")
        .first()
    )
    if registration is not None:
        return registration
    return (
        GuestRequest.objects.filter(confirmation_token_hash=token_hash)
        .select_related("event", "session")
        .first()
    )


def _seat_guest(event: Event, registration: Registration, *, social: bool) -> Registration:
    """Give a guest who just confirmed a seat (or the waiting list) by the
    seats free at this moment. Call with the event locked."""
    _fill_and_notify(event)
    registration.status = (
        CONFIRMED if _has_room(event, registration.mode, registration.session) else WAITLISTED
    )
    registration.social = _social_status(event, social, exclude_pk=registration.pk)
    registration.confirmation_token_hash = ""
    # The place in the waiting list counts from the confirmation: an unconfirmed
    # address held nothing and must not jump ahead of people who waited.
    registration.created_at = timezone.now()
    new = registration.pk is None  # a request that becomes the account's registration
    _save_new(registration)
    if new:
        _index_for_search(registration, registration_search_keys(registration))
    tallies.refresh([event.pk])
    notifications.registration_result(registration)
    return registration


@transaction.atomic
def confirm_guest(*, token: str) -> Registration:
    """Open the e-mailed link: the pending registration (or the request for
    an existing account, which becomes that account's registration) is
    confirmed or waitlisted by the seats free at this moment. The link works once."""
    invalid = RegistrationError(
        _("この確認リンクは無効か、すでに使われています。"), code="bad_token"
    )
    found = find_pending_guest(token)
    if found is None:
        raise invalid
    event = _lock_event(found.event_id)
    token_hash = hash_token(token or "")
    if isinstance(found, GuestRequest):
        return _confirm_request(event, found.pk, token_hash, invalid)
    registration = Registration.objects.select_related("event", "user", "session").get(pk=found.pk)
    # Re-checked under the lock: a concurrent click may have used the link.
    if registration.status != PENDING or registration.confirmation_token_hash != token_hash:
        raise invalid
    _check_open(event, managed=False)
    return _seat_guest(event, registration, social=registration.social != SOCIAL_NONE)


def _confirm_request(event: Event, pk: int, token_hash: str, invalid) -> Registration:
    request = GuestRequest.objects.filter(pk=pk, confirmation_token_hash=token_hash).first()
    if request is None:  # used or discarded meanwhile
        raise invalid
    _check_guest_event(event)
    # The mailbox is proven now: the request becomes the account's. The
    # account keeps its own name.
    user = User.objects.filter(email__iexact=request.email).first()
    if user is None:  # the account was deleted meanwhile
        user = User.objects.create_contact(
            request.email, full_name=request.full_name, full_name_kana=request.full_name_kana
        )
    if not user.is_active:
        raise RegistrationError(_("このアカウントではお申し込みいただけません。"), code="inactive")
    if Registration.objects.filter(event=event, user=user).active().exists():
        raise RegistrationError(_("すでにお申し込み済みです。"), code="duplicate")
    session = _check_choice(
        event,
        mode=request.mode,
        session=request.session,
        social=request.social != SOCIAL_NONE,
    )
    registration = Registration(
        event=event,
        user=user,
        organisation_name=request.organisation_name,
        mode=request.mode,
        session=session,
        question=request.question,
        question_flagged=request.question_flagged,
    )
    request.delete()
    return _seat_guest(event, registration, social=request.social != SOCIAL_NONE)


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
    if not access.may_change_registration(by, registration):
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
    registration.set_question(question)
    if not moved and before == (registration.status, registration.social, registration.question):
        return registration
    # Who did it (the person, or the secretariat on their behalf).
    registration.changed_by = by
    registration.changed_at = timezone.now()
    _before_write()
    registration.save()
    _fill_and_notify(event)
    tallies.refresh([event.pk])
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
    if not access.may_change_registration(by, registration):
        raise RegistrationError(_("この申し込みはキャンセルできません。"), code="forbidden")
    if registration.is_cancelled:
        return registration
    if not _is_manager(by) and not registration.can_be_cancelled_by_owner():
        raise RegistrationError(
            _("このイベントの申し込みはキャンセルできません。"), code="not_published"
        )
    registration.status = CANCELLED
    registration.cancelled_at = timezone.now()
    registration.cancelled_by = by
    registration.confirmation_token_hash = ""
    registration.save(
        update_fields=[
            "status",
            "cancelled_at",
            "cancelled_by",
            "confirmation_token_hash",
            "updated_at",
        ]
    )
    notifications.cancelled(registration)
    _fill_and_notify(event)
    tallies.refresh([event.pk])
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
    tallies.refresh([registration.event_id])
    notifications.promoted(registration)
    return registration


@transaction.atomic
def set_attended(*, registration: Registration, attended: bool, by: User) -> Registration:
    """Check-in on the day (or undo it)."""
    _require_manager(by)
    registration = (
        Registration.objects.select_for_update(of=("self",))
        .select_related("event")
        .get(pk=registration.pk)
    )
    if not registration.event.can_check_in():
        raise RegistrationError(
            _("受付できるのは公開中か終了したイベントだけです。"), code="not_checking_in"
        )
    if registration.is_cancelled and attended:
        raise RegistrationError(_("キャンセル済みの申し込みです。"), code="cancelled")
    if registration.attended != attended:
        registration.attended = attended
        registration.attended_at = timezone.now() if attended else None
        registration.save(update_fields=["attended", "attended_at", "updated_at"])
        tallies.refresh([registration.event_id])
    return registration


@transaction.atomic
def fill_waitlist(*, event: Event, by: User) -> list[Registration]:
    """Promote waitlisted people into seats that exist now, e.g. after the
    secretariat raised a capacity; returns who was promoted (they are told)."""
    _require_manager(by)
    event = _lock_event(event.pk)
    if not event.is_published:
        return []
    promoted = _fill_and_notify(event)
    if promoted:
        tallies.refresh([event.pk])
    return promoted


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
    copy.status = EventStatus.DRAFT
    copy.published_at = None
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
    if event.is_published:
        return event
    if not event.can_be_published():
        raise RegistrationError(
            _("中止または終了したイベントは公開できません。"), code="bad_status"
        )
    event.status = EventStatus.PUBLISHED
    event.published_at = timezone.now()
    event.save(update_fields=["status", "published_at", "updated_at"])
    tallies.refresh([event.pk])
    return event


@transaction.atomic
def cancel_event(*, event: Event, reason: str, by: User) -> Event:
    """Cancel a published event and tell everyone with an active registration,
    with the reason. A draft is not cancelled (nobody was told of it): it is
    deleted (delete_draft_event)."""
    _require_manager(by)
    reason = (reason or "").strip()
    if not reason:
        raise RegistrationError(_("中止の理由を入力してください。"), code="reason_required")
    event = _lock_event(event.pk)
    if event.is_cancelled:
        return event
    if event.is_draft:
        raise RegistrationError(
            _("下書きは中止にできません。不要な下書きは削除してください。"), code="draft"
        )
    if not event.can_be_cancelled():
        raise RegistrationError(_("終了したイベントは中止できません。"), code="bad_status")
    event.status = EventStatus.CANCELLED
    event.cancellation_reason = reason
    event.save(update_fields=["status", "cancellation_reason", "updated_at"])
    tallies.refresh([event.pk])
    for registration in (
        Registration.objects.filter(event=event).active().select_related("event", "user", "session")
    ):
        notifications.event_cancelled(registration)
    return event


@transaction.atomic
def delete_draft_event(*, event: Event, by: User) -> str:
    """Delete a draft nobody registered for, with its sessions; returns its
    title. A published event is cancelled instead (its audience saw it)."""
    _require_manager(by)
    event = _lock_event(event.pk)
    if not event.is_draft:
        raise RegistrationError(
            _("削除できるのは下書きだけです。公開したイベントは中止にしてください。"),
            code="not_draft",
        )
    if not event.can_be_deleted():
        raise RegistrationError(_("申込がある下書きは削除できません。"), code="has_registrations")
    title, slides = event.title, event.slides
    try:
        with transaction.atomic():
            tallies.forget([event.pk])
            event.delete()
    except ProtectedError as exc:
        raise RegistrationError(
            _(
                "アンケートなど、ほかの記録がこのイベントを対象にしているため削除できません。"
                "先にそちらの対象イベントを外してください。"
            ),
            code="referenced",
        ) from exc
    if slides:
        # The file goes only once the row is really gone.
        name, storage = slides.name, slides.storage
        transaction.on_commit(lambda: storage.delete(name))
    return title


# --- changing an event's date, place or online link -------------------------------


@dataclass(frozen=True)
class DetailChange:
    """One detail registrants were told and that is now different."""

    field: str  # "when", "place" or "online_url"
    label: str
    before: str
    after: str

    @property
    def is_online_url(self) -> bool:
        return self.field == "online_url"


@dataclass
class EventUpdate:
    event: Event
    changes: list[DetailChange] = field(default_factory=list)
    # How many people are (or, in a preview, would be) told.
    recipients: int = 0


def detail_changes(*, before: Event, after: Event) -> list[DetailChange]:
    """What registrants of `before` were told that `after` changes: the date
    and time (as the mails print them), the venue, the online link."""
    changes = []
    old_when, new_when = notifications.format_when(before), notifications.format_when(after)
    if old_when != new_when:
        changes.append(DetailChange("when", _("日時"), old_when, new_when))
    old_place = notifications.format_place(before)
    new_place = notifications.format_place(after)
    if old_place.strip() != new_place.strip():
        unset = _("（未定）")
        changes.append(DetailChange("place", _("会場"), old_place or unset, new_place or unset))
    if (before.online_url or "").strip() != (after.online_url or "").strip():
        unset = _("（未定）")
        changes.append(
            DetailChange(
                "online_url",
                _("オンライン参加URL"),
                before.online_url or unset,
                after.online_url or unset,
            )
        )
    return changes


def _change_audience(changes: list[DetailChange]) -> Q | None:
    """Who hears of these changes: a new date or time everyone with a seat or
    on a waiting list; a new venue those coming to the venue; a new online
    link those confirmed online (only they ever get the link). An unconfirmed
    guest registration is told nothing: its address is not proven."""
    fields = {change.field for change in changes}
    audience = Q(pk__in=[])
    if "when" in fields:
        audience |= Q(status__in=DECIDED)
    if "place" in fields:
        audience |= Q(status__in=DECIDED, mode=RegistrationMode.VENUE)
    if "online_url" in fields:
        audience |= Q(status=CONFIRMED, mode=RegistrationMode.ONLINE)
    return audience


def changes_for(registration: Registration, changes: list[DetailChange]) -> list[DetailChange]:
    """The changes that concern this person (see _change_audience)."""
    venue = registration.is_venue
    online_seat = registration.is_online and registration.is_confirmed
    return [
        change
        for change in changes
        if change.field == "when"
        or (change.field == "place" and venue)
        or (change.field == "online_url" and online_seat)
    ]


def _change_recipients(event: Event, changes: list[DetailChange]):
    if not changes:
        return Registration.objects.none()
    return Registration.objects.filter(event=event).filter(_change_audience(changes))


def preview_event_update(*, event: Event) -> EventUpdate:
    """What saving `event` (an unsaved instance holding the edited values)
    would change for registrants, and how many would be told. Nothing is
    written; the edit page shows this before asking to confirm."""
    stored = Event.objects.get(pk=event.pk)
    if not stored.notifies_changes():
        return EventUpdate(event=event)
    changes = detail_changes(before=stored, after=event)
    return EventUpdate(
        event=event,
        changes=changes,
        recipients=_change_recipients(stored, changes).count(),
    )


@transaction.atomic
def update_event(*, event: Event, by: User, change_id: str | None = None) -> EventUpdate:
    """Save the secretariat's edit of `event` (an unsaved instance holding the
    new values, e.g. EventForm.save(commit=False)).

    When the date, time, venue or online link of a published event changes,
    the people concerned are mailed the new details once. The outbox key
    names the change (`change_id`, 32 hex digits, issued by the confirmation
    page) and the registration: confirming twice queues nothing twice, and a
    second save compares against the saved values and finds nothing to tell."""
    _require_manager(by)
    if change_id is None:
        change_id = uuid.uuid4().hex
    elif not re.fullmatch(r"[0-9a-f]{32}", change_id):
        raise RegistrationError(_("変更内容の確認からやり直してください。"), code="bad_change_id")
    stored = _lock_event(event.pk)
    # The status moves only through publish / cancel / finish.
    event.status = stored.status
    event.published_at = stored.published_at
    event.cancellation_reason = stored.cancellation_reason
    changes = detail_changes(before=stored, after=event) if stored.notifies_changes() else []
    event.save()
    # A new 年度, date or kind moves the event in the dashboard's tallies.
    tallies.refresh([event.pk])
    recipients = (
        _change_recipients(event, changes).select_related("event", "user", "session")
        if changes
        else []
    )
    told = 0
    for registration in recipients:
        if notifications.event_changed(
            registration, change_id=change_id, changes=changes_for(registration, changes)
        ):
            told += 1
    return EventUpdate(event=event, changes=changes, recipients=told)


@transaction.atomic
def finish_event(*, event: Event, by: User) -> Event:
    """Mark the event finished and send the thanks + materials mail to those who
    came (counted_as_present: judged per mode — the checked-in of a mode where
    check-in was used, every confirmed person of a mode where it was not).
    Finishing again sends nothing twice."""
    _require_manager(by)
    event = _lock_event(event.pk)
    if event.awaits_start():
        raise RegistrationError(_("開催前のイベントは終了にできません。"), code="not_started")
    if not (event.can_be_finished() or event.can_send_thanks()):
        raise RegistrationError(_("公開中のイベントだけを終了にできます。"), code="bad_status")
    if not event.is_finished:
        event.status = EventStatus.FINISHED
        event.save(update_fields=["status", "updated_at"])
        tallies.refresh([event.pk])
    queue_thanks(event)
    return event


def queue_thanks(event: Event) -> int:
    """Queue the thanks mail for everyone who came (counted_as_present) and
    has not had it; returns how many were new. finish_event and the periodic
    sweep (tasks.sweep_thanks) both send through here."""
    present = Registration.objects.counted_as_present(event).select_related(
        "event", "user", "session"
    )
    return notifications.queue_each(present, notifications.thanks_key, notifications.thanks)


# --- bulk message -----------------------------------------------------------------------

ATTENDANCE_PRESENT = Attendance.PRESENT
ATTENDANCE_ABSENT = Attendance.ABSENT
NO_SESSION = "none"


@dataclass(frozen=True)
class BulkAudience:
    """Who a bulk message goes to. An empty filter selects everyone.

    * statuses: registration statuses (参加確定, キャンセル待ち …), at least one;
    * mode: 会場 or オンライン;
    * session: a session's id (as text), or NO_SESSION for those without one;
    * social: a 懇親会 status (参加確定, キャンセル待ち, 参加しない);
    * attendance: ATTENDANCE_PRESENT — counted as present (the rule of
      Registration.objects.present: per mode, checked in where check-in was
      used, otherwise confirmed) — or ATTENDANCE_ABSENT, everyone else selected."""

    statuses: tuple[str, ...] = (CONFIRMED,)
    mode: str = ""
    session: str = ""
    social: str = ""
    attendance: str = ""


def bulk_message_recipients(*, event: Event, audience: BulkAudience):
    """The registrations a bulk message goes to, in name order: the one
    selection behind both the preview (count, list, sample mail) and the send.
    Refuses a filter value that does not belong to the event."""
    statuses = list(dict.fromkeys(audience.statuses or ()))
    if not statuses or any(s not in RegistrationStatus.values for s in statuses):
        raise RegistrationError(_("送信先の申込状態を選んでください。"), code="bad_statuses")
    registrations = Registration.objects.filter(event=event, status__in=statuses)
    if audience.mode:
        if audience.mode not in RegistrationMode.values:
            raise RegistrationError(_("参加方法の指定が正しくありません。"), code="bad_mode")
        registrations = registrations.filter(mode=audience.mode)
    if audience.session == NO_SESSION:
        registrations = registrations.filter(session__isnull=True)
    elif audience.session:
        session = (
            event.sessions.filter(pk=audience.session).first()
            if audience.session.isdigit()
            else None
        )
        if session is None:
            raise RegistrationError(_("分科会の指定が正しくありません。"), code="bad_session")
        registrations = registrations.filter(session=session)
    if audience.social:
        if audience.social not in SocialStatus.values:
            raise RegistrationError(_("懇親会の指定が正しくありません。"), code="bad_social")
        registrations = registrations.filter(social=audience.social)
    if audience.attendance == ATTENDANCE_PRESENT:
        registrations = registrations.present()
    elif audience.attendance == ATTENDANCE_ABSENT:
        present = Registration.objects.counted_as_present(event)
        registrations = registrations.exclude(pk__in=present.values("pk"))
    elif audience.attendance:
        raise RegistrationError(_("出欠の指定が正しくありません。"), code="bad_attendance")
    return registrations.select_related("event", "user", "session", "organisation").order_by(
        "user__full_name_kana", "user__email", "pk"
    )


@dataclass(frozen=True)
class BulkPreview:
    """What the secretariat checks before sending: how many, to whom (the
    first `limit`, the rest as 「ほか N名」) and the mail as the first of
    them receives it (only the greeting differs from person to person)."""

    count: int
    recipients: list
    more: int
    subject: str
    body: str


def preview_bulk_message(
    *, event: Event, subject: str, body: str, audience: BulkAudience, limit: int = 50
) -> BulkPreview:
    recipients = bulk_message_recipients(event=event, audience=audience)
    count = recipients.count()
    shown = list(recipients[:limit])
    text = ("", "")
    if shown:
        text = notifications.bulk_message_text(
            shown[0], subject=(subject or "").strip(), body=(body or "").strip()
        )
    return BulkPreview(
        count=count, recipients=shown, more=count - len(shown), subject=text[0], body=text[1]
    )


@transaction.atomic
def send_bulk_message(
    *,
    event: Event,
    subject: str,
    body: str,
    by: User,
    statuses: list[str] | None = None,
    audience: BulkAudience | None = None,
    message_id: str | None = None,
) -> int:
    """E-mail everyone bulk_message_recipients selects (`audience`, or just
    `statuses`); returns how many messages were queued (one outbox row per person).

    `message_id` (32 hex digits) names this message in the outbox keys: the
    preview step issues one, so a double-submitted send queues nothing twice."""
    _require_manager(by)
    if not event.can_send_bulk_message():
        raise RegistrationError(
            _("下書きのイベントには申込者がいないため、メールを送れません。"), code="draft"
        )
    subject = (subject or "").strip()
    body = (body or "").strip()
    if not subject or not body:
        raise RegistrationError(_("件名と本文を入力してください。"), code="empty")
    if audience is None:
        audience = BulkAudience(statuses=tuple(statuses or ()))
    if message_id is None:
        message_id = uuid.uuid4().hex
    elif not re.fullmatch(r"[0-9a-f]{32}", message_id):
        raise RegistrationError(_("送信内容の確認からやり直してください。"), code="bad_message_id")
    registrations = bulk_message_recipients(event=event, audience=audience)
    return sum(
        1
        for registration in registrations
        if notifications.bulk_message(
            registration, message_id=message_id, subject=subject, body=body
        )
    )


def discard_unconfirmed_guests(*, now=None) -> int:
    """Unconfirmed guest registrations and requests, older than
    GUEST_CONFIRMATION_DAYS or of an event that has started, are let go: a
    pending registration is cancelled (it never held a seat, so nobody is
    promoted and nobody is mailed) and its link stops working; a request is
    deleted. Idempotent; returns how many were discarded."""
    now = now or timezone.now()
    stale = Q(created_at__lt=now - datetime.timedelta(days=GUEST_CONFIRMATION_DAYS)) | Q(
        event__starts_at__lte=now
    )
    with transaction.atomic():
        pending = Registration.objects.filter(stale, status=PENDING)
        event_ids = set(pending.values_list("event_id", flat=True).order_by())
        cancelled = pending.update(
            status=CANCELLED, cancelled_at=now, confirmation_token_hash="", updated_at=now
        )
        tallies.refresh(event_ids)
        deleted, _rows = GuestRequest.objects.filter(stale).delete()
    return cancelled + deleted
