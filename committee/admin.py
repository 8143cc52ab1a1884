from django.contrib import admin

from .models import Need, NeedUpdate


class NeedUpdateInline(admin.TabularInline):
    model = NeedUpdate
    extra = 0
    fields = ("created_at", "author", "old_status", "new_status", "function", "note")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        # The history is written by committee.needs, never by hand.
        return False


@admin.register(Need)
class NeedAdmin(admin.ModelAdmin):
    list_display = ("title", "fiscal_year", "function", "status", "source", "owner", "updated_at")
    list_filter = ("status", "function", "source", "fiscal_year")
    search_fields = ("title", "text")
    raw_id_fields = (
        "source_registration",
        "source_answer",
        "source_application",
        "source_engagement",
        "event",
        "owner",
        "raised_by",
    )
    readonly_fields = ("created_at", "updated_at")
    inlines = [NeedUpdateInline]


@admin.register(NeedUpdate)
class NeedUpdateAdmin(admin.ModelAdmin):
    list_display = ("need", "created_at", "author", "old_status", "new_status")
    list_select_related = ("need", "author")
    search_fields = ("need__title", "note")
    readonly_fields = (
        "need",
        "author",
        "old_status",
        "new_status",
        "function",
        "note",
        "created_at",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
