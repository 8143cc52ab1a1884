"""Secretariat: attendee export and the import of past attendance lists.

The import is two steps: upload → dry run shown as a preview (counts, the first
rows as they will be written, or every error) → confirm, which validates again
and writes. Between the two steps the uploaded bytes wait in the default
storage under imports/<random token>.<ext> (the token is unguessable and kept
in the session, the file is deleted after use and forgotten files are swept
after a day), so the secretariat does not have to pick the file twice.
"""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from core.uploads import PendingUploads

from ..access import events_manager_required
from ..importing import COLUMN_NAMES, COLUMNS, MAX_BYTES, PREVIEW_ROWS, import_attendance
from ..models import Event
from ..resources import FORMATS, export_attendees

UPLOADS = PendingUploads(session_key="events_attendance_import", storage_dir="imports")
SESSION_KEY, STORAGE_DIR = UPLOADS.session_key, UPLOADS.storage_dir
ALLOWED_EXTENSIONS = (".csv", ".txt", ".xlsx")
# The error table shows this many; the rest are counted (the file has to be
# fixed and uploaded again anyway).
MAX_ERRORS_SHOWN = 200


# --- export --------------------------------------------------------------------


@events_manager_required
@require_safe
def attendee_export(request, pk, fmt):
    if fmt not in FORMATS:
        raise Http404
    event = get_object_or_404(Event.objects.manageable_by(request.user), pk=pk)
    content, content_type, filename = export_attendees(event, fmt)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- import --------------------------------------------------------------------


class AttendanceUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("参加者名簿ファイル"),
        help_text=gettext_lazy(
            "CSV（UTF-8・BOM付きUTF-8・Shift_JIS）または Excel（.xlsx）。10MB まで。"
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.txt"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(ALLOWED_EXTENSIONS):
            raise forms.ValidationError(
                _("CSV（.csv）か Excel（.xlsx）のファイルを選んでください。")
            )
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                _("ファイルが大きすぎます（上限 %(mb)s MB）。分けて取り込んでください。")
                % {"mb": MAX_BYTES // (1024 * 1024)}
            )
        if upload.size == 0:
            raise forms.ValidationError(_("ファイルが空です。"))
        return upload


def _extension(filename: str) -> str:
    lowered = filename.lower()
    return next((ext for ext in ALLOWED_EXTENSIONS if lowered.endswith(ext)), ".csv")


def _preview(request, result, *, filename, token=None, confirmed=False):
    return render(
        request,
        "events/import_preview.html",
        {
            "result": result,
            "filename": filename,
            "token": token,
            "errors_shown": result.errors[:MAX_ERRORS_SHOWN],
            "errors_hidden": max(0, len(result.errors) - MAX_ERRORS_SHOWN),
            "preview_rows": PREVIEW_ROWS,
            "confirmed": confirmed,
        },
    )


@events_manager_required
def attendance_import(request):
    form = AttendanceUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        raw = upload.read()
        result = import_attendance(
            raw=raw,
            filename=upload.name,
            dry_run=True,
            events=Event.objects.manageable_by(request.user),
        )
        UPLOADS.forget(request)  # a new upload replaces any unconfirmed one
        token = (
            UPLOADS.keep(request, raw, upload.name, _extension(upload.name)) if result.ok else None
        )
        return _preview(request, result, filename=upload.name, token=token)
    columns = [COLUMN_NAMES[c] for c in COLUMNS]
    return render(request, "events/import_form.html", {"form": form, "columns": columns})


@events_manager_required
@require_POST
def attendance_import_confirm(request):
    pending = UPLOADS.take(request, request.POST.get("token", ""))
    if pending is None:
        UPLOADS.forget(request)
        messages.error(
            request,
            _(
                "確認中のファイルが見つかりません（有効期限切れか、別の画面で取り込み済みです）。"
                "もう一度アップロードしてください。"
            ),
        )
        return redirect("events:import")
    result = import_attendance(
        raw=pending.raw, filename=pending.name, events=Event.objects.manageable_by(request.user)
    )
    UPLOADS.forget(request)
    if not result.written:
        # The data changed since the preview (an event deleted, someone
        # registered): nothing was written; show why.
        return _preview(request, result, filename=pending.name, confirmed=True)
    messages.success(request, _("取り込みました。") + result.summary())
    return redirect("events:import")
