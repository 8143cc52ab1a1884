"""Joining the network: invitations (invite, accept, resend, revoke) and join requests."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from core.models import OutboxMessage
from core.tasks import deliver_outbox_message
from network import notifications, services
from network.models import Invitation, JoinRequest, Membership, Organisation, Program, User

from .factories import PASSWORD, MembershipFactory, OrganisationFactory, UserFactory, municipality

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Kushiro-harbour-2024!"
LINK_RE = re.compile(re.escape(settings.SITE_URL) + r"(/network/invitation/[\w-]+/)")


def invite_form(**overrides):
    data = {
        "email": "new.staff@example.org",
        "full_name": "新人 六子",
        "full_name_kana": "しんじん むつこ",
        "staff_role": Membership.StaffRole.SODAN,
        "experience": Membership.Experience.UNDER_1,
    }
    data.update(overrides)
    return data


def link_in(message) -> str:
    """The path of the invitation link in an e-mail."""
    match = LINK_RE.search(message.body)
    assert match, message.body
    return match.group(1)


def accept_data(password=NEW_PASSWORD):
    return {"new_password1": password, "new_password2": password}


@pytest.fixture
def invite(secretariat, contractor_org, django_capture_on_commit_callbacks):
    """invite(**kwargs) -> Invitation, through the service, with its e-mail sent."""

    def make(**overrides):
        kwargs = {
            "organisation": contractor_org,
            "email": "invitee@example.org",
            "full_name": "招待 花子",
            "full_name_kana": "しょうたい はなこ",
            "staff_role": Membership.StaffRole.SODAN,
            "experience": "",
            "is_org_admin": False,
            "invited_by": secretariat,
        }
        kwargs.update(overrides)
        with django_capture_on_commit_callbacks(execute=True):
            return services.invite_member(**kwargs)

    return make


# --- inviting -----------------------------------------------------------------


def test_staff_invite_by_org_admin_creates_contact_membership_and_email(
    org_admin, contractor_org, client_for, mailoutbox, django_capture_on_commit_callbacks
):
    client = client_for(org_admin)
    url = reverse("network:staff_invite", args=[contractor_org.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "職員を招待" in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, invite_form(email="New.Staff@Example.org"))

    assert response.status_code == 302
    assert response["Location"] == reverse("network:staff_list", args=[contractor_org.pk])
    user = User.objects.get(email="new.staff@example.org")
    assert user.is_contact
    assert user.full_name == "新人 六子"
    membership = Membership.objects.get(user=user, organisation=contractor_org)
    assert membership.staff_role == Membership.StaffRole.SODAN
    assert not membership.is_org_admin
    invitation = membership.invitations.get()
    assert invitation.invited_by == org_admin
    assert invitation.sent_at is not None
    assert invitation.is_usable
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["new.staff@example.org"]
    assert contractor_org.name in mailoutbox[0].subject


def test_staff_invite_by_secretariat_into_any_organisation(
    secretariat, other_org, client_for, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(secretariat).post(
            reverse("network:staff_invite", args=[other_org.pk]),
            invite_form(is_org_admin="on"),
        )

    assert response.status_code == 302
    membership = Membership.objects.get(user__email="new.staff@example.org")
    assert membership.organisation == other_org
    assert membership.is_org_admin
    assert membership.invitations.get().invited_by == secretariat
    assert "組織管理者" in mailoutbox[0].body


def test_staff_invite_org_admin_of_other_org_gets_404(org_admin, other_org, client_for, mailoutbox):
    client = client_for(org_admin)
    url = reverse("network:staff_invite", args=[other_org.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, invite_form()).status_code == 404
    assert not User.objects.filter(email="new.staff@example.org").exists()
    assert not Invitation.objects.exists()
    assert mailoutbox == []


def test_staff_invite_plain_member_gets_404(contractor_member, contractor_org, client_for):
    client = client_for(contractor_member)
    url = reverse("network:staff_invite", args=[contractor_org.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, invite_form()).status_code == 404
    assert not Invitation.objects.exists()


def test_staff_invite_anonymous_redirected_to_login(contractor_org, client):
    response = client.get(reverse("network:staff_invite", args=[contractor_org.pk]))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_staff_invite_duplicate_membership_refused_in_japanese(
    org_admin, contractor_member, contractor_org, client_for, mailoutbox
):
    response = client_for(org_admin).post(
        reverse("network:staff_invite", args=[contractor_org.pk]),
        invite_form(email=contractor_member.email.upper()),
    )

    assert response.status_code == 200
    assert "すでに「札幌生活サポートセンター」の所属者です" in response.content.decode()
    assert Membership.objects.filter(user=contractor_member).count() == 1
    assert not Invitation.objects.exists()
    assert mailoutbox == []


def test_staff_invite_existing_user_keeps_name_and_password(
    org_admin, municipal_member, contractor_org, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client_for(org_admin).post(
            reverse("network:staff_invite", args=[contractor_org.pk]),
            invite_form(email=municipal_member.email, full_name="別の 名前"),
        )

    municipal_member.refresh_from_db()
    assert municipal_member.full_name == "市役 一郎"
    assert municipal_member.check_password(PASSWORD)
    assert Membership.objects.filter(user=municipal_member).count() == 2


def test_staff_invite_form_rejects_garbage_without_error(org_admin, contractor_org, client_for):
    response = client_for(org_admin).post(
        reverse("network:staff_invite", args=[contractor_org.pk]),
        {"email": "not-an-email", "full_name": "x" * 500, "staff_role": "boss", "experience": "∞"},
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "有効なメールアドレスを入力してください" in content
    assert "正しく選択してください" in content
    assert not Invitation.objects.exists()


# --- the invitation e-mail and its outbox message ----------------------------------


def test_invitation_email_contains_working_link(invite, mailoutbox, client):
    invitation = invite()

    message = mailoutbox[0]
    assert message.to == ["invitee@example.org"]
    assert "招待 花子 様" in message.body
    expires = timezone.localtime(invitation.expires_at)
    assert f"{expires.year}年{expires.month}月{expires.day}日" in message.body
    path = link_in(message)
    assert path == reverse("network:accept_invitation", args=[invitation.raw_token])

    page = client.get(path)
    content = page.content.decode()
    assert page.status_code == 200
    assert "招待 花子" in content
    assert "invitee@example.org" in content
    assert "札幌生活サポートセンター" in content
    assert 'name="new_password1"' in content


def test_invitation_outbox_message_delivered_again_sends_nothing(invite, mailoutbox):
    invitation = invite()
    message = OutboxMessage.objects.get()
    assert message.key == f"invitation:{invitation.pk}:link:1"
    assert message.status == OutboxMessage.Status.SENT

    assert deliver_outbox_message(message.pk) is False
    assert len(mailoutbox) == 1


def test_invitation_superseded_link_mail_waiting_is_skipped_and_redacted(
    secretariat, mailoutbox, django_capture_on_commit_callbacks
):
    """A resend before the first mail left: the old link no longer works, so
    its mail is given up (it used to be the task's token check)."""
    with django_capture_on_commit_callbacks(execute=False):
        invitation = services.invite_member(
            organisation=OrganisationFactory(),
            email="slow@example.org",
            full_name="遅延 太郎",
            invited_by=secretariat,
        )
    old_token = invitation.raw_token
    with django_capture_on_commit_callbacks(execute=True):
        fresh = services.resend_invitation(invitation=invitation, resent_by=secretariat)

    old, new = OutboxMessage.objects.order_by("pk")
    assert (old.key, old.status, old.secret) == (
        f"invitation:{invitation.pk}:link:1",
        OutboxMessage.Status.SKIPPED,
        "",
    )
    assert old_token not in old.body
    assert (new.key, new.status) == (f"invitation:{invitation.pk}:link:2", "sent")
    assert [m.to for m in mailoutbox] == [["slow@example.org"]]
    assert fresh.raw_token in mailoutbox[0].body
    assert old_token not in mailoutbox[0].body
    assert deliver_outbox_message(old.pk) is False
    assert len(mailoutbox) == 1


# --- accepting -------------------------------------------------------------------


def test_accept_invitation_sets_password_logs_in_and_works_once(invite, mailoutbox, client):
    invitation = invite()
    path = link_in(mailoutbox[0])

    response = client.post(path, accept_data())

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    user = User.objects.get(email="invitee@example.org")
    assert user.check_password(NEW_PASSWORD)
    assert Invitation.objects.get(pk=invitation.pk).accepted_at is not None
    assert client.session["_auth_user_id"] == str(user.pk)
    # The session survives the password change: the next request is still logged in.
    home = client.get(reverse("network:accept_invitation", args=["whatever"]))
    assert home.wsgi_request.user == user

    second = client.post(path, accept_data("another-Password-99"))
    assert second.status_code == 410
    assert "すでに使われています" in second.content.decode()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_accept_invitation_weak_password_rejected_and_nothing_written(invite, mailoutbox, client):
    invitation = invite()
    response = client.post(link_in(mailoutbox[0]), accept_data("12345678"))

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert User.objects.get(email="invitee@example.org").is_contact
    assert Invitation.objects.get(pk=invitation.pk).accepted_at is None
    assert "_auth_user_id" not in client.session


def test_accept_invitation_expired_link_fails_and_writes_nothing(invite, mailoutbox, client):
    invitation = invite()
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    path = link_in(mailoutbox[0])

    assert client.get(path).status_code == 410
    response = client.post(path, accept_data())

    assert response.status_code == 410
    assert "有効期限が切れています" in response.content.decode()
    assert User.objects.get(email="invitee@example.org").is_contact
    assert Invitation.objects.get(pk=invitation.pk).accepted_at is None
    assert "_auth_user_id" not in client.session


def test_accept_invitation_unknown_token_is_404(client):
    response = client.get(reverse("network:accept_invitation", args=["no-such-token"]))
    assert response.status_code == 404
    assert "この招待リンクは無効です" in response.content.decode()


def test_accept_invitation_raced_by_another_acceptance_writes_nothing(invite, mailoutbox, client):
    """The page was loaded while usable; by submit time the link was used."""
    invitation = invite()
    services.accept_invitation(invitation=invitation, password=None)

    with pytest.raises(services.InvitationUnusable):
        services.accept_invitation(invitation=invitation, password=NEW_PASSWORD)
    assert User.objects.get(email="invitee@example.org").is_contact


def test_accept_invitation_existing_user_only_confirms(
    invite, municipal_member, mailoutbox, client
):
    invitation = invite(email=municipal_member.email)
    path = link_in(mailoutbox[0])

    page = client.get(path)
    assert 'name="new_password1"' not in page.content.decode()
    assert "参加の確認" in page.content.decode()

    response = client.post(path, {})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert Invitation.objects.get(pk=invitation.pk).accepted_at is not None
    municipal_member.refresh_from_db()
    assert municipal_member.check_password(PASSWORD)
    # The link does not log an existing account in.
    assert "_auth_user_id" not in client.session


# --- resend and revoke ------------------------------------------------------------


def test_invitation_resend_invalidates_old_token(
    invite, org_admin, contractor_org, mailoutbox, client_for, django_capture_on_commit_callbacks
):
    invitation = invite()
    old_path = link_in(mailoutbox[0])
    client = client_for(org_admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("network:invitation_resend", args=[contractor_org.pk, invitation.pk])
        )

    assert response.status_code == 302
    assert len(mailoutbox) == 2
    new_path = link_in(mailoutbox[1])
    assert new_path != old_path
    refreshed = Invitation.objects.get(pk=invitation.pk)
    assert refreshed.sent_at is not None
    assert refreshed.invited_by == org_admin

    client.logout()
    assert client.get(old_path).status_code == 404
    assert client.get(new_path).status_code == 200


def test_invitation_resend_get_is_not_allowed(invite, org_admin, contractor_org, client_for):
    invitation = invite()
    url = reverse("network:invitation_resend", args=[contractor_org.pk, invitation.pk])
    assert client_for(org_admin).get(url).status_code == 405


def test_invitation_revoke_confirms_then_link_fails(
    invite, org_admin, contractor_org, mailoutbox, client_for
):
    invitation = invite()
    path = link_in(mailoutbox[0])
    client = client_for(org_admin)
    url = reverse("network:invitation_revoke", args=[contractor_org.pk, invitation.pk])

    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "招待を取り消す" in confirm.content.decode()
    assert Invitation.objects.filter(pk=invitation.pk).exists()

    response = client.post(url)
    assert response.status_code == 302
    # Revoking undoes the invitation: the pending membership goes too, so the
    # address cannot join through password reset either.
    assert not Membership.objects.filter(
        user__email="invitee@example.org", organisation=contractor_org
    ).exists()

    client.logout()
    failed = client.post(path, accept_data())
    assert failed.status_code == 404
    assert User.objects.get(email="invitee@example.org").is_contact


def test_invitation_revoke_other_org_admin_gets_404(invite, other_org, client_for):
    admin_b = MembershipFactory(organisation=other_org, is_org_admin=True).user
    invitation = invite()  # into contractor_org
    client = client_for(admin_b)
    for pk in (other_org.pk, invitation.membership.organisation_id):
        url = reverse("network:invitation_revoke", args=[pk, invitation.pk])
        assert client.post(url).status_code == 404
    assert Invitation.objects.filter(pk=invitation.pk, revoked_at__isnull=True).exists()


def test_accept_invitation_revoked_link_is_410(invite, mailoutbox, client):
    """A revoked row that still exists (e.g. revoked in the admin) answers 410."""
    invitation = invite()
    Invitation.objects.filter(pk=invitation.pk).update(revoked_at=timezone.now())
    response = client.post(link_in(mailoutbox[0]), accept_data())
    assert response.status_code == 410
    assert "取り消されました" in response.content.decode()
    assert User.objects.get(email="invitee@example.org").is_contact


@pytest.mark.parametrize("when", ["before the page", "between page and submit"])
def test_accept_invitation_of_a_deactivated_account_is_410_and_sets_nothing(
    invite, mailoutbox, client, when
):
    invitation = invite()
    link = link_in(mailoutbox[0])
    if when == "before the page":
        User.objects.filter(email="invitee@example.org").update(is_active=False)
        page = client.get(link)
        assert page.status_code == 410
        assert "利用が停止されている" in page.content.decode()
    else:
        assert client.get(link).status_code == 200
        User.objects.filter(email="invitee@example.org").update(is_active=False)

    response = client.post(link, accept_data())

    assert response.status_code == 410
    assert "利用が停止されている" in response.content.decode()
    user = User.objects.get(email="invitee@example.org")
    assert not user.has_usable_password()
    assert not user.is_active
    invitation.refresh_from_db()
    assert invitation.accepted_at is None
    assert "_auth_user_id" not in client.session


def test_accept_invitation_revoked_while_submitting_is_404_not_500(
    invite, mailoutbox, client, secretariat, monkeypatch
):
    """The revoke commits after the page has read the link and before the
    service locks it: the row is gone when the lock is taken."""
    invitation = invite()
    link = link_in(mailoutbox[0])
    accept = services.accept_invitation

    def revoked_first(**kwargs):
        services.revoke_invitation(invitation=kwargs["invitation"], revoked_by=secretariat)
        return accept(**kwargs)

    monkeypatch.setattr(services, "accept_invitation", revoked_first)

    response = client.post(link, accept_data())

    assert response.status_code == 404
    assert "招待リンクが使えません" in response.content.decode()
    assert not Invitation.objects.filter(pk=invitation.pk).exists()
    assert not User.objects.get(email="invitee@example.org").has_usable_password()


def test_revoke_or_resend_of_an_invitation_revoked_meanwhile_says_so(invite, secretariat):
    invitation = invite()
    services.revoke_invitation(invitation=invitation, revoked_by=secretariat)

    with pytest.raises(ValidationError) as revoked:
        services.revoke_invitation(invitation=invitation, revoked_by=secretariat)
    with pytest.raises(ValidationError) as resent:
        services.resend_invitation(invitation=invitation, resent_by=secretariat)

    assert revoked.value.messages == ["この招待はすでに取り消されています。"]
    assert resent.value.messages == ["この招待はすでに受諾または取り消しされています。"]


# --- join requests ------------------------------------------------------------------


def join_form(**overrides):
    data = {
        "organisation_name": "釧路くらしの相談室",
        "organisation_kana": "くしろくらしのそうだんしつ",
        "kind": Organisation.Kind.SUPPORT,
        "municipality": str(municipality("012068").pk),
        "programs": [str(p.pk) for p in Program.objects.order_by("order")[:2]],
        "contact_name": "申請 七海",
        "contact_kana": "しんせい ななみ",
        "contact_email": "Nanami@Example.org",
        "contact_phone": "0154-00-0000",
        "message": "ネットワークに参加したいです。",
        "website": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def join_request(db):
    jr = JoinRequest.objects.create(
        organisation_name="釧路くらしの相談室",
        organisation_kana="くしろくらしのそうだんしつ",
        kind=Organisation.Kind.SUPPORT,
        municipality=municipality("012068"),
        contact_name="申請 七海",
        contact_kana="しんせい ななみ",
        contact_email="nanami@example.org",
    )
    jr.programs.set(Program.objects.order_by("order")[:2])
    return jr


def test_join_request_form_lists_municipalities_grouped_by_region(client):
    content = client.get(reverse("network:join_request")).content.decode()
    assert "ネットワークへの参加申請" in content
    assert '<optgroup label="石狩振興局">' in content
    start = content.index('name="municipality"')
    select = content[start : content.index("</select>", start)]
    assert select.count("<option value=") == 179 + 1  # and the empty choice
    assert 'name="website"' in content


def test_join_request_submit_creates_pending_row_and_notifies_secretariat(
    client, secretariat, mailoutbox, django_capture_on_commit_callbacks
):
    UserFactory(email="former@example.org", groups=["secretariat"], is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("network:join_request"), join_form())

    assert response.status_code == 302
    assert response["Location"] == reverse("network:join_request_done")
    jr = JoinRequest.objects.get()
    assert jr.status == JoinRequest.Status.PENDING
    assert jr.contact_email == "nanami@example.org"
    assert jr.municipality.code == "012068"
    assert jr.programs.count() == 2
    assert len(mailoutbox) == 1
    notice = mailoutbox[0]
    assert notice.to == ["secretariat@example.org"]
    assert notice.reply_to == ["nanami@example.org"]
    assert "釧路くらしの相談室" in notice.subject
    assert settings.SITE_URL + reverse("network:join_request_detail", args=[jr.pk]) in notice.body

    done = client.get(response["Location"])
    assert "参加申請を受け付けました" in done.content.decode()


def test_join_request_honeypot_filled_saves_nothing(
    client, secretariat, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("network:join_request"), join_form(website="http://spam.example")
        )

    # The bot sees the same thanks page as a person, but nothing is kept.
    assert response.status_code == 302
    assert response["Location"] == reverse("network:join_request_done")
    assert not JoinRequest.objects.exists()
    assert mailoutbox == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"municipality": "999999999"},
        {"municipality": "札幌"},
        {"programs": ["x", "-1"]},
        {"kind": "alien"},
        {"contact_email": "@@"},
        {"contact_phone": "<script>"},
        {"organisation_name": "", "contact_name": ""},
        {"organisation_name": "a" * 5000},
    ],
)
def test_join_request_form_random_input_shows_errors(client, overrides):
    response = client.post(reverse("network:join_request"), join_form(**overrides))
    assert response.status_code == 200
    assert "入力内容を確認してください" in response.content.decode()
    assert not JoinRequest.objects.exists()


def test_join_request_approve_creates_org_admin_membership_and_invitation_email(
    secretariat, join_request, client_for, mailoutbox, django_capture_on_commit_callbacks
):
    url = reverse("network:join_request_detail", args=[join_request.pk])
    client = client_for(secretariat)
    assert "承認して招待する" in client.get(url).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"action": "approve"})

    assert response.status_code == 302
    join_request.refresh_from_db()
    assert join_request.status == JoinRequest.Status.APPROVED
    assert join_request.decided_by == secretariat
    assert join_request.decided_at is not None
    org = join_request.organisation
    assert org.name == "釧路くらしの相談室"
    assert org.kind == Organisation.Kind.SUPPORT
    assert org.is_active
    assert org.municipality.code == "012068"
    assert org.region == org.municipality.region
    assert set(org.programs.all()) == set(join_request.programs.all())
    membership = Membership.objects.get(organisation=org)
    assert membership.is_org_admin
    assert membership.user.email == "nanami@example.org"
    assert membership.user.full_name == "申請 七海"
    assert membership.user.is_contact
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["nanami@example.org"]
    assert "組織管理者" in mailoutbox[0].body
    assert LINK_RE.search(mailoutbox[0].body)

    page = client.get(url).content.decode()
    assert "承認して招待する" not in page
    assert "作成された組織" in page


def test_join_request_decide_twice_refused(
    secretariat, join_request, client_for, django_capture_on_commit_callbacks
):
    client = client_for(secretariat)
    url = reverse("network:join_request_detail", args=[join_request.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"action": "approve"})

    response = client.post(url, {"action": "decline", "reason": "重複"}, follow=True)
    assert "すでに「承認」として処理済みです" in response.content.decode()
    join_request.refresh_from_db()
    assert join_request.status == JoinRequest.Status.APPROVED
    assert join_request.decline_reason == ""
    assert Organisation.objects.filter(name="釧路くらしの相談室").count() == 1

    response = client.post(url, {"action": "approve"}, follow=True)
    assert "すでに「承認」として処理済みです" in response.content.decode()
    assert Organisation.objects.filter(name="釧路くらしの相談室").count() == 1


def test_join_request_approve_duplicate_organisation_refused(
    secretariat, join_request, client_for, mailoutbox
):
    OrganisationFactory(name="釧路くらしの相談室", municipality=municipality("012068"))
    client = client_for(secretariat)
    url = reverse("network:join_request_detail", args=[join_request.pk])
    assert "すでに登録されています" in client.get(url).content.decode()

    response = client.post(url, {"action": "approve"}, follow=True)

    assert "「釧路くらしの相談室」（釧路市）はすでに登録されています" in response.content.decode()
    join_request.refresh_from_db()
    assert join_request.status == JoinRequest.Status.PENDING
    assert Organisation.objects.filter(name="釧路くらしの相談室").count() == 1
    assert not User.objects.filter(email="nanami@example.org").exists()
    assert mailoutbox == []


def test_join_request_decline_stores_reason_and_mails_it(
    secretariat, join_request, client_for, mailoutbox, django_capture_on_commit_callbacks
):
    url = reverse("network:join_request_detail", args=[join_request.pk])
    reason = "道外の団体のため、今回は見送ります。"
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(secretariat).post(url, {"action": "decline", "reason": reason})

    assert response.status_code == 302
    join_request.refresh_from_db()
    assert join_request.status == JoinRequest.Status.DECLINED
    assert join_request.decline_reason == reason
    assert join_request.decided_by == secretariat
    assert join_request.organisation is None
    assert not Organisation.objects.filter(name="釧路くらしの相談室").exists()
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["nanami@example.org"]
    assert reason in mailoutbox[0].body
    # Its key is taken: queuing the same occasion again mails nothing.
    assert notifications.join_request_declined(join_request) is None
    assert OutboxMessage.objects.filter(kind="network.join_request_declined").count() == 1


def test_join_request_decline_requires_reason(secretariat, join_request, client_for, mailoutbox):
    url = reverse("network:join_request_detail", args=[join_request.pk])
    response = client_for(secretariat).post(url, {"action": "decline", "reason": "   "})

    assert response.status_code == 200
    assert "このフィールドは必須です" in response.content.decode()
    join_request.refresh_from_db()
    assert join_request.status == JoinRequest.Status.PENDING
    assert mailoutbox == []


@pytest.mark.parametrize(
    "actor", ["outsider", "contractor_member", "municipal_member", "org_admin", "committee"]
)
def test_join_request_pages_404_for_non_secretariat(actor, actors, join_request, client_for):
    client = client_for(actors[actor])
    detail = reverse("network:join_request_detail", args=[join_request.pk])
    assert client.get(reverse("network:join_request_list")).status_code == 404
    assert client.get(detail).status_code == 404
    assert client.post(detail, {"action": "approve"}).status_code == 404
    join_request.refresh_from_db()
    assert join_request.status == JoinRequest.Status.PENDING
    assert not Organisation.objects.filter(name="釧路くらしの相談室").exists()


def test_join_request_list_pending_first_filter_and_empty_state(secretariat, client_for):
    client = client_for(secretariat)
    url = reverse("network:join_request_list")
    assert "参加申請はまだありません" in client.get(url).content.decode()

    base = {"kind": "support", "municipality": municipality(), "contact_name": "x",
            "contact_email": "x@example.org"}  # fmt: skip
    JoinRequest.objects.create(organisation_name="古い審査待ち", **base)
    JoinRequest.objects.create(
        organisation_name="見送った会", status=JoinRequest.Status.DECLINED, **base
    )
    JoinRequest.objects.create(
        organisation_name="承認した会", status=JoinRequest.Status.APPROVED, **base
    )

    content = client.get(url).content.decode()
    assert content.index("古い審査待ち") < content.index("見送った会")
    assert content.index("古い審査待ち") < content.index("承認した会")

    filtered = client.get(url, {"status": "declined"}).content.decode()
    assert "見送った会" in filtered
    assert "古い審査待ち" not in filtered
    JoinRequest.objects.filter(status=JoinRequest.Status.APPROVED).delete()
    assert (
        "この状態の参加申請はありません" in client.get(url, {"status": "approved"}).content.decode()
    )
    # A bad filter value is ignored, not an error.
    assert client.get(url, {"status": "nonsense", "page": "x"}).status_code == 200


@pytest.mark.parametrize("rows", [1, 50])
def test_join_request_list_query_count_is_flat(
    rows, secretariat, client_for, django_assert_num_queries
):
    for n in range(rows):
        jr = JoinRequest.objects.create(
            organisation_name=f"申請団体{n}",
            kind="support",
            municipality=municipality(),
            contact_name="x",
            contact_email="x@example.org",
        )
    assert jr
    client = client_for(secretariat)
    # session, user, groups, memberships, count, page, pending count
    with django_assert_num_queries(7):
        response = client.get(reverse("network:join_request_list"))
    assert response.content.decode().count("申請団体") == rows
