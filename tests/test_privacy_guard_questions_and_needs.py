"""The privacy guard on the 事前質問 and on the needs register's texts
(issue #12: "every free text that others read"), through the forms people use.

A question or a need text with what could identify a person (a name with
さん, a phone number) is refused with the findings highlighted and nothing
written; confirmed anyway, it is saved — a 事前質問 then flagged, so the
committee does not read it until the secretariat has. Ordinary talk of the
work passes without a word.
"""

import pytest
from django.urls import reverse

from committee.models import Need
from events.models import Event, Registration

from .event_factories import EventFactory

pytestmark = pytest.mark.django_db

FLAGGED = "田中さん（090-1234-5678）の家賃の滞納が続いています。どう支援すればよいですか。"
ORDINARY = "60代の相談者が増えています。札幌市の窓口との連携を知りたいです。"
CONFIRM = "confirm_not_real_person"
RAISE = reverse("dashboard:need_raise")
CREATE = reverse("dashboard:need_create")


def register_url(event):
    return reverse("events:register", args=[event.pk])


def test_a_flagged_question_is_shown_highlighted_and_nothing_is_written(
    client_for, contractor_member
):
    event = EventFactory()
    response = client_for(contractor_member).post(
        register_url(event), {"mode": "venue", "question": FLAGGED}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert not Registration.objects.filter(event=event).exists()
    assert '<mark class="privacy-flag" title="人名">田中さん</mark>' in html
    assert '<mark class="privacy-flag" title="電話番号">090-1234-5678</mark>' in html
    assert "実在の人物についての内容ではありません" in html
    assert "事務局が内容を確かめるまで、検討委員会には表示されません" in html


def test_ordinary_questions_pass_and_ask_for_no_confirmation(client_for, contractor_member):
    event = EventFactory()
    client = client_for(contractor_member)
    page = client.get(register_url(event)).content.decode()
    assert "実在の人物についての内容ではありません" not in page

    response = client.post(register_url(event), {"mode": "venue", "question": ORDINARY})

    assert response.status_code == 302
    registration = Registration.objects.get(event=event)
    assert (registration.question, registration.question_flagged) == (ORDINARY, False)


def test_a_confirmed_question_is_kept_from_the_committee_until_the_secretariat_reads_it(
    client_for, contractor_member, committee_member, secretariat
):
    event = EventFactory()  # published, open for registration
    response = client_for(contractor_member).post(
        register_url(event), {"mode": "venue", "question": FLAGGED, CONFIRM: "on"}
    )
    assert response.status_code == 302
    registration = Registration.objects.get(event=event)
    assert registration.question == FLAGGED and registration.question_flagged

    fy = event.fiscal_year
    candidates = client_for(committee_member).get(CREATE, {"fy": fy}).content.decode()
    assert "田中さん" not in candidates
    assert (
        client_for(committee_member)
        .post(RAISE, {"kind": "registration", "id": registration.pk})
        .status_code
        == 404
    )
    # The secretariat reads it, marked, and may raise it.
    office = client_for(secretariat)
    listed = office.get(reverse("events:registrations", args=[event.pk])).content.decode()
    assert "個人情報の可能性（本人が確認済み）" in listed and "田中さん" in listed
    assert "田中さん" in office.get(CREATE, {"fy": fy}).content.decode()
    assert office.post(RAISE, {"kind": "registration", "id": registration.pk}).status_code == 302
    assert Need.objects.get().source_registration == registration


def test_editing_the_question_flags_or_clears_it(client_for, contractor_member):
    event = EventFactory()
    client = client_for(contractor_member)
    client.post(register_url(event), {"mode": "venue", "question": FLAGGED, CONFIRM: "on"})
    registration = Registration.objects.get(event=event)
    edit = reverse("events:registration_edit", args=[registration.pk])

    client.post(edit, {"mode": "venue", "question": ORDINARY})

    registration.refresh_from_db()
    assert (registration.question, registration.question_flagged) == (ORDINARY, False)


def test_the_public_form_guards_the_question_too(client_for, db):
    event = EventFactory(audience=Event.Audience.PUBLIC)
    data = {
        "full_name": "一般 参加者",
        "full_name_kana": "いっぱん さんかしゃ",
        "email": "guest@example.net",
        "organisation_name": "",
        "mode": "venue",
        "question": FLAGGED,
        "website": "",
    }
    url = reverse("events:register_guest", args=[event.pk])
    response = client_for(None).post(url, data)
    assert response.status_code == 200
    assert '<mark class="privacy-flag" title="人名">田中さん</mark>' in response.content.decode()
    assert not Registration.objects.filter(event=event).exists()

    client_for(None).post(url, {**data, CONFIRM: "on"})
    assert Registration.objects.get(event=event).question_flagged


def test_a_need_text_is_guarded_and_saved_once_confirmed(client_for, committee_member):
    client = client_for(committee_member)
    data = {"title": "", "text": FLAGGED, "status": "new", "fiscal_year": "2024", "notes": ""}

    refused = client.post(CREATE, data)

    assert refused.status_code == 200 and Need.objects.count() == 0
    assert '<mark class="privacy-flag" title="電話番号">090-1234-5678</mark>' in (
        refused.content.decode()
    )
    assert "課題の登録簿は検討委員会と事務局だけが読みます" in refused.content.decode()
    saved = client.post(CREATE, {**data, CONFIRM: "on"})
    need = Need.objects.get()
    assert saved.status_code == 302 and need.text == FLAGGED


def test_a_triage_note_is_guarded(client_for, committee_member):
    client = client_for(committee_member)
    client.post(
        CREATE, {"title": "", "text": ORDINARY, "status": "new", "fiscal_year": "2024", "notes": ""}
    )
    need = Need.objects.get()
    data = {"status": "sorting", "function": "", "owner": "", "due_date": "", "notes": ""}

    refused = client.post(
        need.get_absolute_url(), {**data, "note": "佐藤様から電話あり 011-222-3333"}
    )

    need.refresh_from_db()
    assert refused.status_code == 200 and need.status == "new"
    assert '<mark class="privacy-flag"' in refused.content.decode()
    client.post(need.get_absolute_url(), {**data, "note": "方針を確認した"})
    need.refresh_from_db()
    assert need.status == "sorting"
