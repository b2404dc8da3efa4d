"""Haven settings: one module, read from the environment.

With nothing set, Haven runs in the *embedded* mode (SQLite, in-memory channel layer and cache,
eager Celery, local private media, console email). Setting DATABASE_URL, REDIS_URL,
AWS_STORAGE_BUCKET_NAME, EMAIL_URL turns on each production part; nothing else changes.
"""

import base64
import hashlib
import hmac
import re
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from core.channel_layer import redis_channel_layer

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A deployment may keep its variables in a .env file beside manage.py; the environment wins.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def secret(name, default=environ.Env.NOTSET):
    """Read a secret from NAME, or from the file named by NAME_FILE (docker/k8s secrets)."""
    path = env.str(f"{name}_FILE", default="")
    if path:
        return Path(path).read_text().strip()
    return env.str(name, default=default)


DEBUG = env.bool("DJANGO_DEBUG", default=False)
PRODUCTION = env.bool("HAVEN_PRODUCTION", default=False)

# In embedded mode a per-checkout key is generated once and kept under var/ so sessions survive
# restarts; production must set DJANGO_SECRET_KEY (check --deploy fails otherwise).
VAR_DIR = Path(env.str("HAVEN_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _embedded_secret_key():
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        import secrets

        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = secret("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("HAVEN_PRODUCTION is set: DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) is required.")
    SECRET_KEY = _embedded_secret_key()
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("HAVEN_SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "daphne",  # runserver serves ASGI (HTTP + websockets)
    "modeltranslation",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "django_otp",
    "accounts.apps.OTPTOTPConfig",  # django_otp.plugins.otp_totp with a readable name in admin
    "accounts.apps.OTPStaticConfig",  # django_otp.plugins.otp_static
    "allauth",
    "allauth.account",
    "axes",
    "ninja",
    "csp",
    "core",
    "accounts",
    "clinic",
    "wellness",
    "telehealth",
    "resources",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.RejectNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "core.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.UserPreferencesMiddleware",
    "accounts.middleware.AccessGateMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.middleware.DomainErrorMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "axes.middleware.AxesMiddleware",  # last, so its lockout response wins
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url_config(secret("DATABASE_URL", default="") or f"sqlite:///{VAR_DIR / 'haven.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # One psycopg pool per process, shared by its threads. Under the ASGI server every request runs
    # its sync code in a thread of its own, and persistent connections (CONN_MAX_AGE > 0) stayed
    # open, one per thread, long after the request: 2 became 39 while idle and a short load test
    # exhausted Postgres' 100. With the pool a request takes a connection and gives it back at its
    # end (Django requires CONN_MAX_AGE = 0 with a pool), so a process never holds more than
    # DATABASE_POOL_MAX_SIZE and keeps DATABASE_POOL_MIN_SIZE when idle. Size the pool so
    # (web processes + workers) x max stays below Postgres' max_connections.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    _pool_min = env.int("DATABASE_POOL_MIN_SIZE", default=2)
    _pool_max = env.int("DATABASE_POOL_MAX_SIZE", default=10)
    if not 0 <= _pool_min <= _pool_max or _pool_max < 1:
        raise ImproperlyConfigured("DATABASE_POOL_MIN_SIZE must be between 0 and DATABASE_POOL_MAX_SIZE (>= 1).")
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "connect_timeout": 5,
        "pool": {
            "min_size": _pool_min,
            "max_size": _pool_max,
            # Seconds a request waits for a free connection before failing (instead of hanging).
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
            # Connections idle this long are closed, down to min_size.
            "max_idle": env.float("DATABASE_POOL_MAX_IDLE", default=60.0),
        },
    })
else:
    # SQLite (the embedded default) serves an ASGI process with several threads writing at once:
    # wait for a writer instead of failing with "database is locked"; take the write lock when a
    # transaction begins (a deferred transaction that reads and then writes can fail at once,
    # without waiting, when another connection writes meanwhile); WAL lets readers go on while a
    # transaction writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    })
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery broker ---------------------------------------------
REDIS_URL = secret("REDIS_URL", default="")
if REDIS_URL and env.str("PYTEST_XDIST_WORKER", default=""):
    # Parallel test workers (gw0, gw1, ...) each get their own Redis database, so one worker's
    # cache flush never hits another's test.
    REDIS_URL = re.sub(r"/\d*$", "", REDIS_URL) + f"/{int(env.str('PYTEST_XDIST_WORKER')[2:]) + 1}"
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    # core.channel_layer: channels_redis, with the socket timeouts production needs and a fix for a
    # cancellation that Python 3.11 loses (consumers that never finish).
    CHANNEL_LAYERS = {"default": redis_channel_layer(
        REDIS_URL, max_connections=env.int("CHANNELS_REDIS_MAX_CONNECTIONS", default=1000))}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Embedded mode (no REDIS_URL): the broker is kombu's filesystem transport under var/. It needs no
# server and no extra package, and never touches the SQLite database (kombu's SQLAlchemy transport
# on SQLite would add a second writer, and its lock waits, to the file the web process writes).
# Only the scheduler uses it: `scripts/run` (make run) runs a Celery worker with embedded beat on
# it beside the web server. Request-time tasks still run eagerly in the web process, because the
# in-memory channel layer lives there: a notification made in the worker could not reach the open
# sockets (the live bell and toasts). Tasks queued by the worker itself go through the broker.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "celery-broker"
    for _folder in ("queue", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # One folder both ways: producers (beat, the worker) write where the worker reads.
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),  # exchange tables (remote control, fanout)
        "polling_interval": 0.5,  # seconds between looks at the folder when it is empty
    }
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL or "cache+memory://")
# True in embedded mode, for the web process; worker and beat processes never are (config/celery.py).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_IGNORE_RESULT = True  # tasks report through the database, not a result backend
# Beat's state (last run of each job) lives under var/, so a restart neither repeats nor skips a
# daily job; `celery beat -s` overrides it.
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Periodic jobs (`celery -A config beat`, or the embedded beat of the worker `scripts/run` starts).
# All are idempotent, so a second beat or a late run does no harm; `expires` drops runs that queued
# up while no worker was there.
CELERY_BEAT_SCHEDULE = {
    "accounts-token-families-prune": {
        "task": "accounts.tasks.token_families_prune", "schedule": crontab(hour=3, minute=40),
        "options": {"expires": 3600},
    },
    "clinic-reminders-dispatch": {
        "task": "clinic.tasks.reminders_dispatch", "schedule": timedelta(minutes=1), "options": {"expires": 55},
    },
    "clinic-emergencies-escalate-due": {
        "task": "clinic.tasks.emergencies_escalate_due", "schedule": timedelta(minutes=1), "options": {"expires": 55},
    },
    "telehealth-urgent-chats-escalate-due": {
        "task": "telehealth.tasks.urgent_chats_escalate_due", "schedule": timedelta(minutes=1),
        "options": {"expires": 55},
    },
    "telehealth-call-requests-expire-due": {
        "task": "telehealth.tasks.call_requests_expire_due", "schedule": timedelta(minutes=1),
        "options": {"expires": 55},
    },
    "telehealth-notification-emails-retry-due": {
        "task": "telehealth.tasks.notification_emails_retry_due", "schedule": timedelta(minutes=5),
        "options": {"expires": 4 * 60},
    },
    "telehealth-calls-close-abandoned": {
        "task": "telehealth.tasks.calls_close_abandoned", "schedule": timedelta(minutes=5),
        "options": {"expires": 4 * 60},
    },
    "wellness-evening-reminders": {
        "task": "wellness.tasks.evening_reminders", "schedule": timedelta(minutes=15), "options": {"expires": 14 * 60},
    },
    "wellness-risk-rules-evaluate": {
        "task": "wellness.tasks_risk.risk_rules_evaluate", "schedule": crontab(hour=2, minute=15),
        "options": {"expires": 3600},
    },
}
# Tests and demos: run every fixed-interval job at least every N seconds (unset: as above).
_beat_max_interval = env.float("HAVEN_BEAT_MAX_INTERVAL_SECONDS", default=0)
if _beat_max_interval > 0:
    for _entry in CELERY_BEAT_SCHEDULE.values():
        if isinstance(_entry["schedule"], timedelta):
            _entry["schedule"] = min(_entry["schedule"], timedelta(seconds=_beat_max_interval))

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # must be first: counts failures, enforces lockout
    "allauth.account.auth_backends.AuthenticationBackend",  # email or phone + password
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
     "OPTIONS": {"user_attributes": ("name", "email", "phone")}},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"

ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_FORMS = {"login": "accounts.forms.LoginForm"}
ACCOUNT_LOGIN_METHODS = {"email", "phone"}
ACCOUNT_SIGNUP_FIELDS = ["email", "phone", "password1*"]  # an account may lack one of the two
# allauth warns that phone login wants a required phone at signup; Haven's own signup forms decide
# that per role (patients give a phone, hospitals and admins may not), allauth's signup is off.
SILENCED_SYSTEM_CHECKS = ["account.W001"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
# Every sign-up (web and API) with an e-mail gets a verification link (accounts.tasks.
# send_email_verification). Sign-in does not wait for it ("optional", not "mandatory"): a patient may
# sign up with a phone only, a doctor or hospital is checked by an administrator anyway, and a
# person in distress must not be kept out by an e-mail that has not arrived yet.
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 3
# Stored confirmations (not HMAC keys): the stored row is what makes the sending task idempotent.
ACCOUNT_EMAIL_CONFIRMATION_HMAC = False
ACCOUNT_PHONE_VERIFICATION_ENABLED = False  # SMS verification needs a provider; see SMS_* below
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
# IP-wide throttling; the per-account lockout is django-axes (AXES_* below).
ACCOUNT_RATE_LIMITS = {"login_failed": "30/m/ip"}
ACCOUNT_PREVENT_ENUMERATION = True

AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "accounts.lockout.axes_username"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0)
AXES_VERBOSE = False

# How long the "this wasn't me" link sent to the old address after an email/phone change works.
IDENTITY_UNDO_MAX_AGE = env.int("HAVEN_IDENTITY_UNDO_DAYS", default=7) * 24 * 3600
# allauth's own email/phone management asks for the password again and tells the old address.
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_EMAIL_NOTIFICATIONS = True

# The human check on the public web sign-up forms (accounts/human_check.py): an ALTCHA proof of work
# with a question as the accessible fallback. The HMAC key is its own secret or derived from SECRET_KEY.
ALTCHA_HMAC_KEY = secret("ALTCHA_HMAC_KEY", default="") or hmac.new(
    SECRET_KEY.encode(), b"haven.altcha", hashlib.sha256).hexdigest()
HUMAN_CHECK_MAX_NUMBER = env.int("HUMAN_CHECK_MAX_NUMBER", default=50_000)
HUMAN_CHECK_MINUTES = env.int("HUMAN_CHECK_MINUTES", default=30)

# Per-IP limits (django-ninja throttles; the web sign-up forms share the sign-up budget).
THROTTLE_LOGIN_RATE = env.str("HAVEN_THROTTLE_LOGIN", default="20/m")
THROTTLE_REFRESH_RATE = env.str("HAVEN_THROTTLE_REFRESH", default="60/m")
THROTTLE_SIGNUP_RATE = env.str("HAVEN_THROTTLE_SIGNUP", default="10/h")

OTP_TOTP_ISSUER = "Haven"
# Roles that must enrol and verify a second factor before reaching their pages.
TWO_FACTOR_REQUIRED_ROLES = ("doctor", "admin")

# JWT for the API: short-lived access tokens, longer refresh tokens.
JWT_SIGNING_KEY = secret("JWT_SIGNING_KEY", default="") or SECRET_KEY
JWT_ACCESS_TTL = timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15))
JWT_REFRESH_TTL = timedelta(days=env.int("JWT_REFRESH_DAYS", default=7))

# --- Encryption at rest (identity documents, emotion vectors) -------------------------------
# Comma-separated Fernet keys, newest first (rotation: prepend a new key, re-save, drop the old).
# Embedded mode derives one from SECRET_KEY so it works out of the box.
FIELD_ENCRYPTION_KEYS = [k.strip() for k in secret("FIELD_ENCRYPTION_KEYS", default="").split(",") if k.strip()]
if not FIELD_ENCRYPTION_KEYS:
    if PRODUCTION:
        # Never derive data keys from SECRET_KEY in production: rotating one must not lose the other.
        raise ImproperlyConfigured("HAVEN_PRODUCTION is set: FIELD_ENCRYPTION_KEYS is required "
                                   "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())').")
    FIELD_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(f"haven-field:{SECRET_KEY}".encode()).digest()).decode()
    ]

# --- Files -----------------------------------------------------------------------------------
MEDIA_ROOT = Path(env.str("HAVEN_MEDIA_ROOT", default=str(VAR_DIR / "private-media")))
MEDIA_URL = None  # uploads are private: served only by views that check the access policy
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = not PRODUCTION  # embedded mode serves static files without collectstatic
STATICFILES_DIRS = [BASE_DIR / "static"]
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    _private_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            "access_key": secret("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": secret("AWS_SECRET_ACCESS_KEY", default="") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": 300,
            "file_overwrite": False,
        },
    }
else:
    _private_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": None},
    }
STORAGES = {
    "default": _private_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MAX_UPLOAD_MB = env.int("HAVEN_MAX_UPLOAD_MB", default=10)
DATA_UPLOAD_MAX_MEMORY_SIZE = (MAX_UPLOAD_MB + 1) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- Email / SMS -----------------------------------------------------------------------------
EMAIL_URL = secret("EMAIL_URL", default="")
if env.str("HAVEN_TEST_EMAIL_DIR", default=""):
    # Used by the worker-process tests to read what a real worker sent.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = env.str("HAVEN_TEST_EMAIL_DIR")
elif EMAIL_URL:
    vars().update(env.email_url_config(EMAIL_URL))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Haven <no-reply@haven.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# SMS goes out through Twilio when all three are set; otherwise SMS is simply off (telehealth/sms.py).
TWILIO_ACCOUNT_SID = secret("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = secret("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
# Twilio's REST API root; tests (and an egress proxy) point it elsewhere.
TWILIO_API_BASE = env.str("TWILIO_API_BASE", default="https://api.twilio.com")

# --- I18n ------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("hi", _("Hindi")),
    ("es", _("Spanish")),
    ("ar", _("Arabic")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
PHONE_DEFAULT_REGION = env.str("HAVEN_PHONE_REGION", default="US")

# --- Security ---------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 12
# Flash messages name patients: keep them server-side, never in a cookie (the default storage
# falls back to a signed but readable `messages` cookie).
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
# Content-Security-Policy (django-csp): scripts and styles only from Haven's own static files, no
# inline script, no inline event handler, no inline style (page JS binds through data- attributes;
# JSON for scripts comes in json_script blocks, which are not executed). Images may be data: (the
# 2FA QR code) and blob:, media blob: (voice message previews); sockets go to the same origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "media-src": [SELF, "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "frame-src": [NONE],
        "worker-src": [SELF],
    },
}
# Permissions-Policy and Cache-Control: no-store come from core.middleware.SecurityHeadersMiddleware.
# /health is probed by load balancers over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health$"]
# A monitor sending "Authorization: Bearer <HEALTH_TOKEN>" to /health sees which backend is down
# and the version (so do verified admins); everyone else sees only ok/degraded. Empty: admins only.
HEALTH_TOKEN = secret("HEALTH_TOKEN", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
        "kombu": {"level": "ERROR"},
    },
}

# --- Clinic ----------------------------------------------------------------------------------------
# Patients may cancel or move an appointment online until this many hours before it starts.
APPOINTMENT_CANCEL_CUTOFF_HOURS = env.int("APPOINTMENT_CANCEL_CUTOFF_HOURS", default=12)
# The escalation ladder of an emergency request nobody has accepted (clinic.services): on-duty
# doctors of the care team and hospitals at once, every care-team and hospital doctor this many
# minutes later, hospital staff and administrators as long again later (beat checks every minute).
EMERGENCY_ESCALATION_MINUTES = env.int("EMERGENCY_ESCALATION_MINUTES", default=5)
# Still not accepted after this many minutes (or nobody could be alerted): the emergency page shows
# the crisis lines of the patient's country.
EMERGENCY_CRISIS_LINES_MINUTES = env.int("EMERGENCY_CRISIS_LINES_MINUTES", default=3)
# An urgent chat the doctor has not answered (nor marked handled) within this many minutes is
# escalated to hospital staff.
CHAT_URGENT_ESCALATION_MINUTES = env.int("CHAT_URGENT_ESCALATION_MINUTES", default=10)
# Chat sending limits: messages per user per chat per minute, and how often a patient's side may
# mark one conversation urgent (each time e-mails and texts the doctor).
CHAT_MESSAGES_PER_MINUTE = env.int("CHAT_MESSAGES_PER_MINUTE", default=30)
CHAT_URGENT_INTERVAL_MINUTES = env.int("CHAT_URGENT_INTERVAL_MINUTES", default=30)

# A websocket ticket (POST /api/v1/ws-ticket, then /ws/...?ticket=) opens one socket within this
# many seconds.
WS_TICKET_TTL_SECONDS = env.int("WS_TICKET_TTL_SECONDS", default=60)

# --- Calls ------------------------------------------------------------------------------------------
# The call room opens this many minutes before an online appointment and closes this long after it.
CALL_JOIN_BEFORE_MINUTES = env.int("CALL_JOIN_BEFORE_MINUTES", default=15)
CALL_JOIN_AFTER_MINUTES = env.int("CALL_JOIN_AFTER_MINUTES", default=60)
# STUN/TURN servers handed to browsers, as RTCIceServer dicts, e.g.
# [{"urls": "stun:turn.example.org:3478"}, {"urls": "turn:turn.example.org:3478", "username": "...", "credential": "..."}]
WEBRTC_ICE_SERVERS = env.json("WEBRTC_ICE_SERVERS", default=[])
CALL_SIGNAL_RATE = (50, 10)  # at most 50 signalling messages per 10 s per connection
# A call asked for from a chat: the appointment booked when the doctor accepts lasts this long, and
# a request nobody answered expires after this many minutes (beat checks every minute).
CALL_REQUEST_DURATION_MINUTES = env.int("CALL_REQUEST_DURATION_MINUTES", default=30)
CALL_REQUEST_EXPIRY_MINUTES = env.int("CALL_REQUEST_EXPIRY_MINUTES", default=10)

# --- Wellness --------------------------------------------------------------------------------------
# Thresholds of the risk rules (rules only suggest flags; a clinician confirms or dismisses).
WELLNESS_RISK = {
    "low_mood_max": env.int("WELLNESS_LOW_MOOD_MAX", default=3),  # mood at or below this ...
    "low_mood_days": env.int("WELLNESS_LOW_MOOD_DAYS", default=3),  # ... on this many consecutive days
    "low_mood_recent_days": 7,
    "stress_window_days": 14,  # stress rising over this window
    "stress_min_entries": 5,
    "stress_rising_per_day": 0.15,
    "silence_days": env.int("WELLNESS_SILENCE_DAYS", default=7),  # no entry this long after a flag
    "due_days": {"call": 1, "emergency_consult": 0, "send_resources": 3},
}
# deepface's home: the emotion graph built by scripts/build_emotion_model.py lives in
# <dir>/.deepface/weights/ and nothing is ever downloaded.
EMOTION_WEIGHTS_DIR = Path(env.str("EMOTION_WEIGHTS_DIR", default=str(VAR_DIR / "deepface")))

HAVEN_VERSION = "0.1.0"
