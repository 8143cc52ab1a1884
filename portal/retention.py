"""How long personal data is kept (docs/privacy.md, issue #15): what a daily
sweep cuts once its period is over.

The figures stay: the participation dashboard, the events' tallies and every
survey aggregate count registrations, presences and responses, which are
kept. What goes is what people wrote that only served the moment and what
others could read their lives from:

* a registration's 事前質問, once its meeting ended more than
  TSUNAGARI_RETENTION_QUESTION_DAYS ago;
* a free-text survey answer, once its survey closed more than
  TSUNAGARI_RETENTION_ANSWER_DAYS ago — replaced by a fixed marker, not
  emptied, since the results count texts by non-empty text;
* a board post's earlier versions (its edit history), older than
  TSUNAGARI_RETENTION_REVISION_DAYS — the post itself stays, the network's
  note is made of them;
* a sent mail's subject and body, sent more than TSUNAGARI_RETENTION_MAIL_DAYS
  ago — the row and its key stay, so that no sweep sends it again.

The audit log and expired sessions have sweeps of their own (core.tasks).
A period of 0 keeps that kind for ever. One UPDATE or DELETE per kind, whatever
how much is due; idempotent (what was cut is not due again).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from core.models import OutboxMessage
from events.models import Registration
from note.models import PostRevision
from portal.erasure import stored_label
from surveys.models import Answer, Survey


@dataclass(frozen=True)
class Swept:
    questions: int = 0
    answers: int = 0
    revisions: int = 0
    mails: int = 0


def expired_text() -> str:
    return stored_label("［保存期間を過ぎたため削除しました］")


def _cutoff(days: int, now: datetime.datetime) -> datetime.datetime | None:
    return now - datetime.timedelta(days=days) if days else None


def sweep(*, now: datetime.datetime | None = None) -> Swept:
    now = now or timezone.now()
    counts = {}
    if cutoff := _cutoff(settings.TSUNAGARI_RETENTION_QUESTION_DAYS, now):
        counts["questions"] = (
            Registration.objects.filter(event__ends_at__lt=cutoff)
            .exclude(question="")
            .update(question="", question_flagged=False)
        )
    if cutoff := _cutoff(settings.TSUNAGARI_RETENTION_ANSWER_DAYS, now):
        marker = expired_text()
        answers = (
            Answer.objects.filter(response__survey__closes_at__lt=cutoff)
            .exclude(text="")
            .exclude(text=marker)
        )
        # The cached results (surveys.results.data_version) read the survey's
        # updated_at: the texts replaced here are not served from the cache.
        Survey.objects.filter(pk__in=answers.values("response__survey_id")).update(updated_at=now)
        counts["answers"] = answers.update(text=marker)
    if cutoff := _cutoff(settings.TSUNAGARI_RETENTION_REVISION_DAYS, now):
        counts["revisions"], _kinds = PostRevision.objects.filter(replaced_at__lt=cutoff).delete()
    if cutoff := _cutoff(settings.TSUNAGARI_RETENTION_MAIL_DAYS, now):
        counts["mails"] = (
            OutboxMessage.objects.filter(sent_at__lt=cutoff)
            .exclude(body="", subject=expired_text())
            .update(subject=expired_text(), body="", reply_to="", last_error="")
        )
    return Swept(**counts)
