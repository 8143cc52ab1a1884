from django.urls import path

from .views import export, line, manage, public

app_name = "directory"

urlpatterns = [
    # the public navi: trouble → area → windows (no login; views/public.py)
    path("", public.home, name="home"),
    path("c/<slug:category>/", public.area, name="area"),
    path("c/<slug:category>/r/<int:region>/", public.region_results, name="region"),
    path("c/<slug:category>/m/<str:code>/", public.municipality_results, name="municipality"),
    path("near/", public.near, name="near"),
    path("search/", public.search, name="search"),
    path("w/<int:pk>/", public.window, name="window"),
    # the open-data exports (no login): HSDS 3.0 JSON, a municipality's 公共施設一覧 CSV
    path("export/hsds.json", export.hsds, name="export_hsds"),
    path("export/<str:code>.csv", export.municipality_csv, name="export_csv"),
    # the LINE bot (views/line.py; 404 without LINE_CHANNEL_SECRET)
    path("line/webhook/", line.webhook, name="line_webhook"),
    # the secretariat's and the providers' org admins' pages (views/manage.py)
    path("manage/freshness/", manage.freshness_list, name="freshness"),
    path("manage/services/<int:pk>/edit/", manage.service_edit, name="service_edit"),
    path("manage/services/<int:pk>/confirm/", manage.confirm, name="confirm"),
    path("manage/import/", manage.import_upload, name="import"),
    path("manage/import/confirm/", manage.import_confirm, name="import_confirm"),
]
