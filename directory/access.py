"""Who may do what in the directory (DESIGN §4). Every directory rule lives
here; views ask these functions and fetch through the scoped querysets.

- The navi (trouble → area → window, keyword search, a window's page), the
  HSDS and 自治体標準 exports and the LINE webhook are public: no login.
- Importing files, the freshness list and every directory record's editing
  are the secretariat's.
- Confirming or correcting an entry (「最終確認日」) is also open to the org
  admins of the provider's network organisation, for that provider's
  services only.

This module imports no directory models (querysets import it)."""

from __future__ import annotations

from network import access as network_access
from network.access import require


def can_manage_directory(user) -> bool:
    """Import files, see every stale entry, edit any entry."""
    return network_access.is_secretariat(user)


def confirmable_provider_organisations(user) -> set[int] | None:
    """The network organisations whose providers' entries the user may
    confirm: None means every entry (the secretariat)."""
    if network_access.is_secretariat(user):
        return None
    return set(network_access.roles(user).admin_of)


def can_confirm_service(user, service) -> bool:
    """Confirm or correct one service's entry."""
    scope = confirmable_provider_organisations(user)
    if scope is None:
        return True
    organisation_id = service.provider.organisation_id
    return organisation_id is not None and organisation_id in scope


def can_see_freshness(user) -> bool:
    """Open the list of entries waiting for a confirmation."""
    return can_manage_directory(user) or network_access.is_org_admin(user)


manager_required = require(can_manage_directory)
freshness_required = require(can_see_freshness)
