from django.urls import path

from .views import manage, member, partner

app_name = "support"

urlpatterns = [
    # members: the catalogue, applying, following their organisation's applications
    path("", member.menus, name="menus"),
    path("menus/<int:number>/", member.menu, name="menu"),
    path("menus/<int:number>/apply/", member.apply, name="apply"),
    path("applications/", member.applications, name="applications"),
    path("applications/<int:pk>/", member.application, name="application"),
    path("applications/<int:pk>/withdraw/", member.withdraw, name="withdraw"),
    # the partner organisation: its engagements and their records
    path("engagements/", partner.engagements, name="engagements"),
    path("engagements/<int:pk>/", partner.engagement, name="engagement"),
    path("engagements/<int:pk>/sessions/new/", partner.session_create, name="session_create"),
    path("engagements/<int:pk>/complete/", partner.complete, name="complete"),
    # the secretariat: triage and exports
    path("manage/", manage.applications, name="manage_applications"),
    path("manage/applications/<int:pk>/", manage.application, name="manage_application"),
    path("manage/applications/<int:pk>/accept/", manage.accept, name="accept"),
    path("manage/applications/<int:pk>/hold/", manage.hold, name="hold"),
    path("manage/applications/<int:pk>/decline/", manage.decline, name="decline"),
    path(
        "manage/export/applications.<str:fmt>",
        manage.export_applications,
        name="export_applications",
    ),
    path("manage/export/sessions.<str:fmt>", manage.export_sessions, name="export_sessions"),
]
