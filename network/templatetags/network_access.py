"""The network's access rules for templates, so that a template asks a named
rule (network.access) instead of deciding from flags itself."""

from django import template

from .. import access

register = template.Library()


@register.filter
def viewable_by(organisation, user) -> bool:
    """`{% if org|viewable_by:user %}`: may the user open the organisation's
    page (access.can_view_organisation), e.g. to link its name."""
    return access.can_view_organisation(user, organisation)
