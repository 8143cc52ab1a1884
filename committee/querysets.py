from django.db import models

from . import access


class NeedQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The needs register is the committee's and the secretariat's; nobody
        else reads a need (they get 404)."""
        if access.can_view_dashboard(user):
            return self
        return self.none()
