"""Many-row logic and scoping of the surveys app. Scoping asks surveys.access,
the one home of who may see what (access imports only the enums, so no cycle)."""

from django.db import models
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, Value, When

from . import access
from .enums import SurveyState, SurveyStatus


class SurveyQuerySet(models.QuerySet):
    def visible_to(self, user):
        return access.visible_surveys(self, user)

    def results_visible_to(self, user):
        """Surveys whose aggregates `user` may read now (the committee: closed ones)."""
        return access.results_released(self, user)

    def manageable_by(self, user):
        return self if access.can_manage_surveys(user) else self.none()

    def published(self):
        return self.filter(status=SurveyStatus.PUBLISHED)

    def in_state(self, state: SurveyState, now):
        """The surveys whose Survey.state_at(now) is `state`, in the database."""
        published = Q(status=SurveyStatus.PUBLISHED)
        condition = {
            SurveyState.DRAFT: Q(status=SurveyStatus.DRAFT),
            SurveyState.SCHEDULED: published & Q(opens_at__gt=now),
            SurveyState.OPEN: published & Q(opens_at__lte=now, closes_at__gt=now),
            SurveyState.CLOSED: published & Q(closes_at__lte=now),
        }[state]
        return self.filter(condition)


class InvitationQuerySet(models.QuerySet):
    def addressed_to(self, user):
        """Invitations of published surveys for this user: their own (person
        unit) and their organisations' (organisation unit); access.addressed_invitations."""
        return access.addressed_invitations(self, user)

    def unanswered(self):
        return self.filter(responded_at__isnull=True)

    def reminder_due(self, day_start):
        """Unanswered and not reminded since `day_start` (the start of today,
        Asia/Tokyo: core.dates.local_day_start): whom a reminder goes to now.
        An invitation is reminded at most once per local day."""
        return self.unanswered().filter(
            Q(last_reminded_at__isnull=True) | Q(last_reminded_at__lt=day_start)
        )

    # The member's list orders open surveys first, then not yet open, then closed.
    ANSWERING_ORDER = {SurveyState.OPEN: 0, SurveyState.SCHEDULED: 1, SurveyState.CLOSED: 2}

    def in_answering_order(self, now):
        """Open surveys first (those still to answer first, the nearest
        deadline first), then those not open yet, then closed ones; with
        `has_draft` (a saved, unsent response)."""
        # The model through the relation: models import this module.
        responses = self.model._meta.get_field("response").related_model.objects
        order = self.ANSWERING_ORDER
        return (
            self.annotate(
                answering_order=Case(
                    When(survey__closes_at__lte=now, then=Value(order[SurveyState.CLOSED])),
                    When(survey__opens_at__gt=now, then=Value(order[SurveyState.SCHEDULED])),
                    default=Value(order[SurveyState.OPEN]),
                    output_field=IntegerField(),
                ),
                has_draft=Exists(
                    responses.filter(invitation=OuterRef("pk"), submitted_at__isnull=True)
                ),
            )
            .annotate(
                open_deadline=Case(
                    When(answering_order=order[SurveyState.OPEN], then=F("survey__closes_at")),
                    default=Value(None),
                )
            )
            .order_by(
                "answering_order",
                F("responded_at").asc(nulls_first=True),
                F("open_deadline").asc(nulls_last=True),
                F("survey__closes_at").desc(),
                "pk",
            )
        )

    def answered(self):
        return self.filter(responded_at__isnull=False)


class ResponseQuerySet(models.QuerySet):
    def submitted(self):
        return self.filter(submitted_at__isnull=False)
