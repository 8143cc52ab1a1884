"""The portal's periodic work: the retention sweep (portal.retention)."""

from celery import shared_task

from portal import retention


@shared_task
def sweep_retention() -> dict:
    """Cut what is past its retention period (docs/privacy.md). Idempotent;
    returns how many of each kind were cut."""
    swept = retention.sweep()
    return {
        "questions": swept.questions,
        "answers": swept.answers,
        "revisions": swept.revisions,
        "mails": swept.mails,
    }
