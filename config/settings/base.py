"""Settings shared by every environment, driven by the environment.

Every value that differs between machines comes from an environment variable
(README lists them all). Bad values fail loudly at start-up: an unparsable
DATABASE_URL or a non-boolean DEBUG raises instead of silently defaulting.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean strictly: 'yes'/'maybe' must not silently become False."""
    raw = env.str(name, default="")
    if raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_count(name: str, default: int) -> int:
    """Read a whole number >= 0 strictly: '-1' or '1.5' must not start the site."""
    raw = env.str(name, default="").strip()
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ImproperlyConfigured(f"{name} must be a whole number of 0 or more, got {raw!r}")
    return value


# Cache backends that live inside one process: each web worker would count
# login failures on its own, so they are never the cache of a deployment.
PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


def require_shared_cache(caches: dict) -> None:
    backend = caches["default"]["BACKEND"]
    if backend in PER_PROCESS_CACHES:
        raise ImproperlyConfigured(
            f"The default cache must be a shared cache (Redis or the database), not {backend}"
        )


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "auditlog",
    "django_filters",
    "import_export",
    "core",
    "network",
    "events",
    "surveys",
    "note",
    "directory",
    "support",
    "committee",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so static files carry the policy too (decision 0004).
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Who did it, for the audit log (core.audit): the signed-in user and the
    # client address behind the trusted proxies.
    "core.audit.AuditActorMiddleware",
    # Staff sessions end after TSUNAGARI_STAFF_IDLE_MINUTES without a request.
    "network.middleware.StaffIdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Where TSUNAGARI_MFA_REQUIRED is on, staff set up a second factor first.
    "network.middleware.StaffMfaRequiredMiddleware",
]

ROOT_URLCONF = "config.urls"
FORM_RENDERER = "core.forms.SiteFormRenderer"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.roles",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------
# Embedded default: SQLite in WAL mode with IMMEDIATE transactions, so that
# concurrent writers queue on the database lock instead of failing late with
# "database is locked" on upgrade from a read to a write transaction.
SQLITE_PATH = env.str("SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3"))
DATABASE_URL = env.str("DATABASE_URL", default="")
if DATABASE_URL:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
    if DATABASES["default"]["ENGINE"] not in (
        "django.db.backends.postgresql",
        "django.db.backends.sqlite3",
    ):
        raise ImproperlyConfigured("DATABASE_URL must be a postgres:// or sqlite:// URL")
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;"
        ),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and broker -----------------------------------------------------
# The cache holds the login rate-limit counts, so every web process (gunicorn
# worker, host) must see the same one: Redis when there is one, else a table in
# the database (`manage.py migrate` creates it, see core's migrate command).
REDIS_URL = env.str("REDIS_URL", default="")
DATABASE_CACHE_TABLE = "tsunagari_cache"
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": DATABASE_CACHE_TABLE,
            # Django's default of 300 entries would let a flood of login
            # attempts cull (reset) everyone's rate-limit counts.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# Monitors that send `Authorization: Bearer <HEALTHZ_TOKEN>` get /healthz's
# detail (backends, latencies); unset = only the secretariat sees it.
HEALTHZ_TOKEN = env.str("HEALTHZ_TOKEN", default="")

# Celery: with Redis, a real broker and worker; without, tasks run eagerly
# (still queued on commit by the callers, so behaviour matches).
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "Asia/Tokyo"

# --- Auth -----------------------------------------------------------------
AUTH_USER_MODEL = "network.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# allauth: e-mail login, no open sign-up (people join by invitation or by
# the organisation join request), rate limits on.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "network.adapters.AccountAdapter"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
# Login and password reset answer alike whether or not an address has an
# account (allauth's default, kept explicit), and a reset for an unknown
# address sends nothing: the form must not mail whatever address anyone types
# (tests/test_accounts_enumeration.py).
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
# Behind a reverse proxy: how many proxies in front of the portal append to
# X-Forwarded-For (core.clientip). 0 = the header is the client's own word and
# is ignored.
TRUSTED_PROXY_COUNT = env_count("TRUSTED_PROXY_COUNT", 0)
# login_failed: per client address (20 failures in 5 minutes, over all
# accounts), and per account *from that address* (5), the "key" being
# (account, address) in network.adapters. A guesser locks out only their own
# address, never the account's owner signing in from somewhere else.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "20/5m/ip,5/5m/key",
    "reset_password": "20/m/ip,5/5m/key",
    "reset_password_from_key": "20/m/ip",
}
# The secretariat's, the committee's and superusers' sessions end after this
# many minutes without a request (network.middleware); 0 turns it off.
# Members' sessions are not affected.
TSUNAGARI_STAFF_IDLE_MINUTES = env_count("TSUNAGARI_STAFF_IDLE_MINUTES", 30)
# Multi-factor authentication (allauth.mfa): TOTP with recovery codes. When
# TSUNAGARI_MFA_REQUIRED is on (production's default), the secretariat, the
# committee and superusers must set up TOTP before any other page
# (network.middleware.StaffMfaRequiredMiddleware); off in the demo and tests so
# the demo accounts log in with one step.
MFA_ADAPTER = "network.adapters.MfaAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Tsunagari"
MFA_RECOVERY_CODE_COUNT = 10
TSUNAGARI_MFA_REQUIRED = env_bool("TSUNAGARI_MFA_REQUIRED", False)
INVITATION_EXPIRY_DAYS = env.int("INVITATION_EXPIRY_DAYS", default=14)
# The audit log (django-auditlog, docs/decisions/0007-audit-log.md): every
# save of these models is logged with who did it and what changed; the
# exports of personal data, the erasures and the bulk imports are logged
# explicitly (core.audit.record). Free text that is a person's own (事前質問,
# answers, posts) is never copied into the log; timestamps are left out.
_NOT_LOGGED = ["created_at", "updated_at"]
AUDITLOG_INCLUDE_TRACKING_MODELS = (
    {
        "model": "network.user",
        "include_fields": ["email", "full_name", "is_active", "is_staff", "is_superuser"],
        "m2m_fields": ["groups"],
    },
    {"model": "network.membership", "exclude_fields": _NOT_LOGGED},
    {"model": "network.organisation", "exclude_fields": _NOT_LOGGED},
    {
        "model": "events.registration",
        "include_fields": ["status", "mode", "session", "social", "attended"],
    },
    {"model": "events.event", "exclude_fields": _NOT_LOGGED},
    {"model": "surveys.survey", "exclude_fields": _NOT_LOGGED},
    {"model": "committee.need", "exclude_fields": _NOT_LOGGED},
    # The annual report's paragraphs keep every version in ReportTextRevision:
    # the log says who changed which paragraph, the text's length, not its words.
    {
        "model": "committee.reporttext",
        "exclude_fields": _NOT_LOGGED,
        "mask_fields": ["text"],
        "mask_callable": "core.audit.length_only",
    },
    {"model": "directory.service", "exclude_fields": [*_NOT_LOGGED, "stale_notified_on"]},
    {"model": "directory.location", "exclude_fields": _NOT_LOGGED},
    {"model": "directory.provider", "exclude_fields": _NOT_LOGGED},
    {"model": "support.menu", "exclude_fields": _NOT_LOGGED},
    {"model": "support.application", "include_fields": ["status", "status_reason"]},
    # Who looked at an anonymous post's author (note.services): the look itself.
    {"model": "note.authorlookup"},
)
# Entries older than this are deleted by a daily sweep (core.tasks.sweep_audit_log).
TSUNAGARI_AUDIT_RETENTION_DAYS = env_count("TSUNAGARI_AUDIT_RETENTION_DAYS", 1825)
# How long personal data is kept before the daily retention sweep cuts it
# (portal.retention, docs/privacy.md); 0 keeps that kind for ever.
TSUNAGARI_RETENTION_QUESTION_DAYS = env_count("TSUNAGARI_RETENTION_QUESTION_DAYS", 1095)
TSUNAGARI_RETENTION_ANSWER_DAYS = env_count("TSUNAGARI_RETENTION_ANSWER_DAYS", 1825)
TSUNAGARI_RETENTION_REVISION_DAYS = env_count("TSUNAGARI_RETENTION_REVISION_DAYS", 365)
TSUNAGARI_RETENTION_MAIL_DAYS = env_count("TSUNAGARI_RETENTION_MAIL_DAYS", 365)
# The board: how long an author may edit a post, and when a note entry is due
# for re-review.
NOTE_EDIT_WINDOW_MINUTES = env.int("NOTE_EDIT_WINDOW_MINUTES", default=30)
NOTE_REVIEW_MONTHS = env.int("NOTE_REVIEW_MONTHS", default=12)

# --- Content-Security-Policy and error pages ----------------------------------
# One strict policy for every response, the admin included (decision 0004):
# scripts and styles only from our own static files, never inline.
# To allow a new source, add it to the directive here and say why in 0004.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}
# A form sent after its page expired: a Japanese page saying to reload and resend.
CSRF_FAILURE_VIEW = "core.errors.csrf_failure"

# --- I18N -----------------------------------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("日本語"))]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

# --- Static and media -----------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- E-mail ---------------------------------------------------------------
# EMAIL_URL, e.g. smtp+tls://user:pass@host:587 ; console by default.
EMAIL_URL = env.str("EMAIL_URL", default="consolemail://")
globals().update(env.email_url_config(EMAIL_URL))
# The portal's own backends (core/mail.py): the console one prints decoded
# subjects and the text body, so links can be read; the SMTP and file ones
# record the moment they hand a mail over (decision 0008).
EMAIL_BACKEND = {
    "django.core.mail.backends.console.EmailBackend": "core.mail.EmailBackend",
    "django.core.mail.backends.smtp.EmailBackend": "core.mail.SMTPBackend",
    "django.core.mail.backends.filebased.EmailBackend": "core.mail.FileBackend",
}.get(EMAIL_BACKEND, EMAIL_BACKEND)  # noqa: F821
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="つながり事務局 <noreply@example.org>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- import-export ----------------------------------------------------------
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
# An uploaded file waits between the admin's preview and confirm steps. With
# Redis it waits in the shared cache, so any web process or host can finish
# the import; without, in the temp folder of this single machine.
IMPORT_EXPORT_TMP_STORAGE_CLASS = (
    "import_export.tmp_storages.CacheStorage"
    if REDIS_URL
    else "import_export.tmp_storages.TempFolderStorage"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# --- Events -------------------------------------------------------------------
# Largest slide deck (PDF) the secretariat may upload to an event.
EVENT_SLIDES_MAX_BYTES = env.int("EVENT_SLIDES_MAX_BYTES", default=20 * 1024 * 1024)

# --- The navi (directory) -------------------------------------------------------
# The LINE bot (/navi/line/webhook/, directory/line.py). Without a channel
# secret the webhook answers 404. LINE_API_BASE lets tests and anyone point
# the bot's replies at a local stub that records what it was sent.
LINE_CHANNEL_SECRET = env.str("LINE_CHANNEL_SECRET", default="")
LINE_CHANNEL_ACCESS_TOKEN = env.str("LINE_CHANNEL_ACCESS_TOKEN", default="")
LINE_API_BASE = env.str("LINE_API_BASE", default="https://api.line.me").rstrip("/")
# An entry not confirmed for this many months is flagged (directory/freshness.py).
DIRECTORY_STALE_MONTHS = env.int("DIRECTORY_STALE_MONTHS", default=12)

# --- Periodic sweeps (events services helper) ------------------------------------
# Celery beat runs these when REDIS_URL is set; without it, cron runs the very
# same entries through `python manage.py run_periodic` (it reads this dict).
# Every sweep is idempotent (outbox keys), so running one twice sends nothing twice.
from celery.schedules import crontab  # noqa: E402

EVENT_REMINDER_DAYS = [7, 1]
# Thanks + materials for events nobody marked finished go out this long after the end.
EVENT_THANKS_DELAY_HOURS = env.int("EVENT_THANKS_DELAY_HOURS", default=24)
CELERY_BEAT_SCHEDULE = {
    "events-reminders": {"task": "events.tasks.sweep_reminders", "schedule": crontab(minute=5)},
    "events-online-links": {
        "task": "events.tasks.sweep_online_links",
        "schedule": crontab(minute=10),
    },
    "events-thanks": {"task": "events.tasks.sweep_thanks", "schedule": crontab(minute=15)},
    "events-unconfirmed-guests": {
        "task": "events.tasks.sweep_unconfirmed_guests",
        "schedule": crontab(minute=25),
    },
    # The dashboard's tallies, for writes around the events services (an
    # organisation's kind changed in the network pages): events.tallies.repair.
    "events-tallies": {"task": "events.tasks.sweep_tallies", "schedule": crontab(minute=45)},
    "outbox-requeue": {
        "task": "core.tasks.requeue_stale_outbox",
        "schedule": crontab(minute="*/10"),
    },
    # surveys (services helper): reminders N days before the deadline (the
    # outbox day key keeps them to one a day), post-event surveys to the
    # attendees of events marked finished within 10 minutes, and invitation
    # mails a lost send_invitations task left unsent.
    "surveys-reminders": {
        "task": "surveys.tasks.sweep_survey_reminders",
        "schedule": crontab(minute=20),
    },
    "surveys-post-event": {
        "task": "surveys.tasks.sweep_post_event_surveys",
        "schedule": crontab(minute="*/10"),
    },
    "surveys-invitations": {
        "task": "surveys.tasks.sweep_invitations",
        "schedule": crontab(minute="5-59/10"),
    },
    # The board's weekly digest: hourly is safe (one mail per member per ISO week).
    "note-digest": {"task": "note.tasks.sweep_digest", "schedule": crontab(minute=35)},
    # The navi: stale entries flagged once per confirmation (stale_notified_on),
    # and the LINE redelivery records older than a week dropped.
    "directory-freshness": {
        "task": "directory.tasks.sweep_freshness",
        "schedule": crontab(minute=50, hour=6),
    },
    "directory-line-deliveries": {
        "task": "directory.tasks.sweep_line_deliveries",
        "schedule": crontab(minute=55, hour=3),
    },
    # Personal data past its retention period cut (portal.retention), daily.
    "portal-retention": {
        "task": "portal.tasks.sweep_retention",
        "schedule": crontab(minute=50, hour=4),
    },
    # Audit log entries past TSUNAGARI_AUDIT_RETENTION_DAYS deleted, daily.
    "core-audit-log": {
        "task": "core.tasks.sweep_audit_log",
        "schedule": crontab(minute=45, hour=4),
    },
    # Expired sessions deleted (Django's clearsessions), daily.
    "core-expired-sessions": {
        "task": "core.tasks.sweep_expired_sessions",
        "schedule": crontab(minute=40, hour=4),
    },
}
