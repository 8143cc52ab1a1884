"""The committee's dashboard, annual report and needs register, mounted at /dashboard/."""

from django.urls import path

from .views import dashboard, needs, report

app_name = "dashboard"

urlpatterns = [
    path("", dashboard.home, name="home"),
    path("participation.json", dashboard.participation_json, name="participation_json"),
    path("participation.csv", dashboard.participation_csv, name="participation_csv"),
    path("report/", report.annual_report, name="report"),
    path("report/edit/", report.report_edit, name="report_edit"),
    path("report/opinions/", report.choose_opinions, name="report_opinions"),
    path("report/docx/", report.annual_report_file, {"kind": "docx"}, name="report_docx"),
    path("report/pdf/", report.annual_report_file, {"kind": "pdf"}, name="report_pdf"),
    path("needs/", needs.need_board, name="needs"),
    path("needs/new/", needs.need_create, name="need_create"),
    path("needs/raise/", needs.need_raise, name="need_raise"),
    path("needs/export.<str:fmt>", needs.need_export, name="need_export"),
    path("needs/<int:pk>/", needs.need_detail, name="need_detail"),
]
