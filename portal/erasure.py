"""A person's erasure (削除, issue #15; APPI 利用停止・消去), carried out by the
secretariat when the person asks for it: the sibling of the data export
(portal.disclosure).

The figures must not change: the committee's participation dashboard, the
events' counts by organisation kind (events.tallies) and every survey
aggregate count registrations, presences and responses. So nothing they count
is deleted; the personal parts are cut off instead:

* the account becomes an anonymous stub: e-mail ``erased-<id>@erased.invalid``,
  name 「削除された会員」, no kana, no usable password, inactive, no staff
  flag, groups or permissions, every session ended (``User.end_sessions``).
  Everything that stays linked to the stub (registrations, named survey
  responses, board posts, needs, records the person kept as staff) shows
  「削除された会員」 from then on;
* what the person wrote that is theirs alone goes: 事前質問 on registrations,
  free-text survey answers (replaced by a fixed marker, so that the results'
  counts of texts stay the same), unsent survey drafts, the board posts'
  organisation at the time (the post itself stays, for the replies around it);
* what only serves the person goes: memberships (with their invitations),
  guest requests by their address, pending join requests with it as contact,
  follows, digest setting, curator role, calendar feed, allauth's e-mail and
  MFA rows; mails to them are emptied (the row and its idempotency key stay,
  so no sweep sends them again) and their address and name are replaced in
  mails to others.

`DECISIONS` says, for every relation to the user model, what happens to the
rows that point at the person (docs/privacy.md has it as a table);
tests/test_erasure.py fails when a relation appears that it does not name.

One transaction, a fixed number of queries whatever the person's history
(the test asserts it at two sizes), idempotent (a stub is left alone). Who
erased whom and when is an entry in the audit log (core.audit, about the
stub); the audit log's older entries keep what the person did and lose their
name, address and where they did it from.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditlog.context import disable_auditlog
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Case, CharField, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Cast, Coalesce, Concat, Replace
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from committee.models import ReportOpinion
from core import audit
from core.models import OutboxMessage
from events.models import CalendarFeed, GuestRequest, Registration
from network.access import SECRETARIAT_GROUP
from network.models import JoinRequest, Membership
from note.models import Curator, Follow, NotePreference, Reply, Topic
from portal import access as portal_access
from support.models import Application
from surveys.models import Answer, Response, Survey
from surveys.models import Invitation as SurveyInvitation

DELETE = "delete"
ANONYMISE = "anonymise"
KEEP = "keep"

# Every relation to the user model, as "<app_label>.<Model>.<field>" of the
# model holding the foreign key: what erasure does with the rows pointing at
# the person, and why (docs/privacy.md, 削除).
DECISIONS: dict[str, tuple[str, str]] = {
    "network.Membership.user": (
        DELETE,
        "所属を終える（組織の職員一覧から外れる）。招待も一緒に消える",
    ),
    "network.Invitation.invited_by": (KEEP, "招待した記録（招待された人の所属のもの）"),
    "network.JoinRequest.decided_by": (KEEP, "事務局として判断した記録"),
    "network.User_groups.user": (DELETE, "役割（事務局・委員会）を外す"),
    "network.User_user_permissions.user": (DELETE, "個別の権限を外す"),
    "events.Registration.user": (
        ANONYMISE,
        "申込・出席は残す（参加の集計のため）。事前質問を消し、受付検索キーを作り直す",
    ),
    "events.Registration.changed_by": (KEEP, "事務局として変更した記録"),
    "events.Registration.cancelled_by": (KEEP, "キャンセルした記録"),
    "events.CalendarFeed.user": (DELETE, "個人のカレンダー配信URL"),
    "events.TalliedPresence.user": (KEEP, "ダッシュボードの集計（名前は持たない）"),
    "events.PersonYearTally.user": (KEEP, "ダッシュボードの集計（名前は持たない）"),
    "surveys.Survey.created_by": (KEEP, "アンケートを作った記録"),
    "surveys.Invitation.user": (
        ANONYMISE,
        "依頼数・回答数（回答率）のため残す。送信先を消し、リンクを無効にし、"
        "集計区分（最初の所属組織）を依頼に写す",
    ),
    "surveys.Response.user": (
        ANONYMISE,
        "回答と選択・数値は残す（集計のため）。記述は「削除された会員の記述」に置き換え、"
        "未送信の下書きは消す",
    ),
    "note.Room.opened_by": (KEEP, "部屋を開いた記録"),
    "note.Topic.author": (ANONYMISE, "相談は残し「削除された会員」と表示。投稿時の所属を消す"),
    "note.Topic.moderated_by": (KEEP, "事務局として確認した記録"),
    "note.Topic.resolved_by": (KEEP, "解決にした記録"),
    "note.Reply.author": (ANONYMISE, "返信は残し「削除された会員」と表示。投稿時の所属を消す"),
    "note.Reply.moderated_by": (KEEP, "事務局として確認した記録"),
    "note.AuthorLookup.looked_by": (KEEP, "投稿者を確認した記録（説明責任）"),
    "note.Follow.user": (DELETE, "フォロー"),
    "note.NotePreference.user": (DELETE, "お知らせメールの設定"),
    "note.Curator.user": (DELETE, "ノート編集者の役割"),
    "note.Curator.added_by": (KEEP, "編集者を登録した記録"),
    "note.NoteEntry.curator": (KEEP, "記事をまとめた人（「削除された会員」と表示）"),
    "note.NoteEntry.moderated_by": (KEEP, "事務局として確認した記録"),
    "directory.Service.verified_by": (KEEP, "窓口情報を確認した記録"),
    "support.Application.applicant": (
        ANONYMISE,
        "申込は組織のもの（集計のため残す）。本人が連絡担当者なら氏名・メール・電話を消す",
    ),
    "support.ApplicationUpdate.author": (KEEP, "経過を記入した記録"),
    "support.Engagement.coordinator": (KEEP, "事務局の調整担当の記録"),
    "support.EngagementSession.recorded_by": (KEEP, "支援記録を記録した人"),
    "committee.Need.owner": (KEEP, "課題の担当者（委員会の記録）"),
    "committee.Need.raised_by": (KEEP, "課題の登録者（委員会の記録）"),
    "committee.NeedUpdate.author": (KEEP, "課題の経過の記入者"),
    "committee.ReportText.updated_by": (KEEP, "年度報告書の文章の記入者（事務局の記録）"),
    "committee.ReportTextRevision.author": (KEEP, "年度報告書の文章の履歴の記入者"),
    "committee.ReportOpinion.chosen_by": (KEEP, "年度報告書に載せる意見を選んだ人（事務局の記録）"),
    "core.OutboxMessage.resent_by": (KEEP, "送信記録を再送した記録"),
    "admin.LogEntry.user": (KEEP, "管理サイトでの操作記録（この人についての記録は名前を消す）"),
    "auditlog.LogEntry.actor": (
        ANONYMISE,
        "操作記録は残し、操作者は匿名化したアカウントのまま（空にしない）。"
        "操作者のメールの写しと接続元を消す（この人についての記録は変更内容を消す）",
    ),
    "account.EmailAddress.user": (DELETE, "ログイン用メールアドレス（allauth）"),
    "mfa.Authenticator.user": (DELETE, "2段階認証の登録（allauth）"),
}


def erased_email(pk: int) -> str:
    """The stub's address (network.models.User.erased_email)."""
    return get_user_model().erased_email(pk)


def stored_label(text: str) -> str:
    """Text stored in a row (a marker, a stub's name): in the site's language,
    whatever the request's (portal.retention writes its markers with it too)."""
    with translation.override(settings.LANGUAGE_CODE):
        return _(text)


def erased_name() -> str:
    return stored_label("削除された会員")


def erased_text() -> str:
    return stored_label("［削除された会員の記述］")


def is_erased(person) -> bool:
    return person.is_erased


def refusal(person) -> str | None:
    """Why this account cannot be erased from the portal's page, or None:
    a superuser or a secretariat member (active or not) is removed by a
    person with database access, after the handover of what they run."""
    if person.is_superuser:
        return _("管理者（スーパーユーザー）のアカウントは、この画面では削除できません。")
    if person.groups.filter(name=SECRETARIAT_GROUP).exists():
        return _("事務局のアカウントは、この画面では削除できません。")
    return None


def confirmation_matches(person, typed: str) -> bool:
    return bool(typed) and typed.strip().lower() == person.email.lower()


class ErasureError(Exception):
    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Erased:
    person_id: int
    # The account was a stub already: nothing was written.
    already: bool = False


@dataclass(frozen=True)
class Item:
    action: str  # DELETE / ANONYMISE / KEEP
    label: str
    count: int


def _by_address(field: str, email: str) -> Q:
    return Q(**{f"{field}__iexact": email})


def inventory(person) -> list[Item]:
    """What erasure will delete, anonymise and keep, with how many rows of
    each: the confirm page's list (a count per kind)."""
    email = person.email
    return [
        Item(ANONYMISE, _("アカウント（氏名・メールアドレス・パスワード・役割）"), 1),
        Item(DELETE, _("所属（組織の職員一覧から外れます）"), person.memberships.count()),
        Item(
            DELETE,
            _("参加申込の確認待ち（一般申込）"),
            GuestRequest.objects.filter(_by_address("email", email)).count(),
        ),
        Item(
            DELETE,
            _("審査中の参加申請（この人が担当者のもの）"),
            JoinRequest.objects.filter(
                _by_address("contact_email", email), status=JoinRequest.Status.PENDING
            ).count(),
        ),
        Item(DELETE, _("掲示板のフォロー"), Follow.objects.filter(user=person).count()),
        Item(
            DELETE,
            _(
                "個人の設定（カレンダー配信URL・お知らせメールの設定・ノート編集者の役割・2段階認証）"
            ),
            CalendarFeed.objects.filter(user=person).count()
            + NotePreference.objects.filter(user=person).count()
            + Curator.objects.filter(user=person).count()
            + (
                apps.get_model("mfa", "Authenticator").objects.filter(user=person).count()
                if apps.is_installed("allauth.mfa")
                else 0
            ),
        ),
        Item(
            DELETE,
            _("アンケートの未送信の下書き"),
            Response.objects.filter(user=person, submitted_at__isnull=True).count(),
        ),
        Item(
            ANONYMISE,
            _("イベントへの申込（事前質問を消します。申込と出席は集計のため残ります）"),
            Registration.objects.filter(user=person).count(),
        ),
        Item(
            ANONYMISE,
            _("アンケートの回答（記述を消します。選択と数値は集計のため残ります）"),
            Response.objects.filter(user=person, submitted_at__isnull=False).count(),
        ),
        Item(
            ANONYMISE,
            _("アンケートの依頼（送信先を消します。回答率の集計のため残ります）"),
            SurveyInvitation.objects.filter(user=person).count(),
        ),
        Item(
            ANONYMISE,
            _("掲示板の相談と返信（「削除された会員」と表示されます）"),
            Topic.objects.filter(author=person).count()
            + Reply.objects.filter(author=person).count(),
        ),
        Item(
            ANONYMISE,
            _("後方支援メニューの申込の連絡先"),
            Application.objects.filter(_by_address("contact_email", email)).count(),
        ),
        Item(
            ANONYMISE,
            _("この人宛てのメールの記録（宛先・件名・本文を消します）"),
            OutboxMessage.objects.filter(_by_address("to_email", email)).count(),
        ),
    ]


def inventory_by_action(person) -> dict[str, list[Item]]:
    """The confirm page's lists: {DELETE: [...], ANONYMISE: [...]}."""
    items = inventory(person)
    return {
        action: [item for item in items if item.action == action] for action in (DELETE, ANONYMISE)
    }


@transaction.atomic
def erase_person(*, person, by, confirmation: str) -> Erased:
    """Erase `person` (see the module docstring) on behalf of `by`, who typed
    `confirmation` (the person's e-mail address). Refuses, writing nothing,
    when `by` may not (portal.access.can_erase_person), the address does not
    match, or the account is a superuser's or the secretariat's. A stub is
    left as it is (idempotent)."""
    if not portal_access.can_erase_person(by, person):
        raise ErasureError(_("この操作はできません。"), "forbidden")
    User = get_user_model()
    # One erasure at a time per person; the rows are read under the lock.
    person = User.objects.select_for_update().get(pk=person.pk)
    if not confirmation_matches(person, confirmation):
        raise ErasureError(
            _("入力したメールアドレスが、この人のメールアドレスと一致しません。"), "confirmation"
        )
    problem = refusal(person)
    if problem:
        raise ErasureError(problem, "protected")
    if is_erased(person):
        return Erased(person.pk, already=True)

    pk, email, name = person.pk, person.email, person.full_name
    stub_email, stub_name = erased_email(pk), erased_name()

    # The erasure is one audit entry (below), not one per row it touches:
    # those would carry the name it removes, and grow with the history.
    with disable_auditlog():
        _surveys(person, stub_email)
        _events(person, email)
        _network(person, email)
        _note(person)
        # The application is the organisation's; its contact, when it is them, is theirs.
        Application.objects.filter(_by_address("contact_email", email)).update(
            contact_name=stub_name, contact_email=stub_email, contact_phone=""
        )
        _mails(email, name, stub_email, stub_name)
        _account(person, stub_email, stub_name)
        _logs(person, email, name, stub_email, stub_name)
        # Search keys from the stub's name and address (their organisation stays findable).
        Registration.objects.filter(user_id=pk).index_for_search()

    audit.record(person, event=audit.ERASED, actor=by, label=stub_name)
    return Erased(pk)


def _surveys(person, stub_email: str) -> None:
    # The results are cached by their data version (surveys.results), which
    # reads the survey's updated_at: the texts and groups rewritten here must
    # not be served from a computation made before.
    Survey.objects.filter(
        Q(pk__in=Response.objects.filter(user=person).values("survey_id"))
        | Q(pk__in=SurveyInvitation.objects.filter(user=person).values("survey_id"))
    ).update(updated_at=timezone.now())
    # The response rate groups a person's invitation by their first
    # organisation (surveys.results._rates), read from their memberships,
    # which go below: the invitation keeps that organisation itself.
    first_organisation = (
        Membership.objects.filter(user_id=OuterRef("user_id"))
        .order_by("pk")
        .values("organisation_id")[:1]
    )
    SurveyInvitation.objects.filter(user=person).update(
        organisation=Coalesce(F("organisation"), Subquery(first_organisation)),
        email=stub_email,
        # No link's token hashes to this: the old link stops working.
        token_hash=Concat(Value("erased:"), Cast("pk", output_field=CharField())),
    )
    Response.objects.filter(user=person, submitted_at__isnull=True).delete()
    # Their words go: the annual report quotes none of them any more.
    ReportOpinion.objects.filter(answer__response__user=person).delete()
    # A fixed marker, not an empty text: the results count texts (and
    # 「その他」 answers) by non-empty text.
    Answer.objects.filter(response__user=person).exclude(text="").update(text=erased_text())


def _events(person, email: str) -> None:
    Registration.objects.filter(user=person).update(question="", question_flagged=False)
    GuestRequest.objects.filter(_by_address("email", email)).delete()
    CalendarFeed.objects.filter(user=person).delete()


def _network(person, email: str) -> None:
    # The membership's invitations go with it (CASCADE).
    Membership.objects.filter(user=person).delete()
    requests = JoinRequest.objects.filter(_by_address("contact_email", email))
    # Approving would invite the contact: a pending request cannot stay without one.
    requests.filter(status=JoinRequest.Status.PENDING).delete()
    requests.update(
        contact_name=erased_name(),
        contact_kana="",
        contact_email=erased_email(person.pk),
        contact_phone="",
    )


def _note(person) -> None:
    Follow.objects.filter(user=person).delete()
    NotePreference.objects.filter(user=person).delete()
    Curator.objects.filter(user=person).delete()
    # The post stays, signed 「削除された会員」 (Post.author_label reads the
    # stub's name); its organisation kind stays for anonymous posts' label.
    Topic.objects.filter(author=person).update(author_org=None)
    Reply.objects.filter(author=person).update(author_org=None)


def _mails(email: str, name: str, stub_email: str, stub_name: str) -> None:
    removed = stored_label("［削除しました］")
    # The row and its key stay: a sweep that finds the key queues nothing again.
    OutboxMessage.objects.filter(_by_address("to_email", email)).update(
        to_email=stub_email,
        subject=removed,
        body="",
        secret="",
        reply_to="",
        last_error="",
        status=Case(
            When(status=OutboxMessage.Status.PENDING, then=Value(OutboxMessage.Status.SKIPPED)),
            default=F("status"),
        ),
    )
    # Mails to others that name them (a join notice, a list of staff…).
    mentions = Q(body__contains=email) | Q(subject__contains=email)
    body = Replace("body", Value(email), Value(stub_email))
    subject = Replace("subject", Value(email), Value(stub_email))
    if len(name) >= 3:  # a longer name, not a word of ordinary text
        mentions |= Q(body__contains=name) | Q(subject__contains=name)
        body = Replace(body, Value(name), Value(stub_name))
        subject = Replace(subject, Value(name), Value(stub_name))
    OutboxMessage.objects.filter(mentions).update(body=body, subject=subject)


def _logs(person, email: str, name: str, stub_email: str, stub_name: str) -> None:
    meta = type(person)._meta
    # The user model's content type by a join, not ContentType's process
    # cache: the same queries whether or not it was read before.
    about_them = {
        "content_type__app_label": meta.app_label,
        "content_type__model": meta.model_name,
    }
    if apps.is_installed("django.contrib.admin"):
        apps.get_model("admin", "LogEntry").objects.filter(
            **about_them, object_id=str(person.pk)
        ).update(object_repr=stub_name)
    if apps.is_installed("auditlog"):
        entries = apps.get_model("auditlog", "LogEntry").objects
        # What they did stays, signed by the stub; where they did it from goes.
        entries.filter(actor=person).update(
            actor_email=stub_email, remote_addr=None, remote_port=None
        )
        entries.filter(**about_them, object_pk=str(person.pk)).update(
            object_repr=stub_name,
            changes=None,
            changes_text="",
            serialized_data=None,
            additional_data=None,
        )
        # Rows named after them (「受託 花子 @ 第2回 情報交換会」) keep the row, not the name.
        for old in filter(None, (name, email)):
            entries.filter(object_repr__contains=old).update(
                object_repr=Replace(F("object_repr"), Value(old), Value(stub_name))
            )


def _account(person, stub_email: str, stub_name: str) -> None:
    if apps.is_installed("allauth.account"):
        apps.get_model("account", "EmailAddress").objects.filter(user=person).delete()
    if apps.is_installed("allauth.mfa"):
        apps.get_model("mfa", "Authenticator").objects.filter(user=person).delete()
    person.groups.clear()
    person.user_permissions.clear()
    person.set_unusable_password()
    type(person).objects.filter(pk=person.pk).update(
        email=stub_email,
        full_name=stub_name,
        full_name_kana="",
        password=person.password,
        is_active=False,
        is_staff=False,
        last_login=None,
    )
    person.end_sessions()
