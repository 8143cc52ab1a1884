"""The back-up menus' workflow through support.services: what each step
writes, what it refuses (in Japanese, writing nothing) and what it mails."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from core.models import OutboxMessage
from network.models import Organisation
from support import services
from support.enums import ApplicationStatus, MenuStatus
from support.models import Application, ApplicationUpdate, Engagement, EngagementSession
from surveys.enums import SurveyKind
from surveys.models import Invitation, Survey

from . import support_factories as sf
from .factories import MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db


def _messages(prefix):
    return list(OutboxMessage.objects.filter(key__startswith=prefix).order_by("key"))


def test_submit_application_writes_history_and_mails_applicant_and_secretariat(
    contractor_member, secretariat
):
    menu = sf.menu()
    app = sf.application(menu, contractor_member)
    assert app.status == ApplicationStatus.SUBMITTED
    assert [u.new_status for u in app.updates.all()] == [ApplicationStatus.SUBMITTED]
    status_mails = _messages("support:status:")
    assert [m.to_email for m in status_mails] == ["npo@example.org"]
    assert "受付" in status_mails[0].subject
    assert [m.to_email for m in _messages("support:new:")] == ["secretariat@example.org"]


def test_submit_application_refuses_an_ineligible_kind_and_writes_nothing(municipal_member):
    menu = sf.menu(kinds=[Organisation.Kind.CONTRACTOR])
    with pytest.raises(services.SupportError) as error:
        sf.application(menu, municipal_member)
    assert "種別では申込できません" in error.value.message_dict["organisation"][0]
    assert not Application.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_submit_application_refuses_an_ended_menu(contractor_member):
    menu = sf.menu(status=MenuStatus.ENDED)
    with pytest.raises(services.SupportError) as error:
        sf.application(menu, contractor_member)
    assert "受け付けていません" in error.value.message_dict["organisation"][0]
    assert not Application.objects.exists()


def test_submit_application_refuses_another_organisation(contractor_member, other_org):
    menu = sf.menu()
    with pytest.raises(services.SupportError) as error:
        sf.application(menu, contractor_member, organisation=other_org)
    assert error.value.code == "forbidden"
    assert not Application.objects.exists()


def test_submit_application_committee_alone_may_not_apply(committee_member, other_org):
    with pytest.raises(services.SupportError):
        sf.application(sf.menu(), committee_member, organisation=other_org)
    assert not Application.objects.exists()


def test_hold_and_decline_require_a_reason_the_applicant_sees(contractor_member, secretariat):
    app = sf.application(sf.menu(), contractor_member)
    with pytest.raises(services.SupportError) as error:
        services.decline_application(application=app, by=secretariat, reason="  ")
    assert "理由を入力してください" in error.value.message_dict["reason"][0]
    app.refresh_from_db()
    assert app.status == ApplicationStatus.SUBMITTED
    services.hold_application(application=app, by=secretariat, reason="予算の確定待ちです。")
    app.refresh_from_db()
    assert (app.status, app.shows_reason()) == (ApplicationStatus.ON_HOLD, True)
    services.decline_application(
        application=app, by=secretariat, reason="今年度の枠が埋まりました。"
    )
    app.refresh_from_db()
    assert app.status == ApplicationStatus.DECLINED
    assert app.status_reason == "今年度の枠が埋まりました。"
    decline_mail = _messages("support:status:")[-1]
    assert "見送り" in decline_mail.subject
    assert "今年度の枠が埋まりました。" in decline_mail.body


def test_status_mail_is_queued_once_per_change(contractor_member, secretariat):
    app = sf.application(sf.menu(), contractor_member)
    services.hold_application(application=app, by=secretariat, reason="確認中です。")
    update = app.updates.order_by("-pk").first()
    from support import notifications

    # A retried task or a second sweep finds the key already there.
    assert notifications.status_changed(update) == 0
    assert len(_messages("support:status:")) == 2


def test_accept_application_assigns_partner_and_coordinator(contractor_member, secretariat):
    menu = sf.menu()
    app = sf.application(menu, contractor_member)
    partner = menu.partners.get()
    engagement = services.accept_application(
        application=app, partner=partner, coordinator=secretariat, by=secretariat
    )
    app.refresh_from_db()
    assert app.status == ApplicationStatus.ACCEPTED
    assert (engagement.partner, engagement.coordinator) == (partner, secretariat)
    assert services.slots_left(menu, app.fiscal_year) == menu.slots_per_year - 1
    assert [m.key for m in _messages("support:partner:")] == [f"support:partner:{engagement.pk}:0"]


def test_accept_application_refuses_a_partner_outside_the_menu(contractor_member, secretariat):
    menu = sf.menu()
    app = sf.application(menu, contractor_member)
    stranger = OrganisationFactory(name="関係のない団体")
    with pytest.raises(services.SupportError) as error:
        services.accept_application(
            application=app, partner=stranger, coordinator=secretariat, by=secretariat
        )
    assert "協力団体から選んでください" in error.value.message_dict["partner"][0]
    assert not Engagement.objects.exists()


def test_accept_application_refuses_a_coordinator_outside_the_secretariat(
    contractor_member, secretariat, committee_member
):
    menu = sf.menu()
    app = sf.application(menu, contractor_member)
    with pytest.raises(services.SupportError) as error:
        services.accept_application(
            application=app,
            partner=menu.partners.get(),
            coordinator=committee_member,
            by=secretariat,
        )
    assert "事務局の担当者" in error.value.message_dict["coordinator"][0]
    assert not Engagement.objects.exists()


def test_accept_application_refuses_when_the_slots_are_taken(secretariat):
    menu = sf.menu(slots=1)
    first = sf.application(menu, MembershipFactory().user)
    second = sf.application(menu, MembershipFactory().user)
    sf.engagement(first, by=secretariat)
    with pytest.raises(services.SupportError) as error:
        sf.engagement(second, by=secretariat)
    assert error.value.code == "full"
    assert error.value.messages[0].startswith("令和")
    assert "年度の受入件数（1件）に達しています" in error.value.messages[0]
    second.refresh_from_db()
    assert second.status == ApplicationStatus.SUBMITTED
    assert Engagement.objects.count() == 1


def test_accept_application_only_by_the_secretariat(contractor_member, org_admin):
    menu = sf.menu()
    app = sf.application(menu, contractor_member)
    with pytest.raises(services.SupportError):
        services.accept_application(
            application=app, partner=menu.partners.get(), coordinator=org_admin, by=org_admin
        )
    app.refresh_from_db()
    assert app.status == ApplicationStatus.SUBMITTED


def test_withdraw_application_by_the_applicant_only_while_pending(
    contractor_member, org_admin, other_org
):
    menu = sf.menu()
    app = sf.application(menu, contractor_member)
    stranger = MembershipFactory(organisation=other_org).user
    with pytest.raises(services.SupportError):
        services.withdraw_application(application=app, by=stranger)
    # Anyone of the applying organisation may withdraw it.
    services.withdraw_application(application=app, by=org_admin)
    app.refresh_from_db()
    assert app.status == ApplicationStatus.WITHDRAWN
    with pytest.raises(services.SupportError) as error:
        services.withdraw_application(application=app, by=org_admin)
    assert "取り下げられません" in error.value.messages[0]


def test_record_session_by_the_partner_sets_the_start(contractor_member, secretariat):
    menu = sf.menu()
    app = sf.application(menu, contractor_member, submitted_days_ago=30)
    engagement = sf.engagement(app, by=secretariat)
    partner = sf.partner_member(menu)
    sf.session(engagement, partner, days_ago=3)
    sf.session(engagement, partner, days_ago=10)
    engagement.refresh_from_db()
    assert engagement.started_on == timezone.localdate() - datetime.timedelta(days=10)
    assert EngagementSession.objects.filter(engagement=engagement).count() == 2


def test_record_session_refuses_the_applicant_and_other_partners(contractor_member, secretariat):
    menu = sf.menu()
    engagement = sf.engagement(sf.application(menu, contractor_member), by=secretariat)
    other_partner = MembershipFactory(
        organisation=OrganisationFactory(kind=Organisation.Kind.SUPPORT)
    ).user
    for outsider in (contractor_member, other_partner):
        with pytest.raises(services.SupportError):
            sf.session(engagement, outsider)
    assert not EngagementSession.objects.exists()


def test_record_session_refuses_a_future_date(contractor_member, secretariat):
    menu = sf.menu()
    engagement = sf.engagement(sf.application(menu, contractor_member), by=secretariat)
    with pytest.raises(services.SupportError) as error:
        services.record_session(
            engagement=engagement,
            by=sf.partner_member(menu),
            held_on=timezone.localdate() + datetime.timedelta(days=1),
            duration_minutes=30,
            mode="phone",
            done="電話で打ち合わせた。",
            partner_hours=Decimal("1"),
        )
    assert "未来の日付" in error.value.message_dict["held_on"][0]
    assert not EngagementSession.objects.exists()


def test_complete_engagement_needs_a_session_then_sends_the_follow_up_survey(
    contractor_member, secretariat
):
    menu = sf.menu()
    app = sf.application(menu, contractor_member)
    engagement = sf.engagement(app, by=secretariat)
    partner = sf.partner_member(menu)
    with pytest.raises(services.SupportError) as error:
        services.complete_engagement(
            engagement=engagement, by=partner, outcome_answers={}, outcome_text=""
        )
    assert "1件以上" in error.value.messages[0]
    sf.session(engagement, partner)
    services.complete_engagement(
        engagement=engagement,
        by=partner,
        outcome_answers={"links_made": 2},
        outcome_text="窓口とフードバンクの連絡会が始まった。",
    )
    engagement.refresh_from_db()
    app.refresh_from_db()
    assert app.status == ApplicationStatus.COMPLETED
    assert engagement.outcome_answers == {"links_made": 2}
    survey = engagement.follow_up_survey
    assert survey.kind == SurveyKind.SUPPORT_FOLLOW_UP
    assert survey.status == Survey.Status.PUBLISHED
    assert list(survey.chosen_organisations.all()) == [app.organisation]
    assert [q.key for q in survey.questions.order_by("order")] == [
        "useful",
        "solved",
        "again",
        "comments",
    ]
    assert list(
        Invitation.objects.filter(survey=survey).values_list("organisation", flat=True)
    ) == [app.organisation_id]
    with pytest.raises(services.SupportError) as error:
        services.complete_engagement(
            engagement=engagement, by=partner, outcome_answers={}, outcome_text=""
        )
    assert "すでに完了" in error.value.messages[0]
    assert Survey.objects.filter(kind=SurveyKind.SUPPORT_FOLLOW_UP).count() == 1
    assert [u.new_status for u in ApplicationUpdate.objects.filter(application=app)] == [
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.ACCEPTED,
        ApplicationStatus.COMPLETED,
    ]
