"""A file uploaded for a preview, waiting for its 「取り込む」 (the two-step
imports: the attendance list, the navi's windows).

Between the preview and the confirmation the bytes wait in the default
storage under <storage_dir>/<random token><extension>. The token and the path
are kept in the session: the client sends back only the token (compared in
constant time), so no path ever comes from the client. A new upload replaces
the session's previous one, a confirmation deletes it, and files whose
preview was never confirmed are swept after `stale_after`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone


@dataclass(frozen=True)
class Pending:
    raw: bytes
    name: str


@dataclass(frozen=True)
class PendingUploads:
    session_key: str
    storage_dir: str
    stale_after: timedelta = timedelta(days=1)

    def keep(self, request, raw: bytes, filename: str, extension: str = ".csv") -> str:
        """Store the bytes for the session; returns the token the preview's
        form sends back. Forgets the session's previous upload, and sweeps
        the stale ones."""
        self.forget(request)
        self.sweep()
        token = secrets.token_urlsafe(24)
        path = default_storage.save(f"{self.storage_dir}/{token}{extension}", ContentFile(raw))
        request.session[self.session_key] = {"token": token, "path": path, "name": filename}
        return token

    def take(self, request, token: str) -> Pending | None:
        """The session's upload, if `token` is its token and it can still be
        read; None otherwise. The upload stays until forget()."""
        pending = request.session.get(self.session_key)
        if not isinstance(pending, dict) or not secrets.compare_digest(
            str(pending.get("token", "")).encode(), str(token).encode()
        ):
            return None
        try:
            with default_storage.open(pending["path"], "rb") as handle:
                return Pending(handle.read(), str(pending.get("name", "")))
        except (OSError, KeyError, TypeError):
            return None

    def forget(self, request) -> None:
        """Drop the session's upload and its file."""
        pending = request.session.pop(self.session_key, None)
        if pending:
            try:
                default_storage.delete(pending["path"])
            except (OSError, KeyError, TypeError):
                pass

    def sweep(self) -> None:
        """Remove uploads whose preview was never confirmed."""
        try:
            _dirs, files = default_storage.listdir(self.storage_dir)
        except (FileNotFoundError, NotImplementedError):
            return
        limit = timezone.now() - self.stale_after
        for name in files:
            path = f"{self.storage_dir}/{name}"
            try:
                if default_storage.get_modified_time(path) < limit:
                    default_storage.delete(path)
            except (FileNotFoundError, NotImplementedError, OSError):
                continue
