"""Who may see and do what with events (DESIGN §4). Every events rule lives here.

Visibility of an event follows its audience:
- public: everyone, also without an account;
- members: anyone inside the network;
- municipal: 自治体 members (plus committee and secretariat);
- contractor: members of 受託団体・支援団体 (plus committee and secretariat);
- program: members of organisations that run the event's program.
Drafts are seen by the secretariat only, and so is a cancelled event that
was never published (published_at unset): calling off a draft must not
announce it.

What an event's *status* allows (publish, check in, register now…) is the
event's own rule (Event.can_…, models.py); who may do it is here. This
module imports the app's enums and the network app only, never the events
models, so models → querysets → access has no cycle. tests/test_event_access_rules.py
tests every function here over the named actors and the events' states.
"""

from django.db.models import F, Q

from network import access as network_access
from network.access import require
from network.enums import OrganisationKind
from network.models import Commission, Organisation, Program

from .enums import ANNOUNCED_EVENT_STATUSES, EventAudience, EventStatus

_PROGRAMS_ATTR = "_tsunagari_program_ids"
CONTRACTOR_KINDS = {OrganisationKind.CONTRACTOR, OrganisationKind.SUPPORT}


def _q(prefix: str, **lookups) -> Q:
    """A filter on Event, or on the event of a related row (`prefix` "event__")."""
    return Q(**{prefix + name: value for name, value in lookups.items()})


def listed_q(prefix: str = "") -> Q:
    """What members may see of the events' states: announced events only (a
    cancelled event only if it had been published)."""
    return _q(prefix, status__in=ANNOUNCED_EVENT_STATUSES) | _q(
        prefix, status=EventStatus.CANCELLED, published_at__isnull=False
    )


# Kept for callers that filter Event directly.
LISTED = listed_q()


def _is_active(user) -> bool:
    """A logged-in, active account (an inactive one can do nothing, even with
    a session that predates its deactivation)."""
    return user is not None and user.is_authenticated and user.is_active


def can_manage_events(user) -> bool:
    return network_access.is_secretariat(user)


def _programs_query(user):
    """Programs run by the user's organisations, as an unevaluated queryset
    of pks (None when the user has no organisation)."""
    org_ids = list(network_access.roles(user).memberships)
    if not org_ids:
        return None
    return Program.objects.filter(organisations__in=org_ids).values_list("pk", flat=True)


def _program_ids(user) -> set[int]:
    """Programs run by the user's organisations, read once per request."""
    cached = getattr(user, _PROGRAMS_ATTR, None)
    if cached is None:
        query = _programs_query(user)
        cached = set(query) if query is not None else set()
        setattr(user, _PROGRAMS_ATTR, cached)
    return cached


def audience_filter(user, *, lazy: bool = False, prefix: str = "") -> Q:
    """The audiences this user belongs to, as a filter on Event (or, with
    `prefix`, on a relation to it). `lazy` reads the user's programs inside
    the filter instead of beforehand."""
    roles = network_access.roles(user)
    audiences = _q(prefix, audience=EventAudience.PUBLIC)
    if not network_access.is_member(user):
        return audiences
    audiences |= _q(prefix, audience=EventAudience.MEMBERS)
    staff = roles.secretariat or roles.committee
    kinds = roles.member_of_kinds
    if staff or OrganisationKind.MUNICIPALITY in kinds:
        audiences |= _q(prefix, audience=EventAudience.MUNICIPAL)
    if staff or kinds & CONTRACTOR_KINDS:
        audiences |= _q(prefix, audience=EventAudience.CONTRACTOR)
    if staff:
        audiences |= _q(prefix, audience=EventAudience.PROGRAM)
    else:
        if lazy and getattr(user, _PROGRAMS_ATTR, None) is None:
            programs = _programs_query(user)  # a subquery: no query of its own
        else:
            programs = _program_ids(user) or None
        if programs is not None:
            audiences |= _q(prefix, audience=EventAudience.PROGRAM, audience_program__in=programs)
    return audiences


def visible_events(queryset, user, *, lazy: bool = False):
    if can_manage_events(user):
        return queryset
    return queryset.filter(audience_filter(user, lazy=lazy)).filter(listed_q())


def may_see_event(user, event) -> bool:
    return visible_events(type(event).objects.filter(pk=event.pk), user).exists()


# --- registering ---------------------------------------------------------------------


def may_register(user, event) -> bool:
    """Members register for events they can see; public events also take
    registrations from people without an account (through the public form).
    Whether the registration window is open is the event's own rule
    (Event.can_take_registrations)."""
    return event.is_published and (network_access.is_member(user) or event.is_public)


def may_register_as_member(user, event, now=None) -> bool:
    """The member form (with the account and its organisation), now."""
    return (
        network_access.is_member(user)
        and may_register(user, event)
        and event.can_take_registrations(now)
    )


def may_register_as_guest(user, event, now=None) -> bool:
    """The public form (name and e-mail, confirmed by a link): a public event,
    for visitors outside the network; members use their account instead."""
    return (
        not network_access.is_member(user)
        and event.is_public
        and may_register(user, event)
        and event.can_take_registrations(now)
    )


def registering_organisations(user):
    """The organisations a member may register for: the active ones they
    belong to (the form offers them, the service checks the choice)."""
    if not _is_active(user):
        return Organisation.objects.none()
    return Organisation.objects.filter(memberships__user=user, is_active=True)


def may_change_registration(user, registration) -> bool:
    """Change or cancel a registration: the person themselves, or the
    secretariat on their behalf. (When the event allows it is the
    registration's own rule, Registration.can_be_changed_by_owner and friends.)"""
    if not _is_active(user):
        return False
    return user.pk == registration.user_id or can_manage_events(user)


def own_registrations(queryset, user):
    """The user's own registrations among those they may see: what the
    change and cancel pages fetch from, so anyone else's answers 404."""
    if not _is_active(user):
        return queryset.none()
    return visible_registrations(queryset, user).filter(user=user)


def may_see_online_url(user, event, registration) -> bool:
    """The online URL is shown only to the person whose online seat is
    confirmed, while the event is announced and to be held."""
    return bool(
        event.online_url
        and registration is not None
        and _is_active(user)
        and registration.user_id == user.pk
        and registration.event_id == event.pk
        and registration.is_confirmed
        and registration.is_online
        and event.is_published
    )


def may_read_feed(feed) -> bool:
    """The personal calendar feed (a secret URL) works while its account is active."""
    return feed is not None and feed.user.is_active


# --- other people's registrations ------------------------------------------------------


def _commissioning_municipalities(user) -> set[int]:
    """The user's 自治体 (active organisations of that kind)."""
    return {
        org_id
        for org_id, (kind, _admin) in network_access.roles(user).memberships.items()
        if kind == OrganisationKind.MUNICIPALITY
    }


def visible_registrations(queryset, user):
    """Own registrations; an org admin sees their organisations'; a 自治体
    member sees those of the organisations their 自治体 commissions in the
    event's 年度; the secretariat sees all.

    Other people's registrations are shown only for events the viewer may
    see: the list must not tell the title, date and attendees of a meeting
    that answers 404 to them."""
    if can_manage_events(user):
        return queryset
    if not _is_active(user):
        return queryset.none()
    roles = network_access.roles(user)
    others = Q()
    if roles.admin_of:
        others |= Q(organisation__in=roles.admin_of)
    municipal_orgs = _commissioning_municipalities(user)
    if municipal_orgs:
        # One Q, so both conditions hold for the same commission row.
        others |= Q(
            organisation__commissions_received__commissioner__in=municipal_orgs,
            organisation__commissions_received__fiscal_year=F("event__fiscal_year"),
        )
    condition = Q(user=user)
    if others:
        # The event's own visibility, on the registration's event: lazy, so
        # the rule costs no query of its own on this list.
        visible = audience_filter(user, lazy=True, prefix="event__") & listed_q("event__")
        condition |= others & visible
    return queryset.filter(condition).distinct()


def may_see_organisation_registrations(user, organisation) -> bool:
    """The list of an organisation's registrations: its org admins, members of
    a 自治体 that commissions it, and the secretariat. Being a member of the
    organisation is not enough (colleagues' plans are not shared by default)."""
    if can_manage_events(user):
        return True
    if not _is_active(user):
        return False
    if organisation.pk in network_access.roles(user).admin_of:
        return True
    municipal_orgs = _commissioning_municipalities(user)
    if not municipal_orgs:
        return False
    return Commission.objects.filter(
        contractor=organisation, commissioner__in=municipal_orgs
    ).exists()


def followed_organisations(user) -> set[int]:
    """The organisations whose 申込状況 the user's own list links to: those they
    administer (a 自治体 reaches the ones it commissions from their pages)."""
    return network_access.roles(user).admin_of


events_manager_required = require(can_manage_events)
