"""Many-row logic and scoping of the directory (no import of the app's models)."""

from __future__ import annotations

import datetime

from django.db import models
from django.db.models import Q

from core.dates import local_day_start

from . import access
from .enums import ServiceStatus


def stale_before(today: datetime.date, months: int) -> datetime.date:
    """The day before which a confirmation is too old (months back, clamped
    to the month's last day: 12 months before 2027-02-28 is 2026-02-28)."""
    month = today.month - 1 - months
    year = today.year + month // 12
    month = month % 12 + 1
    for day in (today.day, 30, 29, 28):
        try:
            return datetime.date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


class ServiceQuerySet(models.QuerySet):
    def public(self):
        """Services the public navi shows."""
        return self.filter(status=ServiceStatus.ACTIVE)

    def confirmable_by(self, user):
        """The services whose entries the user may confirm or correct."""
        scope = access.confirmable_provider_organisations(user)
        if scope is None:
            return self
        return self.filter(provider__organisation_id__in=scope)

    def stale(self, today: datetime.date, months: int):
        """Not confirmed within `months` (never confirmed: counted from when
        the entry was made). Ended services are not asked about."""
        limit = stale_before(today, months)
        # Made before the local day `limit` began: compared as a moment, so
        # the database compares a column, not a date cast of every row's.
        return self.exclude(status=ServiceStatus.DEFUNCT).filter(
            Q(verified_on__lt=limit)
            | Q(verified_on__isnull=True, created_at__lt=local_day_start(limit))
        )


class ServiceAtLocationQuerySet(models.QuerySet):
    def public(self):
        """The windows the public navi shows: those of active services."""
        return self.filter(service__status=ServiceStatus.ACTIVE)
