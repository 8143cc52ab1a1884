"""`make prod-smoke`: the production settings, served for real, checked from outside.

On a throw-away PostgreSQL database and a Redis database of its own, this
script does what a deployment does (docs/operations.md) — `check --deploy`,
`migrate`, `collectstatic`, then gunicorn and a Celery worker with beat, all
with config.settings.production — and checks over HTTP, as a TLS proxy in
front of the portal would forward the requests (X-Forwarded-Proto: https):

- production refuses to start when a required secret is missing or weak;
- /healthz, the security headers and cookie flags, hashed static files;
- a 404 and a bad Host answer the project's Japanese pages, nothing of DEBUG;
- the login page, and a seeded member signing in;
- a journey: the secretariat sets up the second factor (TOTP computed here
  from the key the page shows) and signs in again with it; the member
  registers for an open event, the secretariat checks them in, the member
  answers a survey; a signed LINE webhook is answered through a stub of the
  Messaging API, a badly signed one refused;
- a mail from the web process and one from the worker reach the mail backend;
- ops/backup.sh and ops/restore.sh: the restored copy has the same rows.

The deployment itself (the database, the deploy steps, the servers with the
production environment, the HTTP client) is ops/stack.py's, shared with
ops/faults.py and ops/load_test.py.

Each check prints one PASS or FAIL line; any FAIL makes the exit status 1.
Whatever happens (a failed check, Ctrl-C, SIGTERM, the time limit) the
servers are stopped and both databases dropped. The work folder (logs, mails)
is removed after a clean run and kept, with its path printed, after a failure.

Needs PostgreSQL (superuser without password: SMOKE_PG_URL, default
postgres://postgres@127.0.0.1:5432) and Redis (SMOKE_REDIS_URL, default
database 13, flushed before and after), plus the PostgreSQL client tools
(psql, pg_dump, pg_restore). Python: the standard library and the project's
own dependencies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import io
import json
import os
import re
import secrets
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import psycopg
import redis
import stack
from stack import (
    MEMBER,
    PASSWORD,
    ROOT,
    STAFF,
    Abort,
    Client,
    Response,
    check,
    create_database,
    csrf_token,
    deploy,
    drop_database,
    form_errors,
    forms,
    local,
    log_tail,
    manage,
    production_env,
    require,
    run,
    sign_in,
    sql,
    start_gunicorn,
    start_worker,
    stop_servers,
    tail,
    wait_for_http,
)

REDIS_URL = os.environ.get("SMOKE_REDIS_URL", "redis://127.0.0.1:6379/13")
TIME_LIMIT = int(os.environ.get("SMOKE_TIME_LIMIT", "140"))  # seconds, the whole run
# Names of this run only, so that two runs on one server do not collide.
DB_NAME = f"tsunagari_smoke_{os.getpid()}"
RESTORE_DB_NAME = f"{DB_NAME}_restored"
REQUIRED_SECRETS = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL")


ROW_COUNTS = """
SELECT table_name,
       (xpath('/row/n/text()', query_to_xml(
           format('SELECT count(*) AS n FROM %I.%I', table_schema, table_name),
           false, true, '')))[1]::text::bigint
FROM information_schema.tables
WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
ORDER BY table_name
"""


DEBUG_LEAKS = ("Traceback", "Page not found", "URLconf", "DEBUG", "DisallowedHost", "settings.py")


def leaks(page: Response) -> list[str]:
    return [marker for marker in DEBUG_LEAKS if marker in page.body]


# --- The second factor: what an authenticator app computes -----------------------------


def totp(secret: str, period: int) -> str:
    """RFC 6238 with an app's defaults: HMAC-SHA1, 30-second periods, 6 digits."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", period), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def current_period() -> int:
    """This period, or the next when fewer than 5 seconds of it are left (a
    code must not expire on its way)."""
    left = 30 - time.time() % 30
    if left < 5:
        time.sleep(left + 0.1)
    return int(time.time()) // 30


# --- The LINE Messaging API, stubbed ---------------------------------------------------


class LineStub(http.server.ThreadingHTTPServer):
    """Stands in for api.line.me on a loopback port: records each request
    (path, Authorization, JSON body) and answers as LINE does to a reply."""

    daemon_threads = True

    def __init__(self):
        self.calls: list[tuple[str, str, dict]] = []
        super().__init__(("127.0.0.1", 0), _LineHandler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _LineHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = {"unreadable": body[:200].decode("utf-8", "replace")}
        self.server.calls.append((self.path, self.headers.get("Authorization", ""), payload))
        answer = json.dumps({"sentMessages": [{"id": "1", "quoteToken": "q"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format, *args):  # quiet
        pass


line_stubs: list[LineStub] = []


def line_webhook_body(text: str) -> bytes:
    """A webhook with one text message from a user, shaped as LINE sends it."""
    event = {
        "type": "message",
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": "U" + secrets.token_hex(16)},
        "webhookEventId": "01" + secrets.token_hex(12).upper(),
        "deliveryContext": {"isRedelivery": False},
        "replyToken": secrets.token_hex(16),
        "message": {
            "id": str(secrets.randbelow(10**12)),
            "type": "text",
            "text": text,
            "quoteToken": secrets.token_hex(8),
        },
    }
    return json.dumps({"destination": "U" + secrets.token_hex(16), "events": [event]}).encode()


def line_signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


# --- The journey: staff sign-in with a second factor, register, check in, answer, LINE ----


def journey_staff_mfa(port: int) -> Client:
    """The secretariat: set up the second factor, sign out, sign in with it."""
    staff = Client(port)
    landed = sign_in(staff, STAFF)
    require(
        f"{STAFF} signs in with the password",
        landed.status == 302 and "sessionid" in staff.cookies,
        f"{landed.status} {landed.header('Location')}",
    )
    before = staff.get("/network/manage/")
    require(
        "before set-up, a staff page (/network/manage/) redirects to the 2段階認証 set-up",
        before.status == 302 and local(before.header("Location")) == "/accounts/2fa/totp/activate/",
        f"{before.status} {before.header('Location')!r}",
    )
    page, seen = staff.follow(before)
    reauth = next((p for p in seen if p.startswith("/accounts/reauthenticate/")), "")
    require(
        "set-up asks for the password again (/accounts/reauthenticate/)",
        bool(reauth) and page.status == 200 and 'name="password"' in page.body,
        f"redirects {seen}, {page.status}",
    )
    check(
        "the set-up page says why (2段階認証の設定が必要です)",
        "2段階認証の設定が必要です" in page.body,
        "the middleware's message is not on the page",
    )
    done = staff.post(reauth, {"csrfmiddlewaretoken": csrf_token(page), "password": PASSWORD})
    page, seen = staff.follow(done)
    found = re.search(r'id="authenticator-secret">([A-Z2-7=]+)<', page.body)
    require(
        "after the password, the set-up page shows the key (id=authenticator-secret)",
        page.status == 200 and seen[-1:] == ["/accounts/2fa/totp/activate/"] and bool(found),
        f"{done.status} → {seen}, {page.status}",
    )
    secret = found.group(1)
    period = current_period()
    wrong_code = f"{(int(totp(secret, period)) + 1) % 1_000_000:06d}"
    wrong = staff.post(
        "/accounts/2fa/totp/activate/",
        {"csrfmiddlewaretoken": csrf_token(page), "code": wrong_code},
    )
    check(
        "a wrong code does not set it up",
        wrong.status == 200 and "コードが正しくありません" in wrong.body,
        f"{wrong.status} {wrong.header('Location')}",
    )
    period = current_period()
    done = staff.post(
        "/accounts/2fa/totp/activate/",
        {
            "csrfmiddlewaretoken": csrf_token(wrong) or csrf_token(page),
            "code": totp(secret, period),
        },
    )
    codes_page, seen = staff.follow(done)
    codes = re.findall(r"<li><code>([^<]+)</code></li>", codes_page.body)
    require(
        "the TOTP code computed from the key sets it up; 10 recovery codes shown",
        done.status == 302
        and seen[:1] == ["/accounts/2fa/recovery-codes/"]
        and codes_page.status == 200
        and len(codes) == 10,
        f"{done.status} → {seen}, {len(codes)} codes, {codes_page.status}"
        + (f", the page says {form_errors(done)}" if done.status == 200 else ""),
    )
    manage = staff.get("/network/manage/")
    check("after set-up the staff page opens", manage.status == 200, f"{manage.status}")

    signed_out = staff.post("/accounts/logout/", {"csrfmiddlewaretoken": csrf_token(manage)})
    check(
        "the secretariat signs out",
        signed_out.status == 302 and "sessionid" not in staff.cookies,
        f"{signed_out.status}, cookies {sorted(staff.cookies)}",
    )
    landed = sign_in(staff, STAFF)
    require(
        "signing in again asks for the code (/accounts/2fa/authenticate/)",
        landed.status == 302 and local(landed.header("Location")) == "/accounts/2fa/authenticate/",
        f"{landed.status} {landed.header('Location')!r}",
    )
    prompt = staff.get("/accounts/2fa/authenticate/")
    bad = staff.post(
        "/accounts/2fa/authenticate/",
        {"csrfmiddlewaretoken": csrf_token(prompt), "code": wrong_code},
    )
    check(
        "a wrong code signs nobody in",
        bad.status == 200 and staff.get("/network/manage/").status == 302,
        f"{bad.status} {bad.header('Location')}",
    )
    # The set-up's code is spent; the next period's would mean waiting up to
    # 30 s: a recovery code read from the page, good once, as the docs say.
    prompt = staff.get("/accounts/2fa/authenticate/")
    done = staff.post(
        "/accounts/2fa/authenticate/",
        {"csrfmiddlewaretoken": csrf_token(prompt), "code": codes[0]},
    )
    home, seen = staff.follow(done)
    require(
        "a recovery code completes the sign-in; the home page shows them signed in",
        done.status == 302
        and home.status == 200
        and 'action="/accounts/logout/"' in home.body
        and staff.get("/network/manage/").status == 200,
        f"{done.status} → {seen}, {home.status}",
    )
    return staff


def journey_register(member: Client) -> tuple[int, str]:
    """The member registers for an open event through its form; returns (pk, title)."""
    events = member.get("/events/")
    require("the events list answers 200", events.status == 200, f"{events.status}")
    candidates = list(dict.fromkeys(re.findall(r'href="/events/(\d+)/"', events.body)))
    for pk in candidates:
        detail = member.get(f"/events/{pk}/")
        if f'href="/events/{pk}/register/"' in detail.body:
            break
    else:
        require("an open event offers registration", False, f"none of {candidates}")
    found = re.search(r"<h1[^>]*>(.*?)</h1>", detail.body, re.S)
    title = re.sub(r"<[^>]+>|\s+", " ", found.group(1)).strip() if found else ""
    page = member.get(f"/events/{pk}/register/")
    form = forms(page, f"/events/{pk}/register/") or forms(page, "")
    form = [f for f in form if any(i.get("name") == "mode" for i in f.inputs)]
    require(
        f"the registration form of event {pk} ({title})",
        page.status == 200 and bool(form),
        f"{page.status}, {len(forms(page))} POST forms",
    )
    sent = member.post(f"/events/{pk}/register/", form[0].data())
    check(
        "the member registers through the form (302 to the event)",
        sent.status == 302 and local(sent.header("Location")) == f"/events/{pk}/",
        f"{sent.status} {sent.header('Location')!r}"
        + (f", errors {form_errors(sent)}" if sent.status == 200 else ""),
    )
    mine = member.get("/events/mine/")
    check(
        "the registration shows on the member's page (/events/mine/)",
        mine.status == 200 and f"/events/{pk}/" in mine.body,
        f"{mine.status}, event {pk} not listed",
    )
    return int(pk), title


def registration_row(event: int) -> tuple:
    rows = sql(
        "SELECT r.id, r.status, r.attended FROM events_registration r"
        " JOIN network_user u ON u.id = r.user_id"
        f" WHERE r.event_id = {int(event)} AND u.email = '{MEMBER}'",
        DB_NAME,
    )
    return rows[0] if rows else ()


def journey_checkin(staff: Client, event: int) -> None:
    """The secretariat checks the member in on the check-in page, as checkin.js posts."""
    row = registration_row(event)
    check(
        "the registration is stored, confirmed (psql)",
        bool(row) and row[1] == "confirmed" and row[2] is False,
        f"row {row}",
    )
    url = f"/events/manage/{event}/checkin/?q={urllib.parse.quote(MEMBER)}"
    page = staff.get(url)
    toggles = forms(page, f"/events/manage/{event}/checkin/")
    require(
        "the check-in page finds the member (one row)",
        page.status == 200 and len(toggles) == 1,
        f"{page.status}, {len(toggles)} rows",
    )
    sent = staff.post(toggles[0].action, toggles[0].data(), Accept="application/json")
    answer = (
        json.loads(sent.body) if sent.header("Content-Type").startswith("application/json") else {}
    )
    check(
        "the check-in is recorded ({ok: true, attended: true})",
        sent.status == 200 and answer.get("ok") is True and answer.get("attended") is True,
        f"{sent.status} {sent.body[:200]}",
    )
    again = staff.get(url)
    row = registration_row(event)
    check(
        "the check-in page shows the member as attended; stored (psql)",
        again.status == 200 and "checkin-row is-attended" in again.body and bool(row) and row[2],
        f"{again.status}, row {row}",
    )


def journey_report(staff: Client) -> None:
    """The secretariat downloads the annual report as PDF and Word: WeasyPrint
    reads the hashed stylesheet from the collected files (a stylesheet it
    cannot read is an error, report_files.pdf), the Japanese font embedded."""
    from pypdf import PdfReader

    pdf = staff.get("/dashboard/report/pdf/?fy=2021")
    title, fonts = "", []
    if pdf.status == 200 and pdf.content.startswith(b"%PDF-"):
        reader = PdfReader(io.BytesIO(pdf.content))
        title = reader.pages[0].extract_text().splitlines()[0]
        fonts = [
            font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            for page in reader.pages
            for font in page["/Resources"]["/Font"].values()
        ]
    check(
        "the annual report's PDF is made, the Japanese font embedded",
        title == "年度報告書（令和3年度）"
        and bool(fonts)
        and all({"/FontFile2", "/FontFile3"} & set(font) for font in fonts),
        f"{pdf.status} {pdf.header('Content-Type')}, first line {title!r}, {len(fonts)} fonts",
    )
    word = staff.get("/dashboard/report/docx/?fy=2021")
    check(
        "the annual report's Word file is made",
        word.status == 200
        and word.header("Content-Type").endswith("wordprocessingml.document")
        and word.body.startswith("PK"),
        f"{word.status} {word.header('Content-Type')}",
    )


# An open survey for the member's organisation. The demo's survey (FY2021)
# is closed, so the smoke adds one, as the secretariat would, before the servers start.
SEED_SURVEY = """
import datetime, os
from django.utils import timezone
from network.models import Organisation, User
from surveys import services
from surveys.enums import QuestionKind, RespondentUnit, SurveyAudience, SurveyKind
by = User.objects.get(email=os.environ["SMOKE_STAFF"])
member = User.objects.get(email=os.environ["SMOKE_MEMBER"])
now = timezone.now()
survey = services.create_survey(
    title=os.environ["SMOKE_SURVEY"], kind=SurveyKind.ADHOC, fiscal_year=now.year,
    audience=SurveyAudience.CHOSEN, respondent_unit=RespondentUnit.ORGANISATION,
    opens_at=now - datetime.timedelta(hours=1), closes_at=now + datetime.timedelta(days=7),
    chosen_organisations=Organisation.objects.filter(memberships__user=member), by=by)
services.add_question(survey=survey, by=by, text="情報交換会は役に立ちましたか", required=True,
                      kind=QuestionKind.SINGLE, choices=["はい", "いいえ"])
services.add_question(survey=survey, by=by, text="ご意見", kind=QuestionKind.TEXT)
print(services.publish_survey(survey=survey, by=by))
"""
SURVEY_TITLE = "prod-smoke アンケート"
SURVEY_COMMENT = "prod-smoke の回答です"


def journey_survey(member: Client) -> None:
    """The member answers the survey that invites them: form, confirmation, submission."""
    listing = member.get("/surveys/")
    found = re.search(rf'<a href="(/surveys/\d+/answer/[^"]*)">{SURVEY_TITLE}</a>', listing.body)
    require(
        "the survey list shows the open survey to answer",
        listing.status == 200 and bool(found),
        f"{listing.status}, no link to {SURVEY_TITLE!r}",
    )
    answer_url = found.group(1).replace("&amp;", "&")
    page = member.get(answer_url)
    form = [f for f in forms(page, "/answer/") if f.textareas]
    require(
        "the answer form (a choice and a comment)",
        page.status == 200 and bool(form),
        f"{page.status}, {len(forms(page))} POST forms",
    )
    comment = next(iter(form[0].textareas))
    confirm = member.post(
        form[0].action.replace("&amp;", "&") or answer_url,
        form[0].data(**{comment: SURVEY_COMMENT, "action": "confirm"}),
    )
    final = [f for f in forms(confirm) if any(i.get("name") == "version" for i in f.inputs)]
    require(
        "「確認」 shows the answers to confirm",
        confirm.status == 200 and bool(final) and SURVEY_COMMENT in confirm.body,
        f"{confirm.status}",
    )
    sent = member.post(final[0].action or answer_url, final[0].data(action="submit"))
    check(
        "「送信する」 submits (302 to the thanks page)",
        sent.status == 302 and local(sent.header("Location")) == "/surveys/thanks/",
        f"{sent.status} {sent.header('Location')!r}",
    )
    stored = sql(
        "SELECT count(*) FROM surveys_invitation i JOIN surveys_survey s ON s.id = i.survey_id"
        " JOIN surveys_response r ON r.invitation_id = i.id"
        f" WHERE s.title = '{SURVEY_TITLE}' AND i.responded_at IS NOT NULL"
        " AND r.submitted_at IS NOT NULL",
        DB_NAME,
    )
    listing = member.get("/surveys/")
    check(
        "the response is stored (psql) and the list says 回答済み",
        stored == [(1,)] and "回答済み" in listing.body,
        f"rows {stored}",
    )


def journey_line(client: Client, stub: LineStub, secret: str, token: str) -> None:
    body = line_webhook_body("こんにちは")
    signed = client.request(
        "POST",
        "/navi/line/webhook/",
        headers={
            "Content-Type": "application/json",
            "X-Line-Signature": line_signature(secret, body),
        },
        raw=body,
    )
    replies = [c for c in stub.calls if c[0] == "/v2/bot/message/reply"]
    reply_token = json.loads(body)["events"][0]["replyToken"]
    check(
        "a signed LINE webhook answers 200",
        signed.status == 200,
        f"{signed.status} {signed.body[:120]!r}, gunicorn: {log_tail('gunicorn', 2)}",
    )
    check(
        "the bot replied through the Messaging API (stub): token, reply token, messages",
        len(replies) == 1
        and replies[0][1] == f"Bearer {token}"
        and replies[0][2].get("replyToken") == reply_token
        and bool(replies[0][2].get("messages")),
        f"stub calls {[(c[0], c[1][:12]) for c in stub.calls]}",
    )
    body = line_webhook_body("こんにちは")
    forged = client.request(
        "POST",
        "/navi/line/webhook/",
        headers={
            "Content-Type": "application/json",
            "X-Line-Signature": line_signature(secret + "x", body),
        },
        raw=body,
    )
    check(
        "a badly signed LINE webhook is refused (400), nothing sent",
        forged.status == 400 and len(stub.calls) == len(replies),
        f"{forged.status}, stub calls {len(stub.calls)}",
    )


def section(name: str, run_it, *args):
    """One part of the journey: a failed step ends that part, not the run."""
    try:
        return run_it(*args)
    except Abort as error:
        print(f"prod-smoke: the rest of {name} skipped after: {error}", flush=True)
        return None


# --- The run ----------------------------------------------------------------------------


def check_refusals(env: dict) -> None:
    """Production must not start without its secrets, nor with weak ones."""
    cases = {}
    for name in REQUIRED_SECRETS:
        # base.py reads a .env in the project root for variables that are not
        # set; an empty value is "missing" too and is not overridden by it.
        without = {k: v for k, v in env.items() if k != name}
        if (ROOT / ".env").exists():
            without[name] = ""
        cases[f"{name} unset"] = (without, name)
    cases["SECRET_KEY too short"] = ({**env, "SECRET_KEY": "short"}, "at least 50 characters")
    cases["SQLite DATABASE_URL"] = ({**env, "DATABASE_URL": "sqlite:///x.db"}, "PostgreSQL")
    # In parallel: each is a Python start-up that fails in the settings.
    running = {
        label: (
            subprocess.Popen(
                [sys.executable, "manage.py", "check", "--deploy"],
                cwd=ROOT,
                env=case_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
            expected,
        )
        for label, (case_env, expected) in cases.items()
    }
    for label, (process, expected) in running.items():
        _, stderr = process.communicate(timeout=60)
        # The traceback's last line: "django.core.exceptions.ImproperlyConfigured: …".
        lines = [ln for ln in stderr.splitlines() if "ImproperlyConfigured: " in ln]
        message = lines[-1].split(": ", 1)[1] if lines else ""
        check(
            f"check --deploy refuses to start: {label}",
            process.returncode != 0 and expected in message,
            f"exit {process.returncode}, message {message or tail(stderr, 2)!r}",
            info=message,
        )


def main() -> int:
    print(f"prod-smoke: database {DB_NAME}", flush=True)
    return stack.run_checks("prod-smoke", smoke, cleanup, time_limit=TIME_LIMIT)


def cleanup() -> None:
    stop_servers()
    while line_stubs:
        line_stubs.pop().stop()
    for name in (DB_NAME, RESTORE_DB_NAME):
        try:
            drop_database(name)
        except psycopg.Error as error:
            print(f"prod-smoke: could not drop database {name}: {error}", flush=True)
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=3).flushdb()
    except redis.RedisError as error:
        print(f"prod-smoke: could not flush {REDIS_URL}: {error}", flush=True)


# Under the production settings, before the servers start: a message queued
# through the outbox, which only the Celery worker can deliver.
QUEUE_MAIL = """
import os
from django.db import transaction
from core.outbox import queue_message
with transaction.atomic():
    queue_message(key=os.environ["SMOKE_KEY"], kind="prod_smoke", to_email="ops@example.org",
                  subject="prod-smoke", body="The worker delivered this message.")
"""


def smoke(work: Path, port: int) -> None:
    logs = work / "logs"
    healthz_token = secrets.token_urlsafe(24)
    env = production_env(work, port, healthz_token, database=DB_NAME, redis_url=REDIS_URL)

    # --- services --------------------------------------------------------------------
    try:
        sql("SELECT 1")
        redis.Redis.from_url(REDIS_URL, socket_timeout=3).flushdb()
    except (psycopg.Error, redis.RedisError) as error:
        require("PostgreSQL and Redis answer", False, f"{type(error).__name__}: {error}")
    create_database(DB_NAME)
    check("PostgreSQL and Redis answer, a fresh database", True)

    # --- production refuses to start without its secrets -------------------------------
    check_refusals(env)

    # --- the deploy steps ------------------------------------------------------------
    done = manage(["check", "--deploy", "--fail-level", "WARNING"], env)
    check("manage.py check --deploy is clean", done.returncode == 0, tail(done.stderr))
    deploy(env)
    outbox_key = f"prod-smoke:{secrets.token_hex(8)}"
    done = manage(["shell", "-c", QUEUE_MAIL], {**env, "SMOKE_KEY": outbox_key})
    require("a mail queued in the outbox", done.returncode == 0, tail(done.stderr))
    done = manage(
        ["shell", "-c", SEED_SURVEY],
        {**env, "SMOKE_STAFF": STAFF, "SMOKE_MEMBER": MEMBER, "SMOKE_SURVEY": SURVEY_TITLE},
    )
    invited = done.stdout.strip().splitlines()[-1:] if done.returncode == 0 else []
    check(
        "an open survey for the member's organisation, published (the demo's is closed)",
        invited not in ([], ["0"]),
        tail(done.stderr) or f"{done.stdout.strip()!r} invitations",
    )

    # The LINE bot on, its Messaging API a stub of this process on loopback.
    stub = LineStub()
    line_stubs.append(stub)
    line_secret, line_token = secrets.token_hex(16), secrets.token_urlsafe(32)
    env.update(
        {
            "LINE_CHANNEL_SECRET": line_secret,
            "LINE_CHANNEL_ACCESS_TOKEN": line_token,
            "LINE_API_BASE": stub.base,
        }
    )

    # --- the servers -----------------------------------------------------------------
    gunicorn = start_gunicorn(env, logs, port, workers=2)
    worker = start_worker(env, logs, work)
    client = Client(port)

    health = wait_for_http(client, gunicorn)
    require("gunicorn serves the production settings", health is not None, log_tail("gunicorn"))

    # --- /healthz --------------------------------------------------------------------
    check(
        "/healthz answers 200 {status: ok} to anyone",
        health.status == 200 and json.loads(health.body) == {"status": "ok"},
        f"{health.status} {health.body[:200]}",
    )
    detail = client.get("/healthz", Authorization=f"Bearer {healthz_token}")
    checks = json.loads(detail.body).get("checks", {}) if detail.status == 200 else {}
    check(
        "/healthz with HEALTHZ_TOKEN: PostgreSQL, Redis cache and broker ok",
        checks.get("database", {}).get("backend") == "postgresql"
        and checks.get("cache", {}).get("backend") == "redis"
        and all(c.get("ok", True) for c in checks.values())
        and bool(checks.get("broker", {}).get("ok")),
        f"{detail.status} {detail.body[:300]}",
    )
    plain = client.get("/healthz", X_Forwarded_Proto=None)
    check(
        "plain HTTP is redirected to https",
        plain.status == 301 and plain.header("Location").startswith("https://"),
        f"{plain.status} {plain.header('Location')}",
    )

    # --- security headers --------------------------------------------------------------
    home = client.get("/")
    require("the home page answers 200", home.status == 200, f"{home.status}")
    csp = home.header("Content-Security-Policy")
    hsts = home.header("Strict-Transport-Security")
    expected = {
        "Strict-Transport-Security": "max-age=31536000" in hsts and "includeSubDomains" in hsts,
        "Content-Security-Policy": "default-src 'self'" in csp
        and "script-src 'self'" in csp
        and "frame-ancestors 'none'" in csp
        and "unsafe-inline" not in csp,
        "X-Content-Type-Options": home.header("X-Content-Type-Options") == "nosniff",
        "Referrer-Policy": home.header("Referrer-Policy") == "same-origin",
        "X-Frame-Options": home.header("X-Frame-Options") == "DENY",
    }
    for name, ok in expected.items():
        check(f"header {name}", ok, home.header(name) or "missing")

    # --- static files ------------------------------------------------------------------
    found = re.search(r'<link rel="stylesheet" href="(/static/[^"]+)"', home.body)
    stylesheet = found.group(1) if found else ""
    css = client.get(stylesheet) if stylesheet else None
    check(
        "the stylesheet is served by WhiteNoise",
        css is not None and css.status == 200 and "text/css" in css.header("Content-Type"),
        f"{css.status} {css.header('Content-Type')}" if css else "no stylesheet link on /",
    )
    check(
        "static names are hashed (manifest) and cached for good",
        bool(re.search(r"\.[0-9a-f]{12}\.css$", stylesheet))
        and css is not None
        and "immutable" in css.header("Cache-Control"),
        f"{stylesheet!r}, Cache-Control {css.header('Cache-Control') if css else ''!r}"
        " (production needs whitenoise's CompressedManifestStaticFilesStorage)",
    )

    # --- DEBUG is off: errors are the project's pages ----------------------------------
    missing = client.get(f"/no-such-page-{secrets.token_hex(4)}/")
    check(
        "a missing page is the Japanese 404, nothing of DEBUG",
        missing.status == 404
        and "ページが見つかりません" in missing.body
        and 'lang="ja"' in missing.body
        and not leaks(missing),
        f"{missing.status}, leaks {leaks(missing)}, {missing.body[:120]!r}",
    )
    bad_host = client.get("/", Host="evil.example")
    check(
        "a disallowed Host answers 400, nothing of DEBUG",
        bad_host.status == 400 and not leaks(bad_host),
        f"{bad_host.status}, leaks {leaks(bad_host)}",
    )

    # --- login -----------------------------------------------------------------------
    member = Client(port)
    page = member.get("/accounts/login/")
    token = csrf_token(page)
    require(
        "the login page answers 200 with its form",
        page.status == 200 and bool(token) and 'name="password"' in page.body,
        f"{page.status}",
    )
    csrf = member.cookie_flags("csrftoken")
    check(
        "csrf cookie Secure, SameSite=Lax",
        {"secure", "samesite=lax"} <= csrf,
        ", ".join(sorted(csrf)) or "no csrftoken cookie",
    )
    wrong = member.post(
        "/accounts/login/",
        {"csrfmiddlewaretoken": token, "login": MEMBER, "password": "not-the-password"},
    )
    check(
        "a wrong password is refused",
        wrong.status == 200 and "sessionid" not in member.cookies,
        f"{wrong.status}",
    )
    landed = member.post(
        "/accounts/login/",
        {"csrfmiddlewaretoken": csrf_token(wrong) or token, "login": MEMBER, "password": PASSWORD},
    )
    check(
        f"{MEMBER} signs in (302 to the home page)",
        landed.status == 302 and landed.header("Location") == "/" and "sessionid" in member.cookies,
        f"{landed.status} {landed.header('Location')}",
    )
    session = member.cookie_flags("sessionid")
    check(
        "session cookie Secure, HttpOnly, SameSite=Lax",
        {"secure", "httponly", "samesite=lax"} <= session,
        ", ".join(sorted(session)) or "no sessionid cookie",
    )
    home = member.get("/")
    check(
        "the home page shows the member signed in",
        home.status == 200 and 'action="/accounts/logout/"' in home.body,
        f"{home.status}",
    )

    # --- the journey: second factor, register, check in, answer, LINE -------------------
    staff = section("the secretariat's sign-in", journey_staff_mfa, port)
    registered = section("the registration", journey_register, member)
    if staff and registered:
        section("the check-in", journey_checkin, staff, registered[0])
    else:
        print("prod-smoke: the check-in skipped (no staff session or no registration)")
    if staff:
        section("the annual report", journey_report, staff)
    section("the survey", journey_survey, member)
    section("the LINE webhook", journey_line, client, stub, line_secret, line_token)

    # --- mail --------------------------------------------------------------------------
    anonymous = Client(port)
    page = anonymous.get("/accounts/password/reset/")
    sent = anonymous.post(
        "/accounts/password/reset/", {"csrfmiddlewaretoken": csrf_token(page), "email": MEMBER}
    )
    check("password reset posted", sent.status == 302, f"{sent.status}")

    def mails() -> list[str]:
        return [p.read_text(errors="replace") for p in (work / "mail").glob("*.log")]

    def wait_for_mail(text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in mail for mail in mails()):
                return True
            time.sleep(0.3)
        return False

    check(
        "the web's mail (password reset, https link) reached the mail backend",
        wait_for_mail(f"https://127.0.0.1:{port}/accounts/password/reset/key/", 10),
        f"{len(mails())} mail files in {work / 'mail'}",
    )
    check(
        "the worker delivered the outbox mail to the mail backend",
        wait_for_mail("The worker delivered this message.", 40),
        f"worker log: {log_tail('worker', 3)}",
    )
    check("celery beat runs in the worker", "beat: Starting" in log_tail("worker", 400))
    check(
        "gunicorn and the worker are still running",
        gunicorn.poll() is None and worker.poll() is None,
        f"gunicorn {gunicorn.poll()}, worker {worker.poll()}",
    )

    # --- backup and restore ------------------------------------------------------------
    stop_servers()  # nothing writes between the counts and the dump
    (work / "media" / "marker.txt").write_text("prod-smoke\n")
    before = sql(ROW_COUNTS, DB_NAME)
    done = run(["bash", str(ROOT / "ops" / "backup.sh"), str(work / "backup")], env)
    require("ops/backup.sh", done.returncode == 0 and done.stdout.count("\n") == 2, done.stderr)
    dump, media = done.stdout.split()
    restored = work / "restored-media"
    done = run(
        ["bash", str(ROOT / "ops" / "restore.sh"), dump, RESTORE_DB_NAME, media, str(restored)], env
    )
    require("ops/restore.sh into a new database", done.returncode == 0, tail(done.stderr))
    after = sql(ROW_COUNTS, RESTORE_DB_NAME)
    differ = sorted(set(before) ^ set(after))
    users = dict(after).get("network_user", 0)
    check(
        f"restored row counts match ({len(after)} tables, {users} users)",
        not differ and users > 0,
        f"differ: {differ[:6]}",
    )
    check(
        "restored uploaded files match",
        (restored / "marker.txt").is_file()
        and (restored / "marker.txt").read_text() == "prod-smoke\n",
    )


if __name__ == "__main__":
    sys.exit(main())
