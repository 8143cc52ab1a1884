"""Scoped querysets: views fetch through these so a forgotten filter cannot leak.

The scopes ask network.access, which imports only network.enums: no import
cycle between models, querysets and access.
"""

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import models, transaction
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, Value, When
from django.utils import timezone

from core.tokens import hash_token

from . import access
from .enums import JoinRequestStatus, OrganisationKind


class OrganisationQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Members see the network's active organisations; the secretariat sees all
        (access.can_view_organisation, for many rows)."""
        if access.is_secretariat(user):
            return self
        if access.is_member(user):
            return self.filter(is_active=True)
        return self.none()

    def manageable_by(self, user):
        """Organisations whose profile and staff list the user may edit
        (access.can_manage_organisation, for many rows)."""
        if access.is_secretariat(user):
            return self
        # The roles hold active organisations only, read once per request.
        return self.filter(pk__in=access.roles(user).admin_of)

    def municipal(self):
        return self.filter(kind=OrganisationKind.MUNICIPALITY)

    def registered_as(self, *, name: str, municipality):
        """The organisation a new one of this name and 市町村 would duplicate
        (the pair is unique)."""
        return self.filter(name=name, municipality=municipality)

    def active_counts_by_kind(self) -> list[tuple[str, str, int]]:
        """(kind, label, number of active organisations) for every kind, in
        the order of the choices, zeros included."""
        counts = dict(
            self.filter(is_active=True)
            .order_by()  # the default ordering would split the GROUP BY
            .values("kind")
            .annotate(n=Count("pk"))
            .values_list("kind", "n")
        )
        return [(value, label, counts.get(value, 0)) for value, label in OrganisationKind.choices]


class MembershipQuerySet(models.QuerySet):
    def visible_to(self, user):
        if access.is_secretariat(user):
            return self
        if access.is_member(user):
            return self.filter(organisation__is_active=True, user__is_active=True)
        return self.none()

    def staff_order(self):
        """Admins first, then by name: the order of every staff list."""
        return self.order_by("-is_org_admin", "user__full_name_kana", "user__email", "pk")

    def other_admins_of(self, membership):
        """The other admins of the membership's organisation.

        Inside a transaction (the views validate and save in one) the rows are
        locked, so two admins demoting each other at the same moment cannot
        both succeed. Outside one (a confirmation page's GET) a plain read is
        enough."""
        admins = self.filter(organisation_id=membership.organisation_id, is_org_admin=True).exclude(
            pk=membership.pk
        )
        if transaction.get_connection().in_atomic_block:
            admins = admins.select_for_update()
        return admins


class InvitationQuerySet(models.QuerySet):
    def usable(self):
        return self.filter(
            accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )

    def pending(self):
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True)

    def for_token(self, token: str):
        """The invitation a link's token belongs to (only its hash is stored)."""
        return self.filter(token_hash=hash_token(token))


class JoinRequestQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(status=JoinRequestStatus.PENDING)

    def pending_first(self):
        """Pending requests wait for someone to act, so they come first; then
        the newest."""
        return self.annotate(
            pending_first=Case(
                When(status=JoinRequestStatus.PENDING, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        ).order_by("pending_first", "-created_at", "-pk")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def with_memberships(self):
        """People who belong to at least one organisation."""
        return self.filter(memberships__isnull=False).distinct()

    def secretariat_staff(self):
        """The active people of the secretariat group: who its mails go to and
        who may coordinate (superusers are not staff of the secretariat)."""
        return self.filter(groups__name=access.SECRETARIAT_GROUP, is_active=True).distinct()

    def kept_inside(self):
        """Who stays inside the network when a membership is taken away
        (network.access.keeps_network_access): an active account with a
        membership of an active organisation, in the secretariat or committee
        group, a superuser or admin-site staff."""
        user = self.model
        membership = user.memberships.rel.related_model
        in_a_group = user.groups.through.objects.filter(
            user_id=OuterRef("pk"),
            group__name__in=[access.SECRETARIAT_GROUP, access.COMMITTEE_GROUP],
        )
        in_an_organisation = membership.objects.filter(
            user_id=OuterRef("pk"), organisation__is_active=True
        )
        return self.filter(
            Q(is_active=True)
            & (
                Q(is_superuser=True)
                | Q(is_staff=True)
                | Q(Exists(in_a_group))
                | Q(Exists(in_an_organisation))
            )
        )

    def contacts(self):
        """People known to the network who have not set a password yet."""
        return self.filter(password__startswith=UNUSABLE_PASSWORD_PREFIX)

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
