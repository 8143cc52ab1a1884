from django.urls import reverse

from network import access


def roles(request):
    """Navigation needs the roles on every page; they are computed once per request."""
    user = getattr(request, "user", None)
    if user is None:
        return {}

    r = access.roles(user)
    return {
        "roles": r,
        "is_member": access.is_member(user),
        "is_secretariat": r.secretariat,
        "can_view_dashboard": access.can_view_dashboard(user),
        # The 2段階認証 pages say when it is required of this person.
        "mfa_required": access.requires_mfa(user),
        # The secretariat's work on surveys is building and sending them; the
        # survey list of its own invitations is linked from the management list.
        "survey_menu_url": reverse("surveys:manage_list" if r.secretariat else "surveys:list"),
    }
