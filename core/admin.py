"""Admin building blocks shared by the apps (no models of its own)."""

from django import forms
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export.admin import ImportExportMixin
from import_export.forms import ImportForm, SelectableFieldsExportForm
from import_export.results import RowResult

from .importing import FORMATS, MAX_BYTES, ImportFileError, check_upload_size, import_errors


class JapaneseFormatChoices:
    """The format select in Japanese: the formats' own labels, and a first
    choice that says what to do instead of import-export's 「---」."""

    format_prompt = gettext_lazy("形式を選んでください")

    def _init_formats(self, formats):
        super()._init_formats(formats)
        self.format_classes = list(formats)
        field = self.fields["format"]
        field.label = _("形式")
        field.choices = [("", self.format_prompt)] + [
            (str(i), f.label) for i, f in enumerate(formats)
        ]


class LimitedImportForm(JapaneseFormatChoices, ImportForm):
    """The upload step in Japanese; it refuses an oversize file from its size
    alone, before import-export copies it into temporary storage and reads
    it. The format may be left to the file name (.csv / .xlsx)."""

    format_prompt = gettext_lazy("ファイル名から判断する（.csv / .xlsx）")

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        self.fields["import_file"].label = _("取り込むファイル")
        self.fields["import_file"].help_text = _(
            "CSV（UTF-8・BOM付きUTF-8・Shift_JIS）または Excel（.xlsx）、%(mb)s MB まで。"
            "1行でも誤りがあれば何も保存しません。"
        ) % {"mb": MAX_BYTES // (1024 * 1024)}
        # import-export's script that guesses the format: clean() does it.
        for name in ("import_file", "format"):
            self.fields[name].widget.attrs.pop("class", None)
        self.fields["format"].required = False

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        try:
            check_upload_size(upload.size)
        except ImportFileError as exc:
            raise forms.ValidationError(str(exc)) from None
        return upload

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("import_file")
        if upload is not None and not cleaned.get("format"):
            name = upload.name.lower()
            for index, format_class in enumerate(self.format_classes):
                if name.endswith(format_class.extensions):
                    cleaned["format"] = str(index)
                    break
            else:
                self.add_error(
                    "format",
                    _("ファイル名から形式が分かりません。CSV か Excel（.xlsx）を選んでください。"),
                )
        return cleaned


class JapaneseExportForm(JapaneseFormatChoices, SelectableFieldsExportForm):
    """The export form with each column under the name the file will carry."""

    def _get_field_label(self, resource, field_name):
        field = resource.fields.get(field_name)
        return str(field.column_name) if field else field_name


class AllOrNothingImportExportMixin(ImportExportMixin):
    """ImportExportMixin with the project's formats and import contract.

    * CSV (UTF-8 / UTF-8-BOM / CP932 in, UTF-8-BOM out) and XLSX only; the
      formats check the limits of core.importing before parsing, and every
      exported cell goes through core.importing.defuse.
    * The pages are in Japanese: the forms here, the templates in
      templates/admin/import_export/ (which also show each error in the row
      and column it is about), the messages below.
    * An unreadable file is a Japanese error on the upload form, not a 500.
    * The confirm step never reports success for an import that was rolled
      back (e.g. data changed between preview and confirm).
    * Importing may create and change rows, so it needs both the add and the
      change permission; exporting needs the view permission.

    Use with resources built on core.importing.AllOrNothingResourceMixin.
    """

    formats = FORMATS
    import_error_display = ("message", "row")
    import_form_class = LimitedImportForm
    export_form_class = JapaneseExportForm

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def process_import(self, request, **kwargs):
        try:
            return super().process_import(request, **kwargs)
        except ImportFileError as exc:
            # The stored upload could not be read again (it was checked at the
            # preview; only a swapped temporary file gets here).
            messages.error(request, str(exc))
            info = self.get_model_info()
            return HttpResponseRedirect(
                reverse("admin:{}_{}_import".format(*info), current_app=self.admin_site.name)
            )

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, ImportFileError):
            form.add_error("import_file", str(e))
        else:
            form.add_error(
                "import_file",
                _(
                    "ファイルを読み込めません。選んだ形式（CSV / Excel）と実際の"
                    "ファイルが合っているか確かめてください。"
                ),
            )

    def add_success_message(self, result, request):
        totals = result.totals
        messages.success(
            request,
            _(
                "%(model)sを取り込みました: 新規 %(new)s 件・更新 %(update)s 件・"
                "変更なし %(skip)s 件。"
            )
            % {
                "model": self.model._meta.verbose_name_plural,
                "new": totals[RowResult.IMPORT_TYPE_NEW],
                "update": totals[RowResult.IMPORT_TYPE_UPDATE],
                "skip": totals[RowResult.IMPORT_TYPE_SKIP],
            },
        )

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            errors = import_errors(result)
            messages.error(
                request,
                _("取り込みを中止しました。何も保存されていません（エラー %(count)s 件）。")
                % {"count": len(errors)},
            )
            for error in errors[:20]:
                if error.row is None:
                    messages.error(request, error.message)
                else:
                    messages.error(
                        request,
                        _("%(row)s行目 %(field)s: %(message)s")
                        % {"row": error.row, "field": error.field or "", "message": error.message},
                    )
            info = self.get_model_info()
            return HttpResponseRedirect(
                reverse("admin:{}_{}_import".format(*info), current_app=self.admin_site.name)
            )
        return super().process_result(result, request)


# --- the outbox (appended by the events work: one place to see every notification) ---

from django.contrib import admin as django_admin  # noqa: E402
from django.template.response import TemplateResponse  # noqa: E402
from django.utils.translation import ngettext  # noqa: E402

from .models import OutboxMessage  # noqa: E402
from .outbox import resend_after_confirmation  # noqa: E402

MAY_HAVE_ARRIVED = _(
    "届いている可能性があります。宛先に確認し、届いていない場合だけ再送してください。"
)


@django_admin.register(OutboxMessage)
class OutboxMessageAdmin(django_admin.ModelAdmin):
    """Read-only: rows are written by core.outbox and the delivery task; the
    unique key is what prevents a second send, so nothing is edited or deleted
    here. The one change offered is the resend of an unknown or failed message,
    and only after the person confirms it did not arrive. A message's secret
    (an invitation link's token) is never shown: the body appears without it."""

    list_display = (
        "created_at",
        "kind",
        "to_email",
        "subject",
        "status",
        "delivery_note",
        "attempts",
        "sent_at",
    )
    list_filter = ("status", "kind")
    search_fields = ("key", "to_email", "subject")
    date_hierarchy = "created_at"
    fields = readonly_fields = (
        "key",
        "kind",
        "to_email",
        "reply_to",
        "subject",
        "shown_body",
        "status",
        "delivery_note",
        "attempts",
        "last_error",
        "created_at",
        "claimed_at",
        "handed_over_at",
        "sent_at",
        "resent_by",
        "resent_at",
    )
    actions = ["resend_after_confirmation"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Deleting a row frees its key, and the next sweep would send it again.
        return False

    def has_resend_permission(self, request):
        return request.user.has_perm("core.change_outboxmessage")

    @django_admin.display(description=gettext_lazy("本文"))
    def shown_body(self, obj):
        return obj.redacted_body

    @django_admin.display(description=_("注意"))
    def delivery_note(self, obj):
        return MAY_HAVE_ARRIVED if obj.may_have_arrived else ""

    @django_admin.action(
        description=_("届いていないことを確認して再送する"), permissions=["resend"]
    )
    def resend_after_confirmation(self, request, queryset):
        chosen = list(queryset.order_by("pk"))
        resendable = [m for m in chosen if m.can_be_resent]
        if not resendable:
            self.message_user(
                request,
                _("再送できるのは「要確認」か「失敗」の送信記録だけです。"),
                messages.WARNING,
            )
            return None
        if request.POST.get("post") and request.POST.get("confirm_not_delivered"):
            resent = resend_after_confirmation(
                message_ids=[m.pk for m in resendable], by=request.user
            )
            for message in resent:
                self.log_change(request, message, _("再送（宛先に届いていないことを確認済み）"))
            self.message_user(
                request,
                ngettext("%(count)d件を再送しました。", "%(count)d件を再送しました。", len(resent))
                % {"count": len(resent)},
                messages.SUCCESS,
            )
            left = len(chosen) - len(resent)
            if left:
                self.message_user(
                    request,
                    _("送信済みなど再送できない状態の%(count)d件はそのままです。")
                    % {"count": left},
                    messages.INFO,
                )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("再送の確認"),
            "opts": self.model._meta,
            "resend_messages": resendable,
            "skipped_count": len(chosen) - len(resendable),
            "missing_confirmation": bool(request.POST.get("post")),
            "may_have_arrived_note": MAY_HAVE_ARRIVED,
        }
        return TemplateResponse(
            request, "admin/core/outboxmessage/resend_confirmation.html", context
        )
