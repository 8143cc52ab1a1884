"""Django admin for the events app.

Day-to-day work happens in the secretariat's pages (events/views/manage*.py),
which go through events.services (capacity, waiting list, notifications). The
admin is for corrections: editing a registration here bypasses capacity checks
and sends no mail; what the services derive from a write (the check-in search
keys, the dashboard's tallies) is kept by services.corrected(). Every changelist names its related objects in
`list_select_related`, so its query count does not grow with the rows.
"""

from django.contrib import admin
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from . import services
from .models import CalendarFeed, Event, GuestRequest, Registration, Session


class SessionInline(admin.TabularInline):
    model = Session
    extra = 0
    fields = ("order", "title", "capacity", "description")


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("kind", "number", "title", "starts_at", "status", "fiscal_year", "municipality")
    list_display_links = ("title",)
    list_filter = ("status", "kind", "fiscal_year", "format", "audience")
    list_select_related = ("municipality",)
    search_fields = ("title", "theme", "venue_name", "municipality__name")
    date_hierarchy = "starts_at"

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            services.corrected(event_ids=[obj.pk])

    def delete_model(self, request, obj):
        with transaction.atomic():
            services.before_deleting_events([obj.pk])
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            services.before_deleting_events(list(queryset.values_list("pk", flat=True)))
            super().delete_queryset(request, queryset)

    autocomplete_fields = ("municipality", "host_organisation")
    readonly_fields = ("created_at", "updated_at")
    # Links typed without a scheme are https (Django 6's default, and silences its warning).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    inlines = [SessionInline]
    fieldsets = (
        (None, {"fields": ("kind", "number", "fiscal_year", "title", "theme", "description")}),
        (
            _("日時と会場"),
            {
                "fields": (
                    "starts_at",
                    "ends_at",
                    "format",
                    "venue_name",
                    "venue_address",
                    "municipality",
                    "online_url",
                )
            },
        ),
        (
            _("定員と申込"),
            {
                "fields": (
                    "venue_capacity",
                    "online_capacity",
                    "has_social",
                    "social_capacity",
                    "social_details",
                    "registration_opens_at",
                    "registration_closes_at",
                )
            },
        ),
        (
            _("対象と状態"),
            {
                "fields": (
                    "audience",
                    "audience_program",
                    "host_organisation",
                    "status",
                    "cancellation_reason",
                )
            },
        ),
        (_("資料"), {"fields": ("report_url", "video_url", "slides")}),
        (_("記録"), {"fields": ("created_at", "updated_at")}),
    )


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("title", "event", "capacity", "order")
    list_filter = ("event__fiscal_year", "event__kind")
    list_select_related = ("event",)
    search_fields = ("title", "event__title")
    autocomplete_fields = ("event",)


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin):
    list_display = (
        "user_name",
        "user_email",
        "event",
        "organisation_display",
        "mode",
        "session",
        "social",
        "status",
        "attended",
        "created_at",
    )
    list_filter = ("status", "mode", "social", "attended", "event__fiscal_year", "event")
    list_select_related = ("user", "event", "organisation", "session")
    search_fields = (
        "user__full_name",
        "user__full_name_kana",
        "user__email",
        "organisation__name",
        "organisation_name",
    )
    autocomplete_fields = ("event", "user", "organisation", "session")
    readonly_fields = ("confirmation_token_hash", "created_at", "updated_at", "cancelled_at")

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            services.corrected(event_ids=[obj.event_id], registration_ids=[obj.pk])

    def delete_model(self, request, obj):
        with transaction.atomic():
            services.before_deleting_registrations([obj.pk])
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            services.before_deleting_registrations(list(queryset.values_list("pk", flat=True)))
            super().delete_queryset(request, queryset)

    @admin.display(description=_("氏名"), ordering="user__full_name_kana")
    def user_name(self, obj):
        return obj.user.full_name

    @admin.display(description=_("メールアドレス"), ordering="user__email")
    def user_email(self, obj):
        return obj.user.email

    @admin.display(description=_("所属"), ordering="organisation__name")
    def organisation_display(self, obj):
        return obj.organisation.name if obj.organisation else obj.organisation_name


@admin.register(GuestRequest)
class GuestRequestAdmin(admin.ModelAdmin):
    """Looked at and deleted only: a request is the public form's, waiting for
    the link mailed to an existing account's address (services.register_guest);
    editing it here would attach nothing to anyone."""

    list_display = ("email", "event", "mode", "created_at")
    list_filter = ("event__fiscal_year",)
    list_select_related = ("event",)
    search_fields = ("email", "full_name", "event__title")
    fields = (
        "event",
        "email",
        "full_name",
        "full_name_kana",
        "organisation_name",
        "mode",
        "session",
        "social",
        "question",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    """Looked at only: the token is a secret URL the person manages themselves."""

    list_display = ("user", "created_at")
    list_select_related = ("user",)
    search_fields = ("user__email", "user__full_name")
    fields = ("user", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
