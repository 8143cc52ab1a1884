"""Admin building blocks shared by the apps (no models of its own)."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from import_export.admin import ImportExportMixin

from .importing import FORMATS, ImportFileError, import_errors


class AllOrNothingImportExportMixin(ImportExportMixin):
    """ImportExportMixin with the project's formats and import contract.

    * CSV (UTF-8 / UTF-8-BOM / CP932 in, UTF-8-BOM out) and XLSX only.
    * An unreadable file is a Japanese error on the upload form, not a 500.
    * The confirm step never reports success for an import that was rolled
      back (e.g. data changed between preview and confirm).

    Use with resources built on core.importing.AllOrNothingResourceMixin.
    """

    formats = FORMATS
    import_error_display = ("message", "row")

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

from .models import OutboxMessage  # noqa: E402


@django_admin.register(OutboxMessage)
class OutboxMessageAdmin(django_admin.ModelAdmin):
    """Read-only: rows are written by core.outbox and the delivery task; the
    unique key is what prevents a second send, so nothing is edited here."""

    list_display = ("created_at", "kind", "to_email", "subject", "status", "attempts", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("key", "to_email", "subject")
    date_hierarchy = "created_at"
    readonly_fields = (
        "key",
        "kind",
        "to_email",
        "subject",
        "body",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "claimed_at",
        "sent_at",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
