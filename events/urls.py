from django.urls import path

from .views import manage, manage_import, member, public

app_name = "events"

urlpatterns = [
    # everyone (public events) and members (their audiences)
    path("", public.event_list, name="list"),
    path("<int:pk>/", public.event_detail, name="detail"),
    path("<int:pk>/calendar.ics", public.event_ics, name="calendar"),
    path("<int:pk>/register/guest/", public.register_guest, name="register_guest"),
    path("registrations/confirm/<str:token>/", public.confirm_guest, name="confirm_guest"),
    path("calendar/<str:token>.ics", public.personal_feed, name="feed"),
    # members
    path("<int:pk>/register/", member.register, name="register"),
    path("mine/", member.my_registrations, name="mine"),
    path("calendar/", member.calendar_settings, name="calendar_settings"),
    path("registrations/<int:pk>/edit/", member.registration_edit, name="registration_edit"),
    path("registrations/<int:pk>/cancel/", member.registration_cancel, name="registration_cancel"),
    path(
        "organisations/<int:org_pk>/registrations/",
        member.organisation_registrations,
        name="organisation_registrations",
    ),
    # secretariat
    path("manage/", manage.manage_list, name="manage_list"),
    path("manage/new/", manage.event_create, name="create"),
    path("manage/<int:pk>/edit/", manage.event_edit, name="edit"),
    path("manage/<int:pk>/sessions/", manage.event_sessions, name="sessions"),
    path("manage/<int:pk>/copy/", manage.event_copy, name="copy"),
    path("manage/<int:pk>/publish/", manage.event_publish, name="publish"),
    path("manage/<int:pk>/cancel/", manage.event_cancel, name="cancel"),
    path("manage/<int:pk>/delete/", manage.event_delete, name="delete"),
    path("manage/<int:pk>/finish/", manage.event_finish, name="finish"),
    path("manage/<int:pk>/registrations/", manage.registration_list, name="registrations"),
    path("manage/<int:pk>/registrations/add/", manage.registration_add, name="registration_add"),
    path(
        "manage/<int:pk>/registrations/<int:registration_pk>/change/",
        manage.registration_change,
        name="registration_change",
    ),
    path(
        "manage/<int:pk>/registrations/<int:registration_pk>/cancel/",
        manage.registration_cancel_on_behalf,
        name="registration_cancel_on_behalf",
    ),
    path("manage/<int:pk>/checkin/", manage.checkin, name="checkin"),
    path(
        "manage/<int:pk>/checkin/<int:registration_pk>/",
        manage.checkin_toggle,
        name="checkin_toggle",
    ),
    path("manage/<int:pk>/message/", manage.message, name="message"),
    path("manage/<int:pk>/export.<str:fmt>", manage_import.attendee_export, name="export"),
    path("manage/import/", manage_import.attendance_import, name="import"),
    path("manage/import/confirm/", manage_import.attendance_import_confirm, name="import_confirm"),
]
