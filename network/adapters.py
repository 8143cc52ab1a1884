from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """No open sign-up: people join by invitation or through a join request."""

    def is_open_for_signup(self, request):
        return False
