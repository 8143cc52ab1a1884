from django.contrib import admin

from .models import Need, NeedUpdate, ReportOpinion, ReportText, ReportTextRevision


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


# --- the annual report's paragraphs and opinions: written only by committee.report ---


class WrittenByTheReportOnly:
    """Looked at only, by superusers (the secretariat's admin permissions do
    not name these models): the paragraphs and their history are written by
    committee.report.save_texts, which keeps every version, and the opinions
    by committee.report_opinions.save_choices, which refuses an answer the
    privacy guard flagged; an edit or a delete here would leave the history
    untrue or quote what the secretariat did not choose."""

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReportTextRevisionInline(WrittenByTheReportOnly, admin.TabularInline):
    model = ReportTextRevision
    extra = 0
    fields = ("created_at", "author", "privacy_flagged", "text")
    readonly_fields = fields


@admin.register(ReportText)
class ReportTextAdmin(WrittenByTheReportOnly, admin.ModelAdmin):
    list_display = ("fiscal_year", "section", "privacy_flagged", "updated_by", "updated_at")
    list_filter = ("fiscal_year", "section", "privacy_flagged")
    list_select_related = ("updated_by",)
    fields = ("fiscal_year", "section", "text", "privacy_flagged", "updated_by", "updated_at")
    readonly_fields = fields
    inlines = [ReportTextRevisionInline]


@admin.register(ReportTextRevision)
class ReportTextRevisionAdmin(WrittenByTheReportOnly, admin.ModelAdmin):
    list_display = ("report_text", "created_at", "author", "privacy_flagged")
    list_filter = ("report_text__fiscal_year", "report_text__section", "privacy_flagged")
    list_select_related = ("report_text", "author")
    fields = ("report_text", "text", "privacy_flagged", "author", "created_at")
    readonly_fields = fields


@admin.register(ReportOpinion)
class ReportOpinionAdmin(WrittenByTheReportOnly, admin.ModelAdmin):
    list_display = ("fiscal_year", "answer", "chosen_by", "chosen_at")
    list_filter = ("fiscal_year",)
    list_select_related = ("answer", "chosen_by")
    fields = ("fiscal_year", "answer", "chosen_by", "chosen_at")
    readonly_fields = fields
