from django.urls import path

from .views import manage, member, public, results

app_name = "surveys"

urlpatterns = [
    # respondents (secret link, no login needed)
    path("r/<str:token>/", public.respond, name="respond"),
    path("thanks/", public.thanks, name="thanks"),
    # members: the surveys addressed to them or their organisation
    path("", member.survey_list, name="list"),
    path("<int:pk>/answer/", member.answer, name="answer"),
    # results: secretariat (everything), committee (aggregates, suppressed)
    path("<int:pk>/results/", results.results, name="results"),
    path("<int:pk>/responses/", results.responses, name="responses"),
    path(
        "<int:pk>/organisations/<int:org_pk>/",
        results.organisation_responses,
        name="organisation_responses",
    ),
    path("<int:pk>/export/<str:what>.<str:fmt>", results.export, name="export"),
    # secretariat
    path("manage/", manage.manage_list, name="manage_list"),
    path("manage/new/", manage.survey_create, name="create"),
    path("manage/<int:pk>/", manage.survey_detail, name="detail"),
    path("manage/<int:pk>/edit/", manage.survey_edit, name="edit"),
    path("manage/<int:pk>/preview/", manage.survey_preview, name="preview"),
    path("manage/<int:pk>/copy/", manage.survey_copy, name="copy"),
    path("manage/<int:pk>/publish/", manage.survey_publish, name="publish"),
    path("manage/<int:pk>/close/", manage.survey_close, name="close"),
    path("manage/<int:pk>/questions/add/", manage.question_add, name="question_add"),
    path(
        "manage/<int:pk>/questions/<int:question_pk>/edit/",
        manage.question_edit,
        name="question_edit",
    ),
    path(
        "manage/<int:pk>/questions/<int:question_pk>/delete/",
        manage.question_delete,
        name="question_delete",
    ),
    path(
        "manage/<int:pk>/questions/<int:question_pk>/move/",
        manage.question_move,
        name="question_move",
    ),
    path("manage/<int:pk>/invitations/", manage.invitation_list, name="invitations"),
    path("manage/<int:pk>/remind/", manage.remind, name="remind"),
]
