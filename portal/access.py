"""Who may do what with the portal's own pages (DESIGN §4). The roles come
from network.access; this file holds the rules that span every app."""

from network import access as network_access


def can_download_disclosure(user, person) -> bool:
    """A person's data export (開示, portal.disclosure): the person themselves,
    and the secretariat on their behalf (a request by letter or phone).
    Nobody else: they get 404, not 403 (the person's existence is not shown)."""
    if not getattr(user, "is_authenticated", False) or person is None:
        return False
    return user.pk == person.pk or network_access.is_secretariat(user)


def can_erase_person(user, person) -> bool:
    """A person's erasure (削除, portal.erasure): the secretariat (superusers
    included) on the person's request. Everyone else gets 404. Whether the
    account may be erased at all (not a superuser's or the secretariat's) is
    portal.erasure.refusal, shown on the page as an error."""
    if not getattr(user, "is_authenticated", False) or person is None:
        return False
    return network_access.is_secretariat(user)
