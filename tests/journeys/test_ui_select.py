"""The 179 市町村 select narrowed by typing (static/js/site.js), by keyboard:
the search box above the select filters the options by name or reading, Enter
picks the first match and hands the focus to the select."""

from __future__ import annotations

from network.models import Municipality

JOURNEY = "municipality-select"


def _options(page) -> list[str]:
    return [t.strip() for t in page.locator("select[name=municipality] option").all_inner_texts()]


def test_journey_municipality_select_narrows_by_reading_and_name(open_anonymous):
    visitor = open_anonymous()
    page = visitor.page
    visitor.goto("/network/join/")
    assert len(_options(page)) == 1 + Municipality.objects.count()

    search = page.get_by_label("名前・かなで探す")
    visitor.tab_to(lambda f: f["tag"] == "input" and f["type"] == "search")
    page.keyboard.type("おたる")
    assert _options(page) == ["選択してください", "小樽市"]
    assert page.locator("#id_municipality-search-status").inner_text() == "該当 1 件"
    visitor.check_accessibility()
    visitor.shot("narrowed")
    page.keyboard.press("Enter")

    otaru = Municipality.objects.get(name="小樽市")
    assert page.locator("select[name=municipality]").input_value() == str(otaru.pk)
    assert visitor.focus()["name"] == "municipality"
    # Narrowing again keeps the choice; clearing brings every option back.
    search.fill("釧路")
    assert _options(page) == ["選択してください", "小樽市", "釧路市", "釧路町"]
    assert page.locator("select[name=municipality]").input_value() == str(otaru.pk)
    search.fill("")
    assert len(_options(page)) == 1 + Municipality.objects.count()


def test_journey_municipality_filter_narrows_on_the_organisation_list(open_as, secretariat):
    from ..factories import OrganisationFactory

    hakodate = Municipality.objects.get(name="函館市")
    OrganisationFactory(name="函館くらしサポート", municipality=hakodate, region=hakodate.region)
    OrganisationFactory(name="札幌ささえあい")
    staff = open_as(secretariat)
    page = staff.page
    staff.goto("/network/organisations/")

    page.get_by_label("名前・かなで探す").fill("はこだて")
    assert _options(page) == ["すべて", "函館市"]
    staff.shot("filter")
    page.locator("select[name=municipality]").select_option(label="函館市")
    staff.submit(page.get_by_role("button", name="絞り込む"))

    assert (
        staff.path()
        == f"/network/organisations/?q=&region=&municipality={hakodate.pk}&kind=&program="
    )
    listed = staff.main_text()
    assert "函館くらしサポート" in listed and "札幌ささえあい" not in listed
