"""The secretariat's files of the back-up menus: the applications of a 年度 and
the session records of their engagements, as CSV or XLSX.

Both are tablib datasets written through the project's formats
(core.importing.CSV / XLSX): every text cell is defused against formula
injection and CSV is UTF-8 with a BOM, so that Excel opens it as UTF-8. Headers
are Japanese: the files are read by people. Each file is one query whatever
its length (the totals are annotations, the names are joined).

The session records carry no person: not who recorded them, nor anyone helped.
Their free texts passed the privacy guard when they were written.
"""

from __future__ import annotations

from decimal import Decimal

import tablib
from django.db.models import Count, DecimalField, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from core.importing import CSV, XLSX
from core.templatetags.wareki import wareki_fy

from .models import EngagementSession

FORMATS = {"csv": CSV, "xlsx": XLSX}
ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=8, decimal_places=2))


def _date(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "tzinfo") and value.tzinfo is not None:
        value = timezone.localtime(value)
    return value.strftime("%Y-%m-%d")


def _hours(value) -> Decimal | int | str:
    """Hours without trailing zeros (2, 0.5), a number for the spreadsheet."""
    if value is None:
        return ""
    return int(value) if value == value.to_integral_value() else value.normalize()


def with_totals(queryset):
    """Applications with their engagement's hours and session count."""
    return queryset.select_related("menu", "organisation__region", "engagement__partner").annotate(
        partner_hours_total=Coalesce(Sum("engagement__sessions__partner_hours"), ZERO),
        secretariat_hours_total=Coalesce(Sum("engagement__sessions__secretariat_hours"), ZERO),
        session_count=Count("engagement__sessions"),
    )


def applications_dataset(queryset) -> tablib.Dataset:
    """One row per application of `queryset` (pass it through with_totals)."""
    headers = [
        _("申込ID"),
        _("年度"),
        _("メニュー"),
        _("申込組織"),
        _("組織種別"),
        _("振興局"),
        _("状態"),
        _("申込日"),
        _("決定日"),
        _("担当する協力団体"),
        _("開始日"),
        _("完了日"),
        _("協力団体の従事時間（合計）"),
        _("事務局の調整時間（合計）"),
        _("支援記録の件数"),
    ]
    dataset = tablib.Dataset(headers=[str(h) for h in headers])
    for app in queryset:
        engagement = getattr(app, "engagement", None)
        organisation = app.organisation
        dataset.append(
            [
                app.pk,
                wareki_fy(app.fiscal_year),
                str(app.menu),
                organisation.name,
                organisation.get_kind_display(),
                organisation.region.name if organisation.region_id else "",
                app.get_status_display(),
                _date(app.submitted_at),
                _date(app.decided_at),
                engagement.partner.name if engagement else "",
                _date(engagement.started_on) if engagement else "",
                _date(engagement.completed_at) if engagement else "",
                _hours(app.partner_hours_total) if engagement else "",
                _hours(app.secretariat_hours_total) if engagement else "",
                app.session_count if engagement else "",
            ]
        )
    return dataset


def sessions_of(applications):
    """The session records of the engagements of `applications`."""
    return (
        EngagementSession.objects.filter(
            engagement__application__in=applications.order_by().values("pk")
        )
        .select_related(
            "engagement__application__menu",
            "engagement__application__organisation",
            "engagement__partner",
        )
        .order_by("engagement_id", "held_on", "pk")
    )


def sessions_dataset(queryset) -> tablib.Dataset:
    headers = [
        _("支援ID"),
        _("メニュー"),
        _("申込組織"),
        _("担当する協力団体"),
        _("実施日"),
        _("所要時間（分）"),
        _("方法"),
        _("協力団体の従事時間"),
        _("事務局の調整時間"),
        _("実施内容"),
        _("次の予定"),
    ]
    dataset = tablib.Dataset(headers=[str(h) for h in headers])
    for session in queryset:
        engagement = session.engagement
        application = engagement.application
        dataset.append(
            [
                engagement.pk,
                str(application.menu),
                application.organisation.name,
                engagement.partner.name,
                _date(session.held_on),
                session.duration_minutes,
                session.get_mode_display(),
                _hours(session.partner_hours),
                _hours(session.secretariat_hours),
                session.done,
                session.next_steps,
            ]
        )
    return dataset


def write(dataset: tablib.Dataset, fmt: str) -> tuple[bytes, str]:
    """The file's bytes and content type in format `fmt` (a key of FORMATS)."""
    file_format = FORMATS[fmt]()
    return file_format.export_data(dataset), file_format.get_content_type()
