"""Secret links (invitations, guest confirmations, survey answers): only the
hash of a token is stored, so a database dump opens nothing."""

import hashlib
import secrets


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh (raw token for the link, hash to store) pair."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)
