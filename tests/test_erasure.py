"""A person's erasure (削除, portal.erasure): every relation to the user model
has a decision, every related row is handled, the figures (dashboard, events'
tallies, survey results) are the same before and after, it is idempotent, it
refuses a wrong confirmation and protected accounts writing nothing, its query
count is flat, and only the secretariat reaches the page (anyone else 404)."""

import dataclasses
import datetime
import json
import re
import zipfile
from io import BytesIO, StringIO

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from committee import participation
from core.models import OutboxMessage
from core.outbox import queue_message
from events import tallies
from events.models import CalendarFeed, GuestRequest, Registration
from network.models import Invitation, JoinRequest, Membership
from note.models import Curator, Follow, NotePreference, Reply, Topic
from portal import disclosure, erasure
from support.models import Application
from surveys import access as survey_access
from surveys import results
from surveys.models import Answer, Question, Response
from surveys.models import Invitation as SurveyInvitation
from tests import snapshots
from tests.event_factories import EventFactory, RegistrationFactory
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory, municipality
from tests.note_factories import CuratorFactory, ReplyFactory, TopicFactory
from tests.queries import SMALL
from tests.support_factories import application, menu
from tests.survey_factories import (
    InvitationFactory,
    QuestionFactory,
    ResponseFactory,
    SurveyFactory,
    answer,
    submitted_response,
)

User = get_user_model()
PERSONAL = ("受託 花子", "npo@example.org", "じゅたく はなこ")


def _relations() -> set[str]:
    """Every relation to the user model, as portal.erasure.DECISIONS names them."""
    return {
        f"{relation.related_model._meta.label}.{relation.field.name}"
        for relation in User._meta.get_fields(include_hidden=True)
        if relation.is_relation and relation.auto_created and not relation.concrete
    }


def test_every_relation_to_the_user_model_has_a_decision():
    """A new foreign key to the user model fails here until portal.erasure
    (and docs/privacy.md's table) says what erasure does with its rows."""
    assert set(erasure.DECISIONS) == _relations()
    assert {action for action, _why in erasure.DECISIONS.values()} <= {
        erasure.DELETE,
        erasure.ANONYMISE,
        erasure.KEEP,
    }


def test_privacy_doc_lists_every_decision():
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "privacy.md").read_text()
    table = dict(re.findall(r"^\| `([\w.]+)` \| (delete|anonymise|keep) \|", doc, re.MULTILINE))
    assert table == {name: action for name, (action, _why) in erasure.DECISIONS.items()}


# --- a person's whole history ---------------------------------------------------------


@dataclasses.dataclass
class World:
    person: object
    colleague: object
    meeting: object
    named: object
    closed: object
    texts: list


def _meeting_counted(organisation, people):
    """A finished exchange meeting the dashboard counts, with `people` present."""
    start = timezone.now() - datetime.timedelta(days=3)
    meeting = EventFactory(
        title="第2回 情報交換会",
        number=2,
        status="finished",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=3),
    )
    for user, org in people:
        RegistrationFactory(
            event=meeting,
            user=user,
            organisation=org,
            attended=True,
            question=f"{user.full_name}の事前質問",
        )
    tallies.refresh([meeting.pk])
    return meeting


@pytest.fixture
def world(contractor_member, contractor_org, municipal_member, municipal_org, secretariat):
    person = contractor_member
    User.objects.filter(pk=person.pk).update(full_name_kana="じゅたく はなこ")
    person.refresh_from_db()
    colleague = municipal_member
    second_org = OrganisationFactory(name="第二の会", kind="support")
    MembershipFactory(user=person, organisation=second_org)
    meeting = _meeting_counted(
        contractor_org, [(person, contractor_org), (colleague, municipal_org)]
    )
    RegistrationFactory(event=EventFactory(title="来月の会"), user=person, question="来月の質問")
    GuestRequest.objects.create(
        event=EventFactory(title="一般の会", audience="public"),
        email="NPO@example.org",
        full_name="受託 花子",
        confirmation_token_hash="x" * 64,
    )
    CalendarFeed.objects.create(user=person, token=CalendarFeed.new_token())

    # Surveys: a named one answered (scale, text, その他), one unanswered, a
    # draft, an anonymous one; and a closed one the committee reads.
    named = SurveyFactory(title="振り返り")
    scale = QuestionFactory(survey=named, text="役に立ちましたか", kind=Question.Kind.SCALE)
    text = QuestionFactory(survey=named, text="感想", kind=Question.Kind.TEXT, required=False)
    choice = QuestionFactory(
        survey=named,
        text="きっかけ",
        kind=Question.Kind.SINGLE,
        choices=["知人", "その他"],
        required=False,
    )
    own = InvitationFactory(survey=named, user=person)
    response = submitted_response(
        named, invitation=own, organisation=contractor_org, answers={scale: 5, text: "花子の感想"}
    )
    answer(response, choice, "その他:花子のその他")
    submitted_response(
        named,
        invitation=InvitationFactory(survey=named, user=colleague),
        organisation=municipal_org,
        answers={scale: 3, text: "他人の感想"},
    )
    closed = SurveyFactory(
        title="締切済み", closes_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    c_scale = QuestionFactory(survey=closed, kind=Question.Kind.SCALE)
    for user, org, value in ((person, contractor_org, 4), (colleague, municipal_org, 2)):
        submitted_response(
            closed,
            invitation=InvitationFactory(survey=closed, user=user),
            organisation=org,
            answers={c_scale: value},
        )
    InvitationFactory(survey=SurveyFactory(title="未回答"), user=person)
    draft_survey = SurveyFactory(title="下書き中")
    d_text = QuestionFactory(survey=draft_survey, kind=Question.Kind.TEXT)
    draft = ResponseFactory(invitation=InvitationFactory(survey=draft_survey, user=person))
    answer(draft, d_text, "書きかけ")
    anonymous = SurveyFactory(title="匿名", anonymous=True)
    a_text = QuestionFactory(survey=anonymous, kind=Question.Kind.TEXT)
    submitted_response(
        anonymous,
        invitation=InvitationFactory(survey=anonymous, user=person),
        organisation=contractor_org,
        anonymous=True,
        answers={a_text: "匿名の本音"},
    )

    # The board.
    topic = TopicFactory(author=person, author_org=contractor_org, title="相談", body="本文")
    ReplyFactory(topic=topic, author=person, is_anonymous=True, body="匿名の返信")
    ReplyFactory(topic=topic, author=colleague, body="他人の返信")
    Follow.objects.create(user=person, topic=TopicFactory(author=colleague))
    NotePreference.objects.create(user=person, wants_digest=False)
    CuratorFactory(user=person)

    # Network: an invitation to a membership, join requests with the address.
    membership = person.memberships.get(organisation=contractor_org)
    _token, token_hash = Invitation.new_token()
    Invitation.objects.create(
        membership=membership,
        invited_by=secretariat,
        token_hash=token_hash,
        expires_at=Invitation.default_expiry(),
    )
    for status, name in (("pending", "審査中の会"), ("declined", "見送りの会")):
        JoinRequest.objects.create(
            organisation_name=name,
            kind="support",
            municipality=municipality("012025"),
            contact_name="受託 花子",
            contact_email="npo@example.org",
            contact_phone="011-000-0000",
            status=status,
        )
    application(menu(name="フードバンク連携"), person, contractor_org)

    # Mails: to them (one pending), and one to the secretariat naming them.
    queue_message(
        key="erasure-test:1", kind="t", to_email=person.email, subject="花子さんへ", body="本文"
    )
    queue_message(
        key="erasure-test:2",
        kind="t",
        to_email=secretariat.email,
        subject="申込のお知らせ",
        body="受託 花子（npo@example.org）さんが申し込みました。",
    )
    LogEntry.objects.log_actions(
        user_id=secretariat.pk,
        queryset=User.objects.filter(pk=person.pk),
        action_flag=CHANGE,
        single_object=True,
    )
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from auditlog.models import LogEntry as AuditEntry

    EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    Authenticator.objects.create(user=person, type=Authenticator.Type.TOTP, data={"secret": "s"})
    AuditEntry.objects.create(
        content_type=ContentType.objects.get_for_model(User),
        object_pk=str(person.pk),
        object_id=person.pk,
        object_repr="受託 花子",
        action=AuditEntry.Action.UPDATE,
        changes={"email": ["old@example.org", "npo@example.org"]},
        actor=person,
        actor_email=person.email,
        remote_addr="192.0.2.1",
    )
    from django.contrib.auth.models import Group

    person.groups.add(Group.objects.get(name="committee"))
    # The factories write registrations without the services: tally them all,
    # so that what is stored is what the registrations say before erasure.
    tallies.rebuild()
    return World(person, colleague, meeting, named, closed, [text.pk])


def _erase(world, secretariat):
    return erasure.erase_person(
        person=world.person, by=secretariat, confirmation=" NPO@Example.org "
    )


def test_erasure_handles_every_related_row(world, secretariat):
    person = world.person
    pk = person.pk
    registrations = Registration.objects.filter(user=person).count()
    responses = Response.objects.filter(user=person, submitted_at__isnull=False).count()

    result = _erase(world, secretariat)

    assert result == erasure.Erased(pk)
    stub = User.objects.get(pk=pk)
    assert (stub.email, stub.full_name, stub.full_name_kana) == (
        f"erased-{pk}@erased.invalid",
        "削除された会員",
        "",
    )
    assert not stub.is_active and not stub.is_staff and not stub.has_usable_password()
    assert stub.last_login is None and stub.session_epoch == person.session_epoch + 1
    assert list(stub.groups.all()) == [] and list(stub.user_permissions.all()) == []
    # Deleted.
    assert not Membership.objects.filter(user_id=pk).exists()
    assert not Invitation.objects.filter(membership__user_id=pk).exists()
    assert not GuestRequest.objects.filter(email__iexact="npo@example.org").exists()
    assert not CalendarFeed.objects.filter(user_id=pk).exists()
    assert not Follow.objects.filter(user_id=pk).exists()
    assert not NotePreference.objects.filter(user_id=pk).exists()
    assert not Curator.objects.filter(user_id=pk).exists()
    assert not Response.objects.filter(user_id=pk, submitted_at__isnull=True).exists()
    assert list(JoinRequest.objects.values_list("organisation_name", "contact_email")) == [
        ("見送りの会", f"erased-{pk}@erased.invalid")
    ]
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from auditlog.models import LogEntry as AuditEntry

    assert not EmailAddress.objects.filter(user_id=pk).exists()
    assert not Authenticator.objects.filter(user_id=pk).exists()
    # Kept and anonymised.
    assert Registration.objects.filter(user_id=pk).count() == registrations
    assert set(Registration.objects.filter(user_id=pk).values_list("question", flat=True)) == {""}
    assert (
        Registration.objects.filter(event=world.meeting)
        .exclude(user_id=pk)
        .values_list("question", flat=True)
        .get()
        == "市役 一郎の事前質問"
    )
    assert Response.objects.filter(user_id=pk).count() == responses
    texts = set(
        Answer.objects.filter(response__user_id=pk).exclude(text="").values_list("text", flat=True)
    )
    assert texts == {"［削除された会員の記述］"}
    assert Answer.objects.filter(text="他人の感想").exists()
    assert Answer.objects.filter(text="匿名の本音").exists()  # no longer anyone's: kept
    invitations = SurveyInvitation.objects.filter(user_id=pk)
    assert set(invitations.values_list("email", flat=True)) == {f"erased-{pk}@erased.invalid"}
    assert all(h.startswith("erased:") for h in invitations.values_list("token_hash", flat=True))
    assert set(Topic.objects.filter(author_id=pk).values_list("author_org", flat=True)) == {None}
    topic = Topic.objects.get(author_id=pk)
    assert (topic.body, topic.author_label) == ("本文", "削除された会員")
    assert Reply.objects.get(body="匿名の返信").author_label == "匿名の会員（受託団体）"
    app = Application.objects.get(applicant_id=pk)
    assert (app.contact_name, app.contact_email, app.contact_phone) == (
        "削除された会員",
        f"erased-{pk}@erased.invalid",
        "",
    )
    to_them = OutboxMessage.objects.get(key="erasure-test:1")
    assert (to_them.to_email, to_them.subject, to_them.body, to_them.status) == (
        f"erased-{pk}@erased.invalid",
        "［削除しました］",
        "",
        OutboxMessage.Status.SKIPPED,
    )
    about_them = OutboxMessage.objects.get(key="erasure-test:2")
    assert about_them.body == f"削除された会員（erased-{pk}@erased.invalid）さんが申し込みました。"
    assert LogEntry.objects.get(object_id=str(pk)).object_repr == "削除された会員"
    # The entry the world made by hand: about them, by them.
    audit = AuditEntry.objects.get(
        content_type=ContentType.objects.get_for_model(User), object_pk=str(pk), actor_id=pk
    )
    assert (audit.object_repr, audit.changes, audit.actor_id, audit.actor_email) == (
        "削除された会員",
        None,
        pk,
        f"erased-{pk}@erased.invalid",
    )
    assert audit.remote_addr is None
    # The check-in search finds the stub by its new address, not the old name.
    assert Registration.objects.matching("erased", event=world.meeting).filter(user_id=pk).exists()
    assert not Registration.objects.matching("花子", event=world.meeting).exists()


def test_erasure_leaves_no_personal_data_in_the_export(world, secretariat):
    _erase(world, secretariat)
    body = disclosure.build_disclosure(User.objects.get(pk=world.person.pk))
    archive = zipfile.ZipFile(BytesIO(body))
    everything = "".join(
        archive.read(name).decode("utf-8-sig")
        for name in archive.namelist()
        if name != "README.txt"
    )
    for text in (*PERSONAL, "花子の感想", "花子のその他", "来月の質問", "書きかけ", "011-000-0000"):
        assert text not in everything, text
    leftover = OutboxMessage.objects.values_list("to_email", "subject", "body")
    assert not [row for row in leftover if any(p in "".join(row) for p in PERSONAL)]


def _plain(value):
    """Results as plain data without the free texts' words and signatures
    (erasure replaces those), everything else — every count — as it is."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, results.TextAnswer):
            data.pop("text"), data.pop("respondent")
        return data
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "_meta"):
        return (value._meta.label, value.pk)
    return value


def _without_token(page) -> str:
    """A page's HTML without its CSRF token, which changes with every request."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "CSRF", page.content.decode())


def _figures(world, secretariat, committee_member, client_for):
    cache.clear()
    fy = world.meeting.fiscal_year
    now = timezone.now()
    survey_figures = {}
    for survey in (world.named, world.closed):
        for user in (secretariat, committee_member):
            for dimension in ("kind", "region", None):
                if survey_access.may_read_results(user, survey):
                    computed = results.compute(survey, user, dimension=dimension)
                    survey_figures[(survey.pk, user.pk, dimension)] = _plain(computed)
    dashboard = client_for(committee_member).get(f"/dashboard/?fy={fy}")
    closed_page = client_for(committee_member).get(
        reverse("surveys:results", args=[world.closed.pk])
    )
    assert dashboard.status_code == closed_page.status_code == 200
    return {
        "participation": participation.compute(fy, now=now).as_json(),
        "lines": [e.line for e in participation.compute(fy, now=now).events],
        "from_registrations": participation.compute_from_registrations(fy, now=now).as_json(),
        "tallies": dataclasses.asdict(tallies.stored()),
        "tallies_computed": dataclasses.asdict(tallies.computed()),
        "surveys": survey_figures,
        "dashboard_html": _without_token(dashboard),
        "closed_results_html": _without_token(closed_page),
    }


def test_erasure_leaves_the_figures_unchanged(world, secretariat, committee_member, client_for):
    before = _figures(world, secretariat, committee_member, client_for)
    assert before["lines"] == ["第2回 " + before["lines"][0].split(" ", 1)[1]]
    assert before["participation"]["totals"]["distinct_persons"] == 2
    assert len(before["surveys"]) >= 6
    assert before["tallies"] == before["tallies_computed"]

    _erase(world, secretariat)

    after = _figures(world, secretariat, committee_member, client_for)
    for key in before:
        assert after[key] == before[key], key
    assert after["tallies"] == after["tallies_computed"]


def test_erasure_is_idempotent(world, secretariat):
    _erase(world, secretariat)
    stub = User.objects.get(pk=world.person.pk)
    before = snapshots.take()
    again = erasure.erase_person(person=stub, by=secretariat, confirmation=stub.email)
    assert again == erasure.Erased(stub.pk, already=True)
    assert snapshots.take().changes_from(before) == []


def test_erasure_refuses_a_wrong_confirmation_and_writes_nothing(world, secretariat):
    before = snapshots.take()
    for typed in ("", "npo@example.com", "受託 花子"):
        with pytest.raises(erasure.ErasureError) as refused:
            erasure.erase_person(person=world.person, by=secretariat, confirmation=typed)
        assert refused.value.code == "confirmation"
    assert snapshots.take().changes_from(before) == []


def test_erasure_refuses_superusers_secretariat_and_non_secretariat(
    world, secretariat, superuser, committee_member, org_admin
):
    before = snapshots.take()
    for target in (superuser, secretariat):
        with pytest.raises(erasure.ErasureError) as refused:
            erasure.erase_person(person=target, by=superuser, confirmation=target.email)
        assert refused.value.code == "protected"
    for actor in (committee_member, org_admin, world.person):
        with pytest.raises(erasure.ErasureError) as refused:
            erasure.erase_person(person=world.person, by=actor, confirmation=world.person.email)
        assert refused.value.code == "forbidden"
    assert snapshots.take().changes_from(before) == []


def test_erasure_is_recorded_without_personal_data(world, secretariat):
    """Who erased whom is one audit entry about the stub; no entry anywhere in
    the log still holds the person's name or address — the rows named after
    them (membership, registrations) were logged when they were made."""
    from auditlog.models import LogEntry as AuditEntry

    def mentioning(text):
        return [
            entry.pk
            for entry in AuditEntry.objects.all()
            if text
            in " ".join(
                str(value)
                for value in (
                    entry.object_repr,
                    entry.changes,
                    entry.changes_text,
                    entry.actor_email,
                    entry.additional_data,
                )
            )
        ]

    assert mentioning("花子")  # the world's rows were logged under the name

    _erase(world, secretariat)

    [erased] = AuditEntry.objects.filter(additional_data__event="erased")
    assert (erased.object_pk, erased.actor_id, erased.object_repr) == (
        str(world.person.pk),
        secretariat.pk,
        "削除された会員",
    )
    assert mentioning("npo@example.org") == mentioning("花子") == []


def test_erasure_query_count_is_flat(contractor_org, secretariat, django_assert_num_queries):
    """The same literal with one row of each kind and with many."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from auditlog.models import LogEntry as AuditEntry

    m = menu(name="試行メニュー", slots=100)
    user_type = ContentType.objects.get_for_model(User)

    def add(person, n):
        for i in range(n):
            RegistrationFactory(
                event=EventFactory(), user=person, organisation=contractor_org, question=f"質問{i}"
            )
            GuestRequest.objects.create(
                event=EventFactory(audience="public"),
                email=person.email,
                full_name=person.full_name,
                confirmation_token_hash=f"{person.pk}-{i}".ljust(64, "x"),
            )
            survey = SurveyFactory()
            q = QuestionFactory(survey=survey, kind=Question.Kind.TEXT)
            submitted_response(
                survey,
                invitation=InvitationFactory(survey=survey, user=person),
                answers={q: f"回答{i}"},
            )
            draft_survey = SurveyFactory()
            d_text = QuestionFactory(survey=draft_survey, kind=Question.Kind.TEXT)
            draft = ResponseFactory(invitation=InvitationFactory(survey=draft_survey, user=person))
            answer(draft, d_text, f"書きかけ{i}")
            topic = TopicFactory(author=person, author_org=contractor_org)
            ReplyFactory(topic=topic, author=person)
            Follow.objects.create(user=person, topic=topic)
            membership = MembershipFactory(user=person)
            _token, token_hash = Invitation.new_token()
            Invitation.objects.create(
                membership=membership,
                invited_by=secretariat,
                token_hash=token_hash,
                expires_at=Invitation.default_expiry(),
            )
            application(m, person)
            for status in ("pending", "declined"):
                JoinRequest.objects.create(
                    organisation_name=f"{status}の会{i}",
                    kind="support",
                    municipality=municipality("012025"),
                    contact_name=person.full_name,
                    contact_email=person.email,
                    status=status,
                )
            queue_message(
                key=f"flat:{person.pk}:{i}", kind="t", to_email=person.email, subject="s", body="b"
            )
            queue_message(
                key=f"flat:{person.pk}:{i}:about",
                kind="t",
                to_email=secretariat.email,
                subject="s",
                body=f"{person.full_name}（{person.email}）",
            )
            LogEntry.objects.log_actions(
                user_id=secretariat.pk,
                queryset=User.objects.filter(pk=person.pk),
                action_flag=CHANGE,
                single_object=True,
            )
            AuditEntry.objects.create(
                content_type=user_type,
                object_pk=str(person.pk),
                object_id=person.pk,
                object_repr=person.full_name,
                action=AuditEntry.Action.UPDATE,
                actor=person,
                actor_email=person.email,
            )
        # What a person has once.
        CalendarFeed.objects.create(user=person, token=CalendarFeed.new_token())
        NotePreference.objects.create(user=person, wants_digest=False)
        CuratorFactory(user=person)
        EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
        Authenticator.objects.create(
            user=person, type=Authenticator.Type.TOTP, data={"secret": "s"}
        )

    # The audit log: its two name replacements and the erasure's own entry;
    # the surveys whose texts it rewrites are touched (+1: their cached results'
    # data version reads updated_at, surveys.results.data_version); the annual
    # report's opinions: those quoting the person's answers deleted, those the
    # person chose pointed at the stub (+2).
    expected = 55
    for size, email in ((SMALL, "small@example.org"), (10, "large@example.org")):
        person = UserFactory(email=email, full_name=f"計測 {size}号")
        add(person, size)
        # A fresh actor each time: reading its roles (2 queries) is part of the count.
        by = User.objects.get(pk=secretariat.pk)
        with django_assert_num_queries(expected):
            erasure.erase_person(person=person, by=by, confirmation=email)
        assert Registration.objects.filter(user=person, question="").count() == size
        assert not Response.objects.filter(user=person, submitted_at__isnull=True).exists()
        assert not Membership.objects.filter(user=person).exists()
        stub = erasure.erased_email(person.pk)
        assert JoinRequest.objects.filter(contact_email=stub).count() == size
        assert not GuestRequest.objects.filter(email=email).exists()
        assert not OutboxMessage.objects.filter(body__contains=email).exists()


# --- the rule --------------------------------------------------------------------------


def test_can_erase_person_is_the_secretariats_only(actors, contractor_member, secretariat):
    from django.contrib.auth.models import AnonymousUser

    from portal import access as portal_access
    from tests.conftest import ACTOR_NAMES

    allowed = {
        name
        for name in ACTOR_NAMES
        if portal_access.can_erase_person(actors[name] or AnonymousUser(), contractor_member)
    }
    assert allowed == {"secretariat", "superuser"}
    assert not portal_access.can_erase_person(secretariat, None)
    User.objects.filter(pk=secretariat.pk).update(is_active=False)
    assert not portal_access.can_erase_person(
        User.objects.get(pk=secretariat.pk), contractor_member
    )


# --- the page ----------------------------------------------------------------------------


def test_people_list_links_to_the_erasure(world, secretariat, client_for):
    page = client_for(secretariat).get(reverse("network:people_list"))
    html = page.content.decode()
    assert reverse("person_erase", args=[world.person.pk]) in html
    assert "この人のデータを削除（匿名化）" in html


def test_people_list_shows_an_erased_account_as_erased_not_as_a_contact(
    world, secretariat, client_for
):
    _erase(world, secretariat)

    page = client_for(secretariat).get(
        reverse("network:people_list"), {"q": f"erased-{world.person.pk}"}
    )

    [row] = re.findall(r"<tr>\s*<td.*?</tr>", page.content.decode(), re.S)
    assert "削除（匿名化）済み" in row
    assert "未登録（連絡先のみ）" not in row and "無効なアカウント" not in row
    assert reverse("person_erase", args=[world.person.pk]) not in row


def test_erasure_page_lists_what_goes_and_what_stays(world, secretariat, client_for):
    url = reverse("person_erase", args=[world.person.pk])
    page = client_for(secretariat).get(url)
    assert page.status_code == 200
    html = page.content.decode()
    for words in ("削除するもの", "匿名化するもの", "残すもの", "npo@example.org", 'name="email"'):
        assert words in html, words
    assert "所属（組織の職員一覧から外れます）：2件" in html
    assert (
        "個人の設定（カレンダー配信URL・お知らせメールの設定・ノート編集者の役割・2段階認証）：4件"
        in html
    )
    assert "審査中の参加申請（この人が担当者のもの）：1件" in html
    assert "イベントへの申込（事前質問を消します。申込と出席は集計のため残ります）：2件" in html
    assert "csrfmiddlewaretoken" in html


def test_erasure_page_refuses_a_wrong_address(world, secretariat, client_for):
    url = reverse("person_erase", args=[world.person.pk])
    client = client_for(secretariat)
    before = snapshots.take()
    page = client.post(url, {"email": "someone@example.org"})
    assert page.status_code == 200
    assert "メールアドレスが一致しません" in page.content.decode()
    assert snapshots.take().changes_from(before) == []


def test_erasure_page_erases_and_says_so(world, secretariat, client_for):
    url = reverse("person_erase", args=[world.person.pk])
    client = client_for(secretariat)
    response = client.post(url, {"email": "npo@example.org"})
    assert response.status_code == 302
    assert response["Location"] == reverse("network:people_list")
    assert erasure.is_erased(User.objects.get(pk=world.person.pk))
    page = client.get(response["Location"])
    assert f"番号 {world.person.pk} の人のデータを削除（匿名化）しました。" in page.content.decode()
    # Again: the page says it is done, and a POST writes nothing.
    before = snapshots.take()
    again = client.post(url, {"email": f"erased-{world.person.pk}@erased.invalid"})
    assert again.status_code == 200
    assert "すでに削除（匿名化）されています" in again.content.decode()
    assert snapshots.take().changes_from(before) == []


def test_erasure_page_refuses_superusers_and_the_secretariat(secretariat, superuser, client_for):
    client = client_for(superuser)
    for target, words in (
        (superuser, "管理者（スーパーユーザー）のアカウントは、この画面では削除できません。"),
        (secretariat, "事務局のアカウントは、この画面では削除できません。"),
    ):
        url = reverse("person_erase", args=[target.pk])
        assert words in client.get(url).content.decode()
        before = snapshots.take()
        response = client.post(url, {"email": target.email})
        assert response.status_code == 200 and words in response.content.decode()
        assert snapshots.take().changes_from(before) == []


def test_erasure_page_is_404_for_everyone_but_the_secretariat(
    world, municipal_member, org_admin, committee_member, client_for
):
    url = reverse("person_erase", args=[world.person.pk])
    for actor in (world.person, municipal_member, org_admin, committee_member):
        client = client_for(actor)  # logging in writes last_login: before the snapshot
        before = snapshots.take()
        assert client.get(url).status_code == 404
        assert client.post(url, {"email": "npo@example.org"}).status_code == 404
        assert snapshots.take().changes_from(before) == []
    client = client_for(None)
    before = snapshots.take()
    anonymous = client.post(url, {"email": "npo@example.org"})
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert snapshots.take().changes_from(before) == []
    assert client_for(org_admin).get(reverse("person_erase", args=[999999])).status_code == 404


# --- the seed: its 「延べN名」 lines stay ----------------------------------------------


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        with override_settings(DEBUG=True):
            call_command("seed_demo", stdout=StringIO())
        yield
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_erasure_on_the_seed_keeps_its_lines_and_survey_figures(seeded, client_for):
    from tests.test_dashboard import SEED_LINES

    committee = User.objects.get(email="committee@example.org")
    office = User.objects.get(email="secretariat@example.org")
    # Someone who came to 令和3年度's meetings and someone who answered its
    # annual survey by name (in the seed, the answerers are organisations'
    # admins, who did not come themselves).
    people = (
        User.objects.filter(is_superuser=False)
        .exclude(groups__name="secretariat")
        .distinct()
        .order_by("pk")
    )
    attendee = people.filter(
        registrations__event__fiscal_year=2021, registrations__attended=True
    ).first()
    respondent = people.filter(
        survey_responses__survey__fiscal_year=2021, survey_responses__submitted_at__isnull=False
    ).first()
    assert attendee is not None and respondent is not None
    erased = {attendee, respondent}
    surveys = list(
        {r.survey for r in Response.objects.filter(user__in=erased).select_related("survey")}
    )
    assert surveys

    def figures():
        cache.clear()
        html = _without_token(client_for(committee).get("/dashboard/?fy=2021"))
        return (
            html,
            {s.pk: _plain(results.compute(s, office)) for s in surveys},
            json.dumps(participation.compute(2021).as_json(), default=str),
        )

    html, survey_before, numbers_before = figures()
    for line in SEED_LINES:
        assert f"<li>{line}</li>" in html
    assert "延べ247名" in html

    for person in erased:
        erasure.erase_person(person=person, by=office, confirmation=person.email)
        assert erasure.is_erased(User.objects.get(pk=person.pk))

    html_after, survey_after, numbers_after = figures()
    assert html_after == html
    assert survey_after == survey_before
    assert numbers_after == numbers_before
