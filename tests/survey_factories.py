"""Factories for the surveys app, shared by every surveys test.

SurveyFactory makes an ad-hoc, named, person-unit survey for all member
organisations that is published and open now (opened yesterday, closes in 14
days; fiscal_year follows today in Asia/Tokyo). Questions are added with
QuestionFactory (a required 5-point scale by default) or the helpers below.

InvitationFactory stores only the token's hash, like the service does; the raw
token (the one the service derives for that addressee, so reminders mail the
same link) is kept on the instance as `invitation.token` (and
`invitation.link`, the respondent URL) so tests can open the link. For an
organisation's invitation pass `user=None, organisation=org`.

`answer(response, question, value)` writes Answer rows the way the service
stores them: one row per chosen option for multiple choice, `number` for scale
and number questions, `text` for free text; `submitted_response(...)` makes a
submitted response with the respondent attributes copied.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory
from django.urls import reverse
from django.utils import timezone

from core.dates import fiscal_year_of
from surveys.models import OTHER_CHOICE, Answer, Invitation, Question, Response, Survey

from .factories import UserFactory


def _yesterday() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=1)


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"アンケート{n}")
    introduction = "今後の運営の参考にさせてください。"
    kind = Survey.Kind.ADHOC
    fiscal_year = factory.LazyFunction(lambda: fiscal_year_of(timezone.now()))
    audience = Survey.Audience.ALL_ORGANISATIONS
    respondent_unit = Survey.Unit.PERSON
    anonymous = False
    opens_at = factory.LazyFunction(_yesterday)
    closes_at = factory.LazyAttribute(lambda o: o.opens_at + datetime.timedelta(days=15))
    status = Survey.Status.PUBLISHED

    @factory.post_generation
    def chosen_organisations(self, create, extracted, **kwargs):
        if create and extracted:
            self.chosen_organisations.set(extracted)


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    survey = factory.SubFactory(SurveyFactory)
    order = factory.Sequence(lambda n: n + 1)
    key = ""
    text = factory.Sequence(lambda n: f"質問{n}：情報交換会は役に立ちましたか")
    kind = Question.Kind.SCALE
    required = True
    choices = factory.LazyAttribute(
        lambda o: (
            ["はい", "いいえ"] if o.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE) else []
        )
    )
    scale_min_label = factory.LazyAttribute(
        lambda o: "役に立たなかった" if o.kind == Question.Kind.SCALE else ""
    )
    scale_max_label = factory.LazyAttribute(
        lambda o: "とても役に立った" if o.kind == Question.Kind.SCALE else ""
    )


class InvitationFactory(factory.django.DjangoModelFactory):
    """An invitation with a known raw token (`invitation.token`), sent now."""

    class Meta:
        model = Invitation

    survey = factory.SubFactory(SurveyFactory)
    user = factory.SubFactory(UserFactory)
    organisation = None
    email = factory.LazyAttribute(
        lambda o: (
            o.user.email
            if o.user
            else (o.organisation.email if o.organisation else "someone@example.org")
        )
    )
    sent_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        token = kwargs.pop("token", None)
        if token is None:
            # The link the service would mail, so reminders carry the same one.
            from surveys.services import invitation_token

            user, organisation = kwargs.get("user"), kwargs.get("organisation")
            token = invitation_token(
                survey_id=kwargs["survey"].pk,
                user_id=user.pk if user else None,
                organisation_id=organisation.pk if organisation and not user else None,
            )
        kwargs["token_hash"] = Invitation.hash_token(token)
        invitation = super()._create(model_class, *args, **kwargs)
        invitation.token = token
        invitation.link = reverse("surveys:respond", args=[token])
        return invitation


class ResponseFactory(factory.django.DjangoModelFactory):
    """A draft response (submitted_at=None) for an invitation's respondent."""

    class Meta:
        model = Response

    invitation = None
    survey = factory.LazyAttribute(
        lambda o: o.invitation.survey if o.invitation else SurveyFactory()
    )
    user = factory.LazyAttribute(lambda o: o.invitation.user if o.invitation else None)
    organisation = factory.LazyAttribute(
        lambda o: o.invitation.organisation if o.invitation else None
    )
    submitted_at = None


def answer(response: Response, question: Question, value) -> list[Answer]:
    """Store `value` as the answer to `question` (replacing an earlier one).

    single: a choice string (or "その他:自由記入" for the other option);
    multiple: a list of choice strings (an item "その他:…" stores the other text);
    scale/number: an int, Decimal or numeric string; text: a string."""
    Answer.objects.filter(response=response, question=question).delete()
    kind = question.kind
    rows: list[Answer] = []
    if kind in (Question.Kind.SCALE, Question.Kind.NUMBER):
        rows.append(Answer(response=response, question=question, number=Decimal(str(value))))
    elif kind == Question.Kind.TEXT:
        rows.append(Answer(response=response, question=question, text=str(value)))
    else:
        values = [value] if isinstance(value, str) else list(value)
        for item in values:
            if item.startswith(OTHER_CHOICE + ":"):
                rows.append(
                    Answer(
                        response=response,
                        question=question,
                        choice=OTHER_CHOICE,
                        text=item.split(":", 1)[1],
                    )
                )
            else:
                rows.append(Answer(response=response, question=question, choice=item))
    return Answer.objects.bulk_create(rows)


def submitted_response(
    survey: Survey,
    *,
    organisation=None,
    user=None,
    invitation: Invitation | None = None,
    participated: bool | None = None,
    answers: dict | None = None,
    submitted_at: datetime.datetime | None = None,
    anonymous: bool = False,
) -> Response:
    """A submitted response with organisation_kind/region copied from the
    organisation; `answers` maps a Question (or its key) to a value for answer().
    anonymous=True stores the shape of an anonymous response: the attributes are
    copied, then invitation/user/organisation are left empty."""
    if invitation is not None:
        user = user or invitation.user
        organisation = organisation or invitation.organisation
    moment = submitted_at or timezone.now()
    response = Response.objects.create(
        survey=survey,
        invitation=None if anonymous else invitation,
        user=None if anonymous else user,
        organisation=None if anonymous else organisation,
        organisation_kind=organisation.kind if organisation else "",
        region_id=organisation.region_id if organisation else None,
        participated=participated,
        submitted_at=moment,
    )
    if invitation is not None and invitation.responded_at is None:
        Invitation.objects.filter(pk=invitation.pk).update(responded_at=moment)
        invitation.responded_at = moment
    if answers:
        by_key = {q.key: q for q in survey.questions.all() if q.key}
        for question, value in answers.items():
            if isinstance(question, str):
                question = by_key[question]
            answer(response, question, value)
    return response


def catalog_survey(template: str = "annual", **kwargs) -> Survey:
    """A survey with the catalog's questions (keys as in surveys/catalog.py),
    show_if wired to the right question. Does not go through the service so
    tests of other areas need not depend on it."""
    from surveys.catalog import TEMPLATES

    survey = SurveyFactory(**kwargs)
    by_key: dict[str, Question] = {}
    for order, spec in enumerate(TEMPLATES[template]["questions"], start=1):
        spec = dict(spec)
        show_if = spec.pop("show_if", None)
        question = Question.objects.create(
            survey=survey,
            order=order,
            key=spec.pop("key"),
            text=str(spec.pop("text")),
            kind=spec.pop("kind"),
            required=spec.pop("required", False),
            choices=list(spec.pop("choices", [])),
            allow_other=spec.pop("allow_other", False),
            scale_min_label=str(spec.pop("scale_min_label", "")),
            scale_max_label=str(spec.pop("scale_max_label", "")),
            show_if_question=by_key[show_if[0]] if show_if else None,
            show_if_value=show_if[1] if show_if else "",
        )
        by_key[question.key] = question
    return survey
