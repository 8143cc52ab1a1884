"""Django admin for the back-up menus. The catalogue (menus and their
questions) is edited here by the secretariat's admins; applications,
engagements and session records are read-only here, because their changes go
through the app's pages and services (slots, mails, history)."""

from django.contrib import admin

from .models import (
    Application,
    ApplicationUpdate,
    Engagement,
    EngagementSession,
    Menu,
    MenuQuestion,
)


class MenuQuestionInline(admin.TabularInline):
    model = MenuQuestion
    extra = 0
    fields = ("purpose", "order", "key", "text", "help_text", "kind", "required", "choices")


@admin.register(Menu)
class MenuAdmin(admin.ModelAdmin):
    list_display = ("number", "name", "status", "slots_per_year")
    list_filter = ("status",)
    search_fields = ("name", "summary")
    filter_horizontal = ("partners", "eligible_programs", "eligible_regions")
    inlines = [MenuQuestionInline]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ApplicationUpdateInline(ReadOnlyInline):
    model = ApplicationUpdate
    fields = ("created_at", "old_status", "new_status", "note")
    readonly_fields = fields


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ("pk", "menu", "organisation", "fiscal_year", "status", "submitted_at")
    list_filter = ("status", "fiscal_year", "menu")
    list_select_related = ("menu", "organisation")
    search_fields = ("organisation__name",)
    inlines = [ApplicationUpdateInline]


class SessionInline(ReadOnlyInline):
    model = EngagementSession
    fields = ("held_on", "duration_minutes", "mode", "partner_hours", "secretariat_hours")
    readonly_fields = fields


@admin.register(Engagement)
class EngagementAdmin(ReadOnlyAdmin):
    list_display = ("application", "partner", "accepted_at", "started_on", "completed_at")
    list_select_related = ("application__menu", "application__organisation", "partner")
    inlines = [SessionInline]
