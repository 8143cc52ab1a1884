"""Spreadsheet export of an event's registrations (django-import-export).

The columns are the attendance import's (events/importing.py, same Japanese
names from COLUMN_NAMES, choices as their labels), so the secretariat can mark
who came in Excel and import the file back: イベントID … 出席, 状態; then, for
reading only and ignored by the import, 申込ID, 分科会, 事前質問, 申込日時.
A cancelled or waiting registration comes back unchanged, because the import
records only rows whose 状態 is 参加確定.

CSV is written as UTF-8 with BOM, and the project's formats (core.importing)
give every cell that a spreadsheet would run as a formula (starting with =, +,
-, @, tab or CR) a leading quote: a 事前質問 is free text typed by anyone. The
import drops that quote again (core.importing.undefuse).
"""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources

from core.importing import CSV, XLSX, defuse

from .importing import COLUMN_NAMES, COLUMNS, OPTIONAL_COLUMNS
from .models import Registration

FORMATS = {"csv": CSV, "xlsx": XLSX}


def _column(name, dehydrate: str) -> fields.Field:
    return fields.Field(column_name=str(name), dehydrate_method=dehydrate)


class AttendeeResource(resources.Resource):
    """One row per registration (cancelled ones included; 状態 tells)."""

    event_id = _column(COLUMN_NAMES["event_id"], "dehydrate_event_id")
    email = _column(COLUMN_NAMES["email"], "dehydrate_email")
    full_name = _column(COLUMN_NAMES["full_name"], "dehydrate_full_name")
    full_name_kana = _column(COLUMN_NAMES["full_name_kana"], "dehydrate_full_name_kana")
    organisation = _column(COLUMN_NAMES["organisation"], "dehydrate_organisation")
    organisation_kind = _column(COLUMN_NAMES["organisation_kind"], "dehydrate_organisation_kind")
    municipality_code = _column(COLUMN_NAMES["municipality_code"], "dehydrate_municipality_code")
    mode = _column(COLUMN_NAMES["mode"], "dehydrate_mode")
    social = _column(COLUMN_NAMES["social"], "dehydrate_social")
    attended = _column(COLUMN_NAMES["attended"], "dehydrate_attended")
    status = _column(COLUMN_NAMES["status"], "dehydrate_status")
    registration_id = _column(_("申込ID"), "dehydrate_registration_id")
    session = _column(_("分科会"), "dehydrate_session")
    question = _column(_("事前質問"), "dehydrate_question")
    created_at = _column(_("申込日時"), "dehydrate_created_at")

    class Meta:
        # The import's columns first, in its order; then those for reading.
        export_order = (
            *COLUMNS,
            *OPTIONAL_COLUMNS,
            "registration_id",
            "session",
            "question",
            "created_at",
        )

    @staticmethod
    def queryset_for(event):
        return (
            Registration.objects.filter(event=event)
            .select_related("user", "organisation__municipality", "session")
            .order_by("created_at", "pk")
        )

    # Every value is a string: the formula escaping turns cells into str()
    # anyway, and None would come out as the text "None".
    def dehydrate_event_id(self, obj):
        return str(obj.event_id)

    def dehydrate_registration_id(self, obj):
        return str(obj.pk)

    def dehydrate_full_name(self, obj):
        return defuse(obj.user.full_name)

    def dehydrate_full_name_kana(self, obj):
        return defuse(obj.user.full_name_kana)

    def dehydrate_email(self, obj):
        return defuse(obj.user.email)

    def dehydrate_organisation(self, obj):
        return defuse(obj.organisation.name if obj.organisation else obj.organisation_name)

    def dehydrate_organisation_kind(self, obj):
        return str(obj.organisation.get_kind_display()) if obj.organisation else ""

    def dehydrate_municipality_code(self, obj):
        municipality = obj.organisation.municipality if obj.organisation else None
        return municipality.code if municipality else ""

    def dehydrate_mode(self, obj):
        return str(obj.get_mode_display())

    def dehydrate_session(self, obj):
        return obj.session.title if obj.session else ""

    def dehydrate_social(self, obj):
        return "" if obj.social == Registration.SocialStatus.NONE else str(obj.get_social_display())

    def dehydrate_status(self, obj):
        return str(obj.get_status_display())

    def dehydrate_attended(self, obj):
        return "○" if obj.attended else ""

    def dehydrate_question(self, obj):
        return defuse(obj.question)

    def dehydrate_created_at(self, obj):
        return timezone.localtime(obj.created_at).strftime("%Y-%m-%d %H:%M")


def export_attendees(event, fmt: str) -> tuple[bytes, str, str]:
    """(content, content type, file name) of the attendee list in `fmt`."""
    file_format = FORMATS[fmt]()
    resource = AttendeeResource()
    dataset = resource.export(queryset=AttendeeResource.queryset_for(event))
    return (
        file_format.export_data(dataset),
        file_format.get_content_type(),
        f"event-{event.pk}-attendees.{fmt}",
    )
