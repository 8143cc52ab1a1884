"""開示: a member downloads their own data from their account page, reached by
their name in the header; the secretariat downloads a person's data from the
people list. Both press the real buttons with JavaScript on, and the test
opens the ZIP the browser saved."""

from __future__ import annotations

import io
import json
import zipfile

from ..event_factories import EventFactory, RegistrationFactory

JOURNEY = "disclosure"


def _saved_zip(actor, button, folder) -> zipfile.ZipFile:
    with actor.page.expect_download() as info:
        button.click()
    download = info.value
    name = str(download.suggested_filename)
    assert name.startswith("tsunagari-data-") and name.endswith(".zip")
    target = folder / name
    download.save_as(str(target))
    return zipfile.ZipFile(io.BytesIO(target.read_bytes()))


def test_journey_disclosure_member_and_secretariat(
    open_as, contractor_member, secretariat, tmp_path
):
    RegistrationFactory(event=EventFactory(title="第7回 情報交換会"), user=contractor_member)

    member = open_as(contractor_member)
    page = member.page
    member.goto("/")
    toggle = page.locator("[data-nav-toggle]")
    if toggle.is_visible():  # on a phone the menu opens first
        toggle.click()
    member.submit(page.locator("header .nav-user a"))
    assert member.path() == "/accounts/password/change/"
    assert "自分のデータ" in member.main_text()
    member.shot("account")
    archive = _saved_zip(member, member.button("自分のデータをダウンロード"), tmp_path)
    profile = json.loads(archive.read("profile.json"))
    assert profile["email"] == contractor_member.email
    registrations = json.loads(archive.read("data.json"))["registrations"]
    assert [r["event"] for r in registrations] == ["第7回 情報交換会"]
    # The download left the member on the same page.
    assert member.path() == "/accounts/password/change/"

    office = open_as(secretariat)
    office.goto("/network/manage/people/?q=" + contractor_member.email)
    button = office.page.get_by_role(
        "button", name=f"データをダウンロード：{contractor_member.full_name}"
    )
    office.shot("people")
    archive = _saved_zip(office, button, tmp_path)
    assert json.loads(archive.read("profile.json"))["email"] == contractor_member.email
