"""Freshness of the navi's entries (「最終確認日」): finding the entries nobody
has confirmed for DIRECTORY_STALE_MONTHS, asking the people who can confirm
them, and recording a confirmation or a correction.

- `notify_stale` (run by the daily sweep, directory.tasks.sweep_freshness)
  mails every secretariat member one digest of the entries that went stale
  since the last run, and every org admin of a provider's network
  organisation the entries of the providers they look after; then it marks
  the entries (`Service.stale_notified_on`), so that each is asked about once
  per confirmation. The marks and the outbox rows are written in one
  transaction: a run that dies half-way leaves nothing marked and nothing
  queued, and the next run does it all.
- `confirm` records "still right as it is"; `correct` saves changed fields
  and confirms in the same step. Both clear the mark, so the entry is asked
  about again when it goes stale after this confirmation.

Who may confirm what is directory.access (the secretariat every entry, an
org admin the entries of their organisation's providers).
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from network.models import Membership, User

from . import access, indexing, notifications
from .models import Service

# The fields a correction may change (the entry's main public content).
CORRECTABLE_FIELDS = (
    "description",
    "eligibility",
    "fees",
    "application_process",
    "required_documents",
    "status",
    "url",
)
_UPDATE_CHUNK = 1000


def _stale_of(services, today: datetime.date | None):
    today = today or timezone.localdate()
    return services.stale(today, settings.DIRECTORY_STALE_MONTHS).order_by(
        F("verified_on").asc(nulls_first=True), "created_at", "pk"
    )


def stale(today: datetime.date | None = None):
    """Every entry waiting for a confirmation on `today`, oldest first."""
    return _stale_of(Service.objects.all(), today)


def waiting_for(user, today: datetime.date | None = None):
    """The stale entries `user` may confirm (the freshness page), oldest first."""
    return _stale_of(Service.objects.confirmable_by(user), today)


def _secretariat() -> list[tuple[int, str, str]]:
    return list(
        User.objects.secretariat_staff()
        .exclude(email="")
        .values_list("pk", "email", "full_name")
        .order_by("pk")
    )


def _org_admins(organisation_ids) -> dict[tuple[int, str, str], set[int]]:
    """(user id, e-mail, name) of each active org admin → the organisations
    among `organisation_ids` they look after."""
    admins = defaultdict(set)
    rows = (
        Membership.objects.filter(
            organisation_id__in=organisation_ids,
            organisation__is_active=True,
            is_org_admin=True,
            user__is_active=True,
        )
        .exclude(user__email="")
        .values_list("user_id", "user__email", "user__full_name", "organisation_id")
        .order_by("user_id")
    )
    for user_id, email, name, organisation_id in rows:
        admins[(user_id, email, name)].add(organisation_id)
    return admins


@transaction.atomic
def notify_stale(*, today: datetime.date | None = None) -> int:
    """Ask about the entries that went stale and were not asked about yet;
    returns how many mails were queued. Running it again the same day (or a
    retried task) finds nothing new and mails nothing."""
    today = today or timezone.localdate()
    services = list(
        stale(today)
        .filter(stale_notified_on__isnull=True)
        # Locks the entries: two sweeps at once cannot both find them unmarked
        # (SQLite's IMMEDIATE transactions queue the second one anyway).
        .select_for_update(of=("self",))
        .select_related("provider")
    )
    if not services:
        return 0
    queued = 0
    for user_id, email, name in _secretariat():
        queued += bool(
            notifications.stale_entries(
                day=today,
                audience="secretariat",
                user_id=user_id,
                email=email,
                addressee=name,
                services=services,
            )
        )
    by_organisation = defaultdict(list)
    for service in services:
        if service.provider.organisation_id is not None:
            by_organisation[service.provider.organisation_id].append(service)
    for (user_id, email, name), organisations in _org_admins(list(by_organisation)).items():
        theirs = [s for org in sorted(organisations) for s in by_organisation[org]]
        queued += bool(
            notifications.stale_entries(
                day=today,
                audience="admin",
                user_id=user_id,
                email=email,
                addressee=name,
                services=theirs,
            )
        )
    ids = [s.pk for s in services]
    for start in range(0, len(ids), _UPDATE_CHUNK):
        Service.objects.filter(pk__in=ids[start : start + _UPDATE_CHUNK]).update(
            stale_notified_on=today
        )
    return queued


def _locked(service: Service, user) -> Service:
    locked = Service.objects.select_for_update().select_related("provider").get(pk=service.pk)
    if not access.can_confirm_service(user, locked):
        raise PermissionDenied
    return locked


def _mark_confirmed(service: Service, user, today: datetime.date | None, fields=()) -> None:
    service.verified_on = today or timezone.localdate()
    service.verified_by = user
    service.stale_notified_on = None
    service.save(
        update_fields=[*fields, "verified_on", "verified_by", "stale_notified_on", "updated_at"]
    )


@transaction.atomic
def confirm(*, service: Service, user, today: datetime.date | None = None) -> Service:
    """The entry is still right as it is: confirmed by `user` on `today`."""
    locked = _locked(service, user)
    _mark_confirmed(locked, user, today)
    return locked


@transaction.atomic
def correct(
    *, service: Service, user, changes: dict, today: datetime.date | None = None
) -> Service:
    """Save the corrected fields (CORRECTABLE_FIELDS only) and confirm the entry."""
    locked = _locked(service, user)
    fields = [name for name in CORRECTABLE_FIELDS if name in changes]
    for name in fields:
        setattr(locked, name, changes[name])
    _mark_confirmed(locked, user, today, fields)
    # What the navi lists and its keyword search finds follow the correction.
    indexing.refresh_of(services=[locked.pk])
    return locked
