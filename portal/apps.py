from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    """The top of the import chain: what composes every app (the role-aware
    home page, the navigation's roles, /healthz, seed_demo)."""

    name = "portal"
    verbose_name = _("ポータル")
