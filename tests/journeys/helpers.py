"""What every journey does in the browser: log in, take screenshots, check
accessibility, check the focus ring, take a link out of a mail.

An `Actor` is one person in one browser context (their own cookies) at one
viewport. Its `page` is a Remote proxy (tests/browser.py): calls run in the
browser thread, so the test itself can assert on the database in between.

Every document the actor's page loads is checked by axe-core before the test
touches the page again (and once more when the test ends); a serious or critical
violation fails the test with the rule, the page and the offending nodes.
Every Content-Security-Policy violation Chromium reports on the console fails
it too, at the next step or when the journey ends (decision 0004).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..browser import BrowserThread, Remote

ROOT = Path(__file__).resolve().parent.parent.parent
SCREENSHOTS = ROOT / "docs" / "screenshots"
VIEWPORTS = {
    "phone": {"width": 390, "height": 844},
    "desktop": {"width": 1280, "height": 800},
}
FAILING_IMPACTS = ("serious", "critical")
# Documents already checked in this session, by viewport and content: the login
# page every actor passes through is checked once, not once per login.
_CHECKED: set[tuple[str, int]] = set()
_FINGERPRINT = """() => document.documentElement.outerHTML
  .replace(/name="csrfmiddlewaretoken" value="[^"]*"/g, "")"""
# Each Playwright wait gives up after this long (ms): a missing button fails fast.
STEP_TIMEOUT = 10_000


class AccessibilityError(AssertionError):
    pass


class ContentSecurityPolicyError(AssertionError):
    pass


# Chromium's console text for anything the policy blocked ("Refused to execute
# inline script because it violates the following Content Security Policy …").
CSP_CONSOLE_MARK = "Content Security Policy"


def axe_violations(raw_page, context=None) -> list[str]:
    """Serious and critical axe-core violations on the page (or the part of it
    an axe `context` names), one line per node. Runs in the browser thread
    with the raw Playwright page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(raw_page, context=context).response
    problems = []
    for violation in results["violations"]:
        if violation["impact"] not in FAILING_IMPACTS:
            continue
        for node in violation["nodes"]:
            problems.append(
                f"{violation['id']} ({violation['impact']}): {violation['help']} — "
                f"{', '.join(map(str, node['target']))}: {node['html'][:200]}"
            )
    return problems


def focus_indicator(page) -> dict:
    """The focused element, its computed outline and box-shadow, and the colour
    behind it (the first ancestor with a background), for the focus checks."""
    return page.evaluate(
        """() => {
          const el = document.activeElement;
          if (!el || el === document.body) return {tag: null};
          const style = getComputedStyle(el);
          let behind = el.parentElement, background = "rgb(255, 255, 255)";
          while (behind) {
            const color = getComputedStyle(behind).backgroundColor;
            if (color && color !== "transparent" && !color.startsWith("rgba(0, 0, 0, 0")) {
              background = color;
              break;
            }
            behind = behind.parentElement;
          }
          return {
            tag: el.tagName.toLowerCase(),
            text: (el.innerText || el.value || el.getAttribute('aria-label') || '').trim(),
            name: el.getAttribute('name') || '',
            value: el.value || '',
            type: el.getAttribute('type') || '',
            checked: !!el.checked,
            outlineStyle: style.outlineStyle,
            outlineWidth: parseFloat(style.outlineWidth) || 0,
            outlineColor: style.outlineColor,
            boxShadow: style.boxShadow,
            background: background,
          };
        }"""
    )


def _luminance(css_color: str) -> float:
    channels = [int(c) / 255 for c in re.findall(r"\d+", css_color)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(color: str, other: str) -> float:
    """WCAG contrast ratio of two computed rgb()/rgba() colours."""
    a, b = sorted((_luminance(color), _luminance(other)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def has_visible_focus(indicator: dict) -> bool:
    """An outline of at least 2px with 3:1 contrast against what is behind it
    (WCAG 2.2, 1.4.11 and 2.4.7)."""
    if indicator.get("outlineStyle") in (None, "none") or indicator["outlineWidth"] < 2:
        return False
    return contrast(indicator["outlineColor"], indicator["background"]) >= 3


def invited_to_survey(member, title: str):
    """A survey open now with a required 5-point scale (Q1) and a single choice
    (Q2: 参加したい / わからない), and `member`'s invitation to it."""
    from surveys.models import Question

    from ..survey_factories import InvitationFactory, QuestionFactory, SurveyFactory

    survey = SurveyFactory(title=title)
    scale = QuestionFactory(survey=survey, order=1, text="情報交換会は役に立ちましたか")
    single = QuestionFactory(
        survey=survey,
        order=2,
        kind=Question.Kind.SINGLE,
        text="次回も参加したいですか",
        choices=["参加したい", "わからない"],
    )
    return survey, InvitationFactory(survey=survey, user=member), scale, single


def answers_of(response) -> dict:
    """{question: stored value} of a response (number, choice or text)."""
    from surveys.models import Answer

    return {
        a.question: a.number if a.number is not None else (a.choice or a.text)
        for a in Answer.objects.filter(response=response).select_related("question")
    }


def link_in(body: str, path_prefix: str) -> str:
    """The path of the first link in a mail body whose path starts with `path_prefix`."""
    match = re.search(r"https?://[^/\s]+(" + re.escape(path_prefix) + r"[^\s]*)", body)
    assert match, f"no link to {path_prefix} in the mail:\n{body}"
    return match.group(1)


@dataclass
class Actor:
    thread: BrowserThread
    site: str
    journey: str
    size: str
    context: Remote
    page: Remote
    checked: list[str] = field(default_factory=list)
    # scope(raw_page) -> an axe context for the page, None for the whole page,
    # or False to skip a page that is none of ours (a journey through Django's
    # own admin pages documents why it scopes).
    axe_scope: object = None
    _unchecked: bool = False
    csp_violations: list[str] = field(default_factory=list)

    # --- accessibility --------------------------------------------------------

    def _on_load(self, _raw_page) -> None:
        # Only a flag: the check runs once the test's step has finished.
        self._unchecked = True

    def before_call(self) -> None:
        if self._unchecked:
            self._check_now()
        self._raise_csp_violations()

    # --- Content-Security-Policy ------------------------------------------------

    def _on_console(self, message) -> None:
        # Runs in the browser thread while Playwright dispatches events.
        if CSP_CONSOLE_MARK not in message.text:
            return
        # Where it came from: the document (markup) or the static script that
        # did it. Code the test itself evaluates in the page has no address:
        # axe-core copies the page's stylesheets into <style> elements for its
        # css-orientation-lock rule, which the policy rightly refuses. That is
        # the checker's doing, not the page's.
        source = (message.location or {}).get("url", "")
        if not source:
            return
        page = message.page.url if message.page else "?"
        line = (message.location or {}).get("lineNumber", "?")
        self.csp_violations.append(f"{page}: {message.text} (at {source}:{line})")

    def _raise_csp_violations(self) -> None:
        if self.csp_violations:
            found, self.csp_violations = self.csp_violations, []
            raise ContentSecurityPolicyError(
                f"Content-Security-Policy violations ({self.size}):\n  " + "\n  ".join(found)
            )

    def _check_now(self) -> None:
        self._unchecked = False
        raw = self.page._obj
        seen = (self.size, hash(raw.evaluate(_FINGERPRINT)))
        if seen in _CHECKED:
            return
        context = self.axe_scope(raw) if self.axe_scope else None
        if context is False:
            return
        problems = axe_violations(raw, context)
        _CHECKED.add(seen)
        self.checked.append(raw.url)
        if problems:
            raise AccessibilityError(
                f"axe-core: serious/critical violations on {raw.url} ({self.size}):\n  "
                + "\n  ".join(problems)
            )

    def check_accessibility(self) -> None:
        """Check the current page now (e.g. after JavaScript changed it)."""
        self._unchecked = True
        self.thread.call(lambda: None)  # the before-call hook runs the check

    # --- steps ----------------------------------------------------------------

    def goto(self, path: str):
        return self.page.goto(self.site + path)

    def submit(self, locator) -> None:
        """Click a button (or link) and wait for the page it leads to."""
        with self.page.expect_navigation():
            locator.click()

    def button(self, name: str):
        return self.page.get_by_role("button", name=name, exact=True)

    def main_text(self) -> str:
        return self.page.locator("main").inner_text()

    def path(self) -> str:
        return self.page.url.removeprefix(self.site)

    def shot(self, step: str) -> Path:
        """A screenshot of the viewport as docs/screenshots/<journey>-<step>-<size>.png."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target = SCREENSHOTS / f"{self.journey}-{step}-{self.size}.png"
        self.page.screenshot(path=str(target))
        return target

    def focus(self) -> dict:
        return self.thread.call(focus_indicator, self.page._obj)

    def tab_to(self, predicate, *, limit: int = 80, backwards: bool = False) -> dict:
        """Press Tab until the focused element matches `predicate(indicator)`;
        every element passed on the way must show where the focus is."""
        key = "Shift+Tab" if backwards else "Tab"
        for _ in range(limit):
            self.page.keyboard.press(key)
            indicator = self.focus()
            if indicator["tag"] is None:
                continue
            assert has_visible_focus(indicator), f"focus not visible on {indicator}"
            if predicate(indicator):
                return indicator
        raise AssertionError(f"Tab never reached the wanted element on {self.page.url}")

    def arrow_to(self, predicate, *, key: str = "ArrowDown", limit: int = 10) -> dict:
        """Move through a radio group with an arrow key until `predicate(indicator)`."""
        for _ in range(limit):
            indicator = self.focus()
            if predicate(indicator):
                return indicator
            self.page.keyboard.press(key)
        raise AssertionError(f"{key} never reached the wanted option on {self.page.url}")

    def close(self) -> None:
        self.thread.remove_before_call(self.before_call)
        # A round trip to the browser delivers console messages still on their
        # way, so a violation in the journey's last step is not lost.
        self.context.cookies()
        self.context.close()
        self._raise_csp_violations()


def open_actor(
    thread: BrowserThread, *, site: str, journey: str, size: str, email=None, password=None
) -> Actor:
    """A new browser context at `size`; logs in through the login form when an
    e-mail is given."""
    context = thread.browser.new_context(
        locale="ja-JP", timezone_id="Asia/Tokyo", viewport=VIEWPORTS[size]
    )
    context.set_default_timeout(STEP_TIMEOUT)
    page = context.new_page()
    actor = Actor(thread=thread, site=site, journey=journey, size=size, context=context, page=page)
    page.on("load", actor._on_load)
    # On the context, so pages a journey opens later (pop-ups) are heard too.
    context.on("console", actor._on_console)
    thread.add_before_call(actor.before_call)
    if email:
        log_in(actor, email, password)
    return actor


def log_in(actor: Actor, email: str, password: str) -> None:
    actor.goto("/accounts/login/")
    actor.page.locator("input[name=login]").fill(email)
    actor.page.locator("input[name=password]").fill(password)
    actor.submit(actor.page.locator("main").get_by_role("button", name="ログイン"))
    assert actor.path() == "/", f"{email} did not get past the login form: {actor.main_text()}"
