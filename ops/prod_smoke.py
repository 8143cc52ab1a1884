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
- a mail from the web process and one from the worker reach the mail backend;
- ops/backup.sh and ops/restore.sh: the restored copy has the same rows.

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

import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_URL = os.environ.get("SMOKE_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
REDIS_URL = os.environ.get("SMOKE_REDIS_URL", "redis://127.0.0.1:6379/13")
TIME_LIMIT = int(os.environ.get("SMOKE_TIME_LIMIT", "170"))  # seconds, the whole run
# Names of this run only, so that two runs on one server do not collide.
DB_NAME = f"tsunagari_smoke_{os.getpid()}"
RESTORE_DB_NAME = f"{DB_NAME}_restored"
MEMBER = "npo@example.org"  # seed_demo's 受託団体 member (not staff: no second factor)
PASSWORD = "tsunagari-demo"  # network/demo.py
REQUIRED_SECRETS = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL")


class Abort(Exception):
    """A check the rest of the run cannot do without failed."""


class Interrupted(BaseException):
    """SIGTERM, SIGINT, SIGHUP or the time limit."""


# --- Reporting --------------------------------------------------------------------------

failures: list[str] = []
passed = 0


def check(name: str, ok: bool, detail: str = "", info: str = "") -> bool:
    """One line: PASS (with `info`), or FAIL with what was seen instead."""
    global passed
    if ok:
        passed += 1
        print(f"PASS  {name}" + (f" ({info})" if info else ""), flush=True)
    else:
        failures.append(name)
        print(f"FAIL  {name}" + (f": {detail}" if detail else ""), flush=True)
    return ok


def require(name: str, ok: bool, detail: str = "") -> None:
    if not check(name, ok, detail):
        raise Abort(name)


def tail(text: str, lines: int = 6) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])


# --- Processes, databases ---------------------------------------------------------------

servers: list[tuple[str, subprocess.Popen, Path]] = []


def run(argv: list[str], env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def manage(args: list[str], env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return run([sys.executable, "manage.py", *args], env, timeout)


def start(name: str, argv: list[str], env: dict, logs: Path) -> subprocess.Popen:
    log = logs / f"{name}.log"
    with log.open("wb") as handle:
        # A session of its own: killing the group stops gunicorn's workers and
        # Celery's pool processes too.
        process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
    servers.append((name, process, log))
    return process


def stop_servers() -> None:
    for _, process, _ in servers:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:  # already gone, with its group
            pass
    for _, process, _ in servers:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        try:  # whatever of the group is left
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()
    servers.clear()


def log_tail(name: str, lines: int = 6) -> str:
    for server_name, _, log in servers:
        if server_name == name:
            return tail(log.read_text(errors="replace"), lines)
    return ""


def sql(query: str, database: str = "postgres") -> list[tuple]:
    with psycopg.connect(f"{PG_URL}/{database}", autocommit=True, connect_timeout=5) as conn:
        cursor = conn.execute(query)
        return cursor.fetchall() if cursor.description else []


def drop_database(name: str) -> None:
    sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Every table's row count in one query (query_to_xml runs a count per table).
ROW_COUNTS = """
SELECT table_name,
       (xpath('/row/n/text()', query_to_xml(
           format('SELECT count(*) AS n FROM %I.%I', table_schema, table_name),
           false, true, '')))[1]::text::bigint
FROM information_schema.tables
WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
ORDER BY table_name
"""


def free_port() -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port != 8000:  # make run's port
            return port


# --- HTTP, as the TLS proxy forwards it -------------------------------------------------


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: str

    def header(self, name: str) -> str:
        return self.headers.get(name, "")


class Client:
    """One browser behind the proxy. The portal's cookies are Secure, which a
    client on plain HTTP would not send back: this one keeps them itself."""

    def __init__(self, port: int):
        self.port = port
        self.host = f"127.0.0.1:{port}"
        self.cookies: dict[str, str] = {}
        self.set_cookie: dict[str, str] = {}  # the last Set-Cookie header per cookie

    def request(
        self, method: str, path: str, form: dict | None = None, headers: dict | None = None
    ) -> Response:
        sent = {
            "Host": self.host,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "203.0.113.10",
            "User-Agent": "tsunagari-prod-smoke",
        }
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent["Origin"] = f"https://{self.host}"
            sent["Referer"] = f"https://{self.host}{path}"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        sent.update(headers or {})
        sent = {k: v for k, v in sent.items() if v is not None}  # None: header left out
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=sent)
            raw = connection.getresponse()
            response = Response(raw.status, raw.msg, raw.read().decode("utf-8", "replace"))
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie(header)
            for name, morsel in cookie.items():
                self.set_cookie[name] = header
                if morsel.value and morsel["max-age"] != "0":
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return response

    def get(self, path: str, **headers) -> Response:
        return self.request(
            "GET", path, headers={k.replace("_", "-"): v for k, v in headers.items()}
        )

    def post(self, path: str, form: dict) -> Response:
        return self.request("POST", path, form)

    def cookie_flags(self, name: str) -> set[str]:
        parts = self.set_cookie.get(name, "").split(";")[1:]
        return {part.strip().lower() for part in parts}


def csrf_token(page: Response) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    return found.group(1) if found else ""


DEBUG_LEAKS = ("Traceback", "Page not found", "URLconf", "DEBUG", "DisallowedHost", "settings.py")


def leaks(page: Response) -> list[str]:
    return [marker for marker in DEBUG_LEAKS if marker in page.body]


# --- The run ----------------------------------------------------------------------------


def production_env(work: Path, port: int, healthz_token: str) -> dict:
    """The environment of a deployment: nothing of the caller's settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "VIRTUAL_ENV")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": f"{PG_URL}/{DB_NAME}",
            "REDIS_URL": REDIS_URL,
            "TRUSTED_PROXY_COUNT": "1",
            # django-environ drops the first "/" of the path: four slashes.
            "EMAIL_URL": f"filemail:///{work / 'mail'}",
            "MEDIA_ROOT": str(work / "media"),
            "SITE_URL": f"https://127.0.0.1:{port}",
            "HEALTHZ_TOKEN": healthz_token,
            "CONN_MAX_AGE": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


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
    started = time.monotonic()

    def interrupt(signum, frame):
        raise Interrupted(signal.Signals(signum).name)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):
        signal.signal(sig, interrupt)
    signal.alarm(TIME_LIMIT)

    work = Path(tempfile.mkdtemp(prefix="tsunagari-smoke-"))
    for sub in ("logs", "mail", "media", "backup"):
        (work / sub).mkdir()
    port = free_port()
    print(f"prod-smoke: portal on 127.0.0.1:{port}, database {DB_NAME}, work folder {work}")
    try:
        smoke(work, port)
    except Abort as error:
        print(f"prod-smoke: stopped after a failed check: {error}", flush=True)
    except Interrupted as why:
        if str(why) == "SIGALRM":
            check("time limit", False, f"the run did not finish in {TIME_LIMIT} s")
        else:
            check("interrupted", False, str(why))
    except Exception as error:  # a crash of the smoke itself is a failed run too
        check("the smoke itself", False, f"{type(error).__name__}: {error}")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # cleanup is not interrupted
        signal.alarm(0)
        cleanup()
    elapsed = time.monotonic() - started
    if failures:
        print(
            f"prod-smoke: FAILED in {elapsed:.0f} s — {len(failures)} check(s) failed: "
            + "; ".join(failures)
            + f". Logs and mails kept in {work}",
            flush=True,
        )
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print(f"prod-smoke: all {passed} checks passed in {elapsed:.0f} s", flush=True)
    return 0


def cleanup() -> None:
    stop_servers()
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
    env = production_env(work, port, healthz_token)

    # --- services --------------------------------------------------------------------
    try:
        sql("SELECT 1")
        redis.Redis.from_url(REDIS_URL, socket_timeout=3).flushdb()
    except (psycopg.Error, redis.RedisError) as error:
        require("PostgreSQL and Redis answer", False, f"{type(error).__name__}: {error}")
    drop_database(DB_NAME)
    sql(f'CREATE DATABASE "{DB_NAME}"')
    check("PostgreSQL and Redis answer, a fresh database", True)

    # --- production refuses to start without its secrets -------------------------------
    check_refusals(env)

    # --- the deploy steps ------------------------------------------------------------
    done = manage(["check", "--deploy", "--fail-level", "WARNING"], env)
    check("manage.py check --deploy is clean", done.returncode == 0, tail(done.stderr))
    done = manage(["migrate", "--noinput"], env, timeout=150)
    require("manage.py migrate", done.returncode == 0, tail(done.stderr or done.stdout))
    done = manage(["collectstatic", "--noinput"], env)
    require("manage.py collectstatic", done.returncode == 0, tail(done.stderr))
    # seed_demo refuses to run with DEBUG off: the demo data is written through
    # the local settings into the same database (tasks eager, no broker).
    seed_env = {**env, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DEBUG": "true"}
    del seed_env["REDIS_URL"]
    done = manage(["seed_demo"], seed_env, timeout=150)
    require("manage.py seed_demo", done.returncode == 0, tail(done.stderr or done.stdout))
    outbox_key = f"prod-smoke:{secrets.token_hex(8)}"
    done = manage(["shell", "-c", QUEUE_MAIL], {**env, "SMOKE_KEY": outbox_key})
    require("a mail queued in the outbox", done.returncode == 0, tail(done.stderr))

    # --- the servers -----------------------------------------------------------------
    gunicorn = start(
        "gunicorn",
        [
            str(BIN / "gunicorn"),
            "config.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            "--workers=2",
            "--access-logfile=-",
            # Not the per-user default control socket another gunicorn may hold.
            "--no-control-socket",
        ],
        env,
        logs,
    )
    worker = start(
        "worker",
        [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "--beat",
            "--concurrency=1",
            "--loglevel=INFO",
            f"--schedule={work / 'celerybeat-schedule'}",
        ],
        env,
        logs,
    )
    client = Client(port)

    def healthz_answers():
        try:
            return client.get("/healthz")
        except OSError:
            return None

    deadline = time.monotonic() + 40
    health = None
    while gunicorn.poll() is None and time.monotonic() < deadline:
        health = healthz_answers()
        if health:
            break
        time.sleep(0.3)
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
