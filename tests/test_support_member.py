"""The members' pages of the back-up menus: the catalogue, applying (and each
refusal, in Japanese, with nothing written), following one's organisation's
applications, withdrawing; and the query counts of the list pages."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from core.dates import current_fiscal_year
from network.models import Organisation
from support import services
from support.enums import ApplicationStatus, MenuStatus, QuestionPurpose
from support.models import Application, Menu, MenuQuestion
from surveys.enums import QuestionKind
from tests import snapshots
from tests import support_factories as sf
from tests.queries import assert_flat_query_count

pytestmark = pytest.mark.django_db

NEED = "相談記録の付け方を職員で統一したい。"


def _content(response) -> str:
    return response.content.decode()


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _apply_data(organisation, **extra):
    return {
        "organisation": organisation.pk,
        "need": NEED,
        "contact_name": "受託 花子",
        "contact_email": "npo@example.org",
        "contact_phone": "",
        **extra,
    }


# --- the catalogue -----------------------------------------------------------------


def test_menus_page_lists_menus_with_partners_and_slots(
    contractor_member, municipal_member, client_for
):
    full = sf.menu(number=1, name="デジタル化相談", slots=1)
    sf.engagement(sf.application(full, municipal_member))
    sf.menu(number=2, name="食料支援の連携", status=MenuStatus.ACTIVE)

    response = client_for(contractor_member).get(reverse("support:menus"))

    content = _content(response)
    assert [m.name for m in response.context["menus"]] == ["デジタル化相談", "食料支援の連携"]
    assert [m.slots_left for m in response.context["menus"]] == [0, 5]
    assert '<span class="support-number">①</span> デジタル化相談' in content
    assert "協力団体1" in content and "協力団体2" in content
    assert "0 件（年間 1 件）" in content
    assert "試行" in content and "実施中" in content


def test_menus_slots_left_count_accepted_applications_of_the_year(municipal_member):
    menus = [sf.menu(slots=2), sf.menu(slots=3)]
    sf.engagement(sf.application(menus[0], municipal_member))
    sf.application(menus[1], municipal_member)  # submitted: holds no slot
    fy = current_fiscal_year()
    listed = Menu.objects.filter(pk__in=[m.pk for m in menus]).with_slots_taken(fy)
    assert [m.slots_left for m in listed.order_by("number")] == [1, 3]
    assert [services.slots_left(m, fy) for m in menus] == [1, 3]
    assert [m.slots_left for m in listed.with_slots_taken(fy - 1)] == [2, 3]


def test_menu_page_shows_who_may_apply_and_the_apply_button(contractor_member, client_for):
    menu = sf.menu(number=3, kinds=[Organisation.Kind.CONTRACTOR, Organisation.Kind.SUPPORT])

    content = _content(client_for(contractor_member).get(menu.get_absolute_url()))

    assert "受託団体・支援団体" in content
    assert reverse("support:apply", args=[3]) in content
    assert "申込む" in content


def test_menu_page_of_an_ended_menu_has_no_apply_button(contractor_member, client_for):
    menu = sf.menu(number=4, status=MenuStatus.ENDED)

    content = _content(client_for(contractor_member).get(menu.get_absolute_url()))

    assert reverse("support:apply", args=[4]) not in content
    assert "このメニューは申込を受け付けていません。" in content


# --- applying ----------------------------------------------------------------------


def test_apply_form_preselects_the_only_organisation_and_prefills_contact(
    contractor_member, contractor_org, client_for
):
    menu = sf.menu()
    form = (
        client_for(contractor_member)
        .get(reverse("support:apply", args=[menu.number]))
        .context["form"]
    )
    assert form["organisation"].initial == contractor_org.pk
    assert (form["contact_name"].initial, form["contact_email"].initial) == (
        "受託 花子",
        "npo@example.org",
    )


def test_apply_success_stores_the_application_and_its_answers(
    contractor_member, contractor_org, client_for
):
    menu = sf.menu()
    for order, (key, kind, choices) in enumerate(
        [
            ("tools", QuestionKind.MULTIPLE, ["紙", "表計算"]),
            ("staff", QuestionKind.NUMBER, []),
            ("urgency", QuestionKind.SCALE, []),
        ]
    ):
        MenuQuestion.objects.create(
            menu=menu,
            purpose=QuestionPurpose.APPLICATION,
            order=order,
            key=key,
            text=f"質問{key}",
            kind=kind,
            choices=choices,
        )
    wanted = timezone.localdate() + datetime.timedelta(days=30)

    response = client_for(contractor_member).post(
        reverse("support:apply", args=[menu.number]),
        _apply_data(
            contractor_org,
            wanted_by=wanted.isoformat(),
            q_tools=["紙", "表計算"],
            q_staff="4",
            q_urgency="5",
        ),
        follow=True,
    )

    application = Application.objects.get()
    assert response.redirect_chain == [(application.get_absolute_url(), 302)]
    assert _messages(response) == [
        "申込を受け付けました。事務局が内容を確認し、結果をメールでお知らせします。"
    ]
    assert (
        application.menu,
        application.organisation,
        application.applicant,
        application.need,
        application.wanted_by,
        application.status,
        application.answers,
    ) == (
        menu,
        contractor_org,
        contractor_member,
        NEED,
        wanted,
        ApplicationStatus.SUBMITTED,
        {"tools": ["紙", "表計算"], "staff": 4, "urgency": 5},
    )
    content = _content(response)
    assert "質問tools" in content and "紙・表計算" in content


def _refused(client, menu, data):
    before = snapshots.take()
    response = client.post(reverse("support:apply", args=[menu.number]), data)
    assert snapshots.take().changes_from(before) == []
    return response


def test_apply_with_empty_need_is_refused_next_to_the_field(
    contractor_member, contractor_org, client_for
):
    menu = sf.menu()
    response = _refused(
        client_for(contractor_member), menu, _apply_data(contractor_org, need="   ")
    )
    assert response.context["form"].errors["need"] == ["このフィールドは必須です。"]
    assert "このフィールドは必須です。" in _content(response)


def test_apply_for_an_ineligible_kind_is_refused_with_the_reason(
    contractor_member, contractor_org, client_for
):
    menu = sf.menu(kinds=[Organisation.Kind.MUNICIPALITY])
    client = client_for(contractor_member)

    form_page = _content(client.get(reverse("support:apply", args=[menu.number])))
    response = _refused(client, menu, _apply_data(contractor_org))

    reason = "この組織の種別では申込できません（対象: 自治体）。"
    assert reason in form_page
    assert response.context["form"].errors["organisation"] == [reason]


def test_apply_with_a_privacy_finding_needs_confirmation(
    contractor_member, contractor_org, client_for
):
    menu = sf.menu()
    need = "本人の携帯は090-1234-5678なので、折り返しをお願いします。"
    client = client_for(contractor_member)

    response = _refused(client, menu, _apply_data(contractor_org, need=need))

    content = _content(response)
    assert "個人が特定されるおそれのある内容が見つかりました" in content
    assert "この内容は事務局と協力団体が読みます。" in content
    assert Application.objects.count() == 0

    client.post(
        reverse("support:apply", args=[menu.number]),
        _apply_data(contractor_org, need=need, confirm_not_real_person="on"),
    )
    assert list(Application.objects.values_list("need", flat=True)) == [need]


def test_apply_for_an_ended_menu_is_refused(contractor_member, contractor_org, client_for):
    menu = sf.menu(status=MenuStatus.ENDED)
    client = client_for(contractor_member)
    before = snapshots.take()

    response = client.post(
        reverse("support:apply", args=[menu.number]), _apply_data(contractor_org), follow=True
    )

    assert snapshots.take().changes_from(before) == []
    assert response.redirect_chain == [(menu.get_absolute_url(), 302)]
    assert _messages(response) == ["このメニューは申込を受け付けていません。"]


def test_apply_with_a_past_wanted_by_is_refused(contractor_member, contractor_org, client_for):
    menu = sf.menu()
    past = timezone.localdate() - datetime.timedelta(days=1)
    response = _refused(
        client_for(contractor_member),
        menu,
        _apply_data(contractor_org, wanted_by=past.isoformat()),
    )
    assert response.context["form"].errors["wanted_by"] == ["今日以降の日付を入力してください。"]


def test_apply_for_another_organisation_is_refused(contractor_member, other_org, client_for):
    menu = sf.menu()
    response = _refused(client_for(contractor_member), menu, _apply_data(other_org))
    assert response.context["form"].errors["organisation"] == [
        f"正しく選択してください。 {other_org.pk} は候補にありません。"
    ]


# --- following applications -------------------------------------------------------


def test_applications_page_lists_only_the_users_organisations(
    contractor_member, municipal_member, client_for
):
    menu = sf.menu(name="デジタル化相談")
    own = sf.application(menu, contractor_member, need="自団体の申込")
    sf.application(menu, municipal_member, need="市の申込")

    response = client_for(contractor_member).get(reverse("support:applications"))

    assert list(response.context["page_obj"]) == [own]
    assert "札幌生活サポートセンター" in _content(response)
    assert "札幌市保健福祉局" not in _content(response)


def test_applications_page_of_a_partner_lists_not_the_assigned_applications(
    municipal_member, client_for
):
    menu = sf.menu()
    sf.engagement(sf.application(menu, municipal_member))
    partner = sf.partner_member(menu)

    response = client_for(partner).get(reverse("support:applications"))

    assert list(response.context["page_obj"]) == []
    assert "まだ申込はありません。" in _content(response)
    assert reverse("support:menus") in _content(response)


def test_application_of_another_organisation_answers_404(
    contractor_member, municipal_member, secretariat, client_for
):
    menu = sf.menu()
    foreign = sf.application(menu, municipal_member, need="市の窓口の人手が足りない")

    assert "市の窓口の人手が足りない" in _content(
        client_for(secretariat).get(foreign.get_absolute_url())
    )
    response = client_for(contractor_member).get(foreign.get_absolute_url())
    assert response.status_code == 404
    assert "市の窓口の人手が足りない" not in _content(response)


def test_application_declined_shows_the_reason_to_the_applicant(
    contractor_member, secretariat, client_for
):
    application = sf.application(sf.menu(), contractor_member)
    services.decline_application(
        application=application, by=secretariat, reason="今年度の枠が埋まっているため。"
    )

    content = _content(client_for(contractor_member).get(application.get_absolute_url()))

    assert "見送りの理由" in content
    assert "今年度の枠が埋まっているため。" in content
    assert "見送り" in content
    assert reverse("support:withdraw", args=[application.pk]) not in content


def test_application_accepted_shows_the_partner_and_no_records(contractor_member, client_for):
    menu = sf.menu(number=7)
    engagement = sf.engagement(sf.application(menu, contractor_member))
    partner = sf.partner_member(menu)
    sf.session(engagement, partner)

    content = _content(client_for(contractor_member).get(engagement.application.get_absolute_url()))

    assert "協力団体7" in content
    assert "窓口の流れを一緒に確認した。" not in content
    assert engagement.get_absolute_url() not in content


def test_application_opened_by_the_partner_links_to_the_engagement(contractor_member, client_for):
    menu = sf.menu()
    engagement = sf.engagement(sf.application(menu, contractor_member))
    partner = sf.partner_member(menu)

    content = _content(client_for(partner).get(engagement.application.get_absolute_url()))

    assert engagement.get_absolute_url() in content
    assert reverse("support:withdraw", args=[engagement.application.pk]) not in content


def test_withdraw_marks_the_application_withdrawn(contractor_member, client_for):
    application = sf.application(sf.menu(), contractor_member)
    client = client_for(contractor_member)
    assert reverse("support:withdraw", args=[application.pk]) in _content(
        client.get(application.get_absolute_url())
    )

    response = client.post(reverse("support:withdraw", args=[application.pk]), follow=True)

    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITHDRAWN
    assert _messages(response) == ["申込を取り下げました。"]
    assert list(application.updates.values_list("new_status", flat=True)) == [
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.WITHDRAWN,
    ]


def test_withdraw_by_another_organisation_or_the_partner_changes_nothing(
    contractor_member, municipal_member, client_for
):
    menu = sf.menu()
    application = sf.application(menu, contractor_member)
    partner = sf.partner_member(menu)
    url = reverse("support:withdraw", args=[application.pk])
    for user in (municipal_member, partner):
        client = client_for(user)
        before = snapshots.take()
        response = client.post(url)
        assert (response.status_code, snapshots.take().changes_from(before)) == (404, [])


def test_withdraw_get_is_not_allowed(contractor_member, client_for):
    application = sf.application(sf.menu(), contractor_member)
    response = client_for(contractor_member).get(reverse("support:withdraw", args=[application.pk]))
    application.refresh_from_db()
    assert (response.status_code, application.status) == (405, ApplicationStatus.SUBMITTED)


# --- query counts -----------------------------------------------------------------

LARGE = 20


def test_menus_page_query_count_is_flat(
    contractor_member, municipal_member, client_for, django_assert_num_queries
):
    def add(n):
        for _ in range(n):
            menu = sf.menu()
            sf.engagement(sf.application(menu, municipal_member), by=sf.secretariat_user())

    assert_flat_query_count(
        django_assert_num_queries,
        client_for(contractor_member),
        reverse("support:menus"),
        add,
        6,
        lambda response: len(response.context["menus"]),
        large=LARGE,
    )


def test_applications_page_query_count_is_flat(
    contractor_member, client_for, django_assert_num_queries
):
    def add(n):
        for i in range(n):
            application = sf.application(sf.menu(), contractor_member)
            if i % 2:
                sf.engagement(application)

    assert_flat_query_count(
        django_assert_num_queries,
        client_for(contractor_member),
        reverse("support:applications"),
        add,
        6,  # session, user, roles (2), the count, the page
        lambda response: len(response.context["page_obj"]),
        large=LARGE,
    )


def test_apply_by_the_secretariat_for_any_active_organisation(
    secretariat, other_org, contractor_org, client_for
):
    menu = sf.menu()
    MenuQuestion.objects.create(
        menu=menu,
        purpose=QuestionPurpose.APPLICATION,
        key="where",
        text="どこで困っていますか",
        kind=QuestionKind.SINGLE,
        choices=["窓口", "訪問"],
        required=True,
    )
    MenuQuestion.objects.create(
        menu=menu,
        purpose=QuestionPurpose.APPLICATION,
        order=1,
        key="memo",
        text="ほかに伝えたいこと",
        kind=QuestionKind.TEXT,
    )
    client = client_for(secretariat)
    page = _content(client.get(reverse("support:apply", args=[menu.number])))
    assert other_org.name in page and contractor_org.name in page
    assert "どこで困っていますか" in page and 'value="訪問"' in page

    client.post(
        reverse("support:apply", args=[menu.number]),
        _apply_data(other_org, q_where="訪問", q_memo="特になし"),
    )

    application = Application.objects.get()
    assert (application.organisation, application.applicant, application.answers) == (
        other_org,
        secretariat,
        {"where": "訪問", "memo": "特になし"},
    )


def test_apply_text_answer_passes_the_privacy_guard(contractor_member, contractor_org, client_for):
    menu = sf.menu()
    MenuQuestion.objects.create(
        menu=menu,
        purpose=QuestionPurpose.APPLICATION,
        key="memo",
        text="ほかに伝えたいこと",
        kind=QuestionKind.TEXT,
    )
    response = _refused(
        client_for(contractor_member),
        menu,
        _apply_data(contractor_org, q_memo="ご家族の番号は08012345678です。"),
    )
    assert "個人が特定されるおそれのある内容が見つかりました" in _content(response)
