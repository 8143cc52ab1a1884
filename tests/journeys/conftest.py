"""Fixtures for the browser journeys.

- One Chromium for the whole session, driven from one thread (`browser_thread`);
  each test opens fresh contexts in it, so nothing (cookies, storage) carries over.
- Every journey runs at two viewports: phone 390×844 and desktop 1280×800.
- `open_as(user)` logs a person in through the real login form in a context of
  their own and returns an Actor (helpers.py); `open_anonymous()` does not log in.
- The live server sees committed rows only, so every journey is a transactional
  test. Like every other transactional test of the suite it uses serialized
  rollback: a flush without it re-creates the content types, which the next
  serialized-rollback test would then insert a second time.
- Mails carry links to the live server (SITE_URL follows it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ..browser import BrowserThread
from ..factories import PASSWORD
from ..services import require_browser
from .helpers import VIEWPORTS, open_actor

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).resolve().parent == HERE:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))


@pytest.fixture(scope="session")
def browser_thread():
    thread = BrowserThread(require_browser())
    yield thread
    thread.stop()


@pytest.fixture(params=list(VIEWPORTS))
def size(request):
    return request.param


@pytest.fixture
def site(live_server, settings):
    settings.SITE_URL = live_server.url
    return live_server.url


@pytest.fixture
def journey(request):
    """The journey's name in screenshot file names: the module's JOURNEY."""
    return getattr(request.module, "JOURNEY", request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture
def open_as(browser_thread, site, size, journey):
    actors = []

    def open_as(user, password: str = PASSWORD):
        actor = open_actor(
            browser_thread,
            site=site,
            journey=journey,
            size=size,
            email=user.email if user is not None else None,
            password=password,
        )
        actors.append(actor)
        return actor

    yield open_as
    try:
        # The last page of each actor is checked too.
        browser_thread.call(lambda: None)
    finally:
        for actor in actors:
            actor.close()


@pytest.fixture
def open_anonymous(open_as):
    return lambda: open_as(None)
