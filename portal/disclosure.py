"""A person's data export (開示, issue #15): everything the portal holds about
one person, as one ZIP of a README, a JSON file with everything and one CSV
per kind of record.

It lives in `portal` because it reads every app (the chain's top, DESIGN §7).
Who may ask for it is `portal.access.can_download_disclosure`.

Every section is one query whatever the person's history (no N+1: the test
asserts the count at two sizes), so the whole export is a fixed number of
queries. CSVs go through core.importing.CSV: UTF-8 with a BOM for Excel, every
text cell defused against formula injection. Other people's personal data is
left out: who invited the person, who decided a request, who moderated a post
are not theirs to receive.
"""

from __future__ import annotations

import datetime
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import tablib
from django.utils import timezone
from django.utils.translation import gettext as _

from committee.models import ReportText, ReportTextRevision
from core import audit
from core.importing import CSV
from events.models import Registration
from network.models import Invitation, JoinRequest, Membership
from note.models import Reply, Topic
from support.models import Application
from surveys.models import Answer, Response
from surveys.models import Invitation as SurveyInvitation


def _value(value):
    """JSON- and CSV-friendly: dates in local time as ISO 8601, decimals as text."""
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value.normalize()) if value == value.to_integral() else str(value)
    return value


def _cell(value) -> str | int:
    value = _value(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("はい") if value else _("いいえ")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


@dataclass
class Section:
    """One kind of record: a CSV (`filename`) and a key of data.json."""

    key: str
    filename: str
    description: str
    # (JSON key, CSV header) per column
    columns: list[tuple[str, str]]
    rows: list[dict] = field(default_factory=list)

    def csv(self) -> bytes:
        dataset = tablib.Dataset(headers=[header for _key, header in self.columns])
        for row in self.rows:
            dataset.append([_cell(row.get(key)) for key, _header in self.columns])
        return CSV().export_data(dataset)

    def json(self) -> list[dict]:
        return [{key: _value(value) for key, value in row.items()} for row in self.rows]


def _profile(person) -> Section:
    # Not the password hash nor the session epoch: internal, not about the person.
    groups = ", ".join(person.groups.order_by("name").values_list("name", flat=True))
    return Section(
        "profile",
        "profile.csv",
        _("アカウントの登録内容（氏名、メールアドレス、登録日時など）"),
        [
            ("id", _("番号")),
            ("email", _("メールアドレス")),
            ("full_name", _("氏名")),
            ("full_name_kana", _("氏名（かな）")),
            ("is_active", _("有効")),
            ("has_password", _("パスワード設定済み")),
            ("is_staff", _("管理サイトへのアクセス")),
            ("groups", _("役割（事務局・委員会）")),
            ("date_joined", _("登録日時")),
            ("last_login", _("最終ログイン")),
        ],
        [
            {
                "id": person.pk,
                "email": person.email,
                "full_name": person.full_name,
                "full_name_kana": person.full_name_kana,
                "is_active": person.is_active,
                "has_password": not person.is_contact,
                "is_staff": person.is_staff,
                "groups": groups,
                "date_joined": person.date_joined,
                "last_login": person.last_login,
            }
        ],
    )


def _memberships(person) -> Section:
    rows = [
        {
            "organisation": m.organisation.name,
            "organisation_kind": m.organisation.get_kind_display(),
            "staff_role": m.get_staff_role_display(),
            "experience": m.get_experience_display(),
            "is_org_admin": m.is_org_admin,
            "created_at": m.created_at,
        }
        for m in Membership.objects.filter(user=person)
        .select_related("organisation")
        .order_by("created_at", "pk")
    ]
    return Section(
        "memberships",
        "memberships.csv",
        _("所属（組織、職種、経験年数、組織管理者かどうか）"),
        [
            ("organisation", _("組織")),
            ("organisation_kind", _("組織の種別")),
            ("staff_role", _("職種")),
            ("experience", _("経験年数")),
            ("is_org_admin", _("組織管理者")),
            ("created_at", _("登録日時")),
        ],
        rows,
    )


def _invitations(person) -> Section:
    rows = [
        {
            "organisation": i.membership.organisation.name,
            "created_at": i.created_at,
            "sent_at": i.sent_at,
            "expires_at": i.expires_at,
            "accepted_at": i.accepted_at,
            "revoked_at": i.revoked_at,
        }
        for i in Invitation.objects.filter(membership__user=person)
        .select_related("membership__organisation")
        .order_by("created_at", "pk")
    ]
    return Section(
        "invitations",
        "invitations.csv",
        _("あなた宛てに送られたネットワークへの招待"),
        [
            ("organisation", _("組織")),
            ("created_at", _("作成日時")),
            ("sent_at", _("送信日時")),
            ("expires_at", _("有効期限")),
            ("accepted_at", _("受諾日時")),
            ("revoked_at", _("取消日時")),
        ],
        rows,
    )


def _join_requests(person) -> Section:
    rows = [
        {
            "organisation_name": r.organisation_name,
            "organisation_kana": r.organisation_kana,
            "kind": r.get_kind_display(),
            "municipality": r.municipality.name,
            "contact_name": r.contact_name,
            "contact_kana": r.contact_kana,
            "contact_email": r.contact_email,
            "contact_phone": r.contact_phone,
            "message": r.message,
            "status": r.get_status_display(),
            "decline_reason": r.decline_reason,
            "created_at": r.created_at,
            "decided_at": r.decided_at,
        }
        for r in JoinRequest.objects.filter(contact_email__iexact=person.email)
        .select_related("municipality")
        .order_by("created_at", "pk")
    ]
    return Section(
        "join_requests",
        "join_requests.csv",
        _("あなたのメールアドレスを担当者として送られた参加申請"),
        [
            ("organisation_name", _("組織名")),
            ("organisation_kana", _("組織名（かな）")),
            ("kind", _("組織の種別")),
            ("municipality", _("所在市町村")),
            ("contact_name", _("担当者氏名")),
            ("contact_kana", _("担当者氏名（かな）")),
            ("contact_email", _("担当者メールアドレス")),
            ("contact_phone", _("電話番号")),
            ("message", _("参加の目的・メッセージ")),
            ("status", _("状態")),
            ("decline_reason", _("見送りの理由")),
            ("created_at", _("申請日時")),
            ("decided_at", _("判断日時")),
        ],
        rows,
    )


def _registrations(person) -> Section:
    rows = [
        {
            "event": r.event.title,
            "event_starts_at": r.event.starts_at,
            "organisation": r.organisation.name if r.organisation else r.organisation_name,
            "mode": r.get_mode_display(),
            "session": r.session.title if r.session else "",
            "social": r.get_social_display(),
            "question": r.question,
            "status": r.get_status_display(),
            "attended": r.attended,
            "attended_at": r.attended_at,
            "created_at": r.created_at,
            "updated_at": r.updated_at,
            "cancelled_at": r.cancelled_at,
        }
        for r in Registration.objects.filter(user=person)
        .select_related("event", "organisation", "session")
        .order_by("event__starts_at", "pk")
    ]
    return Section(
        "registrations",
        "registrations.csv",
        _("イベントへの申込（参加方法、分科会、懇親会、事前質問、状態、出席）"),
        [
            ("event", _("イベント")),
            ("event_starts_at", _("開始日時")),
            ("organisation", _("所属")),
            ("mode", _("参加方法")),
            ("session", _("分科会")),
            ("social", _("懇親会")),
            ("question", _("事前質問")),
            ("status", _("状態")),
            ("attended", _("出席")),
            ("attended_at", _("受付日時")),
            ("created_at", _("申込日時")),
            ("updated_at", _("更新日時")),
            ("cancelled_at", _("キャンセル日時")),
        ],
        rows,
    )


def _survey_invitations(person) -> Section:
    rows = [
        {
            "survey": i.survey.title,
            "organisation": i.organisation.name if i.organisation else "",
            "email": i.email,
            "sent_at": i.sent_at,
            "last_reminded_at": i.last_reminded_at,
            "reminder_count": i.reminder_count,
            "responded_at": i.responded_at,
        }
        for i in SurveyInvitation.objects.filter(user=person)
        .select_related("survey", "organisation")
        .order_by("created_at", "pk")
    ]
    return Section(
        "survey_invitations",
        "survey_invitations.csv",
        _("あなた宛てのアンケートの依頼（回答したかどうかを含みます）"),
        [
            ("survey", _("アンケート")),
            ("organisation", _("組織")),
            ("email", _("送信先")),
            ("sent_at", _("送信日時")),
            ("last_reminded_at", _("最終リマインド")),
            ("reminder_count", _("リマインド回数")),
            ("responded_at", _("回答日時")),
        ],
        rows,
    )


def _survey_answers(person) -> tuple[Section, Section]:
    """Responses still linked to the person (an anonymous survey's response is
    unlinked at submission, so it is not theirs any more to find), and their
    answers, one row per answered value as stored."""
    responses = list(
        Response.objects.filter(user=person)
        .select_related("survey", "organisation")
        .order_by("survey__opens_at", "pk")
    )
    titles = {r.pk: r.survey.title for r in responses}
    answer_rows = [
        {
            "response": a.response_id,
            "survey": titles.get(a.response_id, ""),
            "question": a.question.text,
            "choice": a.choice,
            "number": a.number,
            "text": a.text,
        }
        for a in Answer.objects.filter(response__user=person)
        .select_related("question")
        .order_by("response_id", "question__order", "question_id", "pk")
    ]
    response_rows = [
        {
            "response": r.pk,
            "survey": r.survey.title,
            "organisation": r.organisation.name if r.organisation else "",
            "started_at": r.started_at,
            "updated_at": r.updated_at,
            "submitted_at": r.submitted_at,
        }
        for r in responses
    ]
    return (
        Section(
            "survey_responses",
            "survey_responses.csv",
            _("あなたが回答したアンケート（回答者として記録が残っているもの）"),
            [
                ("response", _("回答番号")),
                ("survey", _("アンケート")),
                ("organisation", _("回答した組織")),
                ("started_at", _("回答開始")),
                ("updated_at", _("更新日時")),
                ("submitted_at", _("送信日時")),
            ],
            response_rows,
        ),
        Section(
            "survey_answers",
            "survey_answers.csv",
            _("その回答の内容（複数選択は選択肢ごとに1行）"),
            [
                ("response", _("回答番号")),
                ("survey", _("アンケート")),
                ("question", _("質問")),
                ("choice", _("選択肢")),
                ("number", _("数値")),
                ("text", _("記述")),
            ],
            answer_rows,
        ),
    )


def _posted(post) -> str:
    return _("匿名で投稿") if post.is_anonymous else _("名前を出して投稿")


def _topics(person) -> Section:
    rows = [
        {
            "id": t.pk,
            "room": t.room.name,
            "title": t.title,
            "body": t.body,
            "posted_as": _posted(t),
            "is_anonymous": t.is_anonymous,
            "organisation": t.author_org.name if t.author_org else "",
            "state": t.get_state_display(),
            "created_at": t.created_at,
            "edited_at": t.edited_at,
            "resolved_at": t.resolved_at,
        }
        for t in Topic.objects.filter(author=person)
        .select_related("room", "author_org")
        .order_by("created_at", "pk")
    ]
    return Section(
        "board_topics",
        "board_topics.csv",
        _("掲示板であなたが書いた相談（匿名で投稿したものも含みます）"),
        [
            ("id", _("番号")),
            ("room", _("部屋")),
            ("title", _("タイトル")),
            ("body", _("本文")),
            ("posted_as", _("投稿のしかた")),
            ("is_anonymous", _("匿名")),
            ("organisation", _("投稿時の所属")),
            ("state", _("状態")),
            ("created_at", _("投稿日時")),
            ("edited_at", _("編集日時")),
            ("resolved_at", _("解決日時")),
        ],
        rows,
    )


def _replies(person) -> Section:
    rows = [
        {
            "id": r.pk,
            "topic": r.topic_id,
            "topic_title": r.topic.title,
            "body": r.body,
            "posted_as": _posted(r),
            "is_anonymous": r.is_anonymous,
            "organisation": r.author_org.name if r.author_org else "",
            "state": r.get_state_display(),
            "is_resolution": r.is_resolution,
            "created_at": r.created_at,
            "edited_at": r.edited_at,
        }
        for r in Reply.objects.filter(author=person)
        .select_related("topic", "author_org")
        .order_by("created_at", "pk")
    ]
    return Section(
        "board_replies",
        "board_replies.csv",
        _("掲示板であなたが書いた返信（匿名で投稿したものも含みます）"),
        [
            ("id", _("番号")),
            ("topic", _("相談の番号")),
            ("topic_title", _("相談のタイトル")),
            ("body", _("本文")),
            ("posted_as", _("投稿のしかた")),
            ("is_anonymous", _("匿名")),
            ("organisation", _("投稿時の所属")),
            ("state", _("状態")),
            ("is_resolution", _("解決につながった返信")),
            ("created_at", _("投稿日時")),
            ("edited_at", _("編集日時")),
        ],
        rows,
    )


def _applications(person) -> Section:
    rows = [
        {
            "menu": a.menu.name,
            "organisation": a.organisation.name,
            "fiscal_year": a.fiscal_year,
            "need": a.need,
            "wanted_by": a.wanted_by,
            "contact_name": a.contact_name,
            "contact_email": a.contact_email,
            "contact_phone": a.contact_phone,
            "answers": a.answers,
            "status": a.get_status_display(),
            "status_reason": a.status_reason,
            "submitted_at": a.submitted_at,
            "decided_at": a.decided_at,
            "updated_at": a.updated_at,
        }
        for a in Application.objects.filter(applicant=person)
        .select_related("menu", "organisation")
        .order_by("submitted_at", "pk")
    ]
    return Section(
        "support_applications",
        "support_applications.csv",
        _("あなたが申し込んだ後方支援メニューの利用申込"),
        [
            ("menu", _("メニュー")),
            ("organisation", _("組織")),
            ("fiscal_year", _("年度")),
            ("need", _("困っていること・希望する支援")),
            ("wanted_by", _("希望する時期")),
            ("contact_name", _("連絡担当者")),
            ("contact_email", _("連絡先メール")),
            ("contact_phone", _("連絡先電話")),
            ("answers", _("質問への回答")),
            ("status", _("状態")),
            ("status_reason", _("状態の理由")),
            ("submitted_at", _("申込日時")),
            ("decided_at", _("決定日時")),
            ("updated_at", _("更新日時")),
        ],
        rows,
    )


def _paragraph(report_text, version) -> dict:
    """An annual report paragraph's 年度 and 項目, with the text and flag of
    `version`: the paragraph itself or one of its revisions."""
    return {
        "fiscal_year": report_text.fiscal_year,
        "section": report_text.get_section_display(),
        "text": version.text,
        "privacy_flagged": version.privacy_flagged,
    }


def _paragraph_columns() -> list[tuple[str, str]]:
    return [
        ("fiscal_year", _("年度")),
        ("section", _("項目")),
        ("text", _("本文")),
        ("privacy_flagged", _("個人情報の確認済み")),
    ]


def _report_texts(person) -> tuple[Section, Section]:
    """The annual report's paragraphs the person saved last (as the
    secretariat), and every version of a paragraph they saved."""
    text_rows = [
        {**_paragraph(t, t), "updated_at": t.updated_at}
        for t in ReportText.objects.filter(updated_by=person).order_by("fiscal_year", "section")
    ]
    revision_rows = [
        {**_paragraph(r.report_text, r), "created_at": r.created_at}
        for r in ReportTextRevision.objects.filter(author=person)
        .select_related("report_text")
        .order_by("created_at", "pk")
    ]
    return (
        Section(
            "report_texts",
            "report_texts.csv",
            _("年度報告書の本文のうち、あなたが最後に保存したもの"),
            [*_paragraph_columns(), ("updated_at", _("更新日時"))],
            text_rows,
        ),
        Section(
            "report_text_revisions",
            "report_text_revisions.csv",
            _("年度報告書の本文の履歴のうち、あなたが保存した版"),
            [*_paragraph_columns(), ("created_at", _("保存日時"))],
            revision_rows,
        ),
    )


SECTION_BUILDERS: tuple[Callable, ...] = (
    _profile,
    _memberships,
    _invitations,
    _join_requests,
    _registrations,
    _survey_invitations,
    _survey_answers,
    _topics,
    _replies,
    _applications,
    _report_texts,
)


BOARD_SECTIONS = ("board_topics", "board_replies")


def sections(person, *, anonymous_posts: bool = True) -> list[Section]:
    """Every section, in the README's order: 13 queries, whatever the history.

    Without `anonymous_posts` the board sections leave out what the person
    posted anonymously: the secretariat downloading on someone's behalf must
    not learn an anonymous post's author that way (note: looking at an
    author is for moderation only, and logged)."""
    found = []
    for build in SECTION_BUILDERS:
        built = build(person)
        found.extend(built if isinstance(built, tuple) else (built,))
    if not anonymous_posts:
        for section in found:
            if section.key in BOARD_SECTIONS:
                section.rows = [row for row in section.rows if not row["is_anonymous"]]
                section.description = section.description.split("（")[0]
    return found


def _readme(person, built: list[Section], made_at: datetime.datetime, anonymous_posts: bool) -> str:
    lines = [
        _("つながりポータル　保有個人データの開示"),
        "",
        _("対象: %(name)s（%(email)s）") % {"name": person.full_name, "email": person.email},
        _("作成日時: %(when)s") % {"when": timezone.localtime(made_at).isoformat()},
        "",
        _("このZIPには、ポータルがあなたについて保有しているデータが入っています。"),
        _(
            "data.json にすべてが入っています。同じ内容を種類ごとに CSV（UTF-8 BOM付き、"
            "Excelで開けます）でも入れています。"
        ),
        _(
            "CSVでは、= + - @ で始まるセルは数式として動かないよう先頭に ' を付けています"
            "（data.json は元のままです）。"
        ),
        "",
        _("ファイルの一覧:"),
        _("  data.json: 以下のすべて（キーは各CSVのファイル名から .csv を除いたもの）"),
        _("  profile.json: アカウントの登録内容（profile.csv と同じ内容）"),
    ]
    for section in built:
        lines.append(
            _("  %(file)s: %(what)s（%(count)d件）")
            % {"file": section.filename, "what": section.description, "count": len(section.rows)}
        )
    lines += [
        "",
        _("ご注意:"),
        _(
            "・匿名のアンケートでは、回答を送信した時点で回答とあなたの結び付きを消しています。"
            "そのため匿名アンケートの回答は、ポータルにもあなたの回答として見つけられず、"
            "ここには入っていません（依頼を受けたこと・回答したかどうかは "
            "survey_invitations.csv にあります）。"
        ),
        _(
            "・掲示板に匿名で投稿したものも、あなたが書いたものなので含めています"
            "（「投稿のしかた」が「匿名で投稿」のもの）。"
            "ほかのメンバーには投稿者は表示されていません。"
        )
        if anonymous_posts
        else _(
            "・掲示板に匿名で投稿したものは、このファイルには含めていません"
            "（事務局が代わりに作成したため。匿名の投稿は、ご本人がポータルから"
            "ダウンロードしたときだけ含まれます）。"
        ),
        _("・ほかの人の個人データ（招待した人、判断した事務局の担当者など）は含めていません。"),
        _("・パスワードは復元できない形で保存しているため含めていません。"),
        "",
        _("お問い合わせ・訂正・削除のご依頼は、ネットワーク事務局までご連絡ください。"),
    ]
    return "\r\n".join(lines) + "\r\n"


def build_disclosure(
    person, *, anonymous_posts: bool = True, now: datetime.datetime | None = None
) -> bytes:
    """The ZIP of everything the portal holds about `person` (see the module
    docstring). A fixed number of queries. `anonymous_posts`: whether the
    board's anonymous posts are included (only when the person asks: sections)."""
    made_at = now or timezone.now()
    built = sections(person, anonymous_posts=anonymous_posts)
    data = {
        "generated_at": _value(made_at),
        "person": person.pk,
        **{section.key: section.json() for section in built},
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "README.txt", _readme(person, built, made_at, anonymous_posts).encode("utf-8")
        )
        archive.writestr(
            "data.json", json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
        )
        archive.writestr(
            "profile.json",
            json.dumps(data["profile"][0], ensure_ascii=False, indent=2).encode("utf-8"),
        )
        for section in built:
            archive.writestr(section.filename, section.csv())
    return buffer.getvalue()


def download(person, *, by) -> bytes:
    """The ZIP as `by` downloads it: the board's anonymous posts only when it
    is the person's own copy. Every download is in the audit log (who
    downloaded whose data: a breach review asks about the secretariat's
    downloads on someone's behalf, docs/privacy.md)."""
    body = build_disclosure(person, anonymous_posts=by.pk == person.pk)
    audit.record(person, event=audit.EXPORTED, actor=by, details={"what": "disclosure"})
    return body


def filename(person, *, today: datetime.date | None = None) -> str:
    today = today or timezone.localdate()
    return f"tsunagari-data-{person.pk}-{today.isoformat()}.zip"
