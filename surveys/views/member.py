"""Members' pages: the surveys addressed to them or their organisation, and
answering one while logged in (the same form as the secret link, found from the
user instead of a token)."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core.forms import is_storable_key
from core.pagination import paginate
from network.access import login_required_404

from ..models import Invitation, Survey
from .public import answer_page


def addressed_to(user):
    return Invitation.objects.addressed_to(user)


@login_required_404
@require_safe
def survey_list(request):
    invitations = (
        addressed_to(request.user)
        .select_related("survey", "organisation")
        .in_answering_order(timezone.now())
    )
    page_obj = paginate(request, invitations)
    for invitation in page_obj:
        url = reverse("surveys:answer", args=[invitation.survey_id])
        if invitation.user_id is None:
            url += f"?org={invitation.organisation_id}"
        invitation.answer_url = url
    return render(request, "surveys/member_list.html", {"page_obj": page_obj})


@never_cache
@login_required_404
def answer(request, pk):
    # A foreign-key lookup gets none of Django's out-of-range handling: an id
    # beyond the integer column's range would be an OverflowError on SQLite.
    if not is_storable_key(Survey.objects.all(), None, pk):
        raise Http404
    invitations = list(
        addressed_to(request.user)
        .filter(survey_id=pk)
        .select_related("survey", "organisation", "user")
        .order_by("organisation__kana", "pk")
    )
    if not invitations:
        raise Http404
    base_url = reverse("surveys:answer", args=[pk])
    own = [i for i in invitations if i.user_id == request.user.pk]
    if own:
        invitation = own[0]
        action_url = base_url
    else:
        chosen = request.GET.get("org", "")
        matching = [i for i in invitations if str(i.organisation_id) == chosen]
        if matching:
            invitation = matching[0]
        elif len(invitations) == 1:
            invitation = invitations[0]
        else:
            return render(
                request,
                "surveys/member_choose.html",
                {
                    "survey": invitations[0].survey,
                    "choices": [(i, f"{base_url}?org={i.organisation_id}") for i in invitations],
                },
            )
        action_url = f"{base_url}?org={invitation.organisation_id}"
    return answer_page(request, invitation, action_url=action_url, member=True)
