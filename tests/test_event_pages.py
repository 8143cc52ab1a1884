"""The event list and event page: what each visitor sees, filters, query counts."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from events.models import Event, Registration
from network.models import Commission

from .event_factories import EventFactory, RegistrationFactory, SessionFactory
from .factories import MembershipFactory, OrganisationFactory, municipality, program

LIST = reverse("events:list")


def _detail(event):
    return reverse("events:detail", args=[event.pk])


def _past(**kwargs):
    start = timezone.now() - datetime.timedelta(days=60)
    return EventFactory(starts_at=start, ends_at=start + datetime.timedelta(hours=3), **kwargs)


# --- list ------------------------------------------------------------------------------


def test_event_list_anonymous_sees_public_events_only(client_for, db):
    EventFactory(title="誰でも参加できる勉強会", audience=Event.Audience.PUBLIC)
    EventFactory(title="メンバー向けの情報交換会", audience=Event.Audience.MEMBERS)

    response = client_for(None).get(LIST)

    assert response.status_code == 200
    content = response.content.decode()
    assert "誰でも参加できる勉強会" in content
    assert "メンバー向けの情報交換会" not in content
    assert "一般公開" in content  # audience badge


def test_event_list_outsider_sees_public_events_only(client_for, outsider):
    EventFactory(title="公開シンポジウム", audience=Event.Audience.PUBLIC)
    EventFactory(title="メンバー向けの情報交換会")

    content = client_for(outsider).get(LIST).content.decode()

    assert "公開シンポジウム" in content
    assert "メンバー向けの情報交換会" not in content


def test_event_list_follows_the_audience_of_each_event(
    client_for, contractor_member, municipal_member, committee_member, contractor_org
):
    EventFactory(title="自治体だけの会", audience=Event.Audience.MUNICIPAL)
    EventFactory(title="受託団体だけの会", audience=Event.Audience.CONTRACTOR)
    learning = program("kodomo_gakushu")
    EventFactory(title="学習支援の会", audience=Event.Audience.PROGRAM, audience_program=learning)

    contractor_page = client_for(contractor_member).get(LIST).content.decode()
    assert "自治体だけの会" not in contractor_page
    assert "受託団体だけの会" in contractor_page
    assert "学習支援の会" not in contractor_page

    contractor_org.programs.add(learning)
    contractor_page = client_for(contractor_member).get(LIST).content.decode()
    assert "学習支援の会" in contractor_page

    municipal_page = client_for(municipal_member).get(LIST).content.decode()
    assert "自治体だけの会" in municipal_page
    assert "受託団体だけの会" not in municipal_page

    committee_page = client_for(committee_member).get(LIST).content.decode()
    assert all(
        title in committee_page for title in ("自治体だけの会", "受託団体だけの会", "学習支援の会")
    )


def test_event_list_hides_drafts_except_from_the_secretariat(
    client_for, contractor_member, secretariat
):
    EventFactory(title="準備中の会", status=Event.Status.DRAFT)

    assert "準備中の会" not in client_for(contractor_member).get(LIST).content.decode()
    content = client_for(secretariat).get(LIST).content.decode()
    assert "準備中の会" in content
    assert "下書き" in content


def test_event_list_shows_upcoming_by_default_and_past_on_its_tab(client_for, contractor_member):
    EventFactory(title="来月の会")
    _past(title="先々月の会", status=Event.Status.FINISHED)
    client = client_for(contractor_member)

    upcoming = client.get(LIST).content.decode()
    assert "来月の会" in upcoming and "先々月の会" not in upcoming

    past = client.get(LIST, {"when": "past"}).content.decode()
    assert "先々月の会" in past and "来月の会" not in past
    assert "終了" in past


def test_event_list_card_shows_number_date_venue_format_and_seats(client_for, contractor_member):
    start = timezone.localtime() + datetime.timedelta(days=10)
    start = start.replace(hour=13, minute=30, second=0, microsecond=0)
    event = EventFactory(
        number=3,
        title="情報交換会（旭川）",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=3),
        venue_name="旭川市民活動交流センター",
        venue_capacity=2,
        online_capacity=None,
        municipality=municipality("012041"),
    )
    RegistrationFactory(event=event, mode=Registration.Mode.VENUE)
    RegistrationFactory(event=event, mode=Registration.Mode.VENUE, status="cancelled")

    content = client_for(contractor_member).get(LIST).content.decode()

    assert "第3回" in content
    assert "情報交換会（旭川）" in content
    assert f"{start.year}年{start.month}月{start.day}日(" in content
    assert "13:30〜16:30" in content
    assert "旭川市民活動交流センター" in content
    assert "会場＋オンライン" in content
    assert "会場：残り1席" in content
    # Online has no limit: no seat count for it.
    assert "オンライン：残り" not in content


def test_event_list_marks_full_modes_and_cancelled_events(client_for, contractor_member):
    full = EventFactory(title="満席の会", venue_capacity=1, format=Event.Format.VENUE)
    RegistrationFactory(event=full)
    EventFactory(title="中止の会", status=Event.Status.CANCELLED)

    content = client_for(contractor_member).get(LIST).content.decode()

    assert "会場：満席（キャンセル待ち）" in content
    assert "中止の会" in content
    assert '<span class="badge danger">中止</span>' in content


def test_event_list_marks_events_the_user_registered_for(client_for, contractor_member):
    registered = EventFactory(title="申し込んだ会")
    waiting = EventFactory(title="待っている会")
    EventFactory(title="まだの会")
    RegistrationFactory(event=registered, user=contractor_member)
    RegistrationFactory(event=waiting, user=contractor_member, status="waitlisted")

    response = client_for(contractor_member).get(LIST)
    cards = {event.title: event.my_status for event in response.context["page_obj"]}

    assert cards == {"申し込んだ会": "confirmed", "待っている会": "waitlisted", "まだの会": None}
    content = response.content.decode()
    assert content.count("申込済み") == 2
    assert "申込済み（キャンセル待ち）" in content


def test_event_list_filters_by_year_kind_region_theme_and_format(client_for, contractor_member):
    sapporo = municipality("011002")
    start = timezone.localtime() + datetime.timedelta(days=400)
    next_year = EventFactory(
        title="来年度の会", starts_at=start, ends_at=start + datetime.timedelta(hours=2)
    )
    EventFactory(title="札幌のシンポジウム", kind=Event.Kind.SYMPOSIUM, municipality=sapporo)
    EventFactory(title="函館の勉強会", kind=Event.Kind.STUDY, municipality=municipality("012025"))
    themed = EventFactory(title="テーマのある会", theme="")
    SessionFactory(event=themed, title="ひきこもり支援")
    EventFactory(title="オンラインの会", format=Event.Format.ONLINE)
    client = client_for(contractor_member)

    def titles(**params):
        return {event.title for event in client.get(LIST, params).context["page_obj"]}

    assert titles(fiscal_year=next_year.fiscal_year) == {"来年度の会"}
    assert titles(kind="symposium") == {"札幌のシンポジウム"}
    assert titles(region=sapporo.region_id) == {"札幌のシンポジウム"}
    assert titles(theme="ひきこもり") == {"テーマのある会"}
    assert titles(theme="函館") == {"函館の勉強会"}
    assert titles(format="online") == {"オンラインの会"}

    content = client.get(LIST).content.decode()
    assert f"令和{next_year.fiscal_year - 2018}年度" in content


@pytest.mark.parametrize(
    "params",
    [
        {"fiscal_year": "abc"},
        {"fiscal_year": "1900"},
        {"kind": "party"},
        {"region": "x"},
        {"region": "99999999"},
        {"format": "<script>"},
        {"theme": "あ" * 500},
        {"theme": "\x00"},
        {"page": "-1"},
        {"page": "99999"},
        {"when": "yesterday"},
        {"fiscal_year": ["2021", "x"]},
    ],
)
def test_event_list_garbage_query_strings_never_500(client_for, contractor_member, params):
    EventFactory(title="ふつうの会")
    response = client_for(contractor_member).get(LIST, params)
    assert response.status_code == 200


def test_event_list_invalid_filter_shows_the_error_and_no_events(client_for, contractor_member):
    EventFactory(title="ふつうの会")
    response = client_for(contractor_member).get(LIST, {"kind": "party"})
    content = response.content.decode()
    assert "ふつうの会" not in content
    assert "検索条件に誤りがあります" in content


def test_event_list_empty_state(client_for, db):
    content = client_for(None).get(LIST).content.decode()
    assert "いま予定されているイベントはありません。" in content


def _events_with_registrations(n, user):
    events = EventFactory.create_batch(n)
    for event in events:
        RegistrationFactory(event=event, user=user)
        RegistrationFactory(event=event, mode=Registration.Mode.ONLINE)
        SessionFactory(event=event)
    return events


@pytest.mark.parametrize("n", [1, 50])
def test_event_list_query_count_is_flat_for_a_member(
    client_for, contractor_member, django_assert_num_queries, n
):
    _events_with_registrations(n, contractor_member)
    client = client_for(contractor_member)
    # session, user, roles (groups, memberships), programs of the user's
    # organisations, years for the filter, count, page, my registrations,
    # regions for the filter's select.
    with django_assert_num_queries(10):
        response = client.get(LIST)
    assert len(response.context["page_obj"]) == n


@pytest.mark.parametrize("n", [1, 50])
def test_event_list_query_count_is_flat_for_anonymous(client_for, django_assert_num_queries, db, n):
    EventFactory.create_batch(n, audience=Event.Audience.PUBLIC)
    client = client_for(None)
    # years for the filter, count, page, regions for the filter's select.
    with django_assert_num_queries(4):
        response = client.get(LIST)
    assert len(response.context["page_obj"]) == n


# --- detail --------------------------------------------------------------------------


def test_event_detail_shows_everything_about_the_event(client_for, contractor_member, db):
    host = OrganisationFactory(name="江別市社会福祉協議会")
    event = EventFactory(
        number=1,
        title="第1回 情報交換会",
        theme="つながりをつくる",
        venue_name="江別市民会館",
        venue_address="江別市高砂町24-6",
        municipality=municipality("012173"),
        venue_capacity=30,
        online_capacity=50,
        has_social=True,
        social_capacity=10,
        social_details="会場近くの飲食店で",
        host_organisation=host,
        report_url="https://example.org/report.pdf",
        video_url="https://video.example.org/1",
        registration_closes_at=timezone.now() + datetime.timedelta(days=20),
    )
    SessionFactory(event=event, title="家計改善の分科会", capacity=10)
    RegistrationFactory(event=event, mode=Registration.Mode.VENUE, social="confirmed")
    RegistrationFactory(event=event, mode=Registration.Mode.ONLINE)

    content = client_for(contractor_member).get(_detail(event)).content.decode()

    for text in (
        "第1回",
        "つながりをつくる",
        "江別市民会館",
        "江別市高砂町24-6",
        "江別市",
        "会場＋オンライン",
        "30名（参加確定 1名）",
        "50名（参加確定 1名）",
        "会場：残り29席",
        "オンライン：残り49席",
        "家計改善の分科会",
        "定員10名・残り10席",
        "会場近くの飲食店で",
        "定員10名・残り9席",
        "江別市社会福祉協議会",
        "メンバー全員",
        "申込期間",
        "https://example.org/report.pdf",
        "https://video.example.org/1",
        "参加を申し込む",
        reverse("events:calendar", args=[event.pk]),
    ):
        assert text in content, text
    # The online URL is for confirmed online registrants only.
    assert event.online_url not in content


def test_event_detail_online_url_only_for_the_confirmed_online_registrant(
    client_for, contractor_member, municipal_member, org_admin, secretariat
):
    event = EventFactory(online_url="https://meet.example.org/only-for-you")
    RegistrationFactory(event=event, user=contractor_member, mode=Registration.Mode.ONLINE)
    RegistrationFactory(event=event, user=municipal_member, mode=Registration.Mode.VENUE)
    RegistrationFactory(
        event=event, user=org_admin, mode=Registration.Mode.ONLINE, status="waitlisted"
    )

    assert "only-for-you" in client_for(contractor_member).get(_detail(event)).content.decode()
    for user in (municipal_member, org_admin, secretariat):
        assert "only-for-you" not in client_for(user).get(_detail(event)).content.decode()


def test_event_detail_visibility_per_audience(
    client_for, contractor_member, municipal_member, outsider, secretariat
):
    municipal_only = EventFactory(audience=Event.Audience.MUNICIPAL)
    members = EventFactory(audience=Event.Audience.MEMBERS)
    public = EventFactory(audience=Event.Audience.PUBLIC, title="公開の会")
    draft = EventFactory(status=Event.Status.DRAFT)

    assert client_for(contractor_member).get(_detail(municipal_only)).status_code == 404
    assert client_for(municipal_member).get(_detail(municipal_only)).status_code == 200
    assert client_for(outsider).get(_detail(members)).status_code == 404
    # Anonymous visitors are asked to log in (members follow e-mailed links),
    # for an existing and a missing event alike.
    for url in (_detail(members), "/events/999999/"):
        response = client_for(None).get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))
    anonymous = client_for(None).get(_detail(public))
    assert anonymous.status_code == 200
    assert "公開の会" in anonymous.content.decode()
    assert "申込フォームへ" in anonymous.content.decode()
    assert client_for(contractor_member).get(_detail(draft)).status_code == 404
    assert client_for(secretariat).get(_detail(draft)).status_code == 200


def test_event_detail_program_audience(client_for, contractor_member, contractor_org):
    learning = program("kodomo_gakushu")
    event = EventFactory(audience=Event.Audience.PROGRAM, audience_program=learning)

    assert client_for(contractor_member).get(_detail(event)).status_code == 404
    contractor_org.programs.add(learning)
    response = client_for(contractor_member).get(_detail(event))
    assert response.status_code == 200
    assert "特定の事業の実施団体" in response.content.decode()


def test_event_detail_shows_the_users_registration_with_links(client_for, contractor_member):
    event = EventFactory(venue_capacity=1)
    RegistrationFactory(event=event)
    waiting = RegistrationFactory(
        event=event, user=contractor_member, status=Registration.Status.WAITLISTED
    )

    content = client_for(contractor_member).get(_detail(event)).content.decode()

    assert "あなたの申込" in content
    assert "キャンセル待ち" in content
    assert "キャンセル待ちの1番目です" in content
    assert reverse("events:registration_edit", args=[waiting.pk]) in content
    assert reverse("events:registration_cancel", args=[waiting.pk]) in content
    assert "参加を申し込む" not in content


def test_event_detail_of_a_cancelled_event_shows_the_reason_and_no_register_button(
    client_for, contractor_member
):
    event = EventFactory(status=Event.Status.CANCELLED, cancellation_reason="台風の接近のため")
    content = client_for(contractor_member).get(_detail(event)).content.decode()
    assert "このイベントは中止になりました" in content
    assert "台風の接近のため" in content
    assert "参加を申し込む" not in content


def test_event_detail_before_the_registration_window_says_when_it_opens(
    client_for, contractor_member
):
    event = EventFactory(registration_opens_at=timezone.now() + datetime.timedelta(days=3))
    content = client_for(contractor_member).get(_detail(event)).content.decode()
    assert "から受け付けます" in content
    assert "参加を申し込む" not in content


def test_event_detail_unknown_event_is_404(client_for, contractor_member):
    assert client_for(contractor_member).get("/events/999999/").status_code == 404


def test_event_detail_query_count(client_for, contractor_member, django_assert_num_queries):
    event = EventFactory()
    SessionFactory.create_batch(3, event=event)
    RegistrationFactory.create_batch(5, event=event)
    client = client_for(contractor_member)
    # session, user, roles (groups, memberships), programs, event, counts,
    # sessions, my registration.
    with django_assert_num_queries(9):
        client.get(_detail(event))


# --- organisation registrations ------------------------------------------------------


def _org_url(org):
    return reverse("events:organisation_registrations", args=[org.pk])


def test_organisation_registrations_for_its_org_admin(
    client_for, org_admin, contractor_member, contractor_org, other_org
):
    event = EventFactory(title="第2回 情報交換会")
    RegistrationFactory(event=event, user=contractor_member, organisation=contractor_org)
    stranger = RegistrationFactory(event=event, organisation=other_org)

    response = client_for(org_admin).get(_org_url(contractor_org))

    assert response.status_code == 200
    content = response.content.decode()
    assert "第2回 情報交換会" in content
    assert contractor_member.full_name in content
    assert stranger.user.full_name not in content
    assert client_for(org_admin).get(_org_url(other_org)).status_code == 404


def test_organisation_registrations_hidden_from_plain_members(
    client_for, contractor_member, contractor_org, outsider
):
    RegistrationFactory(user=contractor_member, organisation=contractor_org)
    assert client_for(contractor_member).get(_org_url(contractor_org)).status_code == 404
    assert client_for(outsider).get(_org_url(contractor_org)).status_code == 404
    assert client_for(None).get(_org_url(contractor_org)).status_code == 302


def test_organisation_registrations_for_the_commissioning_municipality(
    client_for, municipal_member, municipal_org, contractor_org, other_org
):
    person = MembershipFactory(organisation=contractor_org).user
    registration = RegistrationFactory(user=person, organisation=contractor_org)
    # A commission counts for the events of its own 年度.
    Commission.objects.create(
        contractor=contractor_org,
        commissioner=municipal_org,
        program=program(),
        fiscal_year=registration.event.fiscal_year,
    )

    response = client_for(municipal_member).get(_org_url(contractor_org))
    assert response.status_code == 200
    assert person.full_name in response.content.decode()
    assert client_for(municipal_member).get(_org_url(other_org)).status_code == 404


@pytest.mark.parametrize("n", [1, 50])
def test_organisation_registrations_query_count(
    client_for, org_admin, contractor_org, django_assert_num_queries, n
):
    for _ in range(n):
        RegistrationFactory(organisation=contractor_org)
    client = client_for(org_admin)
    # session, user, roles (groups, memberships), organisation, count, page.
    with django_assert_num_queries(7):
        response = client.get(_org_url(contractor_org))
    assert len(response.context["page_obj"]) == n
