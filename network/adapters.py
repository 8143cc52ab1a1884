from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from core.clientip import client_ip

from . import access


class AccountAdapter(DefaultAccountAdapter):
    """No open sign-up: people join by invitation or through a join request."""

    def is_open_for_signup(self, request):
        return False

    def get_client_ip(self, request):
        """The client behind the trusted proxies; allauth's rate limits count per it."""
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine client IP address")
        return ip

    def _get_login_attempts_cache_key(self, request, **credentials):
        """The "key" of the login_failed rate limit: account *and* client address.

        allauth keys it on the account alone, so anyone could lock a person out
        of their own account by guessing wrong five times from anywhere. Per
        (address, account) the guesser only locks out their own address; the
        per-address limit still bounds how many accounts one address may try."""
        account = super()._get_login_attempts_cache_key(request, **credentials)
        return f"{account}:{self.get_client_ip(request)}"


class MfaAdapter(DefaultMFAAdapter):
    """Staff who must use a second factor (network.access.requires_mfa) cannot
    switch theirs off; a superuser removes a lost one in the admin and the
    person sets up a new one at their next sign-in."""

    error_messages = {
        **DefaultMFAAdapter.error_messages,
        "cannot_delete_authenticator": _(
            "事務局・検討委員会・管理者の方は、2段階認証を無効にできません。"
            "認証アプリを入れた端末をなくした場合は、リカバリーコードでログインするか、"
            "システム管理者に連絡してください。"
        ),
    }

    def can_delete_authenticator(self, authenticator) -> bool:
        return not access.requires_mfa(authenticator.user)
