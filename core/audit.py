"""The audit log's two entry points (django-auditlog; docs/decisions/0007-audit-log.md).

* Every save and delete of a model named in settings.AUDITLOG_INCLUDE_TRACKING_MODELS
  is logged by auditlog's signals, with the fields that changed. Who did it comes
  from the request (AuditActorMiddleware); a task or a command logs no actor.
* What is not a save of one row is logged here, explicitly: a person's data
  exported (開示) or erased, a file imported in bulk. `record` writes one entry,
  with ids and counts only — never the personal data itself.

The log is read by the secretariat (portal: 操作の記録) and by superusers in the
admin (read-only); nothing in the portal edits or deletes an entry except the
retention sweep (core.tasks.sweep_audit_log).
"""

from __future__ import annotations

from auditlog.middleware import AuditlogMiddleware
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.utils import translation
from django.utils.translation import gettext as _

from .clientip import client_ip

# What an explicit entry says it was, in LogEntry.additional_data["event"].
EXPORTED = "exported"
ERASED = "erased"
IMPORTED = "imported"


def length_only(value: str) -> str:
    """A masked field's value as the log keeps it (auditlog's mask_callable):
    how long the text is, not its words. auditlog passes an absent value as
    "None", which stays as it is (the audit page shows it as 「（なし）」)."""
    if value == "None":
        return value
    # Stored, so in the site's language whatever the request's.
    with translation.override(settings.LANGUAGE_CODE):
        return _("%(count)d文字") % {"count": len(value)}


class AuditActorMiddleware(AuditlogMiddleware):
    """auditlog's middleware with the client address taken as the rest of the
    portal takes it (core.clientip: behind the trusted proxies only), not from
    whatever X-Forwarded-For a client sends."""

    @staticmethod
    def _get_remote_addr(request):
        return client_ip(request)


def record(
    instance, *, event: str, actor, details: dict | None = None, label: str | None = None
) -> LogEntry:
    """One explicit entry about `instance` (ACCESS for an export, UPDATE for an
    erasure or an import), by `actor` (a user or None), with `details`: ids and
    counts, JSON-serialisable. `label` replaces str(instance) as the entry's
    name (an erased person's is the stub's)."""
    action = LogEntry.Action.ACCESS if event == EXPORTED else LogEntry.Action.UPDATE
    fields = {"object_repr": label} if label is not None else {}
    who = actor if getattr(actor, "is_authenticated", False) else None
    return LogEntry.objects.log_create(
        instance,
        force_log=True,
        action=action,
        actor=who,
        actor_email=getattr(who, "email", None),
        changes={},
        additional_data={"event": event, **(details or {})},
        **fields,
    )


def record_import(model, *, label: str, details: dict) -> LogEntry:
    """One entry for a file imported in bulk into `model`'s table (its rows
    are written in batches, which auditlog's signals do not see): `label`
    names the file, `details` the counts. Who imported it comes from the
    request (AuditActorMiddleware); a command's import has no actor."""
    return LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(model),
        object_pk="",
        object_repr=label[:200],
        action=LogEntry.Action.UPDATE,
        changes={},
        additional_data={"event": IMPORTED, **details},
    )
