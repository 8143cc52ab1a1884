"""The secretariat's survey pages: build, preview, send, remind, close.

Every view is for the secretariat only (surveys_manager_required) and fetches
its survey through Survey.objects.manageable_by(user), so anyone else gets 404.
Workflows with side effects (creating from a template, copying, publishing,
reminding, closing) go through surveys.services; these views collect input
and report.
"""

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.db.models.functions import TruncDate
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.models import OutboxMessage
from core.pagination import is_filtered, paginate, querystring_without_page
from events.models import Event, Registration
from network.models import Membership, Organisation

from .. import services
from ..access import surveys_manager_required
from ..filters import (
    InvitationFilter,
    SurveyManageFilter,
    SurveyState,
    response_rate,
)
from ..forms import AnswerForm
from ..forms_manage import (
    KIND_DEFAULTS,
    QuestionForm,
    SurveyCreateForm,
    SurveyForm,
    condition_text,
    move_blocker,
    question_numbers,
)
from ..models import Answer, Survey

# How long after a post-event survey opens it closes, when prefilled from an event.
POST_EVENT_ANSWERING_DAYS = 14


def _managed_survey(request, pk, *related):
    queryset = Survey.objects.manageable_by(request.user)
    if related:
        queryset = queryset.select_related(*related)
    return get_object_or_404(queryset, pk=pk)


def _managed_question(survey, question_pk):
    return get_object_or_404(survey.questions.all(), pk=question_pk)


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


def _ordered_questions(survey):
    return survey.questions.order_by("order", "pk")


def invitation_counts(survey) -> dict:
    """invited / answered / not answered / reminded, in one query."""
    counts = survey.invitations.aggregate(
        invited=Count("pk"),
        answered=Count("pk", filter=Q(responded_at__isnull=False)),
        reminded=Count("pk", filter=Q(reminder_count__gt=0)),
        last_reminded_at=Max("last_reminded_at"),
    )
    counts["unanswered"] = counts["invited"] - counts["answered"]
    counts["rate"] = response_rate(counts["answered"], counts["invited"])
    return counts


def _has_submitted_responses(survey) -> bool:
    return survey.responses.submitted().exists()


def publish_preview(survey) -> dict:
    """How many invitations publishing would create now, counted in the
    database (the publish page must stay cheap with thousands of members).

    The audience itself is services.audience_organisations; like
    services.publish_survey, people and organisations already invited are not
    counted again, and an organisation without any address (no admin, no
    representative e-mail, no member) gets no invitation."""
    if survey.is_closed:
        return {"count": 0, "unreachable": 0, "waiting_for_event": False}
    if survey.audience == Survey.Audience.EVENT_ATTENDEES and not services._event_ready(
        survey.event
    ):
        # The sweep invites the attendees once the event is over.
        return {"count": None, "unreachable": 0, "waiting_for_event": True}
    invitations = survey.invitations.all()
    if survey.by_organisation:
        organisations = services.audience_organisations(survey).exclude(
            pk__in=invitations.filter(user__isnull=True).values("organisation_id")
        )
        members = Membership.objects.filter(organisation=OuterRef("pk"), user__is_active=True)
        counts = organisations.alias(has_members=Exists(members)).aggregate(
            total=Count("pk"), reachable=Count("pk", filter=Q(has_members=True) | ~Q(email=""))
        )
        return {
            "count": counts["reachable"],
            "unreachable": counts["total"] - counts["reachable"],
            "waiting_for_event": False,
        }
    invited_users = invitations.filter(user__isnull=False).values("user_id")
    if survey.audience == Survey.Audience.EVENT_ATTENDEES:
        people = Registration.objects.counted_as_present(survey.event)
    else:
        people = Membership.objects.filter(organisation__in=services.audience_organisations(survey))
    count = (
        people.filter(user__is_active=True)
        .exclude(user_id__in=invited_users)
        .values("user_id")
        .distinct()
        .count()
    )
    return {"count": count, "unreachable": 0, "waiting_for_event": False}


def _today_start():
    today = timezone.localdate()
    return timezone.make_aware(datetime.datetime.combine(today, datetime.time.min))


def reminders_due(survey) -> int:
    """Non-responders a reminder would reach now: an invitation is reminded at
    most once per Asia/Tokyo day (services.send_reminders)."""
    return (
        survey.invitations.unanswered()
        .filter(Q(last_reminded_at__isnull=True) | Q(last_reminded_at__lt=_today_start()))
        .count()
    )


def reminder_history(survey, days: int = 5) -> list[dict]:
    """The last days reminders went out, with how many invitations each
    (from the outbox: one key per invitation and day, extra recipients of an
    organisation carry a suffix and are not counted)."""
    return list(
        OutboxMessage.objects.filter(
            key__startswith=f"survey:{survey.pk}:remind:",
            key__regex=r":[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        )
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(count=Count("pk"))
        .order_by("-day")[:days]
    )


# --- the list of surveys ------------------------------------------------------------


@surveys_manager_required
def manage_list(request):
    surveys = Survey.objects.manageable_by(request.user)
    fiscal_years = surveys.order_by("-fiscal_year").values_list("fiscal_year", flat=True).distinct()
    filterset = SurveyManageFilter(request.GET, queryset=surveys, fiscal_years=list(fiscal_years))
    page_obj = paginate(request, filterset.qs)
    now = timezone.now()
    for survey in page_obj:
        survey.state = SurveyState.of(survey, now)
        survey.rate = response_rate(survey.answered_count, survey.invited_count)
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


def _create_initial(request) -> dict:
    """?kind=post_event&event=12 (a link from an event page) prefills the form."""
    initial: dict = {}
    kind = request.GET.get("kind")
    if kind in Survey.Kind.values:
        initial["kind"] = kind
    event_pk = request.GET.get("event", "")
    if event_pk.isdigit() and len(event_pk) < 12:
        event = Event.objects.filter(pk=int(event_pk)).first()
        if event is not None:
            initial.update(
                {
                    "kind": Survey.Kind.POST_EVENT,
                    "event": event.pk,
                    "title": _("%(title)s 参加者アンケート") % {"title": event.title},
                    "fiscal_year": event.fiscal_year,
                    "opens_at": timezone.localtime(event.ends_at),
                    "closes_at": timezone.localtime(event.ends_at)
                    + datetime.timedelta(days=POST_EVENT_ANSWERING_DAYS),
                }
            )
    return initial


@surveys_manager_required
def survey_create(request):
    form = SurveyCreateForm(request.POST or None, initial=_create_initial(request))
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
            form.add_error(None, _error_text(error))
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
        if survey.status == Survey.Status.PUBLISHED and "audience" in form.changed_data:
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
            "state": SurveyState.of(survey),
            "kind_defaults": KIND_DEFAULTS,
            "has_responses": _has_submitted_responses(survey),
        },
    )


@surveys_manager_required
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
    if survey.audience == Survey.Audience.CHOSEN:
        chosen = list(survey.chosen_organisations.order_by("kind", "kana", "name")[:20])
        chosen_count = survey.chosen_organisations.count() if len(chosen) == 20 else len(chosen)
    counts = invitation_counts(survey)
    return render(
        request,
        "surveys/manage_detail.html",
        {
            "survey": survey,
            "state": SurveyState.of(survey),
            "questions": questions,
            "counts": counts,
            "chosen": chosen,
            "chosen_count": chosen_count,
            "has_responses": any(q.has_answers for q in questions),
        },
    )


# --- questions --------------------------------------------------------------------------


def _question_form(request, survey, question=None):
    questions = list(_ordered_questions(survey))
    form = QuestionForm(request.POST or None, survey=survey, questions=questions, instance=question)
    if request.method == "POST" and form.is_valid():
        question = form.save()
        return form, question
    return form, None


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
    questions = list(_ordered_questions(survey))
    numbers = question_numbers(questions)
    answer_count = question.answers.values("response").distinct().count()
    dependents = [q for q in questions if q.show_if_question_id == question.pk]
    if request.method == "POST":
        if answer_count:
            messages.error(
                request,
                _("「%(text)s」には%(n)d件の回答があるため削除できません。文言の修正はできます。")
                % {"text": question.text, "n": answer_count},
            )
            return redirect("surveys:detail", pk=survey.pk)
        text = question.text
        try:
            services.delete_question(question=question)
        except services.SurveyError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(request, _("質問「%(text)s」を削除しました。") % {"text": text})
        return redirect("surveys:detail", pk=survey.pk)
    return render(
        request,
        "surveys/question_delete.html",
        {
            "survey": survey,
            "question": question,
            "number": numbers[question.pk],
            "answer_count": answer_count,
            "dependents": [(numbers[q.pk], q) for q in dependents],
        },
    )


@surveys_manager_required
@require_POST
def question_move(request, pk, question_pk):
    survey = _managed_survey(request, pk)
    question = _managed_question(survey, question_pk)
    direction = request.POST.get("direction")
    blocker = None
    if direction not in ("up", "down"):
        blocker = _("移動の向きが正しくありません。")
    else:
        blocker = move_blocker(list(_ordered_questions(survey)), question, direction)
    if blocker:
        messages.error(request, blocker)
    else:
        try:
            services.move_question(question=question, direction=direction)
        except services.SurveyError as error:
            messages.error(request, _error_text(error))
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
            "state": SurveyState.of(survey),
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
            messages.error(request, _error_text(error))
            return redirect("surveys:publish", pk=survey.pk)
        if created:
            messages.success(request, _("%(n)d件の依頼を送信しました。") % {"n": created})
        else:
            messages.info(request, _("新しく依頼を送る相手はいませんでした。"))
        return redirect("surveys:detail", pk=survey.pk)
    counts = invitation_counts(survey)
    return render(
        request,
        "surveys/manage_publish.html",
        {
            "survey": survey,
            "state": SurveyState.of(survey),
            "preview": publish_preview(survey),
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
            messages.error(request, _error_text(error))
        else:
            messages.success(
                request, _("「%(title)s」の回答を締め切りました。") % {"title": survey.title}
            )
        return redirect("surveys:detail", pk=survey.pk)
    return render(
        request,
        "surveys/manage_close.html",
        {"survey": survey, "state": SurveyState.of(survey), "counts": invitation_counts(survey)},
    )


# --- invitations and reminders ------------------------------------------------------------


@surveys_manager_required
def invitation_list(request, pk):
    survey = _managed_survey(request, pk)
    filterset = InvitationFilter(request.GET, queryset=survey.invitations.all())
    return render(
        request,
        "surveys/manage_invitations.html",
        {
            "survey": survey,
            "state": SurveyState.of(survey),
            "filter": filterset,
            "filtered": is_filtered(request, filterset),
            "page_obj": paginate(request, filterset.qs),
            "querystring": querystring_without_page(request),
            "counts": invitation_counts(survey),
        },
    )


@surveys_manager_required
def remind(request, pk):
    survey = _managed_survey(request, pk)
    if request.method == "POST":
        try:
            sent = services.send_reminders(survey=survey, by=request.user)
        except services.SurveyError as error:
            messages.error(request, _error_text(error))
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
    counts = invitation_counts(survey)
    return render(
        request,
        "surveys/manage_remind.html",
        {
            "survey": survey,
            "state": SurveyState.of(survey),
            "counts": counts,
            "due_count": reminders_due(survey),
            "history": reminder_history(survey),
            "schedule": [
                (day, survey.closes_at - datetime.timedelta(days=day))
                for day in survey.reminder_days or []
            ],
        },
    )
