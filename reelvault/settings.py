"""Reelvault's one settings module. Every value comes from the environment.

See README.md "Configuration" for the table of variables.
Django settings reference: https://docs.djangoproject.com/en/5.2/ref/settings/
"""

from __future__ import annotations

import socket
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

from core.env import database_from_url, env_bool, env_int, env_list, env_str
from reelvault import embedded

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = embedded.var_dir()

DEBUG = env_bool("DJANGO_DEBUG", False)


def _secret_key() -> str:
    """SECRET_KEY from the environment; otherwise one generated once into var/.

    A key in the code would let anyone forge sessions; a new key per start
    would log everybody out, so the embedded default keeps one under var/.
    """
    key = env_str("DJANGO_SECRET_KEY")
    if key:
        return key
    key_file = VAR_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text(encoding="utf-8").strip()
    try:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key = get_random_secret_key()
        key_file.write_text(key, encoding="utf-8")
        key_file.chmod(0o600)
    except OSError as exc:
        raise ImproperlyConfigured(
            f"cannot store a secret key in {key_file} ({exc.strerror}): set DJANGO_SECRET_KEY"
        ) from exc
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# This host's name, used to route volume-bound jobs to the queue of the host
# where the volume is mounted (see core/queues.py).
REELVAULT_HOSTNAME = env_str("REELVAULT_HOSTNAME", socket.gethostname())

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "catalog",
    "alerts",
    "metadata",
    "ingest",
    "restore",
    "custody",
    "fixity",
    "protection",
    "recovery",
    "dashboard",
    "reelvault",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "reelvault.middleware.RequestGuardMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "catalog.middleware.AuditContextMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

# --- Web security ---------------------------------------------------------
# Login and token lockout: django-axes counts failed logins per username and
# client address in the database (so every gunicorn worker sees them) and
# refuses that pair for the cool-off once the limit is reached.
# https://django-axes.readthedocs.io/en/latest/4_configuration.html
AUTHENTICATION_BACKENDS = [
    "reelvault.auth.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("REELVAULT_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("REELVAULT_LOGIN_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# API tokens stop working this long after they were issued; POST /api/auth/token/ issues a new one.
REELVAULT_TOKEN_TTL_HOURS = env_int("REELVAULT_TOKEN_TTL_HOURS", 24 * 7)
# HTTPS hardening, on in the production shape (docker-compose.yml), off for `make run`
# on http://127.0.0.1 (a Secure cookie would never come back over plain http).
# https://docs.djangoproject.com/en/5.2/topics/security/#ssl-https
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("REELVAULT_SECURE_COOKIES", False)
SECURE_HSTS_SECONDS = env_int("REELVAULT_HSTS_SECONDS", 0)
if env_bool("REELVAULT_BEHIND_TLS_PROXY", False):
    # The proxy terminates TLS and says so; only set this behind a proxy that overwrites the header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Content-Security-Policy header on every answer (empty: none). Every script and
# style is served from static/, so "script-src 'self'" holds for all pages.
# https://developer.mozilla.org/en-US/docs/Web/HTTP/Guides/CSP
REELVAULT_CSP = env_str("REELVAULT_CSP", "")
SESSION_COOKIE_HTTPONLY = True

ROOT_URLCONF = "reelvault.urls"
WSGI_APPLICATION = "reelvault.wsgi.application"

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
                "reelvault.header.header",
            ],
        },
    },
]

# PostgreSQL only. No ATOMIC_REQUESTS: services own their transactions
# (a durable service transaction cannot nest inside a request-wide one).
DATABASES = {"default": database_from_url(env_str("DATABASE_URL") or embedded.default_database_url())}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
# Date-times carry their zone on every page (reelvault/locale_formats/en/formats.py).
FORMAT_MODULE_PATH = ["reelvault.locale_formats"]
TIME_ZONE = env_str("REELVAULT_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(VAR_DIR / "staticfiles")))
MEDIA_ROOT = Path(env_str("REELVAULT_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve files straight from the finders in development and tests, so no
# collectstatic step is needed before `make run` or `make test`.
WHITENOISE_USE_FINDERS = True

# --- Celery -------------------------------------------------------------
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
REDIS_URL = env_str("REDIS_URL") or embedded.default_redis_url()
CELERY_BROKER_URL = REDIS_URL
# The module that defines the Celery app; core.jobs loads it before any task is sent.
REELVAULT_CELERY_APP = "reelvault.celery"
# Results live in database rows (job tables), not in a result backend.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 5
# Redis redelivers an unacknowledged job after the visibility timeout; it must
# be longer than the longest offload, and every task claims its row anyway.
# https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/redis.html#visibility-timeout
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("REELVAULT_VISIBILITY_TIMEOUT", 12 * 3600)}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The audit chain's head (entry count and last hash) is appended to this file by beat
# every REELVAULT_AUDIT_ANCHOR_SECONDS; `audit_verify` checks the chain against it.
# Put it on another volume than the database ("none" to switch anchoring off).
_anchor_path = env_str("REELVAULT_AUDIT_ANCHOR_PATH", str(VAR_DIR / "audit-anchors.jsonl"))
REELVAULT_AUDIT_ANCHOR_PATH = None if _anchor_path.lower() in ("", "none") else Path(_anchor_path)
REELVAULT_AUDIT_ANCHOR_SECONDS = env_int("REELVAULT_AUDIT_ANCHOR_SECONDS", 900)
# https://docs.celeryq.dev/en/stable/userguide/periodic-tasks.html
CELERY_BEAT_SCHEDULE = {
    "offload-jobs-recover": {"task": "ingest.offload_jobs_recover", "schedule": 60.0},
    # Re-send metadata extraction jobs lost with a broker restart.
    "clip-metadata-recover": {"task": "ingest.clip_metadata_recover", "schedule": 600.0},
    # Restore: resume restores whose worker died, start due restore drills.
    "restore-requests-recover": {"task": "restore.restore_requests_recover", "schedule": 60.0},
    "restore-drills-due": {"task": "restore.restore_drills_due", "schedule": 900.0},
    # The outbox: send the emails (notifications, daily reports) and webhook posts the
    # commit-time task missed (broker down, worker killed, mail server or receiver down).
    "alerts-deliveries-pending": {"task": "alerts.deliveries_send_pending", "schedule": 120.0},
    # Protection: resume replications whose worker died, start those whose transfer window opened.
    "replication-jobs-recover": {"task": "protection.replication_jobs_recover", "schedule": 60.0},
    # Re-send queued jobs whose message was lost; alert on jobs waiting for a host with no worker.
    "waiting-jobs-check": {"task": "dashboard.waiting_jobs_check", "schedule": 60.0},
    # Anchor the audit chain's head outside the database (README "Audit log").
    "audit-anchor": {"task": "catalog.audit_anchor", "schedule": float(REELVAULT_AUDIT_ANCHOR_SECONDS)},
}

# --- REST API -----------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first so an anonymous API call gets 401 with a WWW-Authenticate
        # header (the session scheme can only answer 403).
        "reelvault.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # JSON for API clients; the app's 403/404 page for a browser (reelvault/errors.py).
    "EXCEPTION_HANDLER": "reelvault.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Reelvault API",
    "DESCRIPTION": "Catalog, offload, protection and restore of camera originals.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI is served from the vendored sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Reelvault ----------------------------------------------------------
# Folders under which a DIT may pick an offload source on this host.
REELVAULT_INGEST_ROOTS = [Path(p) for p in env_list("REELVAULT_INGEST_ROOTS", [str(VAR_DIR / "cards")])]
# Folders under which restore targets may lie on this host (checked when a target is
# registered and by the worker before it writes): restores never write elsewhere.
REELVAULT_RESTORE_ROOTS = [Path(p) for p in env_list("REELVAULT_RESTORE_ROOTS", [str(VAR_DIR / "restore")])]
# Folders under which volumes (RAIDs, shuttles, NAS mounts) may be registered: offloads,
# replication and restores read and write only there.
_MOUNT_POINTS = ["/Volumes", "/media", "/mnt", "/run/media", "/srv", "/volumes"]
REELVAULT_VOLUME_ROOTS = [Path(p) for p in env_list("REELVAULT_VOLUME_ROOTS", [*_MOUNT_POINTS, str(VAR_DIR)])]
REELVAULT_DEMO_PASSWORD = env_str("REELVAULT_DEMO_PASSWORD")
# A running job with no heartbeat for this long is presumed dead and resumed.
REELVAULT_JOB_STALE_SECONDS = env_int("REELVAULT_JOB_STALE_SECONDS", 120)
# A job waiting this long for a host whose queue no worker serves raises an alert.
REELVAULT_QUEUE_ALERT_SECONDS = env_int("REELVAULT_QUEUE_ALERT_SECONDS", 600)
# Files are copied, synced and verified in batches of about this size; one batch
# is read back while the next is copied, so a killed offload loses at most two
# batches of work. Small enough for that overlap, large enough that the sync per
# batch costs little.
REELVAULT_OFFLOAD_BATCH_MB = env_int("REELVAULT_OFFLOAD_BATCH_MB", 256)
# How often a running offload writes its progress row (milliseconds; the pages poll every second).
REELVAULT_OFFLOAD_PROGRESS_MS = env_int("REELVAULT_OFFLOAD_PROGRESS_MS", 1000)
# README "Offload": card MB/s assumed for the time estimate until this host has offloaded
# 100 MB cards (then the median of its last five is used).
REELVAULT_OFFLOAD_ASSUMED_MBPS = env_int("REELVAULT_OFFLOAD_ASSUMED_MBPS", 150)
# Opt-in per host: start offloads on their own with the project's preset when a new card
# appears under REELVAULT_INGEST_ROOTS (checked every REELVAULT_CARD_WATCH_SECONDS).
REELVAULT_AUTO_OFFLOAD = env_bool("REELVAULT_AUTO_OFFLOAD", False)
REELVAULT_CARD_WATCH_SECONDS = env_int("REELVAULT_CARD_WATCH_SECONDS", 10)
CELERY_BEAT_SCHEDULE["offload-cards-watch"] = {
    "task": "ingest.cards_watch_dispatch",
    "schedule": float(REELVAULT_CARD_WATCH_SECONDS),
}

# --- Restore and alerts -------------------------------------------------
# A restore larger than this (bytes, default 2 TB) needs two different approvers.
REELVAULT_RESTORE_SECOND_APPROVAL_BYTES = env_int("REELVAULT_RESTORE_SECOND_APPROVAL_BYTES", 2 * 10**12)
# A restore request nobody decided on within this many hours expires (0: never); beat checks
# every REELVAULT_RESTORE_EXPIRY_CHECK_SECONDS and tells the requester. README "Restore".
REELVAULT_RESTORE_REQUEST_TTL_HOURS = env_int("REELVAULT_RESTORE_REQUEST_TTL_HOURS", 72)
REELVAULT_RESTORE_EXPIRY_CHECK_SECONDS = env_int("REELVAULT_RESTORE_EXPIRY_CHECK_SECONDS", 300)
CELERY_BEAT_SCHEDULE["restore-requests-expire"] = {
    "task": "restore.restore_requests_expire",
    "schedule": float(REELVAULT_RESTORE_EXPIRY_CHECK_SECONDS),
}
# Caps a restore's copy speed in bytes/s (0: no cap). For tests and rehearsals only.
REELVAULT_RESTORE_THROTTLE_BPS = env_int("REELVAULT_RESTORE_THROTTLE_BPS", 0)
# Clips sampled by a restore drill when the project's schedule does not say.
REELVAULT_DRILL_SAMPLE_CLIPS = env_int("REELVAULT_DRILL_SAMPLE_CLIPS", 3)
# Queue of the notification email task; links in emails start with this URL.
REELVAULT_ALERTS_QUEUE = env_str("REELVAULT_ALERTS_QUEUE", "default")
REELVAULT_BASE_URL = env_str("REELVAULT_BASE_URL", "http://127.0.0.1:8000")

# Without a mail server named (EMAIL_HOST), email is written to files under EMAIL_FILE_PATH: one to
# read for each, instead of a failed SMTP attempt every few minutes. Every process on the machine
# decides alike (`make run`'s services and a command typed in a shell). docker-compose names one.
EMAIL_BACKEND = env_str(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if env_str("EMAIL_HOST")
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
# With DJANGO_EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend, one file per email
# lands here (`make run` does that when no mail server is configured). README "Configuration".
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "outbox"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "reelvault@localhost")

# --- Producer view: dashboard, daily reports, alerts, metrics ------------
# README "Producer view". Local time of the daily status report (HH:MM in TIME_ZONE).
REELVAULT_DAILY_REPORT_TIME = env_str("REELVAULT_DAILY_REPORT_TIME", "19:00")
try:
    _report_hour, _report_minute = (int(part) for part in REELVAULT_DAILY_REPORT_TIME.split(":"))
    if not (0 <= _report_hour < 24 and 0 <= _report_minute < 60):
        raise ValueError
except ValueError:
    raise ImproperlyConfigured(
        f"REELVAULT_DAILY_REPORT_TIME={REELVAULT_DAILY_REPORT_TIME!r} is not a time of day: use HH:MM"
    ) from None
# A clip short of the storage policy for longer than this raises a policy-gap alert.
REELVAULT_POLICY_GAP_ALERT_SECONDS = env_int("REELVAULT_POLICY_GAP_ALERT_SECONDS", 6 * 3600)
# An open alert nobody acknowledged for this long is escalated to the project's admins (0: never).
REELVAULT_ALERT_ESCALATE_SECONDS = env_int("REELVAULT_ALERT_ESCALATE_SECONDS", 30 * 60)
# Slack-compatible incoming-webhook URLs that get every alert (comma-separated; empty: none).
# https://api.slack.com/messaging/webhooks
REELVAULT_ALERT_WEBHOOK_URLS = env_list("REELVAULT_ALERT_WEBHOOK_URLS", [])
# A volume fuller than this (percent) raises a volume-near-full alert.
REELVAULT_VOLUME_FULL_PERCENT = env_int("REELVAULT_VOLUME_FULL_PERCENT", 90)
# Bearer token Prometheus sends to /metrics; staff sessions are let in too. Empty: staff only.
REELVAULT_METRICS_TOKEN = env_str("REELVAULT_METRICS_TOKEN")
# How often the dashboard pages refresh their figures (htmx polling).
REELVAULT_DASHBOARD_REFRESH_SECONDS = env_int("REELVAULT_DASHBOARD_REFRESH_SECONDS", 5)

# --- Custody and drive health (README "Custody and drive health") ----------
# smartctl program (smartmontools 7.0+, for --json) and how long one run may take.
# https://www.smartmontools.org/browser/trunk/smartmontools/smartctl.8.in
REELVAULT_SMARTCTL = env_str("REELVAULT_SMARTCTL", "smartctl")
REELVAULT_SMARTCTL_TIMEOUT = env_int("REELVAULT_SMARTCTL_TIMEOUT", 120)
# How often every host reads SMART from the drives it mounts (seconds).
REELVAULT_SMART_CHECK_SECONDS = env_int("REELVAULT_SMART_CHECK_SECONDS", 3600)
# Live capacity: every host reports the volumes it mounts this often (seconds); a volume
# no host reported for REELVAULT_VOLUME_OFFLINE_SECONDS is offline. Readings are kept
# REELVAULT_CAPACITY_HISTORY_DAYS; the forecast uses the last REELVAULT_FORECAST_DAYS.
REELVAULT_CAPACITY_REPORT_SECONDS = env_int("REELVAULT_CAPACITY_REPORT_SECONDS", 60)
REELVAULT_VOLUME_OFFLINE_SECONDS = env_int("REELVAULT_VOLUME_OFFLINE_SECONDS", 300)
REELVAULT_CAPACITY_HISTORY_DAYS = env_int("REELVAULT_CAPACITY_HISTORY_DAYS", 30)
REELVAULT_FORECAST_DAYS = env_int("REELVAULT_FORECAST_DAYS", 5)
# A quota's actual bytes per shoot day this far (percent) from the plan is flagged as drift.
REELVAULT_QUOTA_DRIFT_PERCENT = env_int("REELVAULT_QUOTA_DRIFT_PERCENT", 20)
CELERY_BEAT_SCHEDULE["custody-capacity"] = {
    "task": "custody.capacity_dispatch",
    "schedule": float(REELVAULT_CAPACITY_REPORT_SECONDS),
}
CELERY_BEAT_SCHEDULE["custody-drive-health"] = {
    "task": "custody.drive_health_dispatch",
    "schedule": float(REELVAULT_SMART_CHECK_SECONDS),
}

CELERY_BEAT_SCHEDULE.update(
    {
        # Its crontab schedule is added by reelvault/celery.py: importing
        # celery.schedules here would cost every process 0.1 s at start-up.
        "alerts-escalate": {"task": "alerts.alerts_escalate", "schedule": 60.0},
        "alerts-policy-gaps": {"task": "alerts.policy_gaps_check", "schedule": 300.0},
        "alerts-volumes": {"task": "alerts.volumes_check", "schedule": 600.0},
    }
)

# --- Fixity audits (README "Fixity audits") -------------------------------
# Due volumes are queued every 15 minutes; a volume with more to cover this period is
# due again this long after a run ends; throttle (bytes/s, 0: none) for tests only.
REELVAULT_FIXITY_RUN_GAP_SECONDS = env_int("REELVAULT_FIXITY_RUN_GAP_SECONDS", 3600)
REELVAULT_FIXITY_THROTTLE_BPS = env_int("REELVAULT_FIXITY_THROTTLE_BPS", 0)
REELVAULT_FIXITY_REPAIR = env_bool("REELVAULT_FIXITY_REPAIR", True)
CELERY_BEAT_SCHEDULE["fixity-audits-due"] = {"task": "fixity.fixity_audits_due", "schedule": 900.0}
CELERY_BEAT_SCHEDULE["fixity-runs-recover"] = {"task": "fixity.fixity_runs_recover", "schedule": 60.0}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("REELVAULT_LOG_LEVEL", "INFO")},
    # A refused or not-found request is one warning line, not a traceback (core/log.py).
    "filters": {"one_line_refusals": {"()": "core.log.OneLineRefusals"}},
    "loggers": {
        "django.request": {"handlers": ["console"], "filters": ["one_line_refusals"], "propagate": False}
    },
}
