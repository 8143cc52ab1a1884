"""Who may do what with the back-up menus (DESIGN §4). Every rule of the app
lives here; views and templates ask these functions, and the scoped querysets
(support/querysets.py) filter with them.

- The catalogue: every member reads it (staff of an active organisation, the
  committee, the secretariat).
- Applying: staff of an active organisation apply for that organisation; the
  secretariat may apply for any active organisation. The committee as such
  does not apply.
- An application: the applying organisation's staff follow it (status, the
  reason of a hold or a decline, the partner assigned); the secretariat sees
  all and triages; the partner organisation's staff see the applications
  assigned to them. Anyone else gets 404.
- Engagement records: the assigned partner organisation's staff read and
  write them, for their engagements and nothing else; the secretariat sees
  all. The applying organisation follows the status, not the records; the
  committee reads aggregates only (committee dashboard).

This module imports no support models (querysets import it, models import
querysets)."""

from __future__ import annotations

from django.db.models import Q

from network import access as network_access
from network.access import require


def _organisations(user) -> set[int]:
    """The active organisations the user is staff of (read once per request)."""
    return set(network_access.roles(user).memberships)


def can_manage(user) -> bool:
    """Triage applications, assign partners, edit the catalogue, export."""
    return network_access.is_secretariat(user)


def can_read_catalogue(user) -> bool:
    return network_access.is_member(user)


def can_apply(user) -> bool:
    return can_manage(user) or bool(_organisations(user))


def applicant_organisation_ids(user) -> set[int] | None:
    """The organisations `user` may apply for; None means any active one."""
    if can_manage(user):
        return None
    return _organisations(user)


def applications_filter(user):
    """The Q of the applications `user` may open (its organisation's, or
    assigned to its partner organisation), or None for all (secretariat)."""
    if can_manage(user):
        return None
    orgs = _organisations(user)
    if not orgs:
        return Q(pk__in=[])
    return Q(organisation_id__in=orgs) | Q(engagement__partner_id__in=orgs)


def engagements_filter(user):
    """The Q of the engagements whose records `user` reads and writes, or None
    for all (secretariat)."""
    if can_manage(user):
        return None
    return Q(partner_id__in=_organisations(user))


def is_applicant(user, application) -> bool:
    """Staff of the applying organisation (or the secretariat)."""
    return can_manage(user) or application.organisation_id in _organisations(user)


def is_partner(user, engagement) -> bool:
    """Staff of the partner organisation assigned to the engagement."""
    return engagement.partner_id in _organisations(user)


def can_withdraw(user, application) -> bool:
    return is_applicant(user, application) and application.can_withdraw()


def can_write_records(user, engagement) -> bool:
    """Record sessions and complete with the outcome report."""
    return (can_manage(user) or is_partner(user, engagement)) and engagement.can_record()


def can_see_records(user, engagement) -> bool:
    return can_manage(user) or is_partner(user, engagement)


catalogue_required = require(can_read_catalogue)
apply_required = require(can_apply)
manage_required = require(can_manage)
