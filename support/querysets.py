"""Many-row logic and scoping of the back-up menus: views fetch through these,
so a forgotten filter cannot leak another organisation's application."""

from __future__ import annotations

from django.db import models
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from . import access
from .enums import PENDING_STATUSES, SLOT_STATUSES


def _holding_slots(fiscal_year: int) -> Q:
    """The applications that take one of their menu's slots for the 年度."""
    return Q(fiscal_year=fiscal_year, status__in=SLOT_STATUSES)


def _count(rows: models.QuerySet, parent: str):
    """How many of `rows` belong to each row of the outer query (0 for none),
    as a correlated subquery on the `parent` foreign key: no join and GROUP BY
    over the outer query's columns, and it reads the foreign key's index."""
    counted = (
        rows.filter(**{parent: OuterRef("pk")})
        .order_by()
        .values(parent)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


class MenuQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self if access.can_read_catalogue(user) else self.none()

    def with_slots_taken(self, fiscal_year: int):
        """Each menu's `slots_taken` in the 年度 (Menu.slots_left), in the same
        query: a subquery per menu that reads the (menu, 年度, status) index,
        not a join with every application of every 年度."""
        applications = self.model._meta.get_field("applications").related_model.objects
        return self.annotate(
            slots_taken=_count(applications.filter(_holding_slots(fiscal_year)), "menu")
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
        sessions = self.model._meta.get_field("sessions").related_model.objects
        return self.annotate(session_count=_count(sessions.all(), "engagement"))
