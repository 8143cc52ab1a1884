"""Headless Chromium logs in as each demo account and sees its home page.

Runs against pytest-django's live server with the demo data from seed_demo.
Without Chromium it skips, unless TSUNAGARI_REQUIRE_BROWSER=1 (CI), where it
fails. Screenshots go to test-artifacts/screenshots/<account>.png.
"""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from network import demo

from .browser import CHROMIUM_ARGS, in_browser_thread, launch_chromium
from .services import require_browser

# Imported from here by other browser tests.
__all__ = ["CHROMIUM_ARGS", "in_browser_thread"]

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    # The live server thread sees committed rows only. A transactional test ends by
    # flushing the database; serialized rollback reloads the migrations'
    # reference data (regions, municipalities, programs, groups) at its start.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Navigation links that tell the roles apart (templates/base.html).
EXPECTED_LINKS = {
    "admin": {"管理サイト": True, "事務局": True},
    "secretariat": {"事務局": True, "管理サイト": True},
    "committee": {"事務局": False, "管理サイト": False},
    "city": {"組織一覧": True, "事務局": False, "管理サイト": False},
    "npo": {"組織一覧": True, "事務局": False, "管理サイト": False},
    "npo-admin": {"組織一覧": True, "事務局": False, "管理サイト": False},
}


@pytest.fixture
def chromium_executable():
    return require_browser()


@pytest.fixture
def demo_site(chromium_executable, live_server):
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=StringIO())
    return live_server.url


def log_in_as_each_demo_account(executable: str, site: str) -> None:
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, executable)
        try:
            for account in demo.DEMO_ACCOUNTS:
                log_in_and_check_home(browser, site, account)
        finally:
            browser.close()


def log_in_and_check_home(browser, site: str, account: demo.DemoAccount) -> None:
    name = account.email.split("@")[0]
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{site}/accounts/login/")
        page.locator("input[name=login]").fill(account.email)
        page.locator("input[name=password]").fill(demo.DEMO_PASSWORD)
        with page.expect_navigation():
            page.locator("input[name=password]").press("Enter")
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

        assert page.url == f"{site}/", f"{name}: landed on {page.url}"
        body = page.locator("body").inner_text()
        assert account.full_name in body, f"{name}: name not on the home page"
        for label, shown in EXPECTED_LINKS[name].items():
            links = page.get_by_role("link", name=label, exact=True)
            assert (links.count() > 0) == shown, f"{name}: link 「{label}」 shown={not shown}"
    finally:
        context.close()


def test_browser_demo_accounts_log_in_and_see_their_home_page(chromium_executable, demo_site):
    shots = [SCREENSHOTS / f"{a.email.split('@')[0]}.png" for a in demo.DEMO_ACCOUNTS]
    for shot in shots:
        shot.unlink(missing_ok=True)

    in_browser_thread(log_in_as_each_demo_account, chromium_executable, demo_site)

    assert all(shot.stat().st_size > 0 for shot in shots)
