"""Run every periodic sweep once, for cron when there is no Celery beat.

The sweeps are the entries of settings.CELERY_BEAT_SCHEDULE, so cron and beat
always run the same work; each is idempotent, so running this more often than
needed (or next to beat) sends nothing twice. Example crontab line:

    5 * * * *  cd /srv/tsunagari && .venv/bin/python manage.py run_periodic
"""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

# What each task does, for the report printed to the operator.
LABELS = {
    "events.tasks.sweep_reminders": _("開催前のリマインダー"),
    "events.tasks.sweep_online_links": _("オンライン参加URLの案内"),
    "events.tasks.sweep_thanks": _("開催後のお礼と資料の案内"),
    "events.tasks.sweep_unconfirmed_guests": _("確認されなかったゲスト申込の取り消し"),
    "core.tasks.requeue_stale_outbox": _("送信できていないメールの再送"),
    "surveys.tasks.sweep_survey_reminders": _("アンケートのリマインド"),
    "surveys.tasks.sweep_post_event_surveys": _("イベント後アンケートの送信"),
    "surveys.tasks.sweep_invitations": _("未送信のアンケート依頼の送信"),
    "note.tasks.sweep_digest": _("掲示板とノートの週のお知らせ"),
    "events.tasks.sweep_tallies": _("ダッシュボード集計の補正"),
    "directory.tasks.sweep_freshness": _("ナビの確認依頼（最終確認から時間のたった窓口）"),
    "directory.tasks.sweep_line_deliveries": _("LINEの受信記録の整理"),
}


def _describe(result) -> str:
    if isinstance(result, dict) and "repaired" in result:
        return _("%(n)d件を補正しました") % {"n": result["repaired"]}
    if isinstance(result, dict) and "deleted" in result:
        return _("%(n)d件を削除しました") % {"n": result["deleted"]}
    if isinstance(result, dict) and "discarded" in result:
        return _("%(n)d件を取り消しました") % {"n": result["discarded"]}
    if isinstance(result, dict):
        requeued = result.get("requeued", 0)
        failed = result.get("failed", 0)
        text = _("再送 %(requeued)d件、失敗扱い %(failed)d件") % {
            "requeued": requeued,
            "failed": failed,
        }
        if "unknown" in result:
            # Mails that may have arrived: a person has to check them.
            text += _("、要確認（届いた可能性あり）%(unknown)d件") % {"unknown": result["unknown"]}
        return text
    if isinstance(result, int):
        return _("%(n)d件を送信待ちに追加しました") % {"n": result}
    return _("完了しました")


class Command(BaseCommand):
    help = "定期処理（リマインダー、オンラインURL、お礼メール、送信の再試行）を一度だけ実行します。"

    def handle(self, *args, **options):
        for name, entry in getattr(settings, "CELERY_BEAT_SCHEDULE", {}).items():
            task_path = entry["task"]
            task = import_string(task_path)
            # Called in this process, not queued: cron wants the work done now.
            result = task(*entry.get("args", ()), **entry.get("kwargs", {}))
            label = LABELS.get(task_path, name)
            self.stdout.write(f"{label}: {_describe(result)}")
