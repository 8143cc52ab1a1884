"""Secretariat: attendee export and the import of past attendance lists.

The import is two steps: upload → dry run shown as a preview (counts, the first
rows as they will be written, or every error) → confirm, which validates again
and writes. Between the two steps the uploaded bytes wait in the default
storage under imports/<random token>.<ext> (the token is unguessable and kept
in the session, the file is deleted after use and forgotten files are swept
after a day), so the secretariat does not have to pick the file twice.
"""

import secrets
from datetime import timedelta

from django import forms
from django.contrib import messages
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from ..access import events_manager_required
from ..importing import COLUMN_NAMES, COLUMNS, MAX_BYTES, PREVIEW_ROWS, import_attendance
from ..models import Event
from ..resources import FORMATS, export_attendees

SESSION_KEY = "events_attendance_import"
STORAGE_DIR = "imports"
STALE_AFTER = timedelta(days=1)
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


def _sweep_stale_uploads() -> None:
    """Remove uploads whose preview was never confirmed."""
    try:
        _dirs, files = default_storage.listdir(STORAGE_DIR)
    except (FileNotFoundError, NotImplementedError):
        return
    limit = timezone.now() - STALE_AFTER
    for name in files:
        path = f"{STORAGE_DIR}/{name}"
        try:
            if default_storage.get_modified_time(path) < limit:
                default_storage.delete(path)
        except (FileNotFoundError, NotImplementedError, OSError):
            continue


def _extension(filename: str) -> str:
    lowered = filename.lower()
    return next((ext for ext in ALLOWED_EXTENSIONS if lowered.endswith(ext)), ".csv")


def _keep_upload(request, raw: bytes, filename: str) -> str:
    token = secrets.token_urlsafe(24)
    path = default_storage.save(f"{STORAGE_DIR}/{token}{_extension(filename)}", ContentFile(raw))
    request.session[SESSION_KEY] = {"token": token, "path": path, "name": filename}
    return token


def _forget_upload(request) -> None:
    pending = request.session.pop(SESSION_KEY, None)
    if pending:
        try:
            default_storage.delete(pending["path"])
        except (OSError, KeyError, TypeError):
            pass


def _read_upload(pending) -> bytes | None:
    try:
        with default_storage.open(pending["path"], "rb") as handle:
            return handle.read()
    except (OSError, KeyError, TypeError):
        return None


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
        _forget_upload(request)  # a new upload replaces any unconfirmed one
        _sweep_stale_uploads()
        token = _keep_upload(request, raw, upload.name) if result.ok else None
        return _preview(request, result, filename=upload.name, token=token)
    columns = [COLUMN_NAMES[c] for c in COLUMNS]
    return render(request, "events/import_form.html", {"form": form, "columns": columns})


@events_manager_required
@require_POST
def attendance_import_confirm(request):
    pending = request.session.get(SESSION_KEY)
    token = request.POST.get("token", "")
    raw = None
    if isinstance(pending, dict) and secrets.compare_digest(
        str(pending.get("token", "")).encode(), token.encode()
    ):
        raw = _read_upload(pending)
    if raw is None:
        _forget_upload(request)
        messages.error(
            request,
            _(
                "確認中のファイルが見つかりません（有効期限切れか、別の画面で取り込み済みです）。"
                "もう一度アップロードしてください。"
            ),
        )
        return redirect("events:import")
    result = import_attendance(
        raw=raw, filename=pending["name"], events=Event.objects.manageable_by(request.user)
    )
    _forget_upload(request)
    if not result.written:
        # The data changed since the preview (an event deleted, someone
        # registered): nothing was written; show why.
        return _preview(request, result, filename=pending["name"], confirmed=True)
    messages.success(request, _("取り込みました。") + result.summary())
    return redirect("events:import")
