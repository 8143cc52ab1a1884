"""The secretariat's survey pages: build, preview, send, remind, close.

Every view is for the secretariat only (surveys_manager_required) and fetches
its survey through Survey.objects.manageable_by(user), so anyone else gets 404.
Workflows with side effects (creating from a template, copying, publishing,
reminding, closing, every change to a question) go through surveys.services,
which refuse what the survey's state does not allow (Survey.can_*, the same
methods the templates ask to show an action); these views collect input and
report.
"""

from django.contrib import messages
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from core.forms import error_text
from core.pagination import is_filtered, paginate, querystring_without_page
from network.models import Organisation

from .. import notifications, services
from ..access import surveys_manager_required
from ..filters import InvitationFilter, SurveyManageFilter
from ..forms import AnswerForm
from ..forms_manage import (
    KIND_DEFAULTS,
    QuestionForm,
    SurveyCreateForm,
    SurveyForm,
    condition_text,
    initial_from_query,
    question_numbers,
)
from ..models import Answer, Survey
from ..results import percent


def _managed_survey(request, pk, *related):
    queryset = Survey.objects.manageable_by(request.user)
    if related:
        queryset = queryset.select_related(*related)
    return get_object_or_404(queryset, pk=pk)


def _managed_question(survey, question_pk):
    return get_object_or_404(survey.questions.all(), pk=question_pk)


def _ordered_questions(survey):
    return survey.questions.order_by("order", "pk")


def _has_submitted_responses(survey) -> bool:
    return survey.responses.submitted().exists()


# --- the list of surveys ------------------------------------------------------------


@surveys_manager_required
@require_safe
def manage_list(request):
    surveys = Survey.objects.manageable_by(request.user)
    fiscal_years = surveys.order_by("-fiscal_year").values_list("fiscal_year", flat=True).distinct()
    filterset = SurveyManageFilter(request.GET, queryset=surveys, fiscal_years=list(fiscal_years))
    page_obj = paginate(request, filterset.qs)
    for survey in page_obj:
        survey.rate = percent(survey.answered_count, survey.invited_count)
    return render(
        request,
        "surveys/manage_list.html",
        {
            "filter": filterset,
            "filtered": is_filtered(request, filterset),
            "page_obj": page_obj,
            "querystring": querystring_without_page(request),
        },
    )


# --- one survey: create, edit, overview ----------------------------------------------


@surveys_manager_required
def survey_create(request):
    form = SurveyCreateForm(request.POST or None, initial=initial_from_query(request.GET))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                survey = services.create_survey(
                    title=data["title"],
                    kind=data["kind"],
                    fiscal_year=data["fiscal_year"],
                    audience=data["audience"],
                    respondent_unit=data["respondent_unit"],
                    opens_at=data["opens_at"],
                    closes_at=data["closes_at"],
                    anonymous=data["anonymous"],
                    event=data["event"],
                    template=data["template"] or None,
                    introduction=data["introduction"],
                    chosen_organisations=list(data["chosen_organisations"]),
                    reminder_days=data["reminder_days"],
                    by=request.user,
                )
        except services.SurveyError as error:
            form.add_error(None, error_text(error))
        else:
            messages.success(
                request,
                _("「%(title)s」を下書きとして作成しました。質問を確認してから公開してください。")
                % {"title": survey.title},
            )
            return redirect("surveys:detail", pk=survey.pk)
    return render(
        request,
        "surveys/manage_form.html",
        {"form": form, "survey": None, "kind_defaults": KIND_DEFAULTS},
    )


@surveys_manager_required
def survey_edit(request, pk):
    survey = _managed_survey(request, pk, "event")
    form = SurveyForm(request.POST or None, instance=survey)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            survey = form.save()
        messages.success(
            request, _("「%(title)s」の設定を保存しました。") % {"title": survey.title}
        )
        if survey.is_published and "audience" in form.changed_data:
            messages.warning(
                request,
                _(
                    "対象を変えました。新しい対象の人に依頼を送るには「依頼を送る」から送信してください。"
                ),
            )
        return redirect("surveys:detail", pk=survey.pk)
    return render(
        request,
        "surveys/manage_form.html",
        {
            "form": form,
            "survey": survey,
            "kind_defaults": KIND_DEFAULTS,
            "has_responses": _has_submitted_responses(survey),
        },
    )


@surveys_manager_required
@require_safe
def survey_detail(request, pk):
    survey = _managed_survey(request, pk, "event", "created_by")
    questions = list(
        _ordered_questions(survey).annotate(
            has_answers=Exists(Answer.objects.filter(question=OuterRef("pk")))
        )
    )
    numbers = question_numbers(questions)
    for question in questions:
        question.number = numbers[question.pk]
        question.condition_text = condition_text(question, numbers)
    chosen = []
    chosen_count = 0
    if survey.has_chosen_audience:
        chosen = list(survey.chosen_organisations.order_by("kind", "kana", "name")[:20])
        chosen_count = survey.chosen_organisations.count() if len(chosen) == 20 else len(chosen)
    counts = services.invitation_counts(survey=survey)
    return render(
        request,
        "surveys/manage_detail.html",
        {
            "survey": survey,
            "questions": questions,
            "counts": counts,
            "chosen": chosen,
            "chosen_count": chosen_count,
            "has_responses": any(q.has_answers for q in questions),
        },
    )


# --- questions --------------------------------------------------------------------------


def _question_form(request, survey, question=None):
    """The form, and the question saved through services (add_question or
    update_question, which keep every question rule) when the POST was good."""
    questions = list(_ordered_questions(survey))
    form = QuestionForm(request.POST or None, survey=survey, questions=questions, instance=question)
    if request.method != "POST" or not form.is_valid():
        return form, None
    try:
        if question is None:
            saved = services.add_question(survey=survey, **form.question_values(), by=request.user)
        else:
            saved = services.update_question(
                question=question, **form.question_values(), by=request.user
            )
    except services.SurveyError as error:
        form.add_service_error(error)
        return form, None
    return form, saved


def _question_page(request, survey, form, question):
    return render(
        request,
        "surveys/question_form.html",
        {
            "survey": survey,
            "form": form,
            "question": question,
            "number": form.numbers.get(question.pk) if question else len(form.questions) + 1,
            "has_responses": _has_submitted_responses(survey),
        },
    )


@surveys_manager_required
def question_add(request, pk):
    survey = _managed_survey(request, pk)
    form, question = _question_form(request, survey)
    if question is not None:
        messages.success(request, _("質問「%(text)s」を追加しました。") % {"text": question.text})
        if request.POST.get("then") == "add":
            return redirect("surveys:question_add", pk=survey.pk)
        return redirect(f"{reverse('surveys:detail', args=[survey.pk])}#q-{question.pk}")
    return _question_page(request, survey, form, None)


@surveys_manager_required
def question_edit(request, pk, question_pk):
    survey = _managed_survey(request, pk)
    question = _managed_question(survey, question_pk)
    form, saved = _question_form(request, survey, question)
    if saved is not None:
        messages.success(request, _("質問「%(text)s」を保存しました。") % {"text": saved.text})
        return redirect(f"{reverse('surveys:detail', args=[survey.pk])}#q-{saved.pk}")
    return _question_page(request, survey, form, question)


@surveys_manager_required
def question_delete(request, pk, question_pk):
    survey = _managed_survey(request, pk)
    question = _managed_question(survey, question_pk)
    if request.method == "POST":
        text = question.text
        try:
            services.delete_question(question=question, by=request.user)
        except services.SurveyError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(request, _("質問「%(text)s」を削除しました。") % {"text": text})
        return redirect("surveys:detail", pk=survey.pk)
    questions = list(_ordered_questions(survey))
    numbers = question_numbers(questions)
    dependents = [q for q in questions if q.show_if_question_id == question.pk]
    return render(
        request,
        "surveys/question_delete.html",
        {
            "survey": survey,
            "question": question,
            "number": numbers[question.pk],
            "answer_count": services.answer_count(question),
            "dependents": [(numbers[q.pk], q) for q in dependents],
        },
    )


@surveys_manager_required
@require_POST
def question_move(request, pk, question_pk):
    survey = _managed_survey(request, pk)
    question = _managed_question(survey, question_pk)
    try:
        services.move_question(
            question=question, direction=request.POST.get("direction", ""), by=request.user
        )
    except services.SurveyError as error:
        messages.error(request, error_text(error))
    return redirect(f"{reverse('surveys:detail', args=[survey.pk])}#q-{question.pk}")


# --- preview ------------------------------------------------------------------------------


# Whom the preview shows the survey as: every question, or the questions a
# respondent of one kind of organisation sees (Question.audience).
PREVIEW_AS = {
    "all": services.PREVIEW,
    "municipality": Organisation.Kind.MUNICIPALITY,
    "contractor": Organisation.Kind.CONTRACTOR,
}


@surveys_manager_required
def survey_preview(request, pk):
    """The answering form as a respondent sees it. A POST checks the answers
    (required questions, conditions) and shows the errors; nothing is saved."""
    survey = _managed_survey(request, pk)
    viewer = request.GET.get("as")
    if viewer not in PREVIEW_AS:
        viewer = "all"
    form = AnswerForm(
        request.POST or None,
        survey=survey,
        organisation_kind=PREVIEW_AS[viewer],
        require=True,
        questions=list(survey.questions.all()),
    )
    checked = request.method == "POST" and form.is_valid()
    return render(
        request,
        "surveys/manage_preview.html",
        {
            "survey": survey,
            "form": form,
            "viewer": viewer,
            "checked": checked,
            "viewers": [
                ("all", _("すべての質問")),
                ("municipality", _("自治体の人として")),
                ("contractor", _("受託団体の人として")),
            ],
        },
    )


# --- state changes through the services ------------------------------------------------


@surveys_manager_required
def survey_copy(request, pk):
    survey = _managed_survey(request, pk)
    if request.method == "POST":
        copy = services.copy_survey(survey=survey, by=request.user)
        messages.success(
            request,
            _(
                "「%(title)s」をコピーして下書きを作りました。タイトル・年度・回答期間を確認してください。"
            )
            % {"title": survey.title},
        )
        return redirect("surveys:edit", pk=copy.pk)
    return render(
        request,
        "surveys/manage_copy.html",
        {"survey": survey, "question_count": survey.questions.count()},
    )


@surveys_manager_required
def survey_publish(request, pk):
    survey = _managed_survey(request, pk, "event")
    if request.method == "POST":
        try:
            created = services.publish_survey(survey=survey, by=request.user)
        except services.SurveyError as error:
            messages.error(request, error_text(error))
            return redirect("surveys:publish", pk=survey.pk)
        if created:
            messages.success(request, _("%(n)d件の依頼を送信しました。") % {"n": created})
        else:
            messages.info(request, _("新しく依頼を送る相手はいませんでした。"))
        return redirect("surveys:detail", pk=survey.pk)
    counts = services.invitation_counts(survey=survey)
    return render(
        request,
        "surveys/manage_publish.html",
        {
            "survey": survey,
            "preview": services.publish_preview(survey=survey),
            "counts": counts,
            "question_count": survey.questions.count(),
        },
    )


@surveys_manager_required
def survey_close(request, pk):
    survey = _managed_survey(request, pk)
    if request.method == "POST":
        try:
            services.close_survey(survey=survey, by=request.user)
        except services.SurveyError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(
                request, _("「%(title)s」の回答を締め切りました。") % {"title": survey.title}
            )
        return redirect("surveys:detail", pk=survey.pk)
    return render(
        request,
        "surveys/manage_close.html",
        {"survey": survey, "counts": services.invitation_counts(survey=survey)},
    )


# --- invitations and reminders ------------------------------------------------------------


@surveys_manager_required
@require_safe
def invitation_list(request, pk):
    survey = _managed_survey(request, pk)
    filterset = InvitationFilter(request.GET, queryset=survey.invitations.all())
    return render(
        request,
        "surveys/manage_invitations.html",
        {
            "survey": survey,
            "filter": filterset,
            "filtered": is_filtered(request, filterset),
            "page_obj": paginate(request, filterset.qs),
            "querystring": querystring_without_page(request),
            "counts": services.invitation_counts(survey=survey),
        },
    )


@surveys_manager_required
def remind(request, pk):
    survey = _managed_survey(request, pk)
    if request.method == "POST":
        try:
            sent = services.send_reminders(survey=survey, by=request.user)
        except services.SurveyError as error:
            messages.error(request, error_text(error))
            return redirect("surveys:remind", pk=survey.pk)
        if sent:
            messages.success(
                request, _("未回答の%(n)d件にリマインドを送信しました。") % {"n": sent}
            )
        elif not survey.invitations.unanswered().exists():
            messages.info(request, _("未回答者はいません。"))
        else:
            messages.info(request, _("本日はすでにリマインドを送信済みです。"))
        return redirect("surveys:invitations", pk=survey.pk)
    counts = services.invitation_counts(survey=survey)
    return render(
        request,
        "surveys/manage_remind.html",
        {
            "survey": survey,
            "counts": counts,
            "due_count": services.count_reminders_due(survey=survey),
            "history": notifications.reminder_history(survey),
            "schedule": survey.reminder_schedule(),
        },
    )
