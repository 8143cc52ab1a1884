"""The secretariat's event pages: list, create/edit, sessions, copy, publish,
cancel, finish, registrations, manual add and the bulk message."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from core.dates import fiscal_year_of
from core.models import OutboxMessage
from events.models import Event, Registration, Session
from network.models import Organisation, User

from .event_factories import EventFactory, RegistrationFactory, SessionFactory
from .factories import MembershipFactory, OrganisationFactory, UserFactory, program
from .queries import assert_flat_query_count

LIST_URL = reverse("events:manage_list")
CREATE_URL = reverse("events:create")

# Every page of this module, by URL name, with the kwargs it needs.
EVENT_PAGES = [
    "edit",
    "sessions",
    "copy",
    "publish",
    "cancel",
    "finish",
    "registrations",
    "registration_add",
    "checkin",
    "message",
]


def url(name, event, **kwargs):
    return reverse(f"events:{name}", kwargs={"pk": event.pk, **kwargs})


def local(*args):
    return timezone.make_aware(datetime.datetime(*args))


def event_data(**changes):
    """A complete, valid POST for EventForm (datetime-local values)."""
    data = {
        "kind": Event.Kind.EXCHANGE,
        "number": "3",
        "fiscal_year": "",
        "title": "第3回 情報交換会",
        "theme": "就労支援と家計改善",
        "description": "シンポジウムと同時開催。",
        "starts_at": "2021-10-15T13:30",
        "ends_at": "2021-10-15T17:00",
        "registration_opens_at": "2021-09-01T09:00",
        "registration_closes_at": "2021-10-14T17:00",
        "format": Event.Format.VENUE,
        "venue_name": "かでる2・7",
        "venue_address": "札幌市中央区北2条西7丁目",
        "municipality": "",
        "venue_capacity": "60",
        "online_capacity": "",
        "online_url": "",
        "social_capacity": "",
        "social_details": "",
        "audience": Event.Audience.MEMBERS,
        "audience_program": "",
        "host_organisation": "",
        "report_url": "",
        "video_url": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def errors_of(response, field):
    return response.context["form"].errors.get(field, [])


@pytest.fixture
def manager(client_for, secretariat):
    return client_for(secretariat)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


# --- access -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "actor", ["outsider", "contractor_member", "municipal_member", "org_admin", "committee"]
)
def test_manage_pages_answer_404_to_everyone_but_the_secretariat(client_for, actors, actor):
    event = EventFactory(status=Event.Status.DRAFT)
    registration = RegistrationFactory(event=event)
    client = client_for(actors[actor])
    urls = [LIST_URL, CREATE_URL]
    urls += [url(name, event) for name in EVENT_PAGES]
    urls.append(url("checkin_toggle", event, registration_pk=registration.pk))
    for target in urls:
        assert client.get(target).status_code == 404, target
        assert client.post(target, {"reason": "x", "confirm": "on"}).status_code == 404, target
    event.refresh_from_db()
    registration.refresh_from_db()
    assert event.status == Event.Status.DRAFT
    assert registration.attended is False
    assert Event.objects.count() == 1


def test_manage_pages_send_anonymous_visitors_to_login(client, db):
    event = EventFactory()
    for target in [LIST_URL, CREATE_URL, *(url(name, event) for name in EVENT_PAGES)]:
        response = client.get(target)
        assert response.status_code == 302, target
        assert response["Location"].startswith(reverse("account_login")), target


def test_manage_pages_answer_404_for_an_unknown_event(manager):
    for name in EVENT_PAGES:
        assert manager.get(reverse(f"events:{name}", kwargs={"pk": 999999})).status_code == 404


# --- manage_list ----------------------------------------------------------------------


def test_manage_list_shows_drafts_counts_and_actions(manager):
    draft = EventFactory(title="第9回 情報交換会（下書き）", status=Event.Status.DRAFT)
    event = EventFactory(title="第2回 情報交換会", venue_capacity=2)
    RegistrationFactory.create_batch(2, event=event, attended=True)
    RegistrationFactory(event=event, status=Registration.Status.WAITLISTED)
    RegistrationFactory(event=event, status=Registration.Status.CANCELLED)
    response = manager.get(LIST_URL)
    content = response.content.decode()
    assert "第9回 情報交換会（下書き）" in content
    assert "下書き" in content
    rows = {e.pk: e for e in response.context["page_obj"]}
    assert (rows[event.pk].confirmed_count, rows[event.pk].waitlisted_count) == (2, 1)
    assert rows[event.pk].attended_count == 2
    assert (rows[draft.pk].confirmed_count, rows[draft.pk].attended_count) == (0, 0)
    # At most three actions per row (issue 9): what the status allows, as in the
    # event's header (issue 10); the title opens the event's own page.
    for name in ("registrations", "publish", "delete"):
        assert url(name, draft) in content
    own_page = manager.get(url("registrations", draft)).content.decode()
    for name in ("edit", "registrations", "copy", "publish", "sessions", "delete"):
        assert url(name, draft) in own_page
    # A draft has nobody to check in or to write to (Event.can_check_in,
    # can_send_bulk_message), so neither page is offered.
    for name in ("checkin", "message"):
        assert url(name, draft) not in own_page
    own_page = manager.get(url("registrations", event)).content.decode()
    assert reverse("events:export", kwargs={"pk": event.pk, "fmt": "csv"}) in own_page
    assert reverse("events:export", kwargs={"pk": event.pk, "fmt": "xlsx"}) in own_page
    assert "新しいイベント" in content and CREATE_URL in content
    assert "参加者名簿の取り込み" in content and reverse("events:import") in content


def test_manage_list_filters_by_year_status_and_kind(manager):
    EventFactory(title="二〇二一年度の会", starts_at=local(2021, 6, 4, 13, 30), fiscal_year=2021)
    EventFactory(title="二〇二二年度の会", starts_at=local(2022, 6, 4, 13, 30), fiscal_year=2022)
    EventFactory(title="中止の会", status=Event.Status.CANCELLED, fiscal_year=2022)
    EventFactory(title="勉強会", kind=Event.Kind.STUDY, fiscal_year=2022)

    def titles(query):
        return {e.title for e in manager.get(LIST_URL, query).context["page_obj"]}

    assert titles({"fiscal_year": "2021"}) == {"二〇二一年度の会"}
    assert titles({"status": "cancelled"}) == {"中止の会"}
    assert titles({"kind": "study"}) == {"勉強会"}
    assert titles({"q": "勉強"}) == {"勉強会"}
    assert "令和3年度" in manager.get(LIST_URL).content.decode()


def test_manage_list_shows_an_empty_state(manager):
    response = manager.get(LIST_URL)
    assert "まだイベントがありません" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"fiscal_year": "abc"},
        {"status": "nonsense"},
        {"kind": "'; DROP TABLE"},
        {"q": "x" * 500},
        {"page": "-1"},
        {"page": "99999"},
        {"fiscal_year": "\x00"},
    ],
)
def test_manage_list_garbage_query_strings_never_500(manager, query):
    EventFactory()
    response = manager.get(LIST_URL, query)
    assert response.status_code == 200


def test_manage_list_query_count_is_flat(django_assert_num_queries, manager):
    def add(n):
        for event in EventFactory.create_batch(n):
            RegistrationFactory(event=event)

    # session, user, groups, memberships (roles); fiscal years; count; page.
    assert_flat_query_count(
        django_assert_num_queries,
        manager,
        LIST_URL,
        add,
        7,
        lambda response: len(response.context["page_obj"]),
    )


# --- create / edit ----------------------------------------------------------------------


def test_event_create_saves_a_draft_with_the_fiscal_year_from_the_start(manager):
    response = manager.post(
        CREATE_URL,
        event_data(
            starts_at="2022-02-24T13:30",
            ends_at="2022-02-24T16:00",
            registration_opens_at="",
            registration_closes_at="",
        ),
    )
    event = Event.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("edit", event)
    assert event.status == Event.Status.DRAFT
    assert event.fiscal_year == 2021  # February belongs to the 年度 that began in April
    assert event.venue_capacity == 60
    assert timezone.localtime(event.starts_at).hour == 13


def test_event_create_keeps_an_explicit_fiscal_year_and_warns(manager):
    response = manager.post(CREATE_URL, event_data(fiscal_year="2020"), follow=True)
    assert Event.objects.get().fiscal_year == 2020
    assert "開始日時から決まる年度（2021）と違います" in response.content.decode()


def test_fiscal_year_of_follows_april_to_march_in_japan():
    assert fiscal_year_of(datetime.date(2021, 4, 1)) == 2021
    assert fiscal_year_of(datetime.date(2022, 3, 31)) == 2021
    # 1 April 08:00 in Japan is still 31 March in UTC.
    moment = datetime.datetime(2022, 3, 31, 23, 0, tzinfo=datetime.UTC)
    assert fiscal_year_of(moment) == 2022


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"ends_at": "2021-10-15T12:00"}, "ends_at", "終了日時は開始日時より後にしてください。"),
        ({"ends_at": "2021-10-15T13:30"}, "ends_at", "終了日時は開始日時より後にしてください。"),
        (
            {"registration_closes_at": "2021-10-16T09:00"},
            "registration_closes_at",
            "申込締切は終了日時より前にしてください。",
        ),
        (
            {"registration_opens_at": "2021-10-14T18:00"},
            "registration_closes_at",
            "申込締切は申込開始より後にしてください。",
        ),
        ({"venue_capacity": "-1"}, "venue_capacity", "定員は0以上の数を入力してください"),
        ({"social_capacity": "-5"}, "social_capacity", "定員は0以上の数を入力してください"),
        (
            {"audience": Event.Audience.PROGRAM},
            "audience_program",
            "対象の事業を選んでください。",
        ),
        ({"fiscal_year": "1999"}, "fiscal_year", "年度は2000以降の西暦で入力してください。"),
        ({"fiscal_year": "令和3"}, "fiscal_year", "年度は西暦の数字で入力してください"),
        (
            {"starts_at": "", "fiscal_year": ""},
            "fiscal_year",
            "年度を入力するか、開始日時を入力してください。",
        ),
    ],
)
def test_event_form_refuses_bad_input_in_japanese(manager, changes, field, message):
    response = manager.post(CREATE_URL, event_data(**changes))
    assert response.status_code == 200
    assert any(message in error for error in errors_of(response, field)), errors_of(response, field)
    assert "入力内容を確認してください。" in response.content.decode()
    assert not Event.objects.exists()


def test_event_form_program_audience_saves_with_a_program(manager):
    manager.post(
        CREATE_URL,
        event_data(audience=Event.Audience.PROGRAM, audience_program=program("jiritsu_sodan").pk),
    )
    assert Event.objects.get().audience_program == program("jiritsu_sodan")


def test_event_form_drops_a_program_left_over_from_another_audience(manager):
    manager.post(CREATE_URL, event_data(audience_program=program("jiritsu_sodan").pk))
    assert Event.objects.get().audience_program is None


def test_event_form_online_without_url_saves_the_draft_with_a_warning(manager):
    response = manager.post(CREATE_URL, event_data(format=Event.Format.HYBRID), follow=True)
    event = Event.objects.get()
    assert event.format == Event.Format.HYBRID
    assert "オンライン参加URLが未入力です" in response.content.decode()


def test_event_edit_changes_the_event(manager):
    event = EventFactory(title="第4回 情報交換会")
    data = event_data(title="第4回 情報交換会（北広島）", online_url="example.org/meet")
    response = manager.post(url("edit", event), data)
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.title == "第4回 情報交換会（北広島）"
    assert event.online_url == "https://example.org/meet"
    assert event.status == Event.Status.PUBLISHED  # the form never changes the status


def test_event_edit_shows_local_times_in_the_inputs(manager):
    event = EventFactory(starts_at=local(2021, 6, 4, 13, 30), ends_at=local(2021, 6, 4, 16, 0))
    content = manager.get(url("edit", event)).content.decode()
    assert 'type="datetime-local"' in content
    assert 'value="2021-06-04T13:30"' in content


@pytest.mark.parametrize(
    "data",
    [
        {"starts_at": "not a date", "ends_at": "2021-99-99T99:99"},
        {"kind": "party", "format": "teleport", "audience": "everyone"},
        {"municipality": "abc", "host_organisation": "99999999", "audience_program": "x"},
        {"venue_capacity": "1e9999", "number": "99999999999"},
        {"title": "x" * 5000},
        {"report_url": "javascript:alert(1)"},
    ],
)
def test_event_form_random_input_never_500(manager, data):
    response = manager.post(CREATE_URL, event_data(**data))
    assert response.status_code == 200
    assert not Event.objects.exists()


# --- slides ----------------------------------------------------------------------------


def pdf(name="slides.pdf", size=2000):
    body = b"%PDF-1.7\n" + b"0" * max(size - 9, 0)
    return SimpleUploadedFile(name, body, content_type="application/pdf")


def test_event_slides_accept_a_pdf(manager, media):
    event = EventFactory()
    response = manager.post(url("edit", event), {**event_data(), "slides": pdf()})
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.slides.name.endswith(".pdf")
    assert (media / event.slides.name).read_bytes().startswith(b"%PDF-")


def test_event_slides_refuse_other_bytes_named_pdf(manager, media):
    event = EventFactory()
    fake = SimpleUploadedFile("slides.pdf", b"PK\x03\x04 not a pdf", content_type="application/pdf")
    response = manager.post(url("edit", event), {**event_data(), "slides": fake})
    assert response.status_code == 200
    assert errors_of(response, "slides") == [
        "PDFファイルとして読み込めません。PDFに書き出したファイルをアップロードしてください。"
    ]
    event.refresh_from_db()
    assert not event.slides
    assert not list(media.rglob("*"))


def test_event_slides_refuse_another_extension(manager, media):
    event = EventFactory()
    doc = SimpleUploadedFile("slides.pptx", b"%PDF-1.7 but named pptx")
    response = manager.post(url("edit", event), {**event_data(), "slides": doc})
    assert errors_of(response, "slides") == [
        "資料はPDFファイル（拡張子 .pdf）をアップロードしてください。"
    ]
    event.refresh_from_db()
    assert not event.slides


def test_event_slides_refuse_a_file_over_the_limit(manager, media, settings):
    settings.EVENT_SLIDES_MAX_BYTES = 1024
    event = EventFactory()
    response = manager.post(url("edit", event), {**event_data(), "slides": pdf(size=4096)})
    errors = errors_of(response, "slides")
    assert len(errors) == 1 and "資料のファイルが大きすぎます" in errors[0]
    assert "1.0 KB" in errors[0] or "1.0 KB" in errors[0].replace("\xa0", " ")
    event.refresh_from_db()
    assert not event.slides


def test_event_slides_limit_defaults_to_20_mb(settings):
    from events.forms_manage import slides_max_bytes

    del settings.EVENT_SLIDES_MAX_BYTES
    assert slides_max_bytes() == 20 * 1024 * 1024


# --- sessions ---------------------------------------------------------------------------


def formset_data(event, rows, extra=0):
    """POST data for the sessions formset: `rows` are dicts for existing and new forms."""
    data = {
        "sessions-TOTAL_FORMS": str(len(rows) + extra),
        "sessions-INITIAL_FORMS": str(sum(1 for row in rows if row.get("id"))),
        "sessions-MIN_NUM_FORMS": "0",
        "sessions-MAX_NUM_FORMS": "50",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"sessions-{i}-{key}"] = value
        data[f"sessions-{i}-event"] = str(event.pk)
    return data


def test_event_sessions_adds_and_edits_sessions(manager):
    event = EventFactory()
    existing = SessionFactory(event=event, title="家計改善", capacity=10, order=1)
    data = formset_data(
        event,
        [
            {
                "id": existing.pk,
                "title": "家計改善支援",
                "description": "",
                "capacity": "12",
                "order": "1",
            },
            {"title": "就労準備支援", "description": "事例検討", "capacity": "", "order": "2"},
        ],
    )
    response = manager.post(url("sessions", event), data)
    assert response.status_code == 302
    sessions = list(event.sessions.order_by("order"))
    assert [(s.title, s.capacity) for s in sessions] == [
        ("家計改善支援", 12),
        ("就労準備支援", None),
    ]


def test_event_sessions_refuses_a_negative_capacity(manager):
    event = EventFactory()
    data = formset_data(event, [{"title": "居住支援", "capacity": "-3", "order": "0"}])
    response = manager.post(url("sessions", event), data)
    assert response.status_code == 200
    assert "定員は0以上の数を入力してください" in response.content.decode()
    assert not event.sessions.exists()


def test_event_sessions_deleting_a_session_with_registrations_asks_first(manager):
    event = EventFactory()
    session = SessionFactory(event=event, title="子どもの学習支援")
    people = RegistrationFactory.create_batch(2, event=event, session=session)
    row = {"id": session.pk, "title": session.title, "order": "0", "DELETE": "on"}
    response = manager.post(url("sessions", event), formset_data(event, [row]))
    assert response.status_code == 200
    content = response.content.decode()
    assert "申込のある分科会を削除しようとしています" in content
    assert "「子どもの学習支援」：2人が申し込んでいます" in content
    assert "分科会なし" in content
    assert Session.objects.filter(pk=session.pk).exists()

    data = {**formset_data(event, [row]), "confirm_delete": "yes"}
    response = manager.post(url("sessions", event), data, follow=True)
    assert not Session.objects.filter(pk=session.pk).exists()
    for registration in people:
        registration.refresh_from_db()
        assert registration.session is None
        assert registration.status == Registration.Status.CONFIRMED
    assert "申し込んでいた2人は「分科会なし」になりました" in response.content.decode()


def test_event_sessions_deletes_an_unused_session_without_asking(manager):
    event = EventFactory()
    session = SessionFactory(event=event)
    row = {"id": session.pk, "title": session.title, "order": "0", "DELETE": "on"}
    response = manager.post(url("sessions", event), formset_data(event, [row]))
    assert response.status_code == 302
    assert not event.sessions.exists()


def test_event_sessions_garbage_management_form_never_500(manager):
    event = EventFactory()
    for data in [
        {},
        {"sessions-TOTAL_FORMS": "abc"},
        {"sessions-TOTAL_FORMS": "100000", "sessions-INITIAL_FORMS": "0"},
    ]:
        response = manager.post(url("sessions", event), data)
        assert response.status_code == 200


def test_event_sessions_cannot_touch_another_events_session(manager):
    event, other = EventFactory(), EventFactory()
    foreign = SessionFactory(event=other, title="よその分科会")
    row = {"id": foreign.pk, "title": "乗っ取り", "order": "0"}
    response = manager.post(url("sessions", event), formset_data(event, [row]))
    assert response.status_code in (200, 302)
    foreign.refresh_from_db()
    assert (foreign.event, foreign.title) == (other, "よその分科会")
    assert not event.sessions.exists()


# --- copy / publish / cancel / finish ------------------------------------------------------


def test_event_copy_asks_then_makes_a_draft_and_opens_it(manager):
    event = EventFactory(title="第5回 情報交換会")
    SessionFactory(event=event, title="分科会A")
    response = manager.get(url("copy", event))
    assert "コピーして下書きを作る" in response.content.decode()
    assert Event.objects.count() == 1

    response = manager.post(url("copy", event))
    copy = Event.objects.exclude(pk=event.pk).get()
    assert response.status_code == 302
    assert response["Location"] == url("edit", copy)
    assert copy.status == Event.Status.DRAFT
    assert list(copy.sessions.values_list("title", flat=True)) == ["分科会A"]


def test_event_publish_shows_what_happens_and_publishes(manager):
    event = EventFactory(status=Event.Status.DRAFT, format=Event.Format.HYBRID, online_url="")
    content = manager.get(url("publish", event)).content.decode()
    assert "公開すると" in content
    assert "オンライン参加URLが未入力です" in content
    response = manager.post(url("publish", event))
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.status == Event.Status.PUBLISHED


def test_event_publish_does_nothing_to_a_cancelled_event(manager):
    event = EventFactory(status=Event.Status.CANCELLED)
    response = manager.post(url("publish", event))
    assert response.status_code == 200
    assert "公開できるのは下書きだけです" in response.content.decode()
    event.refresh_from_db()
    assert event.status == Event.Status.CANCELLED


def test_event_cancel_needs_a_reason_and_the_confirmation(manager):
    event = EventFactory()
    RegistrationFactory.create_batch(3, event=event)
    content = manager.get(url("cancel", event)).content.decode()
    assert "申込済みの 3 人全員に、中止のお知らせメールが送られます。" in content

    response = manager.post(url("cancel", event), {"reason": "", "confirm": ""})
    assert response.status_code == 200
    content = response.content.decode()
    assert "中止の理由を入力してください。" in content
    assert "確認のチェックを入れてください。" in content
    event.refresh_from_db()
    assert event.status == Event.Status.PUBLISHED


def test_event_cancel_notifies_everyone_registered(
    manager, django_capture_on_commit_callbacks, mailoutbox
):
    event = EventFactory()
    active = RegistrationFactory.create_batch(2, event=event)
    active.append(RegistrationFactory(event=event, status=Registration.Status.WAITLISTED))
    gone = RegistrationFactory(event=event, status=Registration.Status.CANCELLED)
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(
            url("cancel", event), {"reason": "大雪警報のため中止します。", "confirm": "on"}
        )
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.status == Event.Status.CANCELLED
    assert event.cancellation_reason == "大雪警報のため中止します。"
    outbox = OutboxMessage.objects.filter(to_email__in=[r.user.email for r in active])
    assert outbox.count() == 3
    assert not OutboxMessage.objects.filter(to_email=gone.user.email).exists()
    assert sorted(m.to[0] for m in mailoutbox) == sorted(r.user.email for r in active)
    assert "大雪警報のため中止します。" in mailoutbox[0].body


def test_event_finish_asks_then_sends_thanks(manager, django_capture_on_commit_callbacks):
    event = EventFactory(
        report_url="https://example.org/report",
        starts_at=timezone.now() - datetime.timedelta(hours=4),
    )
    came = RegistrationFactory(event=event, attended=True)
    RegistrationFactory(event=event, attended=False)
    content = manager.get(url("finish", event)).content.decode()
    assert "参加した 1 人に、お礼と資料のご案内のメールを送ります。" in content
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(url("finish", event))
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.status == Event.Status.FINISHED
    assert list(OutboxMessage.objects.values_list("to_email", flat=True)) == [came.user.email]


def test_event_state_pages_refuse_get_side_effects(manager):
    event = EventFactory(status=Event.Status.DRAFT)
    for name in ("copy", "publish", "cancel", "finish"):
        assert manager.get(url(name, event)).status_code == 200
    event.refresh_from_db()
    assert event.status == Event.Status.DRAFT
    assert Event.objects.count() == 1


# --- registrations ------------------------------------------------------------------------


def test_registration_list_shows_people_questions_and_counts(
    manager, municipal_org, contractor_org
):
    event = EventFactory(has_social=True, social_capacity=10)
    session = SessionFactory(event=event, title="家計改善")
    RegistrationFactory(
        event=event,
        user__full_name="山田 花子",
        user__full_name_kana="やまだ はなこ",
        organisation=municipal_org,
        session=session,
        social=Registration.SocialStatus.CONFIRMED,
        question="住まいを失いそうな人への支援が知りたい",
    )
    RegistrationFactory(event=event, organisation=contractor_org, mode=Registration.Mode.ONLINE)
    RegistrationFactory(event=event, status=Registration.Status.WAITLISTED)
    RegistrationFactory(
        event=event, status=Registration.Status.CANCELLED, user__full_name="取消 太郎"
    )
    response = manager.get(url("registrations", event))
    content = response.content.decode()
    assert "山田 花子" in content and "やまだ はなこ" in content
    assert "住まいを失いそうな人への支援が知りたい" in content
    assert "取消 太郎" not in content
    summary = response.context["summary"]
    counts = summary["counts"]
    assert (counts["confirmed"], counts["waitlisted"], counts["social_confirmed"]) == (2, 1, 1)
    modes = {row["label"]: (row["confirmed"], row["waitlisted"]) for row in summary["modes"]}
    assert modes == {"会場": (1, 1), "オンライン": (1, 0)}
    sessions = {row["label"]: row["confirmed"] for row in summary["sessions"]}
    assert sessions == {"家計改善": 1, "分科会なし": 1}
    kinds = {row["kind"]: row["count"] for row in summary["kinds"]}
    assert (kinds["municipality"], kinds["contractor"], kinds["none"]) == (1, 1, 0)
    for target in (
        reverse("events:export", kwargs={"pk": event.pk, "fmt": "csv"}),
        reverse("events:export", kwargs={"pk": event.pk, "fmt": "xlsx"}),
        url("registration_add", event),
        url("checkin", event),
        url("message", event),
    ):
        assert target in content


def test_registration_list_filters(manager, municipal_org, contractor_org):
    event = EventFactory(has_social=True)
    session = SessionFactory(event=event)
    a = RegistrationFactory(
        event=event,
        organisation=municipal_org,
        user__full_name_kana="やまだ はなこ",
        session=session,
        social=Registration.SocialStatus.CONFIRMED,
        attended=True,
    )
    b = RegistrationFactory(event=event, organisation=contractor_org, mode=Registration.Mode.ONLINE)
    c = RegistrationFactory(event=event, status=Registration.Status.WAITLISTED)
    d = RegistrationFactory(event=event, status=Registration.Status.CANCELLED)

    def shown(query):
        response = manager.get(url("registrations", event), query)
        assert response.status_code == 200
        return {r.pk for r in response.context["page_obj"]}

    assert shown({}) == {a.pk, b.pk, c.pk}
    assert shown({"status": "cancelled"}) == {d.pk}
    assert shown({"status": "waitlisted"}) == {c.pk}
    assert shown({"mode": "online"}) == {b.pk}
    assert shown({"session": str(session.pk)}) == {a.pk}
    assert shown({"session": "none"}) == {b.pk, c.pk}
    assert shown({"social": "confirmed"}) == {a.pk}
    assert shown({"org_kind": "municipality"}) == {a.pk}
    assert shown({"org_kind": "none"}) == {c.pk}
    assert shown({"attended": "yes"}) == {a.pk}
    assert shown({"attended": "no"}) == {b.pk, c.pk}
    assert shown({"q": "ヤマダ"}) == {a.pk}
    assert shown({"q": contractor_org.name}) == {b.pk}


@pytest.mark.parametrize(
    "query",
    [
        {"session": "abc"},
        {"session": "999999"},
        {"status": "deleted"},
        {"org_kind": "alien"},
        {"attended": "maybe"},
        {"mode": "\x00"},
        {"q": "%' OR 1=1 --" * 30},
        {"page": "last"},
    ],
)
def test_registration_list_garbage_query_strings_never_500(manager, query):
    event = EventFactory()
    RegistrationFactory(event=event)
    assert manager.get(url("registrations", event), query).status_code == 200


def test_registration_list_is_paginated_by_50(manager):
    event = EventFactory(venue_capacity=None)
    RegistrationFactory.create_batch(51, event=event)
    response = manager.get(url("registrations", event))
    assert len(response.context["page_obj"]) == 50
    assert len(manager.get(url("registrations", event), {"page": "2"}).context["page_obj"]) == 1


def test_registration_list_query_count_is_flat(django_assert_num_queries, manager):
    event = EventFactory(venue_capacity=None, has_social=True)
    SessionFactory.create_batch(2, event=event)
    org = OrganisationFactory()

    def add(n):
        RegistrationFactory.create_batch(n, event=event, organisation=org)

    # session, user, groups, memberships (roles); event; sessions; summary
    # aggregate; count; page (registrations with user, organisation, session).
    assert_flat_query_count(
        django_assert_num_queries,
        manager,
        url("registrations", event),
        add,
        9,
        lambda response: len(response.context["page_obj"]),
    )


# --- manual add ----------------------------------------------------------------------------


def add_data(**changes):
    data = {
        "email": "",
        "full_name": "",
        "full_name_kana": "",
        "organisation": "",
        "organisation_name": "",
        "mode": Registration.Mode.VENUE,
        "session": "",
        "question": "",
    }
    data.update(changes)
    return data


def test_registration_add_registers_an_existing_member(manager, contractor_member, contractor_org):
    event = EventFactory()
    session = SessionFactory(event=event)
    response = manager.post(
        url("registration_add", event),
        add_data(
            email="NPO@example.org",
            organisation=contractor_org.pk,
            session=session.pk,
            question="電話で受付",
        ),
    )
    assert response.status_code == 302
    assert response["Location"] == url("registrations", event)
    registration = Registration.objects.get(event=event)
    assert registration.user == contractor_member
    assert registration.organisation == contractor_org
    assert registration.session == session
    assert registration.status == Registration.Status.CONFIRMED
    assert registration.question == "電話で受付"


def test_registration_add_creates_a_contact_for_an_unknown_email(manager):
    event = EventFactory()
    response = manager.post(
        url("registration_add", event),
        add_data(
            email="walkin@example.org",
            full_name="飛入 参加",
            full_name_kana="とびいり さんか",
            organisation_name="江別市社会福祉協議会",
        ),
    )
    assert response.status_code == 302
    person = User.objects.get(email="walkin@example.org")
    assert person.is_contact
    assert person.full_name_kana == "とびいり さんか"
    registration = Registration.objects.get(event=event, user=person)
    assert registration.organisation_name == "江別市社会福祉協議会"


def test_registration_add_needs_a_name_for_an_unknown_email(manager):
    event = EventFactory()
    response = manager.post(url("registration_add", event), add_data(email="nobody@example.org"))
    assert response.status_code == 200
    assert "このメールアドレスの人は未登録です" in response.content.decode()
    assert not User.objects.filter(email="nobody@example.org").exists()


def test_registration_add_refuses_a_second_registration_and_creates_nothing(manager):
    event = EventFactory()
    existing = RegistrationFactory(event=event)
    response = manager.post(url("registration_add", event), add_data(email=existing.user.email))
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert Registration.objects.filter(event=event).count() == 1


def test_registration_add_waitlists_when_full_and_says_so(manager):
    event = EventFactory(venue_capacity=1)
    RegistrationFactory(event=event)
    person = UserFactory()
    response = manager.post(
        url("registration_add", event), add_data(email=person.email), follow=True
    )
    registration = Registration.objects.get(event=event, user=person)
    assert registration.status == Registration.Status.WAITLISTED
    assert "キャンセル待ちとして登録しました" in response.content.decode()


def test_registration_add_can_confirm_over_capacity(
    manager, django_capture_on_commit_callbacks, mailoutbox
):
    event = EventFactory(venue_capacity=1)
    RegistrationFactory(event=event)
    speaker = UserFactory(full_name="講師 先生")
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(
            url("registration_add", event),
            add_data(email=speaker.email, force_confirm="on"),
            follow=True,
        )
    registration = Registration.objects.get(event=event, user=speaker)
    assert registration.status == Registration.Status.CONFIRMED
    assert Registration.objects.filter(event=event, status="confirmed").count() == 2
    assert "キャンセル待ちとして登録しました" not in response.content.decode()
    assert any(speaker.email in m.to for m in mailoutbox)


def test_confirm_over_capacity_refuses_a_confirmed_registration(secretariat):
    from events.services import RegistrationError, confirm_over_capacity

    registration = RegistrationFactory()
    with pytest.raises(RegistrationError, match="キャンセル待ちの申し込みだけ"):
        confirm_over_capacity(registration=registration, by=secretariat)


def test_confirm_over_capacity_is_for_the_secretariat_only(contractor_member):
    from events.services import RegistrationError, confirm_over_capacity

    event = EventFactory(venue_capacity=0)
    registration = RegistrationFactory(event=event, status=Registration.Status.WAITLISTED)
    with pytest.raises(RegistrationError):
        confirm_over_capacity(registration=registration, by=contractor_member)
    registration.refresh_from_db()
    assert registration.status == Registration.Status.WAITLISTED


def test_registration_add_from_checkin_returns_to_checkin(manager):
    event = EventFactory()
    person = UserFactory(full_name_kana="うけつけ はなこ")
    response = manager.post(
        url("registration_add", event), add_data(email=person.email, **{"from": "checkin"})
    )
    assert response["Location"].startswith(url("checkin", event))


def test_registration_add_offers_only_the_event_modes(manager):
    event = EventFactory(format=Event.Format.VENUE)
    person = UserFactory()
    response = manager.post(
        url("registration_add", event), add_data(email=person.email, mode="online")
    )
    assert response.status_code == 200
    assert "mode" in response.context["form"].errors
    assert not Registration.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"email": "not-an-email"},
        {"email": "a@example.org", "organisation": "abc", "session": "-1", "mode": "teleport"},
        {"email": "a@example.org", "full_name": "x" * 1000},
        {"email": "\x00@example.org", "full_name": "\x00"},
    ],
)
def test_registration_add_random_input_never_500(manager, data):
    event = EventFactory()
    response = manager.post(url("registration_add", event), add_data(**data))
    assert response.status_code == 200
    assert not Registration.objects.exists()


def test_registration_add_lists_only_this_events_sessions(manager):
    event = EventFactory()
    SessionFactory(event=event, title="この会の分科会")
    SessionFactory(title="よその会の分科会")
    content = manager.get(url("registration_add", event)).content.decode()
    assert "この会の分科会" in content and "よその会の分科会" not in content


# --- bulk message --------------------------------------------------------------------------


def test_message_previews_the_recipient_count_then_queues(
    manager, django_capture_on_commit_callbacks
):
    event = EventFactory()
    confirmed = RegistrationFactory.create_batch(2, event=event)
    RegistrationFactory(event=event, status=Registration.Status.WAITLISTED)
    RegistrationFactory(event=event, status=Registration.Status.CANCELLED)
    data = {
        "subject": "会場変更のお知らせ",
        "body": "会場が3階に変わりました。",
        "statuses": ["confirmed"],
    }

    response = manager.post(url("message", event), {**data, "action": "preview"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "2 人に送ります。" in content
    assert "会場が3階に変わりました。" in content
    assert not OutboxMessage.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(url("message", event), {**data, "action": "send"}, follow=True)
    assert "2人へのメールを送信待ちに登録しました" in response.content.decode()
    assert sorted(OutboxMessage.objects.values_list("to_email", flat=True)) == sorted(
        r.user.email for r in confirmed
    )


def test_message_sent_twice_from_one_preview_queues_each_mail_once(
    manager, django_capture_on_commit_callbacks
):
    event = EventFactory()
    RegistrationFactory.create_batch(3, event=event)
    data = {"subject": "資料のご案内", "body": "資料を添付します。", "statuses": ["confirmed"]}
    preview = manager.post(url("message", event), {**data, "action": "preview"})
    message_id = preview.context["message_id"]
    assert f'name="message_id" value="{message_id}"' in preview.content.decode()

    for _attempt in range(2):  # a double click, or a reload of the send
        with django_capture_on_commit_callbacks(execute=True):
            manager.post(
                url("message", event), {**data, "action": "send", "message_id": message_id}
            )

    assert OutboxMessage.objects.count() == 3


def test_message_with_a_forged_message_id_sends_nothing(manager):
    event = EventFactory()
    RegistrationFactory(event=event)
    data = {"subject": "x", "body": "y", "statuses": ["confirmed"], "action": "send"}
    response = manager.post(url("message", event), {**data, "message_id": "../../etc"})
    assert response.status_code == 200
    assert "送信内容の確認からやり直してください。" in response.content.decode()
    assert not OutboxMessage.objects.exists()


def test_message_needs_subject_body_and_recipients(manager):
    event = EventFactory()
    response = manager.post(url("message", event), {"action": "preview"})
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"subject", "body", "statuses"}
    assert "送り先を1つ以上選んでください。" in response.content.decode()


@pytest.mark.parametrize(
    "data",
    [
        {"subject": "x", "body": "y", "statuses": ["everyone"], "action": "send"},
        {"subject": "x", "body": "y", "statuses": ["cancelled"], "action": "send"},
        {"subject": "x" * 1000, "body": "y", "statuses": ["confirmed"], "action": "send"},
        {"subject": "x", "body": "y", "statuses": ["confirmed"], "action": "\x00"},
    ],
)
def test_message_random_input_never_500_and_sends_nothing(manager, data):
    event = EventFactory()
    RegistrationFactory(event=event)
    assert manager.post(url("message", event), data).status_code == 200
    assert not OutboxMessage.objects.exists()


def test_manage_pages_render_for_the_secretariat(manager):
    event = EventFactory(has_social=True)
    SessionFactory(event=event)
    RegistrationFactory(
        event=event, organisation=OrganisationFactory(kind=Organisation.Kind.SUPPORT)
    )
    MembershipFactory()
    for target in [LIST_URL, CREATE_URL, *(url(name, event) for name in EVENT_PAGES)]:
        response = manager.get(target)
        assert response.status_code == 200, target
        assert "入力内容を確認してください" not in response.content.decode(), target


def test_event_edit_raising_a_capacity_promotes_the_waiting_list(
    manager, django_capture_on_commit_callbacks
):
    event = EventFactory(venue_capacity=1, starts_at=local(2030, 6, 4, 13, 30))
    RegistrationFactory(event=event)
    waiting = RegistrationFactory(event=event, status=Registration.Status.WAITLISTED)
    data = event_data(
        title=event.title,
        starts_at="2030-06-04T13:30",
        ends_at="2030-06-04T16:30",
        registration_opens_at="",
        registration_closes_at="",
        venue_capacity="2",
        # The venue changes too: registrants are told after the confirmation.
        confirm_changes="yes",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(url("edit", event), data, follow=True)
    waiting.refresh_from_db()
    assert waiting.status == Registration.Status.CONFIRMED
    assert "キャンセル待ちだった1人を繰り上げました" in response.content.decode()
    assert OutboxMessage.objects.filter(to_email=waiting.user.email).exists()


def test_registration_add_refuses_a_draft_event(manager):
    # Event.can_add_registrations decides before the form (issue 10); the
    # service refuses too (test_event_services).
    event = EventFactory(status=Event.Status.DRAFT)
    person = UserFactory()
    response = manager.post(
        url("registration_add", event), add_data(email=person.email), follow=True
    )
    assert response.redirect_chain == [(url("registrations", event), 302)]
    assert "参加者を追加できるのは公開中のイベントだけです。" in response.content.decode()
    assert not Registration.objects.exists()


def test_registration_add_puts_an_organisation_refusal_on_the_field(manager, other_org):
    event = EventFactory()
    person = MembershipFactory().user
    response = manager.post(
        url("registration_add", event), add_data(email=person.email, organisation=other_org.pk)
    )
    assert response.context["form"].errors["organisation"] == ["選択した組織に所属していません。"]
    assert not Registration.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"reason": "x" * 5000, "confirm": "on"},
        {"reason": "\x00", "confirm": "maybe"},
        {"reason": "   ", "confirm": "on"},
        {"reason": ["a", "b"], "confirm": ["on", "off"]},
    ],
)
def test_event_cancel_garbage_post_never_500(manager, data):
    event = EventFactory()
    response = manager.post(url("cancel", event), data)
    assert response.status_code in (200, 302)
    event.refresh_from_db()
    if response.status_code == 200:
        assert event.status == Event.Status.PUBLISHED


def test_event_finish_refuses_an_event_that_has_not_started(manager):
    event = EventFactory()
    response = manager.post(url("finish", event), follow=True)
    assert "開催前のイベントは終了にできません。" in response.content.decode()
    event.refresh_from_db()
    assert event.status == Event.Status.PUBLISHED


def test_event_edit_warns_when_a_format_change_strands_registrations(manager):
    event = EventFactory(format=Event.Format.HYBRID)
    RegistrationFactory(event=event, mode=Registration.Mode.ONLINE)
    RegistrationFactory(event=event, mode=Registration.Mode.VENUE)
    # The date and venue change too: confirmed at once (registrants are told).
    data = event_data(format=Event.Format.VENUE, confirm_changes="yes")
    response = manager.post(url("edit", event), data, follow=True)
    event.refresh_from_db()
    assert event.format == Event.Format.VENUE
    assert "選べなくなった参加方法の申込者が1人います" in response.content.decode()
