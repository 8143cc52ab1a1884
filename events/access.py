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
"""

from django.db.models import F, Q

from network import access as network_access
from network.access import require

_PROGRAMS_ATTR = "_tsunagari_program_ids"
CONTRACTOR_KINDS = {"contractor", "support"}
# What members may see of the events' states: announced events only.
LISTED = Q(status__in=("published", "finished")) | Q(status="cancelled", published_at__isnull=False)


def can_manage_events(user) -> bool:
    return network_access.is_secretariat(user)


def _programs_query(user):
    """Programs run by the user's organisations, as an unevaluated queryset
    of pks (None when the user has no organisation)."""
    from network.models import Program

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


def audience_filter(user, *, lazy: bool = False) -> Q:
    """The audiences this user belongs to, as a filter on Event. `lazy`
    reads the user's programs inside the filter instead of beforehand."""
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
        if lazy and getattr(user, _PROGRAMS_ATTR, None) is None:
            programs = _programs_query(user)  # a subquery: no query of its own
        else:
            programs = _program_ids(user) or None
        if programs is not None:
            audiences |= Q(audience="program", audience_program__in=programs)
    return audiences


def visible_events(queryset, user, *, lazy: bool = False):
    if can_manage_events(user):
        return queryset
    return queryset.filter(audience_filter(user, lazy=lazy)).filter(LISTED)


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
    member sees those of the organisations their 自治体 commissions in the
    event's 年度; the secretariat sees all.

    Other people's registrations are shown only for events the viewer may
    see: the list must not tell the title, date and attendees of a meeting
    that answers 404 to them."""
    if can_manage_events(user):
        return queryset
    if not user.is_authenticated:
        return queryset.none()
    roles = network_access.roles(user)
    others = Q()
    if roles.admin_of:
        others |= Q(organisation__in=roles.admin_of)
    municipal_orgs = [
        org_id for org_id, (kind, _admin) in roles.memberships.items() if kind == "municipality"
    ]
    if municipal_orgs:
        # One Q, so both conditions hold for the same commission row.
        others |= Q(
            organisation__commissions_received__commissioner__in=municipal_orgs,
            organisation__commissions_received__fiscal_year=F("event__fiscal_year"),
        )
    condition = Q(user=user)
    if others:
        from .models import Event

        # Lazy: the rule costs no query of its own on this list.
        visible = visible_events(Event.objects.all(), user, lazy=True)
        condition |= others & Q(event__in=visible)
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
