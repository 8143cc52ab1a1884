"""Scoped querysets: views fetch through these so a forgotten filter cannot leak."""

from django.contrib.auth.base_user import BaseUserManager
from django.db import models
from django.utils import timezone

from . import access


class OrganisationQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Members see the network's active organisations; the secretariat sees all."""
        if access.is_secretariat(user):
            return self
        if access.is_member(user):
            return self.filter(is_active=True)
        return self.none()

    def manageable_by(self, user):
        """Organisations whose profile and staff list the user may edit."""
        if access.is_secretariat(user):
            return self
        if not user.is_authenticated:
            return self.none()
        return self.filter(
            is_active=True, memberships__user=user, memberships__is_org_admin=True
        ).distinct()

    def municipal(self):
        return self.filter(kind="municipality")


class MembershipQuerySet(models.QuerySet):
    def visible_to(self, user):
        if access.is_secretariat(user):
            return self
        if access.is_member(user):
            return self.filter(organisation__is_active=True, user__is_active=True)
        return self.none()


class InvitationQuerySet(models.QuerySet):
    def usable(self):
        return self.filter(
            accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )

    def pending(self):
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def normalize_email(self, email):
        return super().normalize_email(email or "").strip().lower()

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_contact(self, email, **extra):
        """A person known to the network who has not set a password yet."""
        return self._create_user(email, None, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)
