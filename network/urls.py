from django.urls import path

from .views import manage, manage_joining, member, public

app_name = "network"

urlpatterns = [
    # public
    path("join/", public.join_request, name="join_request"),
    path("join/thanks/", public.join_request_done, name="join_request_done"),
    path("invitation/<str:token>/", public.accept_invitation, name="accept_invitation"),
    # members
    path("organisations/", member.organisation_list, name="organisation_list"),
    path("organisations/<int:pk>/", member.organisation_detail, name="organisation_detail"),
    # org admins (their own organisation) and the secretariat (any)
    path("organisations/<int:pk>/edit/", manage.organisation_edit, name="organisation_edit"),
    path("organisations/<int:pk>/staff/", manage.staff_list, name="staff_list"),
    path(
        "organisations/<int:pk>/staff/<int:membership_pk>/edit/",
        manage.membership_edit,
        name="membership_edit",
    ),
    path(
        "organisations/<int:pk>/staff/<int:membership_pk>/remove/",
        manage.membership_remove,
        name="membership_remove",
    ),
    path("organisations/<int:pk>/staff/invite/", manage_joining.staff_invite, name="staff_invite"),
    path(
        "organisations/<int:pk>/invitations/<int:invitation_pk>/resend/",
        manage_joining.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "organisations/<int:pk>/invitations/<int:invitation_pk>/revoke/",
        manage_joining.invitation_revoke,
        name="invitation_revoke",
    ),
    # secretariat
    path("manage/", manage.manage_home, name="manage_home"),
    path("manage/organisations/new/", manage.organisation_create, name="organisation_create"),
    path("manage/people/", manage.people_list, name="people_list"),
    path("manage/join-requests/", manage_joining.join_request_list, name="join_request_list"),
    path(
        "manage/join-requests/<int:pk>/",
        manage_joining.join_request_detail,
        name="join_request_detail",
    ),
]
