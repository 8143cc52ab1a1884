"""操作の記録: the secretariat's read-only view of the audit log (core.audit,
docs/security.md §16).

`AuditFilter` narrows the entries (what kind of row, which action, who, which
row, which days); `rows` turns a page of entries into what the table shows,
without a query per entry: a changed foreign key shows as its id, a choice as
its label, a many-to-many change as what was added or removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import django_filters
from auditlog.models import LogEntry
from django import forms
from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core import audit
from core.filters import FilterSet
from core.search import QUERY_MAX_LENGTH

ACTION_LABELS = {
    LogEntry.Action.CREATE: _("作成"),
    LogEntry.Action.UPDATE: _("変更"),
    LogEntry.Action.DELETE: _("削除"),
    LogEntry.Action.ACCESS: _("閲覧・書き出し"),
}
EVENT_LABELS = {
    audit.EXPORTED: _("個人データの書き出し（開示）"),
    audit.ERASED: _("個人データの削除（匿名化）"),
    audit.IMPORTED: _("ファイルの取り込み"),
}
NOTHING = _("（なし）")


def audited_models() -> list:
    """The models whose saves are logged, in the settings' order."""
    return [
        apps.get_model(item["model"] if isinstance(item, dict) else item)
        for item in settings.AUDITLOG_INCLUDE_TRACKING_MODELS
    ]


def _kind_choices():
    return [(model._meta.label_lower, model._meta.verbose_name) for model in audited_models()]


class AuditFilter(FilterSet):
    kind = django_filters.ChoiceFilter(
        label=_("対象の種類"), choices=_kind_choices, method="filter_kind"
    )
    action = django_filters.ChoiceFilter(
        label=_("操作"), choices=list(ACTION_LABELS.items()), field_name="action"
    )
    actor = django_filters.CharFilter(
        label=_("操作した人"),
        method="filter_actor",
        max_length=QUERY_MAX_LENGTH,
        help_text=_("氏名・メールアドレスの一部"),
    )
    target = django_filters.CharFilter(
        label=_("対象"),
        field_name="object_repr",
        lookup_expr="icontains",
        max_length=QUERY_MAX_LENGTH,
        help_text=_("名前の一部（人・組織・イベントなど）"),
    )
    since = django_filters.DateFilter(
        label=_("この日から"),
        field_name="timestamp",
        method="filter_since",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = django_filters.DateFilter(
        label=_("この日まで"),
        field_name="timestamp",
        method="filter_until",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = LogEntry
        fields = ["kind", "action", "actor", "target", "since", "until"]

    @property
    def qs(self):
        """Nothing while a filter is wrong: the page shows the error next to
        the field rather than every entry as if they matched."""
        return super().qs if self.is_valid() else self.queryset.none()

    def filter_kind(self, queryset, name, value):
        app_label, _dot, model = value.partition(".")
        return queryset.filter(content_type__app_label=app_label, content_type__model=model)

    def filter_actor(self, queryset, name, value):
        return queryset.filter(
            Q(actor__full_name__icontains=value)
            | Q(actor__email__icontains=value)
            | Q(actor_email__icontains=value)
        )

    def filter_since(self, queryset, name, value):
        return queryset.filter(timestamp__date__gte=value)

    def filter_until(self, queryset, name, value):
        return queryset.filter(timestamp__date__lte=value)


def entries():
    """Every entry, newest first, with what each row of the table reads."""
    return LogEntry.objects.select_related("actor", "content_type").order_by("-timestamp", "-pk")


@dataclass(frozen=True)
class Change:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class Row:
    entry: LogEntry
    action: str
    kind: str
    changes: list[Change]
    event: str


def rows(page) -> list[Row]:
    return [_row(entry) for entry in page]


def _row(entry: LogEntry) -> Row:
    model = entry.content_type.model_class() if entry.content_type_id else None
    extra = entry.additional_data if isinstance(entry.additional_data, dict) else {}
    return Row(
        entry=entry,
        action=ACTION_LABELS.get(entry.action, ""),
        kind=model._meta.verbose_name if model else "",
        changes=_changes(model, entry.changes if isinstance(entry.changes, dict) else {}),
        event=EVENT_LABELS.get(extra.get("event"), ""),
    )


def _changes(model, changes: dict) -> list[Change]:
    shown = []
    for name, values in changes.items():
        field = _field(model, name)
        label = str(getattr(field, "verbose_name", name))
        if isinstance(values, dict):  # a many-to-many change
            objects = "、".join(str(o) for o in values.get("objects", []))
            if values.get("operation") == "delete":
                shown.append(Change(label, objects, str(NOTHING)))
            else:
                shown.append(Change(label, str(NOTHING), objects))
            continue
        old, new = (list(values) + [None, None])[:2]
        shown.append(Change(label, _display(field, old), _display(field, new)))
    return shown


def _field(model, name):
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _display(field, value) -> str:
    if value in (None, "None", ""):
        return str(NOTHING)
    choices = dict(field.flatchoices) if getattr(field, "choices", None) else {}
    if value in choices:
        return str(choices[value])
    if getattr(field, "many_to_one", False) or getattr(field, "one_to_one", False):
        return f"#{value}"
    if value in ("True", True):
        return str(_("はい"))
    if value in ("False", False):
        return str(_("いいえ"))
    return str(value)
