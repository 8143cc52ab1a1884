"""Spreadsheet export of an event's registrations (django-import-export).

Headers are Japanese because the file is read by people in Excel, not fed
back into the portal (the attendance import has its own, English, columns:
events/importing.py). CSV is written as UTF-8 with BOM and cells starting with
"=" are defused (IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT) by the project's
formats in core.importing: a 事前質問 is free text typed by anyone.

That setting only strips a leading "=". Spreadsheets also run cells starting
with "+", "-", "@", tab or CR (CSV injection), so the free-text columns get a
leading apostrophe instead, which keeps the text readable and inert.
"""

from django.utils import timezone
from import_export import fields, resources

from core.importing import CSV, XLSX, defuse

from .models import Registration

FORMATS = {"csv": CSV, "xlsx": XLSX}


def _column(name: str, dehydrate: str) -> fields.Field:
    return fields.Field(column_name=name, dehydrate_method=dehydrate)


class AttendeeResource(resources.Resource):
    """One row per registration (cancelled ones included; 状態 tells)."""

    registration_id = _column("申込ID", "dehydrate_registration_id")
    full_name = _column("氏名", "dehydrate_full_name")
    full_name_kana = _column("ふりがな", "dehydrate_full_name_kana")
    email = _column("メール", "dehydrate_email")
    organisation = _column("所属", "dehydrate_organisation")
    organisation_kind = _column("組織種別", "dehydrate_organisation_kind")
    municipality_code = _column("市町村コード", "dehydrate_municipality_code")
    mode = _column("参加方法", "dehydrate_mode")
    session = _column("分科会", "dehydrate_session")
    social = _column("懇親会", "dehydrate_social")
    status = _column("状態", "dehydrate_status")
    attended = _column("出席", "dehydrate_attended")
    question = _column("事前質問", "dehydrate_question")
    created_at = _column("申込日時", "dehydrate_created_at")

    @staticmethod
    def queryset_for(event):
        return (
            Registration.objects.filter(event=event)
            .select_related("user", "organisation__municipality", "session")
            .order_by("created_at", "pk")
        )

    # Every value is a string: the formula escaping turns cells into str()
    # anyway, and None would come out as the text "None".
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
