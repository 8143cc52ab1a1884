"""Driving headless Chromium from the tests (shared by every browser test).

Playwright's sync API keeps an asyncio loop running in the thread that uses
it. Django keeps database connections per thread, but per *context* while a
loop runs, so in that thread the test database fixtures would get a second
connection without the test's data (and the ORM would refuse to run without
DJANGO_ALLOW_ASYNC_UNSAFE). So the browser is driven from a thread of its own
and the test's thread keeps its database connection:

- `in_browser_thread(function, *args)` runs one function in a fresh thread
  (a test that starts and stops its own browser);
- `BrowserThread` keeps one thread, one Playwright and one Chromium for a
  whole session, and `Remote` proxies hand every call on a Playwright object to
  that thread, so a test reads like plain Playwright code while its database
  assertions run in its own thread.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]
# Longer than any single Playwright wait (their own timeouts fail first).
CALL_TIMEOUT = 120


def in_browser_thread(function, *args, timeout=300):
    """Run `function(*args)` in a thread of its own and return its result."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright") as pool:
        return pool.submit(function, *args).result(timeout=timeout)


def launch_chromium(playwright, executable: str):
    return playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)


class BrowserThread:
    """One thread that owns Playwright and a Chromium for as long as it lives."""

    def __init__(self, executable: str):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright")
        self._ident = self._pool.submit(threading.get_ident).result()
        self._before_call = []
        self.browser = self.call(self._start, executable)

    def _start(self, executable):
        from playwright.sync_api import sync_playwright

        self._manager = sync_playwright()
        self._playwright = self._manager.start()
        return Remote(launch_chromium(self._playwright, executable), self)

    def call(self, function, *args, **kwargs):
        """Run `function` in the browser thread (directly when already in it)."""
        if threading.get_ident() == self._ident:
            return function(*args, **kwargs)

        def run():
            for hook in list(self._before_call):
                hook()
            return function(*args, **kwargs)

        return self._pool.submit(run).result(timeout=CALL_TIMEOUT)

    def add_before_call(self, hook) -> None:
        """`hook()` runs in the browser thread before each call from the test,
        i.e. whenever the page has settled after the previous step."""
        self._before_call.append(hook)

    def remove_before_call(self, hook) -> None:
        if hook in self._before_call:
            self._before_call.remove(hook)

    def expect(self, target, **kwargs):
        """playwright.sync_api.expect for a Remote locator or page."""
        from playwright.sync_api import expect

        return wrap(self.call(lambda: expect(unwrap(target), **kwargs)), self)

    def stop(self) -> None:
        def stop():
            self.browser._obj.close()
            self._manager.__exit__(None, None, None)

        try:
            self.call(stop)
        finally:
            self._pool.shutdown(wait=True)


_PLAIN = (str, bytes, int, float, bool, type(None), dict)


def wrap(value, thread: BrowserThread):
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, list | tuple):
        return type(value)(wrap(item, thread) for item in value)
    return Remote(value, thread)


def unwrap(value):
    if isinstance(value, Remote):
        return value._obj
    if isinstance(value, list | tuple):
        return type(value)(unwrap(item) for item in value)
    if isinstance(value, dict):
        return {key: unwrap(item) for key, item in value.items()}
    return value


class Remote:
    """A Playwright object living in the browser thread; attribute reads and
    calls go to that thread and their results come back wrapped."""

    __slots__ = ("_obj", "_thread")

    def __init__(self, obj, thread: BrowserThread):
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_thread", thread)

    def __getattr__(self, name):
        value = self._thread.call(getattr, self._obj, name)
        if callable(value) and not isinstance(value, type):
            return _RemoteCallable(value, self._thread)
        return wrap(value, self._thread)

    def __enter__(self):
        return wrap(self._thread.call(self._obj.__enter__), self._thread)

    def __exit__(self, *exc):
        return self._thread.call(self._obj.__exit__, *exc)

    def __repr__(self):
        return f"Remote({self._obj!r})"


class _RemoteCallable:
    __slots__ = ("_function", "_thread")

    def __init__(self, function, thread):
        self._function = function
        self._thread = thread

    def __call__(self, *args, **kwargs):
        result = self._thread.call(self._function, *unwrap(args), **unwrap(kwargs))
        return wrap(result, self._thread)
