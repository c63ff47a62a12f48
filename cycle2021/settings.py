"""Settings for the Cycle 2021 tracker, read from environment variables (see README)."""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from cycle2021 import env

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env.boolean("DEBUG", False, doc="Development mode: detailed errors, relaxed hosts.")

_PLACEHOLDER_KEYS = {"", "change-me", "changeme", "secret", "insecure", "replace-me"}
SECRET_KEY = env.string("SECRET_KEY", doc="Django's signing key. Required when DEBUG is off.")
if SECRET_KEY.lower() in _PLACEHOLDER_KEYS or SECRET_KEY.lower().startswith("django-insecure"):
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is missing or a placeholder. Set a long random SECRET_KEY "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or DEBUG=1 for local development."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.csv(
    "ALLOWED_HOSTS",
    "localhost,127.0.0.1,[::1]" if DEBUG else "",
    doc="Comma-separated host names the site answers to.",
)
CSRF_TRUSTED_ORIGINS = env.csv(
    "CSRF_TRUSTED_ORIGINS", doc="Comma-separated origins (https://host) trusted for forms."
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "corsheaders",
    # Domain apps, lowest first: cohorts <- certificates <- reports, messaging <- accounts.
    "cohorts",
    "certificates",
    "reports",
    "messaging",
    "accounts",
    "api",
    "worker",
    "web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Signed-in answers (personal data) are never stored by a cache or the browser.
    "web.middleware.PersonalDataCacheControlMiddleware",
]

ROOT_URLCONF = "cycle2021.urls"

AUTHENTICATION_BACKENDS = ["accounts.backends.UsernameOrEmailBackend"]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:landing"

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
                "django.template.context_processors.i18n",
                "web.context.site",
            ],
        },
    },
]

WSGI_APPLICATION = "cycle2021.wsgi.application"
ASGI_APPLICATION = "cycle2021.asgi.application"

DATABASE_URL = env.string(
    "DATABASE_URL",
    f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}",
    doc="Database, e.g. postgres://user@host:5432/name. Default: SQLite file var/db.sqlite3.",
)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    (BASE_DIR / "var").mkdir(exist_ok=True)
    # Writers wait for each other instead of failing at once with "database is locked".
    # Write-ahead log, synced at checkpoints rather than at every commit (durable across
    # a crashed process, the case that matters here): the outbox records each message in
    # a commit of its own, which with the default journal cost a disk sync each (measured
    # by bench/reminders.py: 2.8 times Django's plain sending, instead of ...).
    # The wait is long: on a loaded 2-core machine, 100 managers saving one roster at once
    # queued for more than 20 s behind each other (tests/test_attendance_concurrency.py).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 60,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not memory, for the test database: a real worker process must see it too.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / "test.sqlite3")}

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation: measured on the national demo data (bench/report.py), it made the
    # dashboard's reports 1.6 times slower and the first timeline 4 times slower (8.6 s),
    # the compilation costing more than the queries it speeds up.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Languages: French is the default, Arabic is first-class (right to left), English available.
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("ar", _("Arabic")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates day first in every language, English without US dates (cycle2021/formats/).
FORMAT_MODULE_PATH = "cycle2021.formats"
TIME_ZONE = env.string(
    "TIME_ZONE", "Africa/Casablanca", doc="Local time zone for display and scheduling."
)
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(
    env.string("MEDIA_ROOT", str(BASE_DIR / "var" / "media"), doc="Where files are stored.")
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# E-mail.
EMAIL_HOST = env.string("EMAIL_HOST", "localhost", doc="SMTP server host.")
EMAIL_PORT = env.integer("EMAIL_PORT", 25, doc="SMTP server port.")
EMAIL_HOST_USER = env.string("EMAIL_HOST_USER", doc="SMTP user name, if any.")
EMAIL_HOST_PASSWORD = env.string("EMAIL_HOST_PASSWORD", doc="SMTP password, if any.")
EMAIL_USE_TLS = env.boolean("EMAIL_USE_TLS", False, doc="Use STARTTLS with the SMTP server.")
DEFAULT_FROM_EMAIL = env.string(
    "DEFAULT_FROM_EMAIL",
    "Cycle Région 2021 <no-reply@region2021.example>",
    doc="Sender address of the e-mails the tracker sends.",
)
EMAIL_BACKEND = env.string(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
    doc="Django e-mail backend. Default: console under DEBUG, SMTP otherwise.",
)
# A mail server that stops answering must not hold a sender past its lease (the outbox).
EMAIL_TIMEOUT = env.integer("EMAIL_TIMEOUT", 30, doc="Seconds an SMTP exchange may take.")
# The outbox (messaging.outbox): a sender holds the messages it claimed this long after its
# last sign of life; a sender that died hands them back when it runs out. Longer than one
# message can take (EMAIL_TIMEOUT), short enough that recovery takes minutes.
OUTBOX_LEASE_SECONDS = env.integer(
    "OUTBOX_LEASE_SECONDS", 120, doc="Seconds a sender's claim on outgoing messages lasts."
)
OUTBOX_RETRY_SECONDS = env.integer(
    "OUTBOX_RETRY_SECONDS", 30,
    doc="Wait before retrying a message after its first failure (doubling after each).",
)  # fmt: skip
# How often the beat looks for interrupted work: messages due in the outbox, certificate
# batches whose run went silent for CERTIFICATE_BATCH_SILENCE_SECONDS.
SWEEP_SECONDS = env.integer(
    "SWEEP_SECONDS", 60, doc="Seconds between the sweeps that resume interrupted work."
)
CERTIFICATE_BATCH_SILENCE_SECONDS = env.integer(
    "CERTIFICATE_BATCH_SILENCE_SECONDS", 120,
    doc="Seconds without progress after which a certificate batch is run again.",
)  # fmt: skip

# Celery: with REDIS_URL the tasks go to Redis and the workers; without, they run inline.
REDIS_URL = env.string(
    "REDIS_URL",
    doc="Redis for Celery and the cache, e.g. redis://localhost:6379/0. "
    "Unset: tasks run inline and the cache is in memory.",
)
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE  # the beat schedule (Monday 07:00) is in local time

CACHES = {
    "default": {
        "BACKEND": "cycle2021.redis_cache.ReusingRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cycle2021",
    }
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Deny by default: every view also checks the caller's role and scope.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    # Both refuse a value they cannot use with a 400 (api/filters.py), as does `?format=`.
    "DEFAULT_FILTER_BACKENDS": ["api.filters.FilterBackend", "api.filters.OrderingFilter"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "api.negotiation.ContentNegotiation",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.string(
            "THROTTLE_ANON",
            "60/min",
            doc="API requests allowed per anonymous client (e.g. 60/min).",
        ),
        "user": env.string(
            "THROTTLE_USER",
            "1200/min",
            doc="API requests allowed per signed-in user (e.g. 1200/min).",
        ),
        "login_failures": "5/min",
        "verify": "30/min",
    },
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    # Documents every operation's error answers with the error body (api/schema.py).
    "DEFAULT_SCHEMA_CLASS": "api.schema.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Cycle Région 2021 API",
    "DESCRIPTION": "Cohorts, sessions, attendance and progress reports of the French–Moroccan "
    "study cycle « Région 2021 ». Funders receive aggregates only.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "OAS_VERSION": "3.1.0",
    "ENUM_NAME_OVERRIDES": {
        "AttendanceStatusEnum": "cohorts.models.Attendance.Status",
        "EnrolmentStatusEnum": "cohorts.models.Enrolment.Status",
    },
}
# Cross-origin requests are refused unless origins are listed.
CORS_ALLOWED_ORIGINS = env.csv(
    "CORS_ALLOWED_ORIGINS", doc="Comma-separated origins allowed to call the API from a browser."
)
CORS_URLS_REGEX = r"^/api/.*$"

# Where the site is reached from outside: certificates' QR codes and e-mails link to it.
SITE_URL = env.string(
    "SITE_URL",
    "http://127.0.0.1:8000",
    doc="Public address of the site, for links in "
    "certificates (QR codes) and e-mails, e.g. https://tracker.example.",
).rstrip("/")

# The keys that sign the digital credentials (a JWK set, JSON): the first signs, all are
# published. `manage.py credential_key` makes one. Unset: a key derived from SECRET_KEY.
CREDENTIAL_KEYS = env.string(
    "CREDENTIAL_KEYS",
    doc="Keys signing the digital credentials: a JWK set (JSON) from `manage.py "
    "credential_key`; the first signs, every one is published. Unset: a key derived from "
    "SECRET_KEY (development only).",
)

# Reminders before each session, in hours (default: a week and a day before).
REMINDER_OFFSETS_HOURS = sorted(
    {int(h) for h in env.csv("REMINDER_OFFSETS_HOURS", "168,24", doc="Hours before a session "
     "when trainees get a reminder, comma-separated (default 168,24: a week and a day).")},
    reverse=True,
)  # fmt: skip

ALERT_MIN_SESSIONS = env.integer(
    "ALERT_MIN_SESSIONS", 3, doc="Recorded sessions before a low-attendance warning can be sent."
)

# Personal data: people are anonymised this many years after their last cohort ended.
RETENTION_YEARS = env.integer(
    "RETENTION_YEARS",
    5,
    doc="Years after a person's last cohort ended before their details are removed.",
)

# Reports: groups with fewer people than this have their counts withheld for funders.
REPORT_SUPPRESSION_THRESHOLD = env.integer(
    "REPORT_SUPPRESSION_THRESHOLD", 5, doc="Smallest group (people) a funder's report shows."
)
REPORT_CACHE_SECONDS = env.integer(
    "REPORT_CACHE_SECONDS", 3600, doc="How long a report stays cached (writes invalidate it)."
)

# The IATI activity file (reports.iati): the organisations' identifiers it is published under.
IATI_REPORTING_ORG_REF = env.string(
    "IATI_REPORTING_ORG_REF",
    "FR-INSEE-200053791",
    doc="IATI organisation identifier of the reporting organisation, the programme's pilot "
    "(Région Occitanie: FR-INSEE- and its SIREN number).",
)
IATI_ACTIVITY_IDENTIFIER = env.string(
    "IATI_ACTIVITY_IDENTIFIER",
    f"{IATI_REPORTING_ORG_REF}-R2021",
    doc="The activity's IATI identifier: the reporting organisation's identifier, a hyphen "
    "and the programme's own code (default: IATI_REPORTING_ORG_REF followed by -R2021).",
)


def _organisation_refs(items: list[str]) -> dict[str, str]:
    pairs = [item.partition("=") for item in items]
    if any(not name.strip() or not sep or not ref.strip() for name, sep, ref in pairs):
        raise ValueError("IATI_ORGANISATION_REFS must be short_name=identifier pairs")
    return {name.strip(): ref.strip() for name, _, ref in pairs}


IATI_ORGANISATION_REFS = _organisation_refs(
    env.csv(
        "IATI_ORGANISATION_REFS",
        "AFD=FR-3",
        doc="IATI identifiers of the other partners, as short_name=identifier pairs, "
        "comma-separated (default AFD=FR-3); a partner without one is named without a ref.",
    )
)
IATI_ACTIVITY_STATUS = env.string(
    "IATI_ACTIVITY_STATUS",
    "",
    doc="IATI activity status code (ActivityStatus codelist, e.g. 4 once closed); empty: "
    "from the programme's dates (2 during, 3 after).",
)

# HTTPS: only trust X-Forwarded-Proto when a proxy in front really sets it (else any client
# could claim HTTPS).
BEHIND_HTTPS_PROXY = env.boolean(
    "BEHIND_HTTPS_PROXY",
    False,
    doc="Served behind a proxy that terminates HTTPS and sets X-Forwarded-Proto.",
)
if BEHIND_HTTPS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# In production the site is HTTPS only: plain HTTP is redirected to it. Behind a proxy that
# terminates HTTPS, BEHIND_HTTPS_PROXY must be on too, or every request looks like plain
# HTTP and is redirected again. Off under DEBUG, and in docker-compose.yml's plain-HTTP stack.
SECURE_SSL_REDIRECT = env.boolean(
    "SECURE_SSL_REDIRECT", not DEBUG, doc="Redirect plain HTTP to HTTPS (default: on unless DEBUG)."
)
# HSTS: a browser that reached the site over HTTPS refuses plain HTTP to it for this long.
# A year, the usual production value (and the least the browsers' preload lists accept);
# Django sends the header over HTTPS only. 0 turns it off.
SECURE_HSTS_SECONDS = env.integer(
    "SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600,
    doc="Seconds browsers must use HTTPS only (HSTS; default a year unless DEBUG, 0 off).",
)  # fmt: skip
# Off unless asked. includeSubDomains binds every name under the site's host to HTTPS for a
# year, names whoever runs the tracker may not control (a council's other services).
# Preloading needs it, ships the host in the browsers themselves and takes months to undo.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.boolean(
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", False,
    doc="HSTS covers the host's subdomains too (default off).",
)  # fmt: skip
SECURE_HSTS_PRELOAD = env.boolean(
    "SECURE_HSTS_PRELOAD", False,
    doc="HSTS asks to be preloaded in browsers (needs SECURE_HSTS_INCLUDE_SUBDOMAINS).",
)  # fmt: skip
# check --deploy warns while these two are off (W005, W021); off is the decision above.
SILENCED_SYSTEM_CHECKS = [
    *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
    *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
]
# Cookies travel over HTTPS only whenever the site is served over it.
SESSION_COOKIE_SECURE = BEHIND_HTTPS_PROXY or SECURE_SSL_REDIRECT
CSRF_COOKIE_SECURE = BEHIND_HTTPS_PROXY or SECURE_SSL_REDIRECT
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {
        "handlers": ["console"],
        "level": env.string("LOG_LEVEL", "INFO", doc="Log level (DEBUG, INFO, WARNING...)."),
    },
}

# Where the reference data shipped with the project lives (regions).
REFERENCE_DIR = BASE_DIR / "cohorts" / "reference"
