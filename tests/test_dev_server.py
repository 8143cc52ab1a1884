"""What a developer sees with `make run`: links in mails that work and mails
that can be read in the terminal."""

import io
import os
import shlex
import subprocess
from pathlib import Path

from django.core import mail

from core.mail import EmailBackend

ROOT = Path(__file__).resolve().parent.parent


def test_make_run_points_site_url_at_the_served_port():
    env = {k: v for k, v in os.environ.items() if k != "SITE_URL"}
    dry = subprocess.run(
        ["make", "-n", "run", "PORT=8123"], cwd=ROOT, env=env, capture_output=True, text=True
    ).stdout
    (line,) = [line for line in dry.splitlines() if "runserver" in line]
    assert line.endswith("runserver 127.0.0.1:8123")
    # Run the same command line with the server replaced by a print of its environment.
    probe = line.replace(
        line.split("=", 1)[1].split(" ", 1)[1],
        "python3 -c 'import os; print(os.environ[\"SITE_URL\"])'",
    )
    shown = subprocess.run(["sh", "-c", probe], env=env, capture_output=True, text=True)
    assert shown.stdout.strip() == "http://127.0.0.1:8123"
    chosen = subprocess.run(
        ["sh", "-c", probe],
        env={**env, "SITE_URL": "https://portal.example.org"},
        capture_output=True,
        text=True,
    )
    assert chosen.stdout.strip() == "https://portal.example.org"
    assert shlex.split(line)[0].startswith("SITE_URL=")


def test_console_mail_shows_japanese_subject_and_links_readably():
    stream = io.StringIO()
    backend = EmailBackend(stream=stream)
    message = mail.EmailMessage(
        subject="【参加確定】情報交換会 in 北広島",
        body="お申し込みありがとうございます。\nhttp://127.0.0.1:8123/events/1/\n",
        from_email="つながり事務局 <noreply@example.org>",
        to=["npo@example.org"],
    )
    assert backend.send_messages([message]) == 1
    printed = stream.getvalue()
    assert "Subject: 【参加確定】情報交換会 in 北広島" in printed.splitlines()
    assert "From: つながり事務局 <noreply@example.org>" in printed.splitlines()
    assert "http://127.0.0.1:8123/events/1/" in printed.splitlines()
    assert "=?utf-8?" not in printed


def test_local_settings_use_the_readable_console_backend_by_default():
    env = {k: v for k, v in os.environ.items() if k not in {"EMAIL_URL", "DATABASE_URL"}}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    shown = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "python"),
            "-c",
            "import django; django.setup(); from django.conf import settings;"
            " print(settings.EMAIL_BACKEND)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert shown.stdout.strip() == "core.mail.EmailBackend", shown.stderr
