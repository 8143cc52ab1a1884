"""Scoped querysets for events: views fetch only through these."""

from django.db import models
from django.db.models import Q

from . import access


class EventQuerySet(models.QuerySet):
    def visible_to(self, user):
        return access.visible_events(self, user)

    def manageable_by(self, user):
        return self if access.can_manage_events(user) else self.none()


class RegistrationQuerySet(models.QuerySet):
    def active(self):
        return self.exclude(status="cancelled")

    def confirmed(self):
        return self.filter(status="confirmed")

    def waitlisted(self):
        return self.filter(status="waitlisted")

    def counted_as_present(self, event):
        """Who counts as having come: attended once check-in was used for the
        event, otherwise every confirmed registration."""
        if self.filter(event=event, attended=True).exists():
            return self.filter(event=event, attended=True)
        return self.filter(event=event, status="confirmed")

    def visible_to(self, user):
        return access.visible_registrations(self, user)

    def search(self, text):
        text = (text or "").strip()
        if not text:
            return self
        return self.filter(
            Q(user__full_name__icontains=text)
            | Q(user__full_name_kana__icontains=text)
            | Q(user__email__icontains=text)
            | Q(organisation__name__icontains=text)
            | Q(organisation_name__icontains=text)
        )
