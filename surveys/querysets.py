from django.db import models


class SurveyQuerySet(models.QuerySet):
    def visible_to(self, user):
        from . import access

        return access.visible_surveys(self, user)

    def results_visible_to(self, user):
        """Surveys whose aggregates `user` may read now (the committee: closed ones)."""
        from . import access

        return access.results_released(self, user)

    def manageable_by(self, user):
        from . import access

        return self if access.can_manage_surveys(user) else self.none()

    def published(self):
        return self.filter(status="published")


class InvitationQuerySet(models.QuerySet):
    def addressed_to(self, user):
        """Invitations of published surveys for this user: their own (person
        unit) and their organisations' (organisation unit)."""
        from network import access as network_access

        organisation_ids = list(network_access.roles(user).memberships)
        return self.filter(survey__status="published").filter(
            models.Q(user=user) | models.Q(user__isnull=True, organisation_id__in=organisation_ids)
        )

    def unanswered(self):
        return self.filter(responded_at__isnull=True)

    def answered(self):
        return self.filter(responded_at__isnull=False)


class ResponseQuerySet(models.QuerySet):
    def submitted(self):
        return self.filter(submitted_at__isnull=False)
