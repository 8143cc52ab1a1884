"""Many-row logic and scoping of the back-up menus: views fetch through these,
so a forgotten filter cannot leak another organisation's application."""

from __future__ import annotations

from django.db import models
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from . import access
from .enums import PENDING_STATUSES, SLOT_STATUSES


def _holding_slots(fiscal_year: int, prefix: str = "") -> Q:
    """The applications that take one of their menu's slots for the 年度."""
    return Q(**{f"{prefix}fiscal_year": fiscal_year, f"{prefix}status__in": SLOT_STATUSES})


class MenuQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self if access.can_read_catalogue(user) else self.none()

    def with_slots_taken(self, fiscal_year: int):
        """Each menu's `slots_taken` in the 年度 (Menu.slots_left), in the same query."""
        return self.annotate(
            slots_taken=Count("applications", filter=_holding_slots(fiscal_year, "applications__"))
        )

    def with_eligibility(self):
        """What Menu.refusal_for reads, fetched once for many menus."""
        return self.prefetch_related("eligible_programs", "eligible_regions")


class ApplicationQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The applications `user` may open (access.applications_filter)."""
        q = access.applications_filter(user)
        return self if q is None else self.filter(q)

    def of_organisations(self, organisation_ids):
        return self.filter(organisation_id__in=organisation_ids)

    def pending(self):
        return self.filter(status__in=PENDING_STATUSES)

    def holding_slots(self, menu_id: int, fiscal_year: int):
        """The applications that take one of the menu's slots for the 年度."""
        return self.filter(_holding_slots(fiscal_year), menu_id=menu_id)

    def for_list(self):
        return self.select_related("menu", "organisation", "engagement__partner")


class EngagementQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The engagements whose records `user` may read (access.engagements_filter)."""
        q = access.engagements_filter(user)
        return self if q is None else self.filter(q)

    def for_list(self):
        return self.select_related(
            "application__menu", "application__organisation", "partner", "coordinator"
        )

    def with_session_count(self):
        """Each engagement's `session_count`, as a subquery: a join with Count
        would group the list by every column it selects."""
        sessions = (
            self.model._meta.get_field("sessions")
            .related_model.objects.filter(engagement=OuterRef("pk"))
            .order_by()
            .values("engagement")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return self.annotate(
            session_count=Coalesce(Subquery(sessions, output_field=IntegerField()), 0)
        )
