"""The check-in page used on the day, on a phone: search, tap, count."""

import pytest
from django.urls import reverse

from events.models import Event, Registration

from .event_factories import EventFactory, RegistrationFactory
from .queries import assert_flat_query_count


def checkin_url(event):
    return reverse("events:checkin", args=[event.pk])


def toggle_url(registration):
    return reverse("events:checkin_toggle", args=[registration.event_id, registration.pk])


@pytest.fixture
def manager(client_for, secretariat):
    return client_for(secretariat)


@pytest.fixture
def event(db):
    return EventFactory(venue_capacity=None)


def test_checkin_lists_active_registrations_with_counts(manager, event):
    RegistrationFactory(event=event, user__full_name="出席 済子", attended=True)
    RegistrationFactory(event=event, user__full_name="未着 太郎")
    RegistrationFactory(
        event=event, user__full_name="待機 次郎", status=Registration.Status.WAITLISTED
    )
    RegistrationFactory(
        event=event, user__full_name="取消 三郎", status=Registration.Status.CANCELLED
    )
    RegistrationFactory(user__full_name="別会 四郎")
    response = manager.get(checkin_url(event))
    content = response.content.decode()
    assert response.context["counts"] == {"attended": 1, "confirmed": 2}
    assert '<strong data-count="attended">1</strong>' in content
    assert '<strong data-count="confirmed">2</strong>' in content
    for name in ("出席 済子", "未着 太郎", "待機 次郎"):
        assert name in content
    assert "取消 三郎" not in content and "別会 四郎" not in content
    assert "キャンセル待ち" in content  # a waitlisted person is marked as such
    assert f"{reverse('events:registration_add', args=[event.pk])}?from=checkin" in content
    # Each row works without JavaScript: a form posting to the toggle URL.
    assert content.count('class="checkin-form" data-checkin') == 3


def test_checkin_searches_by_kana_in_hiragana_or_katakana(manager, event):
    yamada = RegistrationFactory(
        event=event, user__full_name="山田 花子", user__full_name_kana="やまだ はなこ"
    )
    RegistrationFactory(
        event=event, user__full_name="佐藤 一郎", user__full_name_kana="さとう いちろう"
    )

    def found(q):
        return [r.pk for r in manager.get(checkin_url(event), {"q": q}).context["page_obj"]]

    assert found("やまだ") == [yamada.pk]
    assert found("ヤマダ") == [yamada.pk]
    assert found("ﾔﾏﾀﾞ") == [yamada.pk]  # half-width katakana from a phone keyboard
    assert found("山田") == [yamada.pk]
    assert found(yamada.user.email.upper()) == [yamada.pk]
    assert found("やまだ はな") == [yamada.pk]


def test_checkin_search_without_result_offers_walk_in(manager, event):
    RegistrationFactory(event=event)
    content = manager.get(checkin_url(event), {"q": "だれもいない"}).content.decode()
    assert "「だれもいない」に当てはまる申込者はいません。" in content
    assert "飛び入り参加として登録する" in content


def test_checkin_toggle_marks_attended_and_redirects_back(manager, event):
    registration = RegistrationFactory(event=event)
    response = manager.post(toggle_url(registration), {"attended": "1", "q": "やま", "page": "1"})
    assert response.status_code == 302
    assert (
        response["Location"]
        == f"{checkin_url(event)}?q=%E3%82%84%E3%81%BE&page=1#reg-{registration.pk}"
    )
    registration.refresh_from_db()
    assert registration.attended is True
    assert registration.attended_at is not None
    response = manager.get(checkin_url(event))
    assert response.context["counts"] == {"attended": 1, "confirmed": 1}


def test_checkin_toggle_is_idempotent_for_a_double_tap(manager, event):
    registration = RegistrationFactory(event=event)
    manager.post(toggle_url(registration), {"attended": "1"})
    manager.post(toggle_url(registration), {"attended": "1"})
    registration.refresh_from_db()
    assert registration.attended is True


def test_checkin_toggle_undoes_attendance(manager, event):
    registration = RegistrationFactory(event=event, attended=True)
    manager.post(toggle_url(registration), {"attended": "0"})
    registration.refresh_from_db()
    assert registration.attended is False


def test_checkin_toggle_without_a_value_toggles(manager, event):
    registration = RegistrationFactory(event=event)
    manager.post(toggle_url(registration), {"attended": "garbage\x00"})
    registration.refresh_from_db()
    assert registration.attended is True
    manager.post(toggle_url(registration))
    registration.refresh_from_db()
    assert registration.attended is False


def test_checkin_toggle_answers_json_when_asked(manager, event):
    registration = RegistrationFactory(event=event)
    RegistrationFactory(event=event)
    response = manager.post(
        toggle_url(registration), {"attended": "1"}, headers={"accept": "application/json"}
    )
    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "error": None,
        "registration": registration.pk,
        "attended": True,
        "attended_count": 1,
        "confirmed_count": 2,
    }
    registration.refresh_from_db()
    assert registration.attended is True


def test_checkin_toggle_is_post_only(manager, event):
    registration = RegistrationFactory(event=event)
    assert manager.get(toggle_url(registration)).status_code == 405
    registration.refresh_from_db()
    assert registration.attended is False


def test_checkin_toggle_refuses_a_registration_of_another_event(manager, event):
    other = RegistrationFactory()
    target = reverse("events:checkin_toggle", args=[event.pk, other.pk])
    assert manager.post(target, {"attended": "1"}).status_code == 404
    other.refresh_from_db()
    assert other.attended is False


@pytest.mark.parametrize(
    "actor", ["contractor_member", "municipal_member", "org_admin", "committee"]
)
def test_checkin_answers_404_to_others(client_for, actors, actor, event):
    registration = RegistrationFactory(event=event)
    client = client_for(actors[actor])
    assert client.get(checkin_url(event)).status_code == 404
    assert client.post(toggle_url(registration), {"attended": "1"}).status_code == 404
    registration.refresh_from_db()
    assert registration.attended is False


@pytest.mark.parametrize(
    "query", [{"q": "x" * 1000}, {"q": "\x00"}, {"page": "abc"}, {"q": "%_\\"}, {"page": "0"}]
)
def test_checkin_garbage_query_strings_never_500(manager, event, query):
    RegistrationFactory(event=event)
    assert manager.get(checkin_url(event), query).status_code == 200


def test_checkin_garbage_post_never_500(manager, event):
    registration = RegistrationFactory(event=event)
    for data in [{"q": "x" * 5000, "page": "-1"}, {"page": "１"}, {"attended": ["1", "0"]}]:
        response = manager.post(toggle_url(registration), data)
        assert response.status_code == 302


def test_checkin_query_count_is_flat(django_assert_num_queries, manager):
    event = EventFactory(status=Event.Status.PUBLISHED, venue_capacity=None)

    def add(n):
        RegistrationFactory.create_batch(n, event=event)

    # session, user, groups, memberships (roles); event; counts; count; page.
    assert_flat_query_count(
        django_assert_num_queries,
        manager,
        checkin_url(event),
        add,
        8,
        lambda response: len(response.context["page_obj"]),
    )


def test_checkin_toggle_refusal_is_reported(manager, event):
    cancelled = RegistrationFactory(event=event, status=Registration.Status.CANCELLED)
    response = manager.post(
        toggle_url(cancelled), {"attended": "1"}, headers={"accept": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "キャンセル済みの申し込みです。"
    response = manager.post(toggle_url(cancelled), {"attended": "1"}, follow=True)
    assert "キャンセル済みの申し込みです。" in response.content.decode()
    cancelled.refresh_from_db()
    assert cancelled.attended is False
