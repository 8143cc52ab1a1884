"""Many-row logic and scoping of the directory (no import of the app's models)."""

from django.db import models

from .enums import ServiceStatus


class ServiceQuerySet(models.QuerySet):
    def public(self):
        """Services the public navi shows."""
        return self.filter(status=ServiceStatus.ACTIVE)


class ServiceAtLocationQuerySet(models.QuerySet):
    def public(self):
        """The windows the public navi shows: those of active services."""
        return self.filter(service__status=ServiceStatus.ACTIVE)
