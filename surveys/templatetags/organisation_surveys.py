"""The organisation page's list of survey answers (templates/network/organisation_detail.html).

The network app may not use surveys, so its page asks this tag instead of its
view: like the committee's 「課題にする」 tag, a template-level link upwards.
"""

from django import template

from ..access import can_view_organisation_responses
from ..models import Survey

register = template.Library()


@register.simple_tag(takes_context=True)
def answered_surveys(context, organisation):
    """Published surveys with a submitted answer for `organisation` that the
    user may read (access.can_view_organisation_responses), newest first."""
    user = context["request"].user
    surveys = (
        Survey.objects.published()
        .filter(
            anonymous=False,
            responses__organisation=organisation,
            responses__submitted_at__isnull=False,
        )
        .distinct()
        .order_by("-closes_at", "-pk")
    )
    return [s for s in surveys if can_view_organisation_responses(user, s, organisation)]
