from django.contrib import admin
from django.db import models

from . import indexing
from .models import (
    Category,
    CategoryRule,
    Location,
    Phone,
    Provider,
    Schedule,
    Service,
    ServiceAtLocation,
)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "parent", "order"]
    list_editable = ["order"]


@admin.register(CategoryRule)
class CategoryRuleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "layout", "column", "pattern", "category", "order"]
    list_editable = ["order"]
    list_filter = ["layout", "category"]


class ReindexingAdmin(admin.ModelAdmin):
    """Keeps what the navi lists and finds in step with an edit here (names,
    texts, troubles, areas, status; directory.indexing)."""

    reindex_by = "services"

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        indexing.refresh_of(**{self.reindex_by: [form.instance.pk]})


@admin.register(Provider)
class ProviderAdmin(ReindexingAdmin):
    reindex_by = "providers"
    list_display = ["name", "organisation", "is_sample"]
    search_fields = ["name", "kana"]
    raw_id_fields = ["organisation"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


class WindowInline(admin.TabularInline):
    model = ServiceAtLocation
    extra = 0
    raw_id_fields = ["location"]
    show_change_link = True


@admin.register(Service)
class ServiceAdmin(ReindexingAdmin):
    list_display = ["name", "provider", "status", "verified_on", "is_sample"]
    list_filter = ["status", "categories", "is_sample"]
    search_fields = ["name", "kana", "provider__name"]
    raw_id_fields = ["provider", "verified_by"]
    filter_horizontal = ["categories", "programs", "service_area"]
    inlines = [WindowInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Location)
class LocationAdmin(ReindexingAdmin):
    reindex_by = "locations"
    list_display = ["name", "address", "municipality"]
    list_filter = ["municipality__region"]
    search_fields = ["name", "kana", "address"]
    raw_id_fields = ["municipality"]


class PhoneInline(admin.TabularInline):
    model = Phone
    extra = 0


class ScheduleInline(admin.TabularInline):
    model = Schedule
    extra = 0


@admin.register(ServiceAtLocation)
class ServiceAtLocationAdmin(ReindexingAdmin):
    reindex_by = "windows"
    list_display = ["service", "location"]
    search_fields = ["service__name", "location__name"]
    raw_id_fields = ["service", "location"]
    inlines = [PhoneInline, ScheduleInline]


@admin.register(Phone)
class PhoneAdmin(admin.ModelAdmin):
    list_display = ["number", "service_at_location", "description"]
    raw_id_fields = ["service_at_location"]


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ["service_at_location", "weekday", "opens_at", "closes_at"]
    raw_id_fields = ["service_at_location"]
