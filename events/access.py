"""Who may see and do what with events (DESIGN §4). Every events rule lives here.

Visibility of an event follows its audience:
- public: everyone, also without an account;
- members: anyone inside the network;
- municipal: 自治体 members (plus committee and secretariat);
- contractor: members of 受託団体・支援団体 (plus committee and secretariat);
- program: members of organisations that run the event's program.
Drafts are seen by the secretariat only.
"""

from django.db.models import Q

from network import access as network_access
from network.access import require

_PROGRAMS_ATTR = "_tsunagari_program_ids"
CONTRACTOR_KINDS = {"contractor", "support"}
LISTED_STATUSES = ("published", "cancelled", "finished")


def can_manage_events(user) -> bool:
    return network_access.is_secretariat(user)


def _program_ids(user) -> set[int]:
    """Programs run by the user's organisations, read once per request."""
    cached = getattr(user, _PROGRAMS_ATTR, None)
    if cached is None:
        from network.models import Program

        org_ids = list(network_access.roles(user).memberships)
        cached = (
            set(Program.objects.filter(organisations__in=org_ids).values_list("pk", flat=True))
            if org_ids
            else set()
        )
        setattr(user, _PROGRAMS_ATTR, cached)
    return cached


def audience_filter(user) -> Q:
    """The audiences this user belongs to, as a filter on Event."""
    roles = network_access.roles(user)
    audiences = Q(audience="public")
    if not network_access.is_member(user):
        return audiences
    audiences |= Q(audience="members")
    staff = roles.secretariat or roles.committee
    kinds = roles.member_of_kinds
    if staff or "municipality" in kinds:
        audiences |= Q(audience="municipal")
    if staff or kinds & CONTRACTOR_KINDS:
        audiences |= Q(audience="contractor")
    if staff:
        audiences |= Q(audience="program")
    else:
        programs = _program_ids(user)
        if programs:
            audiences |= Q(audience="program", audience_program__in=programs)
    return audiences


def visible_events(queryset, user):
    if can_manage_events(user):
        return queryset
    return queryset.filter(audience_filter(user), status__in=LISTED_STATUSES)


def may_see_event(user, event) -> bool:
    from .models import Event

    return visible_events(Event.objects.filter(pk=event.pk), user).exists()


def may_register(user, event) -> bool:
    """Members register for events they can see; public events also take
    registrations from people without an account (through the public form)."""
    return event.status == "published" and (
        network_access.is_member(user) or event.audience == "public"
    )


def visible_registrations(queryset, user):
    """Own registrations; an org admin sees their organisations'; a 自治体
    member sees those of the organisations their 自治体 commissions; the
    secretariat sees all."""
    if can_manage_events(user):
        return queryset
    if not user.is_authenticated:
        return queryset.none()
    roles = network_access.roles(user)
    condition = Q(user=user)
    if roles.admin_of:
        condition |= Q(organisation__in=roles.admin_of)
    municipal_orgs = [
        org_id for org_id, (kind, _admin) in roles.memberships.items() if kind == "municipality"
    ]
    if municipal_orgs:
        condition |= Q(organisation__commissions_received__commissioner__in=municipal_orgs)
    return queryset.filter(condition).distinct()


def may_see_organisation_registrations(user, organisation) -> bool:
    """The list of an organisation's registrations: its org admins, members of
    a 自治体 that commissions it, and the secretariat. Being a member of the
    organisation is not enough (colleagues' plans are not shared by default)."""
    if can_manage_events(user):
        return True
    if not user.is_authenticated:
        return False
    roles = network_access.roles(user)
    if organisation.pk in roles.admin_of:
        return True
    municipal_orgs = [
        org_id for org_id, (kind, _admin) in roles.memberships.items() if kind == "municipality"
    ]
    if not municipal_orgs:
        return False
    from network.models import Commission

    return Commission.objects.filter(
        contractor=organisation, commissioner__in=municipal_orgs
    ).exists()


events_manager_required = require(can_manage_events)
