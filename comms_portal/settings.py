"""Settings of Comms Portal, every value from an environment variable with a demo default.

The README's table lists each variable; a test keeps the two in step. Defaults give a
working demo on one machine (SQLite under ``var/``, Redis on 127.0.0.1, the sandbox tenant);
production sets ``DEBUG=false`` and real secrets, and the portal refuses to start without them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from comms_portal.env import Env, database_from_url
from comms_portal.origins import origin_of, portal_origins, websocket_origins
from comms_portal.times import is_zone

BASE_DIR = Path(__file__).resolve().parent.parent
env = Env()

VAR_DIR = env.path("PORTAL_VAR_DIR", BASE_DIR / "var")

# Demo-only secrets. They are public, so the portal refuses them when DEBUG is off, and DEBUG
# is off unless set: a deployment that forgets a variable stops instead of running on them.
INSECURE_SECRET_KEY = "insecure-demo-secret-key-do-not-use-in-production-7f3a9c"  # noqa: S105  (public on purpose)
INSECURE_TOKEN_KEY = "ZGVtby1vbmx5LXRva2VuLWtleS1ub3QtZm9yLXByb2Q="  # noqa: S105

DEBUG = env.flag("DEBUG", False)
SECRET_KEY = env.text("SECRET_KEY", INSECURE_SECRET_KEY)
TOKEN_ENCRYPTION_KEYS = env.items("TOKEN_ENCRYPTION_KEYS", [INSECURE_TOKEN_KEY])

for _key in TOKEN_ENCRYPTION_KEYS:
    try:
        Fernet(_key)
    except ValueError:
        raise ImproperlyConfigured(
            "TOKEN_ENCRYPTION_KEYS must be comma-separated Fernet keys "
            "(32 url-safe base64-encoded bytes each)."
        ) from None

_LOCAL_ONLY = (
    "(DEBUG is off unless set; DEBUG=true, for local development only, allows the demo keys)"
)
if not DEBUG:
    if SECRET_KEY == INSECURE_SECRET_KEY:
        raise ImproperlyConfigured(
            f"SECRET_KEY must be set to a secret value when DEBUG is off {_LOCAL_ONLY}."
        )
    if INSECURE_TOKEN_KEY in TOKEN_ENCRYPTION_KEYS:
        raise ImproperlyConfigured(
            f"TOKEN_ENCRYPTION_KEYS must be set to your own Fernet keys when DEBUG is off "
            f"{_LOCAL_ONLY}."
        )

ALLOWED_HOSTS = env.items("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.items("CSRF_TRUSTED_ORIGINS", [])
PUBLIC_BASE_URL = env.url("PUBLIC_BASE_URL", "http://127.0.0.1:8000", schemes=("http", "https"))
# Where browsers reach the portal (scheme, host and port): websockets opened from any other
# origin are refused (comms_portal/asgi.py), and pages may open sockets only to these.
PORTAL_ORIGINS = portal_origins(PUBLIC_BASE_URL, CSRF_TRUSTED_ORIGINS)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "comms_portal",
    "accounts",
    "directory",
    "comms_portal.notifications",
    "presence",
    "meetings",
    "events",
    "calls",
    "callrecords",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "comms_portal.urls"
ASGI_APPLICATION = "comms_portal.asgi.application"

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
                "accounts.context_processors.portal_user",
                "accounts.context_processors.time_zone",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(
        env.text("DATABASE_URL", f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
        pool_size=env.number("DATABASE_POOL_SIZE", 10, minimum=1),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:signin"

REDIS_URL = env.url("REDIS_URL", "redis://127.0.0.1:6379/0", schemes=("redis", "rediss", "unix"))

# Redis connections each process may hold per pool; commands beyond wait for a free one.
REDIS_POOL_SIZE = env.number("REDIS_POOL_SIZE", 50, minimum=2)

CACHES = {
    "default": {
        "BACKEND": "comms_portal.cache.ProcessRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "portal",
        # Bounded like every other pool: threads wait for a connection instead of opening more.
        "OPTIONS": {
            "pool_class": "redis.BlockingConnectionPool",
            "max_connections": REDIS_POOL_SIZE,
            "timeout": 5,
        },
    }
}

# Live pushes go through Redis pub/sub and each process's fan-out (comms_portal.live): our
# own ("portal") or Channels' pub/sub layer ("channels"), which the live channel drives itself,
# so no consumer needs a default layer.
LIVE_FANOUT = env.text("LIVE_FANOUT", "channels")
if LIVE_FANOUT not in {"portal", "channels"}:
    raise ImproperlyConfigured(f"LIVE_FANOUT must be portal or channels, not {LIVE_FANOUT!r}.")
CHANNEL_LAYERS: dict[str, Any] = {}
# Open live sockets one person may hold at once, counted across every ASGI process.
LIVE_MAX_SOCKETS_PER_PERSON = env.number("LIVE_MAX_SOCKETS_PER_PERSON", 20, minimum=1)
# Watch messages one socket may send in any minute; a socket that keeps flooding is closed.
LIVE_WATCH_MESSAGES_PER_MINUTE = env.number("LIVE_WATCH_MESSAGES_PER_MINUTE", 30, minimum=1)
# Heartbeat pings one socket may send in any minute (pages ping at most every 1.5 s), counted
# apart from watch messages; a socket that keeps flooding is closed.
LIVE_PINGS_PER_MINUTE = env.number("LIVE_PINGS_PER_MINUTE", 120, minimum=1)

# Sessions are kept in the database with a copy in the Redis cache, so the live socket can
# check at every watch message that its session still exists without a database query.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# A sign-in lasts this long from the moment it is made (accounts sets a fixed expiry).
SESSION_COOKIE_AGE = env.number("SESSION_COOKIE_AGE", 60 * 60 * 12, minimum=300)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# Behind a TLS-terminating proxy in production; the demo runs on plain http on loopback.
SECURE_COOKIES = env.flag("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_SSL_REDIRECT = env.flag("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env.number("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env.flag("SECURE_HSTS_PRELOAD", False)
if env.flag("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Who may read /metrics besides signed-in portal admins: requests whose socket peer is in one
# of these networks and that carry no proxy's forwarding header (comms_portal/metrics/access.py).
# X-Forwarded-For is never believed: anyone can send it, and a proxy's own address is its.
METRICS_ALLOWED_NETWORKS = env.networks("METRICS_ALLOWED_NETWORKS", ["127.0.0.1/32", "::1/128"])

LANGUAGE_CODE = "en-us"
# Each person's own zone (stored, first taken from their browser) wins; this one is for
# pages shown before it is known.
TIME_ZONE = env.text("TIME_ZONE", "UTC")
if not is_zone(TIME_ZONE):
    raise ImproperlyConfigured(f"TIME_ZONE must be an IANA time zone name, not {TIME_ZONE!r}.")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
# The ASGI application serves static files itself unless a proxy does it in production.
SERVE_STATIC = env.flag("SERVE_STATIC", True)

LOG_LEVEL = env.text("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {LOG_LEVEL}.")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # One line per HTTP request is too chatty; the Graph client logs what matters.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# --- Microsoft Entra ID and Graph -----------------------------------------------------------
# A real tenant is configured with the MICROSOFT_* and GRAPH_* variables. Left unset, they are
# read from the info file the sandbox writes when it starts (the demo's embedded tenant).
SANDBOX_INFO_FILE = env.path("SANDBOX_INFO_FILE", VAR_DIR / "sandbox.json")


def _sandbox_info(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ImproperlyConfigured(f"SANDBOX_INFO_FILE {path} is not readable JSON: {exc}") from exc
    return data if isinstance(data, dict) else {}


_sandbox = _sandbox_info(SANDBOX_INFO_FILE)
_sandbox_apps: list[dict[str, Any]] = _sandbox.get("apps") or []
_sandbox_app: dict[str, Any] = next(
    (app for app in _sandbox_apps if app.get("client_id") == _sandbox.get("portal_client_id")),
    next(iter(_sandbox_apps), {}),
)

MICROSOFT_TENANT_ID = env.text("MICROSOFT_TENANT_ID", _sandbox.get("tenant_id", "organizations"))
MICROSOFT_AUTHORITY = env.url(
    "MICROSOFT_AUTHORITY",
    _sandbox.get("authority", f"https://login.microsoftonline.com/{MICROSOFT_TENANT_ID}"),
    schemes=("https",),
)
MICROSOFT_CLIENT_ID = env.text("MICROSOFT_CLIENT_ID", _sandbox_app.get("client_id", ""))
MICROSOFT_CLIENT_SECRET = env.text("MICROSOFT_CLIENT_SECRET", _sandbox_app.get("client_secret", ""))
ALLOWED_TENANTS = env.items("ALLOWED_TENANTS", [MICROSOFT_TENANT_ID])
GRAPH_BASE_URL = env.url(
    "GRAPH_BASE_URL",
    _sandbox.get("graph_base_url", "https://graph.microsoft.com/v1.0"),
    schemes=("https", "http"),
)
GRAPH_BETA_BASE_URL = env.url(
    "GRAPH_BETA_BASE_URL",
    _sandbox.get("beta_base_url", "https://graph.microsoft.com/beta"),
    schemes=("https", "http"),
)
# A PEM file of extra certificate authorities to trust for the authority and Graph
# (the sandbox's own certificate in the demo); empty means the system's trust store.
GRAPH_CA_BUNDLE = env.text("GRAPH_CA_BUNDLE", _sandbox.get("ca_bundle", ""))
GRAPH_TIMEOUT_SECONDS = env.number("GRAPH_TIMEOUT_SECONDS", 10, minimum=1)
GRAPH_MAX_RETRY_WAIT_SECONDS = env.number("GRAPH_MAX_RETRY_WAIT_SECONDS", 30, minimum=0)

# --- Content-Security-Policy ------------------------------------------------------------------
# The browser's Content-Security-Policy (django-csp): scripts, styles, images and fonts only
# from the portal itself, no inline code, never framed. Sockets are named by their ws(s)://
# origin as well, since some browsers do not count them as 'self'.
# Sign-out posts a form whose answer redirects to the authority's sign-out page, and Chromium
# holds every redirect after a form post to form-action. Entra serves that page on the
# authority's origin; the sandbox serves its browser pages over http, on a port of their own.
_SIGN_OUT_ORIGINS = [origin_of(MICROSOFT_AUTHORITY, name="MICROSOFT_AUTHORITY")]
if _sandbox.get("http_base_url") and _sandbox.get("authority") == MICROSOFT_AUTHORITY:
    _SIGN_OUT_ORIGINS.append(origin_of(_sandbox["http_base_url"], name="SANDBOX_INFO_FILE"))
CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "connect-src": [SELF, *websocket_origins(PORTAL_ORIGINS)],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF, *_SIGN_OUT_ORIGINS],
    }
}

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_TIME_LIMIT = 300
# Must exceed every task's time limit and countdown, or Redis redelivers running tasks.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A Redis refusing writes (full under noeviction) answers an acknowledgement or a delivery
# with an error Celery counts as a channel error, not a lost connection: without this the
# worker exits ("Unrecoverable error"); with it the consumer reconnects until Redis takes
# writes again.
CELERY_BROKER_CHANNEL_ERROR_RETRY = True
# Kombu's Redis transport, with task bookkeeping that goes on while Redis refuses writes
# (see comms_portal/broker.py).
CELERY_BROKER_TRANSPORT = "comms_portal.broker:Transport"
# Celery closes database connections around every task unless told to reuse them (a new
# PostgreSQL connection costs ~6 ms a task); the worker closes them as Django does after each
# request instead (see comms_portal/celery.py); on PostgreSQL that hands them back to the pool.
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The worker writes a heartbeat this often; /healthz calls a worker down after three misses.
WORKER_HEARTBEAT_SECONDS = env.number("WORKER_HEARTBEAT_SECONDS", 10, minimum=1)
# Each process checks the parts behind /healthz at most this often and answers from memory in
# between, so a flood of health calls costs nothing extra.
HEALTHZ_CACHE_SECONDS = env.number("HEALTHZ_CACHE_SECONDS", 5, minimum=0)
# Worker processes lower their CPU priority by this much (Unix nice): on a host shared with
# the web processes, answers to browsers and to Graph's webhook come before background work.
WORKER_NICENESS = env.number("WORKER_NICENESS", 10, minimum=0)
if WORKER_NICENESS > 19:
    raise ImproperlyConfigured(f"WORKER_NICENESS must be at most 19, not {WORKER_NICENESS}.")

# --- Directory and presence engine ------------------------------------------------------------
# How often the directory is synced from /users/delta (incremental after the first run).
DIRECTORY_SYNC_SECONDS = env.number("DIRECTORY_SYNC_SECONDS", 900, minimum=60)
# People hidden from the wall: "field:pattern" rules (fields upn, department, userType,
# jobTitle, displayName; shell-style patterns, case-insensitive). Defaults hide rooms and
# service accounts of the kind the sandbox tenant (and most real tenants) hold.
DIRECTORY_HIDE_RULES = env.items(
    "DIRECTORY_HIDE_RULES",
    ["upn:room.*", "upn:svc-*", "department:Meeting Room", "department:Service Account"],
)
# Watched people no subscription covers are polled this often.
PRESENCE_POLL_SECONDS = env.number("PRESENCE_POLL_SECONDS", 30, minimum=5)
# Every watched person is re-read this often, whatever covers them, to heal lost updates.
PRESENCE_RECONCILE_SECONDS = env.number("PRESENCE_RECONCILE_SECONDS", 600, minimum=60)
# Lifetime asked for presence subscriptions; Graph allows at most 60 minutes.
PRESENCE_SUBSCRIPTION_MINUTES = env.number("PRESENCE_SUBSCRIPTION_MINUTES", 60, minimum=5)
# A subscription is renewed once fewer than this many minutes remain.
PRESENCE_RENEW_BEFORE_MINUTES = env.number("PRESENCE_RENEW_BEFORE_MINUTES", 20, minimum=2)
# A person shown on an open page stays watched this long after the page last said so.
PRESENCE_WATCH_SECONDS = env.number("PRESENCE_WATCH_SECONDS", 180, minimum=30)
# While an event's console is open, its registrations are read again from Graph at most this
# often (the safety net behind registration notifications).
EVENTS_RESYNC_SECONDS = env.number("EVENTS_RESYNC_SECONDS", 60, minimum=10)
# Opening the events console looks in Teams for the person's events at most this often.
EVENTS_TEAMS_IMPORT_SECONDS = env.number("EVENTS_TEAMS_IMPORT_SECONDS", 300, minimum=10)
# Presence requests the portal allows itself per 30 s (Graph's limit: 1,500 per app per tenant).
PRESENCE_REQUESTS_PER_30S = env.number("PRESENCE_REQUESTS_PER_30S", 1200, minimum=1)
# Largest change-notification body accepted by the webhook.
WEBHOOK_MAX_BODY_BYTES = env.number("WEBHOOK_MAX_BODY_BYTES", 1_048_576, minimum=4096)
# With the worker down the inbox grows; past this many bodies the intake answers 503 and Graph
# keeps the notifications and sends them again later, instead of Redis running out of memory.
NOTIFICATION_INBOX_MAX_BODIES = env.number("NOTIFICATION_INBOX_MAX_BODIES", 50_000, minimum=100)
# --- Call records ---------------------------------------------------------------------------
# Calls, their streams and PSTN rows are kept this many days, then purged (Graph keeps 30).
CALLRECORDS_RETENTION_DAYS = env.number("CALLRECORDS_RETENTION_DAYS", 90, minimum=1)
# How often recent records are listed by start time to store any a notification missed, and
# how far back each pass looks (Teams writes a record up to 150 minutes after the call, and
# later versions after that).
CALLRECORDS_HEAL_SECONDS = env.number("CALLRECORDS_HEAL_SECONDS", 3600, minimum=60)
CALLRECORDS_HEAL_HOURS = env.number("CALLRECORDS_HEAL_HOURS", 48, minimum=1)
# A collecting process keeps this many JSON batches of ten records in flight (one thread
# each), so reading never waits for the one before; and stores this many records a transaction.
CALLRECORDS_READ_THREADS = env.number("CALLRECORDS_READ_THREADS", 4, minimum=1)
CALLRECORDS_STORE_BATCH = env.number("CALLRECORDS_STORE_BATCH", 500, minimum=10)
# Lifetime asked for the call-records subscription; Graph allows at most 4,230 minutes.
CALLRECORDS_SUBSCRIPTION_MINUTES = env.number("CALLRECORDS_SUBSCRIPTION_MINUTES", 4230, minimum=60)
if CALLRECORDS_SUBSCRIPTION_MINUTES > 4230:
    raise ImproperlyConfigured(
        "CALLRECORDS_SUBSCRIPTION_MINUTES must be at most 4230 (Graph's limit)."
    )
if PRESENCE_SUBSCRIPTION_MINUTES > 60:
    raise ImproperlyConfigured("PRESENCE_SUBSCRIPTION_MINUTES must be at most 60 (Graph's limit).")
if PRESENCE_RENEW_BEFORE_MINUTES >= PRESENCE_SUBSCRIPTION_MINUTES:
    raise ImproperlyConfigured(
        "PRESENCE_RENEW_BEFORE_MINUTES must be less than PRESENCE_SUBSCRIPTION_MINUTES."
    )
if PRESENCE_REQUESTS_PER_30S > 1500:
    raise ImproperlyConfigured("PRESENCE_REQUESTS_PER_30S must be at most 1500 (Graph's limit).")

# --- Calls (the calling bot) ------------------------------------------------------------------
_calling: dict[str, Any] = _sandbox.get("calling") or {}
# The calling bot's own app registration (application permissions only): its app id is the
# audience of every callback token, its secret gets its client-credential tokens.
CALLS_BOT_APP_ID = env.text("CALLS_BOT_APP_ID", _calling.get("bot_app_id", ""))
CALLS_BOT_CLIENT_SECRET = env.text("CALLS_BOT_CLIENT_SECRET", _calling.get("bot_client_secret", ""))
# Where the calling platform publishes the keys that sign its callbacks.
CALLS_PLATFORM_OPENID_CONFIGURATION = env.url(
    "CALLS_PLATFORM_OPENID_CONFIGURATION",
    _calling.get(
        "openid_configuration", "https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration"
    ),
    schemes=("https",),
)
# Issuers accepted on callback tokens.
CALLS_CALLBACK_ISSUERS = env.items("CALLS_CALLBACK_ISSUERS", ["https://api.botframework.com"])
# The reception line's application instance (a resource account with a phone number).
CALLS_RECEPTION_INSTANCE_ID = env.text(
    "CALLS_RECEPTION_INSTANCE_ID", (_calling.get("reception") or {}).get("id", "")
)
CALLS_RECEPTION_PHONE = env.text(
    "CALLS_RECEPTION_PHONE", (_calling.get("reception") or {}).get("phone", "")
)
# How long the platform's signing keys are trusted before they are read again (an unknown key
# id is looked up at once, at most every CALLS_KEYS_MIN_REFRESH_SECONDS).
CALLS_KEYS_CACHE_SECONDS = env.number("CALLS_KEYS_CACHE_SECONDS", 86_400, minimum=60)
CALLS_KEYS_MIN_REFRESH_SECONDS = env.number("CALLS_KEYS_MIN_REFRESH_SECONDS", 5, minimum=0)
# Threads of each worker process that handle the callbacks of calls in progress, one call at a
# time each.
CALLS_DISPATCH_THREADS = env.number("CALLS_DISPATCH_THREADS", 4, minimum=1)
# Threads of each worker process that only answer new callers; an answer mostly waits for the
# platform, and a caller hears silence until it arrives. More than 4 took the web processes'
# share of the two cores: the callback intake's p99 went over its 50 ms at 1,000 a second.
CALLS_ANSWER_THREADS = env.number("CALLS_ANSWER_THREADS", 4, minimum=1)
# Each signed-in person's call delegation is read again this often, spread over the period.
CALLS_DELEGATION_REFRESH_SECONDS = env.number(
    "CALLS_DELEGATION_REFRESH_SECONDS", 6 * 3600, minimum=600
)
# A call-out's spoken message is deleted when the call-out is over, or after this long at most.
CALLS_SPOKEN_MESSAGE_HOURS = env.number("CALLS_SPOKEN_MESSAGE_HOURS", 24, minimum=1)
