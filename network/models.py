"""Who belongs to the network: reference data, organisations, people, roles."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.db import models
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from core import tokens
from core.choices import ChoiceLabels

from .enums import (
    Experience,
    InvitationState,
    JoinRequestStatus,
    MunicipalityKind,
    OrganisationKind,
    StaffRole,
)
from .querysets import (
    InvitationQuerySet,
    JoinRequestQuerySet,
    MembershipQuerySet,
    OrganisationQuerySet,
    UserManager,
)

# --- Reference data (loaded by migrations from network/data/*.csv) ---------


class Region(models.Model):
    """One of the 14 総合振興局・振興局."""

    name = models.CharField(_("名称"), max_length=40, unique=True)
    short_name = models.CharField(_("略称"), max_length=20)
    kana = models.CharField(_("かな"), max_length=40)
    kind = models.CharField(_("種別"), max_length=10)
    seat = models.CharField(_("所在地"), max_length=20)
    order = models.PositiveSmallIntegerField(_("表示順"), default=0)

    class Meta:
        ordering = ["order"]
        verbose_name = _("振興局")
        verbose_name_plural = _("振興局")

    def __str__(self):
        return self.name


class Municipality(models.Model):
    Kind = MunicipalityKind

    code = models.CharField(_("全国地方公共団体コード"), max_length=6, unique=True)
    name = models.CharField(_("名称"), max_length=20)
    kana = models.CharField(_("かな"), max_length=40)
    kind = models.CharField(_("種別"), max_length=1, choices=Kind.choices)
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="municipalities", verbose_name=_("振興局")
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("市町村")
        verbose_name_plural = _("市町村")

    def __str__(self):
        return self.name


class Program(models.Model):
    """A program of the 生活困窮者自立支援法."""

    key = models.SlugField(_("キー"), max_length=40, unique=True)
    name = models.CharField(_("法定名称"), max_length=80)
    common_name = models.CharField(_("通称"), max_length=80)
    status = models.CharField(_("位置づけ"), max_length=20, blank=True)
    order = models.PositiveSmallIntegerField(_("表示順"), default=0)

    class Meta:
        ordering = ["order"]
        verbose_name = _("事業")
        verbose_name_plural = _("事業")

    def __str__(self):
        return self.common_name


# --- Organisations --------------------------------------------------------


class Organisation(ChoiceLabels, models.Model):
    Kind = OrganisationKind

    name = models.CharField(_("名称"), max_length=120)
    kana = models.CharField(_("かな"), max_length=200, blank=True)
    kind = models.CharField(_("種別"), max_length=20, choices=Kind.choices, db_index=True)
    municipality = models.ForeignKey(
        Municipality,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organisations",
        verbose_name=_("所在市町村"),
    )
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organisations",
        verbose_name=_("振興局"),
        help_text=_(
            "所在市町村から自動で決まります。振興局の組織は市町村なしで振興局のみ指定します。"
        ),
    )
    programs = models.ManyToManyField(
        Program, blank=True, related_name="organisations", verbose_name=_("実施事業")
    )
    email = models.EmailField(_("代表メール"), blank=True)
    phone = models.CharField(_("電話番号"), max_length=30, blank=True)
    website = models.URLField(_("ウェブサイト"), blank=True)
    address = models.CharField(_("住所"), max_length=200, blank=True)
    description = models.TextField(_("紹介"), blank=True)
    is_sample = models.BooleanField(
        _("サンプル"), default=False, help_text=_("デモ用の架空の組織です。")
    )
    is_active = models.BooleanField(_("有効"), default=True)
    created_at = models.DateTimeField(_("登録日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["kana", "name"]
        verbose_name = _("組織")
        verbose_name_plural = _("組織")
        constraints = [
            models.UniqueConstraint(fields=["name", "municipality"], name="org_unique_name_muni"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("network:organisation_detail", args=[self.pk])

    @property
    def is_municipal(self) -> bool:
        return self.kind == self.Kind.MUNICIPALITY

    def clean(self):
        # The region follows the municipality; a 振興局 unit has a region only.
        if self.municipality_id:
            self.region_id = self.municipality.region_id


class Commission(models.Model):
    """A 自治体 commissioning a 受託団体 to run a program in a fiscal year (年度)."""

    contractor = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="commissions_received",
        verbose_name=_("受託団体"),
    )
    commissioner = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="commissions_given",
        limit_choices_to={"kind": Organisation.Kind.MUNICIPALITY},
        verbose_name=_("委託元自治体"),
    )
    program = models.ForeignKey(Program, on_delete=models.PROTECT, verbose_name=_("事業"))
    fiscal_year = models.PositiveSmallIntegerField(_("年度"))

    class Meta:
        ordering = ["-fiscal_year", "commissioner__name"]
        verbose_name = _("委託")
        verbose_name_plural = _("委託")
        constraints = [
            models.UniqueConstraint(
                fields=["contractor", "commissioner", "program", "fiscal_year"],
                name="commission_unique",
            ),
        ]

    def __str__(self):
        return f"{self.commissioner} → {self.contractor} ({self.program}, {self.fiscal_year})"


# --- People -----------------------------------------------------------------


class User(AbstractBaseUser, PermissionsMixin):
    """Login by e-mail. Without a usable password the user is a *contact*
    (e.g. an imported past attendee) who can claim the account by password reset."""

    email = models.EmailField(_("メールアドレス"), unique=True)
    full_name = models.CharField(_("氏名"), max_length=80)
    full_name_kana = models.CharField(_("氏名（かな）"), max_length=120, blank=True)
    is_staff = models.BooleanField(_("管理サイトへのアクセス"), default=False)
    is_active = models.BooleanField(_("有効"), default=True)
    date_joined = models.DateTimeField(_("登録日時"), default=timezone.now)
    # Part of every session's auth hash (with the password): raising it ends
    # all of this person's sessions on their next request (end_sessions).
    session_epoch = models.PositiveIntegerField(_("セッションの世代"), default=0, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name_kana", "email"]
        verbose_name = _("ユーザー")
        verbose_name_plural = _("ユーザー")

    def __str__(self):
        return self.full_name or self.email

    def get_full_name(self):
        return self.full_name

    def get_short_name(self):
        return self.full_name

    @property
    def is_contact(self) -> bool:
        """Known to the network (invited, imported) but without a password yet;
        an erased account is not one."""
        return not self.has_usable_password() and not self.is_erased

    @staticmethod
    def erased_email(pk: int) -> str:
        """An erased account's address (portal.erasure): unique, and in the
        reserved .invalid domain (RFC 2606), so no mail queued for it can
        reach anyone."""
        return f"erased-{pk}@erased.invalid"

    @property
    def is_erased(self) -> bool:
        return self.email == self.erased_email(self.pk)

    def _get_session_auth_hash(self, secret=None):
        """Django stores this hash in the session at login and compares it on
        every request (django.contrib.auth.get_user): a session whose hash no
        longer matches is flushed. Django hashes the password, so changing it
        ends the other sessions; the epoch lets end_sessions do the same
        without touching the password. Epoch 0 is Django's own hash, so
        sessions from before the epoch existed stay valid."""
        if not self.session_epoch:
            return super()._get_session_auth_hash(secret=secret)
        return salted_hmac(
            "network.User.session_auth_hash",
            f"{self.password}#{self.session_epoch}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def end_sessions(self) -> None:
        """End every session of this person, whatever the session engine: the
        next request of each is anonymous. One UPDATE, no session is read."""
        type(self).objects.filter(pk=self.pk).update(session_epoch=F("session_epoch") + 1)
        self.refresh_from_db(fields=["session_epoch"])


class Membership(ChoiceLabels, models.Model):
    StaffRole = StaffRole
    Experience = Experience

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("ユーザー"),
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("組織")
    )
    staff_role = models.CharField(
        _("職種"), max_length=30, choices=StaffRole.choices, default=StaffRole.OTHER
    )
    experience = models.CharField(
        _("経験年数"), max_length=10, choices=Experience.choices, blank=True
    )
    is_org_admin = models.BooleanField(_("組織管理者"), default=False)
    created_at = models.DateTimeField(_("登録日時"), auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["organisation__kana", "user__full_name_kana"]
        verbose_name = _("所属")
        verbose_name_plural = _("所属")
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation"], name="membership_unique"),
        ]

    def __str__(self):
        return f"{self.user} @ {self.organisation}"

    def is_last_admin(self) -> bool:
        """True when this membership holds its organisation's only admin flag."""
        return self.is_org_admin and not Membership.objects.other_admins_of(self).exists()


class Invitation(models.Model):
    """An invitation to set a password and join as a member of an organisation.

    Only a hash of the token is stored; the link works once and expires."""

    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("所属")
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("招待者"),
    )
    token_hash = models.CharField(
        _("トークンのハッシュ"), max_length=64, unique=True, editable=False
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    expires_at = models.DateTimeField(_("有効期限"))
    sent_at = models.DateTimeField(_("送信日時"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("受諾日時"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("取消日時"), null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("招待")
        verbose_name_plural = _("招待")

    def __str__(self):
        return str(self.membership)

    # The portal's one implementation of secret links (core.tokens), kept
    # here by name for the callers that reach it through the model.
    hash_token = staticmethod(tokens.hash_token)
    new_token = staticmethod(tokens.new_token)

    @staticmethod
    def default_expiry():
        return timezone.now() + timedelta(days=settings.INVITATION_EXPIRY_DAYS)

    @property
    def state(self) -> InvitationState:
        """Accepted before revoked before expired: a used link says so first."""
        if self.accepted_at:
            return InvitationState.ACCEPTED
        if self.revoked_at:
            return InvitationState.REVOKED
        if self.expires_at <= timezone.now():
            return InvitationState.EXPIRED
        return InvitationState.PENDING

    @property
    def is_usable(self) -> bool:
        return self.state == InvitationState.PENDING

    @property
    def can_be_accepted(self) -> bool:
        """Pending, and for an account that may still log in: a deactivated
        person's old link must not set a password or bring them back."""
        return self.is_usable and self.membership.user.is_active

    @property
    def is_accepted(self) -> bool:
        return self.state == InvitationState.ACCEPTED

    @property
    def is_revoked(self) -> bool:
        return self.state == InvitationState.REVOKED

    @property
    def is_expired(self) -> bool:
        return self.state == InvitationState.EXPIRED

    @property
    def status_label(self) -> str:
        return self.state.label


class JoinRequest(models.Model):
    """「ネットワークへの参加申請」 from an organisation not yet in the network."""

    Status = JoinRequestStatus

    organisation_name = models.CharField(_("組織名"), max_length=120)
    organisation_kana = models.CharField(_("組織名（かな）"), max_length=200, blank=True)
    kind = models.CharField(_("組織の種別"), max_length=20, choices=Organisation.Kind.choices)
    municipality = models.ForeignKey(
        Municipality, on_delete=models.PROTECT, verbose_name=_("所在市町村")
    )
    programs = models.ManyToManyField(Program, blank=True, verbose_name=_("実施事業"))
    contact_name = models.CharField(_("担当者氏名"), max_length=80)
    contact_kana = models.CharField(_("担当者氏名（かな）"), max_length=120, blank=True)
    contact_email = models.EmailField(_("担当者メールアドレス"))
    contact_phone = models.CharField(_("電話番号"), max_length=30, blank=True)
    message = models.TextField(_("参加の目的・メッセージ"), blank=True)
    status = models.CharField(
        _("状態"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    decline_reason = models.TextField(_("見送りの理由"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("判断者"),
    )
    decided_at = models.DateTimeField(_("判断日時"), null=True, blank=True)
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("作成された組織"),
    )
    created_at = models.DateTimeField(_("申請日時"), auto_now_add=True)

    objects = JoinRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("参加申請")
        verbose_name_plural = _("参加申請")

    def __str__(self):
        return self.organisation_name

    @property
    def is_pending(self) -> bool:
        return self.status == JoinRequestStatus.PENDING

    @property
    def is_declined(self) -> bool:
        return self.status == JoinRequestStatus.DECLINED

    def existing_organisation(self):
        """The organisation already registered under this name and 市町村, if any:
        approving would create it a second time."""
        return Organisation.objects.registered_as(
            name=self.organisation_name, municipality=self.municipality
        ).first()
