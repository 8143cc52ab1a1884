"""The secretariat group's permissions in the admin site: one named, minimal set.

The secretariat works in its own pages (事務局メニュー); it uses the admin site
only to import and export organisations and memberships (README, docs/imports.md).
Importing needs the add and change permissions, exporting the view permission
(core.admin.AllOrNothingImportExportMixin); the two forms also look up a
市町村 and a person. Nothing here touches users, groups or permissions: those
are a superuser's (network.access.can_change_privileges).

Migration 0003 gives the group exactly this set, so production has what the
demo has; `seed_demo` applies the same function. Changing the set means a new
migration that calls `grant_secretariat_permissions` again.
"""

from __future__ import annotations

from .access import SECRETARIAT_GROUP

SECRETARIAT_ADMIN_PERMISSIONS = (
    # organisations: import (add + change) and export (view)
    "network.view_organisation",
    "network.add_organisation",
    "network.change_organisation",
    # memberships: import and export
    "network.view_membership",
    "network.add_membership",
    "network.change_membership",
    # looked up by those forms (an organisation's 市町村, a membership's person)
    "network.view_municipality",
    "network.view_user",
)


def grant_secretariat_permissions(*, Group, Permission) -> None:
    """Set the secretariat group's permissions to exactly the named set.

    Takes the models as arguments so that a migration can pass its historical
    ones. Raises LookupError when a named permission does not exist (a typo
    here must not silently grant less, or a renamed model more)."""
    wanted = {tuple(name.split(".", 1)) for name in SECRETARIAT_ADMIN_PERMISSIONS}
    found = {
        (p.content_type.app_label, p.codename): p
        for p in Permission.objects.select_related("content_type").filter(
            codename__in=[codename for _app, codename in wanted]
        )
        if (p.content_type.app_label, p.codename) in wanted
    }
    missing = wanted - set(found)
    if missing:
        raise LookupError(f"unknown permissions: {sorted(missing)}")
    group, _created = Group.objects.get_or_create(name=SECRETARIAT_GROUP)
    group.permissions.set(found.values())
