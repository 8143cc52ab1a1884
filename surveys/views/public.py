"""Answering a survey through its secret link, without logging in.

The link's token is the credential: it opens its own invitation's survey only
(the token is unique per invitation and looked up by its hash), until the
response is submitted or the survey closes. `answer_page` is also what the
members' page (views/member.py) renders, with the invitation found from the
logged-in user instead of a token.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core.templatetags.wareki import jdate

from .. import access, services
from ..forms import AnswerForm
from ..models import OTHER_CHOICE, Invitation, Question, Response

THANKS_SESSION_KEY = "surveys_thanks_title"


def _deadline(survey) -> str:
    return f"{jdate(survey.closes_at)} {timezone.localtime(survey.closes_at):%H:%M}"


def _done(request, invitation: Invitation):
    """Already submitted: say so, show nothing of the answers."""
    return render(
        request,
        "surveys/respond_done.html",
        {"survey": invitation.survey, "by_organisation": invitation.user_id is None},
    )


def _unavailable(request, survey, error: services.SurveyError):
    """Not open yet, or closed: 410 with the reason."""
    return render(
        request,
        "surveys/respond_closed.html",
        {
            "survey": survey,
            "message": error.messages[0],
            "not_open": error.code == "not_open",
            "opens_on": f"{jdate(survey.opens_at)} {timezone.localtime(survey.opens_at):%H:%M}",
        },
        status=410,
    )


def _display(question: Question, answer: services.CleanAnswer | None) -> str:
    if answer is None:
        return ""
    if question.has_choices:
        parts = [
            f"{OTHER_CHOICE}（{answer.other}）" if c == OTHER_CHOICE else c for c in answer.choices
        ]
        return "、".join(parts)
    if question.kind == Question.Kind.SCALE and answer.number is not None:
        value = int(answer.number)
        label = {1: question.scale_min_label, 5: question.scale_max_label}.get(value)
        return f"{value} / 5（{label}）" if label else f"{value} / 5"
    if answer.number is not None:
        return format(answer.number.normalize(), "f")
    return answer.text


def _confirm(request, invitation, response: Response, *, action_url: str, notice: str = ""):
    survey = invitation.survey
    kind = services.respondent_kind(invitation, response)
    data = services.draft_data(response)
    answers, _errors = services.clean_answers(
        survey=survey, organisation_kind=kind, data=data, require=False
    )
    numbers = {q.pk: n for n, q in enumerate(services.questions_for(survey, kind), start=1)}
    rows = [
        {"number": numbers[q.pk], "question": q, "answer": _display(q, answers.get(q.pk))}
        for q in services.shown_questions(survey=survey, organisation_kind=kind, data=data)
    ]
    return render(
        request,
        "surveys/respond_confirm.html",
        {
            "survey": survey,
            "invitation": invitation,
            "rows": rows,
            "action_url": action_url,
            "version": response.updated_at.isoformat(),
            "notice": notice,
            "deadline": _deadline(survey),
        },
    )


class _AnswerFlow:
    """One request of the answering flow for one invitation: its draft (if
    any), the kind of organisation whose questions are shown, and where the
    form posts (`action_url`, the same page)."""

    def __init__(self, request, invitation: Invitation, *, action_url: str, member: bool):
        self.request = request
        self.invitation = invitation
        self.survey = invitation.survey
        self.action_url = action_url
        self.member = member
        self.draft = Response.objects.filter(invitation=invitation).first()
        self.kind = services.respondent_kind(invitation, self.draft)
        self.questions = list(self.survey.questions.all())

    def form(self, data=None, *, require: bool = True) -> AnswerForm:
        initial = None
        if data is None and self.draft is not None:
            initial = services.current_answers(self.draft)
        return AnswerForm(
            data,
            initial=initial,
            survey=self.survey,
            organisation_kind=self.kind,
            require=require,
            questions=self.questions,
        )

    def refused(self, error: services.SurveyError):
        """The page for a refusal that ends the flow, or None for one the form shows."""
        if error.code == "submitted":
            return _done(self.request, self.invitation)
        if error.code in ("closed", "not_open"):
            return _unavailable(self.request, self.survey, error)
        return None

    def submit(self):
        """「送信する」 on the confirmation: the draft, as it was confirmed."""
        draft = self.draft
        if draft is None:
            return redirect(self.action_url)
        if self.request.POST.get("version") != draft.updated_at.isoformat():
            # The draft changed (another tab?) since this confirmation was shown.
            return _confirm(
                self.request,
                self.invitation,
                draft,
                action_url=self.action_url,
                notice=_("回答内容が変更されたため、もう一度内容を確認してください。"),
            )
        try:
            services.save_answers(response=draft, data=services.draft_data(draft), submit=True)
        except services.SurveyError as error:
            # E.g. the questions changed since the draft was confirmed.
            form = self.form()
            form.show_errors(error)
            return self.refused(error) or self.render(form)
        self.request.session[THANKS_SESSION_KEY] = self.survey.title
        return redirect("surveys:thanks")

    def save(self, *, confirm: bool):
        """「一時保存」 (keep the draft) or 「確認」 (check, then show the confirmation)."""
        form = self.form(self.request.POST, require=confirm)
        if not form.is_valid():
            return self.render(form)
        user = self.request.user
        try:
            response = services.start_or_resume(
                invitation=self.invitation,
                user=user if access.answers_as_member(user, self.invitation) else None,
            )
            response = services.save_answers(
                response=response, data=form.answers_data, submit=False
            )
        except services.SurveyError as error:
            form.add_service_error(error)
            return self.refused(error) or self.render(form)
        if confirm:
            return _confirm(self.request, self.invitation, response, action_url=self.action_url)
        messages.success(
            self.request,
            _(
                "一時保存しました。締切までに、同じリンクからいつでも続きを回答できます。"
                "最後に「送信する」から送信してください。"
            ),
        )
        return redirect(self.action_url)

    def render(self, form: AnswerForm):
        draft = self.draft
        return render(
            self.request,
            "surveys/respond.html",
            {
                "survey": self.survey,
                "invitation": self.invitation,
                "form": form,
                "action_url": self.action_url,
                "has_draft": draft is not None,
                "draft_saved_at": draft.updated_at if draft else None,
                "deadline": _deadline(self.survey),
                "member": self.member,
            },
        )


def answer_page(request, invitation: Invitation, *, action_url: str, member: bool = False):
    """The whole answering flow for one invitation: the form (一時保存 / 確認),
    the confirmation, the submission. `action_url` is where the form posts (the
    same page)."""
    if invitation.responded_at is not None:
        return _done(request, invitation)
    try:
        services.check_open(invitation.survey)
    except services.SurveyError as error:
        return _unavailable(request, invitation.survey, error)
    flow = _AnswerFlow(request, invitation, action_url=action_url, member=member)
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "submit":
        return flow.submit()
    if action in ("save", "confirm"):
        return flow.save(confirm=action == "confirm")
    return flow.render(flow.form())


@never_cache
def respond(request, token):
    invitation = services.invitation_for_token(token)
    if invitation is None:
        return render(request, "surveys/respond_unknown.html", status=404)
    return answer_page(request, invitation, action_url=reverse("surveys:respond", args=[token]))


@require_safe
def thanks(request):
    title = request.session.pop(THANKS_SESSION_KEY, "")
    return render(request, "surveys/thanks.html", {"title": title})
