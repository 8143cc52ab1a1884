"""The directory's open-data exports (no login, GET and HEAD only): HSDS 3.0
JSON of the whole navi, page by page, and one municipality's windows as a
公共施設一覧 CSV. What goes in them is directory/exporting.py's."""

from __future__ import annotations

from django.core.paginator import InvalidPage
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_safe

from network.models import Municipality

from .. import exporting


@require_safe
def hsds(request):
    base = request.build_absolute_uri(reverse("directory:export_hsds"))
    try:
        page = exporting.hsds_page(
            request.GET.get("page") or 1, page_url=lambda number: f"{base}?page={number}"
        )
    except InvalidPage:
        raise Http404 from None
    return JsonResponse(page, json_dumps_params={"ensure_ascii": False})


@require_safe
def municipality_csv(request, code: str):
    if "\x00" in code:  # no code holds one, and PostgreSQL cannot compare it
        raise Http404
    municipality = get_object_or_404(Municipality, code=code)
    response = StreamingHttpResponse(
        exporting.municipality_csv(municipality), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{code}_public_facility.csv"'
    return response
