"""Registration and survey answering by keyboard alone (Tab, Space, arrows,
Enter; no mouse), with the focus visible on every element passed on the way
(a computed outline or box-shadow on the focused element)."""

from __future__ import annotations

from decimal import Decimal

from events.models import Registration
from surveys.models import Response

from ..event_factories import EventFactory, SessionFactory
from .helpers import answers_of, invited_to_survey

JOURNEY = "keyboard"


def _is(name=None, value=None, text=None, tag=None):
    def matches(focused):
        return (
            (name is None or focused["name"] == name)
            and (value is None or focused["value"] == value)
            and (text is None or focused["text"] == text)
            and (tag is None or focused["tag"] == tag)
        )

    return matches


def test_journey_keyboard_member_registers_without_a_mouse(open_as, municipal_member):
    event = EventFactory(title="第9回 情報交換会", has_social=True, social_capacity=20)
    SessionFactory(event=event, title="分科会A：就労支援", order=1)
    second = SessionFactory(event=event, title="分科会B：居住支援", order=2)
    member = open_as(municipal_member)
    keys = member.page.keyboard
    member.goto(event.get_absolute_url())

    member.tab_to(_is(tag="a", text="参加を申し込む"))
    with member.page.expect_navigation():
        keys.press("Enter")
    assert member.path() == f"/events/{event.pk}/register/"

    member.tab_to(_is(name="mode"))  # the first option of the group
    keys.press("ArrowDown")  # オンラインで参加
    member.tab_to(_is(name="session"))
    focused = member.arrow_to(_is(value=str(second.pk)))
    assert focused["checked"] is True
    member.tab_to(_is(name="social"))  # lands on the chosen 参加しない
    keys.press("ArrowUp")  # 参加する
    member.tab_to(_is(name="question"))
    keys.type("生活保護との連携について")
    member.shot("register")
    member.tab_to(_is(tag="button", text="申し込む"))
    with member.page.expect_navigation():
        keys.press("Enter")

    assert "参加が確定しました。懇親会への参加も確定しました。" in member.main_text()
    registration = Registration.objects.get(event=event, user=municipal_member)
    assert (
        registration.status,
        registration.mode,
        registration.session,
        registration.social,
        registration.question,
    ) == (
        Registration.Status.CONFIRMED,
        Registration.Mode.ONLINE,
        second,
        Registration.SocialStatus.CONFIRMED,
        "生活保護との連携について",
    )


def test_journey_keyboard_member_answers_a_survey_without_a_mouse(
    open_anonymous, contractor_member
):
    _survey, invitation, scale, single = invited_to_survey(contractor_member, "研修の振り返り")
    member = open_anonymous()
    keys = member.page.keyboard
    member.goto(invitation.link)

    member.tab_to(lambda f: f["type"] == "radio" and f["value"] == "1")
    assert member.arrow_to(_is(value="4"), key="ArrowRight")["checked"] is True
    member.tab_to(lambda f: f["type"] == "radio" and f["value"] == "参加したい")
    keys.press("Space")
    member.shot("survey")
    member.tab_to(_is(tag="button", text="送信する"))
    with member.page.expect_navigation():
        keys.press("Enter")
    assert member.page.get_by_role("heading", level=1).inner_text() == "回答内容の確認"

    member.tab_to(_is(tag="button", text="この内容で送信する"))
    with member.page.expect_navigation():
        keys.press("Space")
    assert (
        member.page.get_by_role("heading", level=1).inner_text() == "ご回答ありがとうございました"
    )
    response = Response.objects.get(invitation=invitation)
    assert response.submitted_at is not None
    assert answers_of(response) == {scale: Decimal("4"), single: "参加したい"}
