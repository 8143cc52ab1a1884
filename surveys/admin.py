"""Django admin for the surveys app.

The secretariat builds, sends and reads surveys through its own pages
(surveys/views/manage.py, results.py), which go through surveys.services
(invitations, e-mails, validation of answers). The admin is for looking and
for small corrections: invitations are read-mostly (the token is only ever
stored as a hash), and responses and answers are read-only — what someone
answered is not edited by hand. Every changelist names its related objects
in `list_select_related`, so its query count does not grow with the rows.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Answer, Invitation, Question, Response, Survey


class QuestionInline(admin.StackedInline):
    model = Question
    fk_name = "survey"
    extra = 0
    fields = (
        ("order", "key", "kind", "required", "audience"),
        "text",
        "help_text",
        "choices",
        "allow_other",
        ("scale_min_label", "scale_max_label"),
        ("show_if_question", "show_if_value"),
    )
    raw_id_fields = ("show_if_question",)
    ordering = ("order", "pk")


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "kind",
        "fiscal_year",
        "audience",
        "respondent_unit",
        "anonymous",
        "status",
        "opens_at",
        "closes_at",
    )
    list_filter = ("status", "kind", "fiscal_year", "respondent_unit", "anonymous")
    search_fields = ("title",)
    date_hierarchy = "opens_at"
    autocomplete_fields = ("event", "chosen_organisations", "created_by")
    readonly_fields = ("created_at", "updated_at")
    inlines = [QuestionInline]
    fieldsets = (
        (None, {"fields": ("title", "introduction", "kind", "event", "fiscal_year")}),
        (
            _("対象と回答"),
            {
                "fields": (
                    "audience",
                    "chosen_organisations",
                    "respondent_unit",
                    "anonymous",
                )
            },
        ),
        (
            _("日程"),
            {"fields": ("opens_at", "closes_at", "reminder_days", "status")},
        ),
        (_("記録"), {"fields": ("created_by", "created_at", "updated_at")}),
    )

    def has_delete_permission(self, request, obj=None):
        # Survey.can_be_deleted: a published survey has sent links and may
        # hold answers, which deleting it would take along.
        if obj is not None and not obj.can_be_deleted:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        # The bulk delete would not ask can_be_deleted of each survey.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ("text", "survey", "order", "key", "kind", "required", "audience")
    list_filter = ("kind", "audience", "required")
    list_select_related = ("survey",)
    search_fields = ("text", "key", "survey__title")
    raw_id_fields = ("survey", "show_if_question")
    ordering = ("survey", "order", "pk")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Read-mostly: only the e-mail address may be corrected."""

    list_display = (
        "survey",
        "organisation",
        "user",
        "email",
        "sent_at",
        "reminder_count",
        "last_reminded_at",
        "responded_at",
    )
    list_filter = ("survey__fiscal_year", "survey__kind")
    list_select_related = ("survey", "organisation", "user")
    search_fields = (
        "email",
        "organisation__name",
        "user__email",
        "user__full_name",
        "survey__title",
    )
    readonly_fields = (
        "survey",
        "user",
        "organisation",
        "created_at",
        "sent_at",
        "last_reminded_at",
        "reminder_count",
        "responded_at",
    )
    exclude = ("token_hash",)

    def has_add_permission(self, request):
        # Invitations are made by publishing a survey (surveys.services).
        return False


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0
    fields = ("question", "choice", "number", "text")
    readonly_fields = fields
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("question")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Response)
class ResponseAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "survey",
        "organisation",
        "user",
        "organisation_kind",
        "region",
        "participated",
        "submitted_at",
    )
    list_filter = ("organisation_kind", "participated", "survey__fiscal_year", "survey__kind")
    list_select_related = ("survey", "organisation", "user", "region")
    search_fields = ("organisation__name", "user__email", "user__full_name", "survey__title")
    readonly_fields = (
        "survey",
        "invitation",
        "user",
        "organisation",
        "organisation_kind",
        "region",
        "participated",
        "started_at",
        "updated_at",
        "submitted_at",
    )
    inlines = [AnswerInline]


@admin.register(Answer)
class AnswerAdmin(ReadOnlyAdmin):
    list_display = ("pk", "question", "response", "choice", "number", "short_text")
    list_select_related = ("question", "response")
    list_filter = ("question__kind",)
    search_fields = ("text", "choice", "question__text")
    raw_id_fields = ("response", "question")

    @admin.display(description=_("記述"))
    def short_text(self, obj):
        return obj.text[:40]
