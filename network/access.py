"""Who may do what in the network app (DESIGN §4). Every rule lives here.

Views never test groups or flags themselves: they call these predicates or
fetch through the scoped querysets (`Organisation.objects.visible_to(user)`),
which call these predicates too. Anything a user may not see answers 404.

A user's roles are read once per request object (two small queries) and kept
on the user instance.

This module imports nothing of the app but its enums (the memberships are
read through the user's reverse relation), so models and querysets can use it
without an import cycle.
"""

from dataclasses import dataclass, field
from functools import wraps

from django.conf import settings
from django.http import Http404

from .enums import OrganisationKind

SECRETARIAT_GROUP = "secretariat"
COMMITTEE_GROUP = "committee"
_CACHE_ATTR = "_tsunagari_roles"


@dataclass(frozen=True)
class Roles:
    authenticated: bool = False
    superuser: bool = False
    secretariat: bool = False
    committee: bool = False
    # organisation id -> (kind, is_org_admin), active organisations only
    memberships: dict = field(default_factory=dict)

    @property
    def member_of_kinds(self) -> set[str]:
        return {kind for kind, _admin in self.memberships.values()}

    @property
    def admin_of(self) -> set[int]:
        return {org_id for org_id, (_kind, admin) in self.memberships.items() if admin}

    def organisations_of_kind(self, kind: OrganisationKind) -> set[int]:
        """The active organisations of this kind the user belongs to."""
        return {org_id for org_id, (k, _admin) in self.memberships.items() if k == kind}


def roles(user) -> Roles:
    if user is None or not user.is_authenticated or not user.is_active:
        return Roles()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    groups = set(user.groups.values_list("name", flat=True))
    memberships = {
        org_id: (kind, admin)
        for org_id, kind, admin in user.memberships.filter(
            organisation__is_active=True
        ).values_list("organisation_id", "organisation__kind", "is_org_admin")
    }
    result = Roles(
        authenticated=True,
        superuser=user.is_superuser,
        secretariat=user.is_superuser or SECRETARIAT_GROUP in groups,
        committee=COMMITTEE_GROUP in groups,
        memberships=memberships,
    )
    setattr(user, _CACHE_ATTR, result)
    return result


def forget_roles(user) -> None:
    """Drop the per-request cache after changing a user's memberships or groups."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


# --- predicates ---------------------------------------------------------------


def is_secretariat(user) -> bool:
    return roles(user).secretariat


def is_committee(user) -> bool:
    return roles(user).committee


def is_member(user) -> bool:
    """Anyone inside the network: staff of an active organisation, the committee,
    the secretariat. A logged-in user without any of these sees public pages only."""
    r = roles(user)
    return r.secretariat or r.committee or bool(r.memberships)


def is_municipal_member(user) -> bool:
    """May see 自治体-only events and topics."""
    r = roles(user)
    return r.secretariat or r.committee or OrganisationKind.MUNICIPALITY in r.member_of_kinds


def is_org_admin(user) -> bool:
    return bool(roles(user).admin_of)


def can_view_dashboard(user) -> bool:
    r = roles(user)
    return r.secretariat or r.committee


def can_manage_organisation(user, organisation) -> bool:
    """Edit the profile and the staff list, invite colleagues."""
    r = roles(user)
    if r.secretariat:
        return True
    return organisation.is_active and organisation.pk in r.admin_of


def can_manage_network(user) -> bool:
    """Create organisations, review join requests, manage every membership;
    set an organisation's kind, flags and 振興局 (the longer profile form)."""
    return roles(user).secretariat


def can_view_organisation(user, organisation) -> bool:
    """Open an organisation's page (one row of Organisation.objects.visible_to):
    members see active organisations, the secretariat every one."""
    r = roles(user)
    if r.secretariat:
        return True
    return organisation.is_active and is_member(user)


def can_see_contact_details(user, organisation) -> bool:
    """Members' e-mail addresses are shown to the organisation's own admins
    and the secretariat, not to the whole network."""
    return can_manage_organisation(user, organisation)


def can_demote_or_remove(user, membership) -> bool:
    """Take the admin flag from this membership, or remove it, on the staff
    pages of an organisation the user manages. An organisation keeps at least
    one admin: an org admin hands the flag to a colleague first; only the
    secretariat may leave an organisation without one. Inside a transaction
    this locks the other admins' rows (Membership.is_last_admin), so two
    admins demoting each other cannot both succeed."""
    if not can_manage_organisation(user, membership.organisation):
        return False
    return roles(user).secretariat or not membership.is_last_admin()


def can_use_admin_site(user) -> bool:
    """Reach the Django admin site at all (what each model allows is its
    permissions' business): an active staff account, as Django's admin asks."""
    return bool(user is not None and user.is_active and getattr(user, "is_staff", False))


# --- sessions ------------------------------------------------------------------


def keeps_network_access(user) -> bool:
    """Asked right after one of the user's memberships ended or became
    worthless: False when that was what let them in, so their sessions end
    (network.services.end_sessions_of_those_left_outside, which applies the
    same rule to many people in one UPDATE). Inside stay active accounts with
    a membership of an active organisation, in the secretariat or committee
    group, superusers and admin-site staff (the rule: UserManager.kept_inside).
    Read from the database, not from the per-request roles."""
    if getattr(user, "pk", None) is None:
        return False
    return type(user)._default_manager.kept_inside().filter(pk=user.pk).exists()


def has_idle_timeout(user) -> bool:
    """Sessions that end after settings.TSUNAGARI_STAFF_IDLE_MINUTES without a
    request (network.middleware): the staff's — the secretariat (superusers
    included), the committee and admin-site staff. Members' sessions do not."""
    r = roles(user)
    return r.secretariat or r.committee or can_use_admin_site(user)


def requires_mfa(user) -> bool:
    """Who must sign in with a second factor (an authenticator app) when
    settings.TSUNAGARI_MFA_REQUIRED is on (production's default): the same
    staff whose sessions time out — their accounts open everyone's data.
    network.middleware.StaffMfaRequiredMiddleware sends them to set one up,
    and network.adapters.MfaAdapter refuses to switch it off."""
    return (
        settings.TSUNAGARI_MFA_REQUIRED
        and getattr(user, "is_authenticated", False)
        and has_idle_timeout(user)
    )


# --- account privileges (the admin site) ------------------------------------------
# Superuser status, staff status, groups and permissions decide what the admin
# site lets a person do, so only a superuser changes them; and a staff
# member's or superuser's account (e-mail, password) is changed only by a
# superuser or by that person, since whoever sets its e-mail or password owns it.

PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


def can_change_privileges(user) -> bool:
    return roles(user).superuser


def can_edit_account(user, account) -> bool:
    if account is None or roles(user).superuser:
        return True
    return not (account.is_staff or account.is_superuser) or account.pk == user.pk


# --- view decorators ------------------------------------------------------------


def require(predicate):
    """Anonymous users go to the login page; logged-in users who fail the
    predicate get 404, so nothing reveals that the page exists."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                # Imported here: auth.views needs the app registry ready.
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            if not predicate(request.user):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


member_required = require(is_member)
secretariat_required = require(can_manage_network)
dashboard_required = require(can_view_dashboard)
# Organisation-level rules (can_manage_organisation) need the object: views
# fetch it through Organisation.objects.manageable_by(user) and 404 otherwise.
login_required_404 = require(lambda user: True)
