"""The directory's manage pages: the freshness list (secretariat and the
providers' org admins) and the web import of a file (secretariat).

Entries are fetched only through Service.objects.confirmable_by(user), so an
org admin reaching another organisation's entry gets 404; the writes go
through directory.freshness.

The import is two steps, like the attendance import (events/views/manage_import.py):
upload → dry run shown as a preview (layout, counts, or every row and column
error) → 「取り込む」, which validates again and writes. Between the two steps
the uploaded bytes wait in the default storage under imports/directory/
(core.uploads.PendingUploads: a random token kept in the session, no path
from the client, swept after a day).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from core.importing import MAX_BYTES, MAX_ROWS
from core.pagination import paginate, querystring_without_page
from core.templatetags.wareki import jdate
from core.uploads import PendingUploads

from .. import freshness
from ..access import can_manage_directory, freshness_required, manager_required
from ..enums import ImportLayout
from ..forms import DirectoryUploadForm, ServiceCorrectionForm
from ..importing import NATIVE_COLUMNS, import_directory
from ..models import Service

UPLOADS = PendingUploads(session_key="directory_import", storage_dir="imports/directory")
SESSION_KEY, STORAGE_DIR = UPLOADS.session_key, UPLOADS.storage_dir
# The error table shows this many; the rest are counted (the file has to be
# fixed and uploaded again anyway).
MAX_ERRORS_SHOWN = 200


# --- freshness -------------------------------------------------------------------


def _confirmable(request, pk) -> Service:
    return get_object_or_404(
        Service.objects.confirmable_by(request.user).select_related("provider"), pk=pk
    )


@freshness_required
@require_safe
def freshness_list(request):
    services = freshness.waiting_for(request.user).select_related("provider", "verified_by")
    return render(
        request,
        "directory/manage_freshness.html",
        {
            "page_obj": paginate(request, services),
            "querystring": querystring_without_page(request),
            "months": settings.DIRECTORY_STALE_MONTHS,
            "can_import": can_manage_directory(request.user),
        },
    )


@freshness_required
@require_POST
def confirm(request, pk):
    service = freshness.confirm(service=_confirmable(request, pk), user=request.user)
    messages.success(
        request,
        _("「%(name)s」を確認済みにしました（確認日 %(day)s）。")
        % {"name": service.name, "day": jdate(service.verified_on)},
    )
    return redirect("directory:freshness")


@freshness_required
def service_edit(request, pk):
    service = _confirmable(request, pk)
    form = ServiceCorrectionForm(request.POST or None, instance=service)
    if request.method == "POST" and form.is_valid():
        freshness.correct(service=service, user=request.user, changes=form.cleaned_data)
        messages.success(
            request, _("「%(name)s」の修正を保存し、確認済みにしました。") % {"name": service.name}
        )
        return redirect("directory:freshness")
    return render(request, "directory/manage_service_edit.html", {"form": form, "service": service})


# --- import ----------------------------------------------------------------------


def _file_errors(result) -> list[str]:
    """Problems of the file as a whole (limits, encoding, no rows): shown
    next to the file field rather than as a row table."""
    return [error.message for error in result.errors if error.row is None]


def _upload_page(request, form):
    return render(
        request,
        "directory/manage_import.html",
        {
            "form": form,
            "native_columns": NATIVE_COLUMNS,
            "max_mb": MAX_BYTES // (1024 * 1024),
            "max_rows": MAX_ROWS,
        },
    )


def _preview(request, result, *, filename, token=None, confirmed=False):
    return render(
        request,
        "directory/manage_import_preview.html",
        {
            "result": result,
            "layout_label": ImportLayout(result.layout).label if result.layout else "",
            "filename": filename,
            "token": token,
            "errors_shown": result.errors[:MAX_ERRORS_SHOWN],
            "errors_hidden": max(0, len(result.errors) - MAX_ERRORS_SHOWN),
            "confirmed": confirmed,
        },
    )


@manager_required
def import_upload(request):
    form = DirectoryUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        raw = upload.read()
        result = import_directory(raw=raw, dry_run=True)
        UPLOADS.forget(request)  # a new upload replaces any unconfirmed one
        whole_file = _file_errors(result)
        if whole_file:
            for message in whole_file:
                form.add_error("file", message)
            return _upload_page(request, form)
        token = UPLOADS.keep(request, raw, upload.name) if result.ok else None
        return _preview(request, result, filename=upload.name, token=token)
    return _upload_page(request, form)


@manager_required
@require_POST
def import_confirm(request):
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
        return redirect("directory:import")
    result = import_directory(raw=pending.raw)
    UPLOADS.forget(request)
    if not result.written:
        # The data changed since the preview (a municipality removed, a
        # concurrent import): nothing was written; show why.
        return _preview(request, result, filename=pending.name, confirmed=True)
    messages.success(request, _("取り込みました。") + result.summary())
    return redirect("directory:import")
