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
    }
