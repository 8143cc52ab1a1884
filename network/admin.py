"""Django admin for the network app.

Reference data (振興局, 市町村, 事業) is loaded by migrations, so the admin only
corrects it (no add/delete). Organisations and memberships can be imported and
exported as CSV/XLSX (network/resources.py). Every changelist names its
related objects in `list_select_related`, so its query count does not grow
with the number of rows (tests/test_admin.py pins the counts).

Privileges (superuser and staff status, groups, permissions) and the accounts
of staff members are a superuser's alone, whatever model permissions a staff
member holds (network.access.can_change_privileges / can_edit_account): the
user admin neither shows nor accepts those fields for anyone else, and the
group admin answers only superusers.
"""

from allauth.account.admin import EmailAddressAdmin as AllauthEmailAddressAdmin
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.models import Group
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.admin import AllOrNothingImportExportMixin

from . import access, services
from .models import (
    Commission,
    Invitation,
    JoinRequest,
    Membership,
    Municipality,
    Organisation,
    Program,
    Region,
    User,
)
from .resources import MembershipResource, OrganisationResource

# --- Reference data -----------------------------------------------------------


class ReferenceDataAdmin(admin.ModelAdmin):
    """Loaded by migrations from network/data; the admin may correct, not add or delete."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Region)
class RegionAdmin(ReferenceDataAdmin):
    list_display = ("name", "short_name", "kana", "kind", "seat", "order")
    search_fields = ("name", "short_name", "kana")
    readonly_fields = ("name",)


@admin.register(Municipality)
class MunicipalityAdmin(ReferenceDataAdmin):
    list_display = ("code", "name", "kana", "kind", "region")
    list_filter = ("kind", "region")
    list_select_related = ("region",)
    search_fields = ("code", "name", "kana")
    readonly_fields = ("code",)
    list_per_page = 200


@admin.register(Program)
class ProgramAdmin(ReferenceDataAdmin):
    list_display = ("common_name", "name", "key", "status", "order")
    search_fields = ("key", "name", "common_name")
    readonly_fields = ("key",)


# --- Organisations --------------------------------------------------------------


class CommissionInline(admin.TabularInline):
    model = Commission
    fk_name = "contractor"
    extra = 0
    autocomplete_fields = ("commissioner",)
    verbose_name = _("受託（委託元自治体）")
    verbose_name_plural = _("受託（委託元自治体）")


@admin.register(Organisation)
class OrganisationAdmin(AllOrNothingImportExportMixin, admin.ModelAdmin):
    # Addresses typed without a scheme are https (Django 6.0's default, chosen now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    show_full_result_count = False  # one COUNT(*) per page is enough
    resource_classes = [OrganisationResource]
    list_display = ("name", "kana", "kind", "municipality", "region", "is_active", "is_sample")
    list_filter = ("kind", "region", "is_active", "is_sample")
    list_select_related = ("municipality", "region")
    search_fields = ("name", "kana")
    autocomplete_fields = ("municipality",)
    filter_horizontal = ("programs",)
    readonly_fields = ("created_at", "updated_at")
    inlines = [CommissionInline]
    fieldsets = (
        (None, {"fields": ("name", "kana", "kind", "municipality", "region", "programs")}),
        (_("連絡先"), {"fields": ("email", "phone", "website", "address", "description")}),
        (_("状態"), {"fields": ("is_active", "is_sample", "created_at", "updated_at")}),
    )

    # Sessions (docs/security.md §13): an organisation made inactive, or
    # deleted with its memberships, no longer lets its members in; those whom
    # nothing else keeps inside are signed out (services.end_sessions_of_those_left_outside).

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            services.end_sessions_of_those_left_outside(
                user_ids=Membership.objects.filter(organisation=obj).values("user_id")
            )

    def delete_model(self, request, obj):
        user_ids = list(
            Membership.objects.filter(organisation=obj).values_list("user_id", flat=True)
        )
        super().delete_model(request, obj)
        services.end_sessions_of_those_left_outside(user_ids=user_ids)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            user_ids = list(
                Membership.objects.filter(organisation__in=queryset).values_list(
                    "user_id", flat=True
                )
            )
            super().delete_queryset(request, queryset)
            services.end_sessions_of_those_left_outside(user_ids=user_ids)


@admin.register(Commission)
class CommissionAdmin(admin.ModelAdmin):
    show_full_result_count = False
    list_display = ("commissioner", "contractor", "program", "fiscal_year")
    list_filter = ("fiscal_year", "program")
    list_select_related = ("commissioner", "contractor", "program")
    search_fields = ("commissioner__name", "contractor__name")
    autocomplete_fields = ("commissioner", "contractor")


# --- People -----------------------------------------------------------------------


class UserCreationForm(AdminUserCreationForm):
    """E-mail instead of username; "password-based authentication: disabled"
    creates a contact who can claim the account by password reset."""

    class Meta:
        model = User
        fields = ("email", "full_name", "full_name_kana")

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data.get("email"))
        if email and User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("このメールアドレスのユーザーは既に登録されています。"))
        return email


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data.get("email"))
        others = User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk)
        if email and others.exists():
            raise forms.ValidationError(_("このメールアドレスのユーザーは既に登録されています。"))
        return email


class AccountStatusFilter(admin.SimpleListFilter):
    title = _("アカウント")
    parameter_name = "account"

    def lookups(self, request, model_admin):
        return (("login", _("ログイン可")), ("contact", _("連絡先のみ")))

    def queryset(self, request, queryset):
        if self.value() == "contact":
            return queryset.filter(password__startswith=UNUSABLE_PASSWORD_PREFIX)
        if self.value() == "login":
            return queryset.exclude(password__startswith=UNUSABLE_PASSWORD_PREFIX)
        return queryset


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("organisation",)
    fields = ("organisation", "staff_role", "experience", "is_org_admin")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    show_full_result_count = False
    form = UserEditForm
    add_form = UserCreationForm
    list_display = (
        "email",
        "full_name",
        "full_name_kana",
        "account_status",
        "is_staff",
        "is_superuser",
        "is_active",
        "last_login",
    )
    list_filter = (AccountStatusFilter, "is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "full_name", "full_name_kana")
    ordering = ("full_name_kana", "email")
    readonly_fields = ("last_login", "date_joined")
    inlines = [MembershipInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("氏名"), {"fields": ("full_name", "full_name_kana")}),
        (
            _("権限"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("日時"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "email",
                    "full_name",
                    "full_name_kana",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Django already refuses an inactive account's sessions, but keeps them:
        # ending them here means re-activating the account does not revive them.
        if change and "is_active" in form.changed_data and not obj.is_active:
            obj.end_sessions()

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        # A membership deleted or moved to another organisation in the inline.
        if formset.model is Membership and (
            formset.deleted_objects
            or any("organisation" in fields for _obj, fields in formset.changed_objects)
        ):
            services.end_sessions_of_those_left_outside(user_ids=[form.instance.pk])

    @admin.display(description=_("アカウント"))
    def account_status(self, obj):
        return _("ログイン可") if obj.has_usable_password() else _("連絡先のみ")

    # -- privileges: a superuser's alone ----------------------------------------

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if access.can_change_privileges(request.user):
            return fieldsets
        # The form is built from these fieldsets, so a field left out here is
        # neither shown nor accepted when POSTed.
        return [
            (name, {**options, "fields": kept})
            for name, options in fieldsets
            if (kept := [f for f in options["fields"] if f not in access.PRIVILEGE_FIELDS])
        ]

    def get_list_display(self, request):
        if access.can_change_privileges(request.user):
            return self.list_display
        return [f for f in self.list_display if f not in access.PRIVILEGE_FIELDS]

    def get_list_filter(self, request):
        if access.can_change_privileges(request.user):
            return self.list_filter
        return [f for f in self.list_filter if f not in access.PRIVILEGE_FIELDS]

    def has_change_permission(self, request, obj=None):
        # Also guards the password form (user_change_password asks this).
        return super().has_change_permission(request, obj) and access.can_edit_account(
            request.user, obj
        )

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and access.can_edit_account(
            request.user, obj
        )


@admin.register(Membership)
class MembershipAdmin(AllOrNothingImportExportMixin, admin.ModelAdmin):
    show_full_result_count = False
    resource_classes = [MembershipResource]
    list_display = (
        "user",
        "user_email",
        "organisation",
        "staff_role",
        "experience",
        "is_org_admin",
    )
    list_filter = ("staff_role", "experience", "is_org_admin", "organisation__kind")
    list_select_related = ("user", "organisation")
    search_fields = ("user__email", "user__full_name", "user__full_name_kana", "organisation__name")
    autocomplete_fields = ("user", "organisation")
    readonly_fields = ("created_at",)

    @admin.display(description=_("メールアドレス"), ordering="user__email")
    def user_email(self, obj):
        return obj.user.email

    # Sessions (docs/security.md §13): whoever loses a membership here, and
    # whom nothing else keeps inside, is signed out everywhere.

    def save_model(self, request, obj, form, change):
        # Moved to another person or organisation: the person it was for lost it.
        previous_user_id = form.initial.get("user") if change else None
        super().save_model(request, obj, form, change)
        if change and {"user", "organisation"} & set(form.changed_data):
            services.end_sessions_of_those_left_outside(user_ids=[previous_user_id])

    def delete_model(self, request, obj):
        user_id = obj.user_id
        super().delete_model(request, obj)
        services.end_sessions_of_those_left_outside(user_ids=[user_id])

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            user_ids = list(queryset.values_list("user_id", flat=True).distinct())
            super().delete_queryset(request, queryset)
            services.end_sessions_of_those_left_outside(user_ids=user_ids)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Invitations are created by the invite workflow (a hashed token and an
    e-mail); the admin only looks at them and can revoke them."""

    list_display = (
        "membership",
        "invited_by",
        "status",
        "created_at",
        "expires_at",
        "sent_at",
        "accepted_at",
    )
    list_filter = ("accepted_at", "revoked_at", "expires_at")
    list_select_related = ("membership__user", "membership__organisation", "invited_by")
    search_fields = ("membership__user__email", "membership__organisation__name")
    fields = (
        "membership",
        "invited_by",
        "created_at",
        "expires_at",
        "sent_at",
        "accepted_at",
        "revoked_at",
    )
    readonly_fields = fields
    actions = ["revoke"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("状態"))
    def status(self, obj):
        return obj.status_label

    @admin.action(description=_("選んだ未受諾の招待を取り消す"))
    def revoke(self, request, queryset):
        count = queryset.filter(accepted_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        self.message_user(
            request, _("%(count)s 件の招待を取り消しました。") % {"count": count}, messages.SUCCESS
        )


@admin.register(JoinRequest)
class JoinRequestAdmin(admin.ModelAdmin):
    """Approving or declining happens in the secretariat's pages (it creates
    the organisation and sends the invitation); the admin corrects data."""

    list_display = (
        "organisation_name",
        "kind",
        "municipality",
        "contact_name",
        "contact_email",
        "status",
        "created_at",
    )
    list_filter = ("status", "kind")
    show_full_result_count = False
    list_select_related = ("municipality",)
    search_fields = ("organisation_name", "organisation_kana", "contact_name", "contact_email")
    autocomplete_fields = ("municipality",)
    filter_horizontal = ("programs",)
    readonly_fields = ("status", "decided_by", "decided_at", "organisation", "created_at")


# --- Groups and e-mail addresses: a superuser's alone -------------------------------


class SuperuserOnlyAdmin:
    """An admin only superusers see or use, whatever model permissions anyone
    else was given: what it edits decides privileges or owns accounts."""

    def has_module_permission(self, request):
        return access.can_change_privileges(request.user)

    def has_view_permission(self, request, obj=None):
        return access.can_change_privileges(request.user)

    def has_add_permission(self, request, *args):
        return access.can_change_privileges(request.user)

    def has_change_permission(self, request, obj=None):
        return access.can_change_privileges(request.user)

    def has_delete_permission(self, request, obj=None):
        return access.can_change_privileges(request.user)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(SuperuserOnlyAdmin, DjangoGroupAdmin):
    """A group's permissions are privileges."""


admin.site.unregister(EmailAddress)


@admin.register(EmailAddress)
class EmailAddressAdmin(SuperuserOnlyAdmin, AllauthEmailAddressAdmin):
    """Login and password reset go by these addresses: whoever adds or edits
    one (a superuser's, say) can take that account over."""


admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(SuperuserOnlyAdmin, admin.ModelAdmin):
    """A person's second factor (allauth.mfa). Its data holds the TOTP secret
    and the recovery codes' seed, so the admin never shows it and nobody adds
    or edits one here. A superuser deletes one when its owner has lost the
    device; where MFA is required they set up a new one at their next login
    (network.middleware.StaffMfaRequiredMiddleware)."""

    list_display = ("user", "type", "created_at", "last_used_at")
    list_filter = ("type",)
    list_select_related = ("user",)
    search_fields = ("user__email", "user__full_name")
    fields = ("user", "type", "created_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False
