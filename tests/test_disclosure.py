"""A person's data export (開示, portal.disclosure): what the ZIP holds, who may
download it (the person, the secretariat on their behalf; anyone else 404) and
its fixed query count."""

import csv
import io
import json
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from committee.models import ReportText, ReportTextRevision
from network.models import Invitation
from portal import disclosure
from surveys.models import Question
from tests.event_factories import EventFactory, RegistrationFactory
from tests.factories import MembershipFactory
from tests.note_factories import ReplyFactory, TopicFactory
from tests.support_factories import application, menu
from tests.survey_factories import (
    InvitationFactory,
    QuestionFactory,
    SurveyFactory,
    submitted_response,
)

CSV_FILES = {
    "profile.csv",
    "memberships.csv",
    "invitations.csv",
    "join_requests.csv",
    "registrations.csv",
    "survey_invitations.csv",
    "survey_responses.csv",
    "survey_answers.csv",
    "board_topics.csv",
    "board_replies.csv",
    "support_applications.csv",
    "report_texts.csv",
    "report_text_revisions.csv",
}


def _open(body: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(body))


def _csv(archive, name) -> list[dict]:
    raw = archive.read(name)
    assert raw.startswith(b"\xef\xbb\xbf"), name  # UTF-8 with BOM, for Excel
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


@pytest.fixture
def person_world(contractor_member, contractor_org, municipal_member):
    """The 受託団体 member's history, and a colleague's alongside that must not leak."""
    person = contractor_member
    event = EventFactory(title="第3回 情報交換会（釧路）")
    RegistrationFactory(
        event=event,
        user=person,
        organisation=contractor_org,
        question='=HYPERLINK("http://evil") 家計相談の連携',
        attended=True,
    )
    RegistrationFactory(event=event, user=municipal_member, question="他人の事前質問")

    named = SurveyFactory(title="情報交換会の振り返り")
    scale = QuestionFactory(survey=named, text="役に立ちましたか", kind=Question.Kind.SCALE)
    text = QuestionFactory(survey=named, text="感想", kind=Question.Kind.TEXT, required=False)
    invitation = InvitationFactory(survey=named, user=person)
    submitted_response(named, invitation=invitation, answers={scale: 5, text: "とても参考になった"})
    submitted_response(named, user=municipal_member, answers={scale: 1, text: "他人の感想"})

    anonymous = SurveyFactory(title="匿名の満足度調査", anonymous=True)
    a_text = QuestionFactory(survey=anonymous, text="自由記述", kind=Question.Kind.TEXT)
    anon_invitation = InvitationFactory(survey=anonymous, user=person)
    submitted_response(
        anonymous,
        invitation=anon_invitation,
        anonymous=True,
        answers={a_text: "匿名で書いた本音"},
    )

    TopicFactory(author=person, title="名前を出した相談", body="面談の進め方")
    hidden_topic = TopicFactory(
        author=person, is_anonymous=True, title="匿名の相談", body="言いにくいこと"
    )
    ReplyFactory(topic=hidden_topic, author=person, is_anonymous=True, body="匿名の返信")
    TopicFactory(author=municipal_member, title="他人の相談", body="他人の本文")

    m = menu(name="フードバンク連携")
    application(m, person, need="食料支援の窓口を作りたい")
    return person


def _download(client, url):
    response = client.post(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    return response


def test_disclosure_download_holds_the_persons_data(
    person_world, client_for, django_assert_num_queries
):
    person = person_world
    client = client_for(person)
    page = client.get(reverse("account_change_password"))
    assert reverse("my_data") in page.content.decode()  # the button is there
    assert "自分のデータをダウンロード" in page.content.decode()
    response = _download(client, reverse("my_data"))
    assert response["Content-Disposition"] == (
        f'attachment; filename="{disclosure.filename(person)}"'
    )
    assert disclosure.filename(person).startswith(f"tsunagari-data-{person.pk}-")
    archive = _open(response.content)
    assert set(archive.namelist()) == {"README.txt", "data.json", "profile.json"} | CSV_FILES

    readme = archive.read("README.txt").decode("utf-8")
    assert "匿名のアンケート" in readme and "board_topics.csv" in readme

    profile = json.loads(archive.read("profile.json"))
    assert profile["email"] == "npo@example.org"
    assert profile["full_name"] == "受託 花子"
    assert profile["is_active"] is True
    assert "password" not in profile and "session_epoch" not in profile

    data = json.loads(archive.read("data.json"))
    assert [m["organisation"] for m in data["memberships"]] == ["札幌生活サポートセンター"]
    assert [(r["event"], r["attended"], r["question"]) for r in data["registrations"]] == [
        ("第3回 情報交換会（釧路）", True, '=HYPERLINK("http://evil") 家計相談の連携')
    ]
    # Only the named survey: the anonymous response was unlinked at submission.
    assert [r["survey"] for r in data["survey_responses"]] == ["情報交換会の振り返り"]
    assert [(a["question"], a["number"], a["text"]) for a in data["survey_answers"]] == [
        ("役に立ちましたか", "5", ""),
        ("感想", None, "とても参考になった"),
    ]
    # The invitations stay addressed to the person (that they answered is theirs).
    assert sorted(i["survey"] for i in data["survey_invitations"]) == [
        "匿名の満足度調査",
        "情報交換会の振り返り",
    ]
    assert [(t["title"], t["posted_as"]) for t in data["board_topics"]] == [
        ("名前を出した相談", "名前を出して投稿"),
        ("匿名の相談", "匿名で投稿"),
    ]
    assert [(r["body"], r["posted_as"]) for r in data["board_replies"]] == [
        ("匿名の返信", "匿名で投稿")
    ]
    assert [(a["menu"], a["need"]) for a in data["support_applications"]] == [
        ("フードバンク連携", "食料支援の窓口を作りたい")
    ]

    registrations = _csv(archive, "registrations.csv")
    assert [r["事前質問"] for r in registrations] == ['\'=HYPERLINK("http://evil") 家計相談の連携']
    assert [r["出席"] for r in registrations] == ["はい"]
    assert [r["投稿のしかた"] for r in _csv(archive, "board_topics.csv")] == [
        "名前を出して投稿",
        "匿名で投稿",
    ]
    assert [r["記述"] for r in _csv(archive, "survey_answers.csv")] == ["", "とても参考になった"]

    everything = b"".join(archive.read(name) for name in archive.namelist()).decode("utf-8")
    for other in ("他人の事前質問", "他人の感想", "他人の相談", "他人の本文", "匿名で書いた本音"):
        assert other not in everything, other
    assert "city@example.org" not in everything and "自治体 太郎" not in everything


def test_disclosure_invitations_and_join_requests(contractor_member, secretariat):
    from network.models import JoinRequest
    from tests.factories import municipality

    membership = contractor_member.memberships.get()
    _token, token_hash = Invitation.new_token()
    Invitation.objects.create(
        membership=membership,
        invited_by=secretariat,
        token_hash=token_hash,
        expires_at=Invitation.default_expiry(),
    )
    JoinRequest.objects.create(
        organisation_name="新しい支援の会",
        kind="support",
        municipality=municipality("012025"),
        contact_name="受託 花子",
        contact_email="NPO@example.org",
        message="参加したいです",
    )
    JoinRequest.objects.create(
        organisation_name="別の会",
        kind="support",
        municipality=municipality("012025"),
        contact_name="別人",
        contact_email="other@example.org",
    )
    data = json.loads(_open(disclosure.build_disclosure(contractor_member)).read("data.json"))
    assert [i["organisation"] for i in data["invitations"]] == ["札幌生活サポートセンター"]
    assert [(r["organisation_name"], r["message"]) for r in data["join_requests"]] == [
        ("新しい支援の会", "参加したいです")
    ]
    everything = json.dumps(data, ensure_ascii=False)
    assert "事務 四郎" not in everything and "別人" not in everything


def test_disclosure_secretariat_downloads_for_the_person(person_world, secretariat, client_for):
    client = client_for(secretariat)
    page = client.get(reverse("network:people_list"))
    url = reverse("person_data", args=[person_world.pk])
    assert url in page.content.decode()
    response = _download(client, url)
    assert f"tsunagari-data-{person_world.pk}-" in response["Content-Disposition"]
    archive = _open(response.content)
    profile = json.loads(archive.read("profile.json"))
    assert profile["email"] == "npo@example.org"
    # What the person posted anonymously stays out of the secretariat's copy:
    # the export must not be a way round the logged look at an author.
    data = json.loads(archive.read("data.json"))
    assert [t["title"] for t in data["board_topics"]] == ["名前を出した相談"]
    assert data["board_replies"] == []
    everything = archive.read("data.json").decode() + archive.read("board_topics.csv").decode(
        "utf-8-sig"
    )
    assert "匿名の相談" not in everything and "言いにくいこと" not in everything
    assert "匿名の返信" not in archive.read("board_replies.csv").decode("utf-8-sig")
    readme = archive.read("README.txt").decode()
    assert "掲示板に匿名で投稿したものは、このファイルには含めていません" in readme


def test_disclosure_others_get_404(
    person_world, municipal_member, org_admin, committee_member, client_for
):
    url = reverse("person_data", args=[person_world.pk])
    for actor in (municipal_member, org_admin, committee_member):
        response = client_for(actor).post(url)
        assert response.status_code == 404
        assert response.get("Content-Disposition") is None
    # GET never exports, not even for the person.
    assert client_for(person_world).get(reverse("my_data")).status_code == 405
    anonymous = client_for(None).post(reverse("my_data"))
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_disclosure_query_count_is_flat(
    contractor_member, contractor_org, django_assert_num_queries
):
    """13 queries (one per CSV but the profile, plus one for its groups) with
    one and with many rows of each kind."""
    m = menu(name="試行メニュー", slots=100)

    def add(n):
        for i in range(n):
            event = EventFactory()
            RegistrationFactory(event=event, user=contractor_member, organisation=contractor_org)
            survey = SurveyFactory()
            q = QuestionFactory(survey=survey, kind=Question.Kind.TEXT)
            submitted_response(survey, user=contractor_member, answers={q: f"回答{i}"})
            topic = TopicFactory(author=contractor_member)
            ReplyFactory(topic=topic, author=contractor_member)
            application(m, contractor_member)
            MembershipFactory(user=contractor_member)
            paragraph = ReportText.objects.create(
                fiscal_year=2000 + ReportText.objects.count(),
                section=ReportText.Section.ISSUES,
                updated_by=contractor_member,
                updated_at=timezone.now(),
            )
            ReportTextRevision.objects.create(
                report_text=paragraph, author=contractor_member, created_at=timezone.now()
            )

    add(1)
    with django_assert_num_queries(13):
        body = disclosure.build_disclosure(contractor_member)
    assert len(json.loads(_open(body).read("data.json"))["registrations"]) == 1
    add(9)
    with django_assert_num_queries(13):
        body = disclosure.build_disclosure(contractor_member)
    data = json.loads(_open(body).read("data.json"))
    assert len(data["registrations"]) == 10
    assert len(data["board_replies"]) == 10
    assert len(data["survey_answers"]) == 10
    assert len(data["report_text_revisions"]) == 10
