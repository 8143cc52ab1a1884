"""Survey results: aggregates for the secretariat and the committee (the
committee's suppressed, and only once the survey has closed), individual
answers for the secretariat (named surveys) and for an org admin (their own
organisation's), and the exports."""

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from core.pagination import paginate
from network.access import login_required_404
from network.models import Organisation

from .. import access, exports
from .. import results as survey_results
from ..enums import ResultDimension
from ..models import Survey

RESPONSES_PER_PAGE = 20


def _survey_for_results(request, pk) -> Survey:
    """A survey the user may see that has results at all: a draft has sent
    nothing (Survey.can_show_results), so its results page does not exist."""
    survey = get_object_or_404(
        Survey.objects.visible_to(request.user).select_related("event"), pk=pk
    )
    if not survey.can_show_results:
        raise Http404
    return survey


@access.results_required
@require_safe
def results(request, pk):
    survey = _survey_for_results(request, pk)
    if not access.may_read_results(request.user, survey):
        # The survey exists for the committee (the dashboard links it), its
        # figures do not yet: not a single count until it closes.
        return render(request, "surveys/results_pending.html", {"survey": survey})
    dimension = request.GET.get("by", ResultDimension.KIND)
    if dimension not in survey_results.DIMENSION_KEYS:
        dimension = ResultDimension.KIND
    data = survey_results.cached(survey, request.user, dimension=dimension)
    return render(
        request,
        "surveys/results.html",
        {
            "survey": survey,
            "results": data,
            "can_manage": access.can_manage_surveys(request.user),
            "may_export_answers": access.may_export_answers(request.user, survey),
            "sees_individual_answers": access.sees_individual_answers(request.user, survey),
            "export_formats": exports.FORMAT_LABELS,
        },
    )


def _entries(survey, responses):
    questions = list(survey.questions.order_by("order", "pk"))
    return [(response, exports.answers_by_question(questions, response)) for response in responses]


def _answered(survey):
    return (
        survey.responses.submitted()
        .select_related("user", "organisation", "region")
        .prefetch_related("answers")
        .order_by("-submitted_at", "-pk")
    )


@access.surveys_manager_required
@require_safe
def responses(request, pk):
    """Individual answers: the secretariat, named surveys only."""
    survey = _survey_for_results(request, pk)
    if not access.sees_individual_answers(request.user, survey):
        raise Http404
    page_obj = paginate(request, _answered(survey), per_page=RESPONSES_PER_PAGE)
    return render(
        request,
        "surveys/responses.html",
        {"survey": survey, "page_obj": page_obj, "entries": _entries(survey, page_obj)},
    )


@login_required_404
@require_safe
def organisation_responses(request, pk, org_pk):
    """What was answered for one organisation: its org admins and the secretariat."""
    survey = get_object_or_404(Survey.objects.published(), pk=pk)
    organisation = get_object_or_404(Organisation, pk=org_pk)
    if not access.can_view_organisation_responses(request.user, survey, organisation):
        raise Http404
    answered = _answered(survey).filter(organisation=organisation)
    return render(
        request,
        "surveys/responses_organisation.html",
        {
            "survey": survey,
            "organisation": organisation,
            "entries": _entries(survey, answered),
            "can_manage": access.can_manage_surveys(request.user),
        },
    )


@access.results_required
@require_safe
def export(request, pk, what, fmt):
    if what not in exports.WHAT or fmt not in exports.FORMATS:
        raise Http404
    survey = _survey_for_results(request, pk)
    if what == "answers":
        if not access.may_export_answers(request.user, survey):
            raise Http404
        content, content_type, filename = exports.export_answers(survey, fmt)
    else:
        if not access.may_read_results(request.user, survey):
            raise Http404
        data = survey_results.cached(survey, request.user, dimension=None, with_texts=False)
        content, content_type, filename = exports.export_aggregates(data, fmt)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
