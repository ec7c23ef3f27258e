"""OpenProvider settings: all from the environment (or `.env`), with dev-safe defaults."""

import ipaddress
import os
from pathlib import Path

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured

from config import embedded_redis

# Django's generic classes (ModelAdmin[M], ModelForm[M], Field[S, G]) subscriptable at run time,
# as their type stubs declare them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; the real environment wins
# make run's runtime files: the embedded Redis socket, the beat schedule, generated media.
VAR_DIR: Path = BASE_DIR / env("VAR_DIR", default="var")  # relative to the project, or absolute

# Recognisable dev defaults; `accounts.checks` refuses them when DEBUG is false.
DEV_SECRET_KEY = "dev-insecure-secret-key-change-me-0123456789abcdefghijklmnop"  # noqa: S105
DEV_ENCRYPTION_KEY = "dev-insecure-encryption-key-change-me-0123456789abcdef"

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default=DEV_SECRET_KEY)
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

# Stored provider secrets are encrypted with their own key, never only with SECRET_KEY.
# django-cryptography replaces CRYPTOGRAPHY_KEY with derived bytes; checks read the raw value.
OPENPROVIDER_ENCRYPTION_KEY = env("OPENPROVIDER_ENCRYPTION_KEY", default=DEV_ENCRYPTION_KEY)
CRYPTOGRAPHY_KEY = OPENPROVIDER_ENCRYPTION_KEY
CRYPTOGRAPHY_SALT = env("OPENPROVIDER_ENCRYPTION_SALT", default="openprovider")
OPENPROVIDER_ENCRYPTION_KEY_FALLBACKS = env.list(
    "OPENPROVIDER_ENCRYPTION_KEY_FALLBACKS", default=[]
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
    "drf_spectacular",
    "django_celery_beat",
    "accounts",
    "providers",
    "catalog",
    "gateway",
]

MIDDLEWARE = [
    "gateway.middleware.RequestIdMiddleware",
    "gateway.middleware.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Web pages only; /v1 (bearer keys, JSON) skips them (gateway/middleware.py WebOnlyMiddleware).
    "gateway.middleware.WebOnlyCSPMiddleware",
    "gateway.middleware.WebOnlySessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "gateway.middleware.WebOnlyCsrfViewMiddleware",
    "gateway.middleware.WebOnlyAuthenticationMiddleware",
    "gateway.middleware.WebOnlyMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
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
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = 0  # no per-greenlet connection pile-up under gevent
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "DATABASE_POOL", default=True
):
    # Under gevent each in-flight request is a greenlet with its own connection: without a pool
    # a burst of 1,000 streams opened 1,000 connections and got HTTP 500s past PostgreSQL's
    # max_connections (bench/README.md). The psycopg pool caps them per process; a greenlet
    # waiting for a slot yields to the others. Total = workers x max_size (+ Celery).
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=16),
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=30.0),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: the cache every process shares (and, by default, the Celery broker). Without REDIS_URL it
# is the server `make run` starts itself on a unix socket under var/ (config/embedded_redis.py).
_redis_url = env("REDIS_URL", default="")
REDIS_URL = _redis_url or embedded_redis.cache_url(VAR_DIR)
CACHE_KEY_PREFIX = env("CACHE_KEY_PREFIX", default="op")
CACHES = {
    "default": {
        "BACKEND": "config.infra.redis_pool.SharedRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": CACHE_KEY_PREFIX,
        # One bounded pool per process: under gevent each greenlet has its own cache backend
        # and, without this, its own Redis connection (config/infra/redis_pool.py).
        "OPTIONS": {
            "socket_timeout": 1,
            "socket_connect_timeout": 1,
            "pool_class": "config.infra.redis_pool.SharedBlockingConnectionPool",
            "max_connections": env.int("REDIS_MAX_CONNECTIONS", default=256),
            "timeout": 20,  # seconds a request waits for a free one (an overloaded worker)
        },
    }
}

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:signin"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env(
            "STATICFILES_BACKEND", default="whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Request bodies: an explicit limit, answered with a 413 envelope on /v1.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FILES = 1
# A /v1 body must arrive whole within this many seconds (408 request_timeout), before the key is
# looked up; gunicorn's gevent worker bounds the request line and headers by `keepalive` (5 s).
REQUEST_BODY_TIMEOUT_SECONDS = env.float("REQUEST_BODY_TIMEOUT_SECONDS", default=30.0)
# Concurrent in-flight /v1 requests per API key, and per client address for requests without a
# well-formed key (429 too_many_concurrent_requests; 0: no bound). Counted in the shared cache.
API_KEY_MAX_CONCURRENT_REQUESTS = env.int("API_KEY_MAX_CONCURRENT_REQUESTS", default=50)
CLIENT_MAX_CONCURRENT_REQUESTS = env.int("CLIENT_MAX_CONCURRENT_REQUESTS", default=50)
# Bodies read at once per client address in each web process, whatever keys they present (429
# past it; 0: no bound): made-up keys cannot multiply one address's slow bodies.
CLIENT_MAX_PENDING_BODIES = env.int("CLIENT_MAX_PENDING_BODIES", default=20)

# Security headers; production values come from the environment.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Error emails mask every secret-named POST field and frame variable.
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.infra.error_reports.SecretsExceptionReporterFilter"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:", "https:"],
        "media-src": ["'self'", "data:", "blob:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
# security.W003 only knows Django's own CSRF middleware class; ours is a subclass
# (gateway.middleware.WebOnlyCsrfViewMiddleware), checked by openprovider.E004 instead.
SILENCED_SYSTEM_CHECKS = ["security.W003", *env.list("SILENCED_SYSTEM_CHECKS", default=[])]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["gateway.api.parsers.SafeJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "gateway.api.negotiation.IgnoreAcceptNegotiation",
    "EXCEPTION_HANDLER": "gateway.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OpenProvider API",
    "DESCRIPTION": "One OpenAI-compatible API over free-tier model providers.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "gateway.api.schema.postprocess",
    ],
}


def broker_with_host(broker_url: str) -> str:
    """`filesystem://` names its host: given none, kombu puts in `localhost` and logs "No
    hostname was supplied" each time it copies the connection (every task sent)."""
    return "filesystem://localhost/" if broker_url.rstrip("/") == "filesystem:" else broker_url


# Celery: the same Redis by default (make run's own database 1 of its embedded server).
CELERY_BROKER_URL = broker_with_host(
    env("CELERY_BROKER_URL", default=_redis_url or embedded_redis.broker_url(VAR_DIR))
)
if os.environ.get("CELERY_BROKER_URL", CELERY_BROKER_URL) != CELERY_BROKER_URL:
    # Celery reads the variable itself, before this setting (celery.app.utils.Settings).
    os.environ["CELERY_BROKER_URL"] = CELERY_BROKER_URL


def broker_transport_options(broker_url: str) -> dict:
    """Kombu's options for this broker: the filesystem one (no server) needs its folders, which
    kombu does not create."""
    if not broker_url.startswith("filesystem://"):
        return {"visibility_timeout": 3600}
    folder = VAR_DIR / "broker"
    for name in ("out", "processed", "control"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folder / "out"),
        "data_folder_out": str(folder / "out"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
    }


CELERY_BROKER_TRANSPORT_OPTIONS = broker_transport_options(CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = None  # results are never stored, so beat needs no cleanup job for them
# One beat per deployment, reading its jobs from the database (django-celery-beat's tables):
# operators see, pause and retime them in the admin. A second beat only stands by (config/beat.py).
CELERY_BEAT_SCHEDULER = "config.beat.SingleBeatScheduler"
# Empty on purpose: beat writes this setting's entries over the database rows at every start,
# which would undo the operators' edits. The jobs come from BEAT_JOBS instead.
CELERY_BEAT_SCHEDULE: dict = {}
CATALOG_SYNC_INTERVAL = env.int("CATALOG_SYNC_INTERVAL", default=6 * 3600)
PROVIDER_CHECK_INTERVAL = env.int("PROVIDER_CHECK_INTERVAL", default=600)
# The periodic jobs and their first intervals (seconds), as the data migration
# gateway/migrations/0006_beat_jobs_seeded.py writes them once (a job already there is left as
# it is); after that the admin's "Periodic tasks" rows are the schedule.
BEAT_JOBS: dict[str, dict[str, str | int]] = {
    "catalog-sync": {
        "task": "catalog.tasks.catalog_sync_all_task",
        "every": CATALOG_SYNC_INTERVAL,
    },
    "provider-check": {
        "task": "catalog.tasks.provider_check_all_task",
        "every": PROVIDER_CHECK_INTERVAL,
    },
    "request-log-reaper": {
        "task": "gateway.tasks.request_log_reap_stale_task",
        "every": env.int("REQUEST_LOG_REAP_INTERVAL", default=300),
    },
    "generated-images-cleanup": {
        "task": "gateway.tasks.generated_images_cleanup_task",
        "every": env.int("GENERATED_IMAGE_CLEANUP_INTERVAL", default=3600),
    },
    "stored-responses-expiry": {
        "task": "gateway.tasks.stored_responses_expire_task",
        "every": env.int("STORED_RESPONSES_EXPIRY_INTERVAL", default=3600),
    },
}

# Media workflows: user image URLs (SSRF-guarded fetch), images, speech.
IMAGE_MAX_BYTES = env.int("IMAGE_MAX_BYTES", default=10 * 1024 * 1024)
IMAGE_MAX_PIXELS = env.int("IMAGE_MAX_PIXELS", default=40_000_000)
# /v1/images/analyze bodies carry a whole image: base64 in JSON (4/3 of IMAGE_MAX_BYTES) plus the
# prompt; every other /v1 body is capped at DATA_UPLOAD_MAX_MEMORY_SIZE.
ANALYZE_MAX_BODY_BYTES = env.int(
    "ANALYZE_MAX_BODY_BYTES", default=IMAGE_MAX_BYTES * 4 // 3 + 1024 * 1024
)
IMAGE_FETCH_MAX_BYTES = env.int("IMAGE_FETCH_MAX_BYTES", default=10 * 1024 * 1024)
# /v1/audio/transcriptions uploads, kept in memory: OpenAI's and Groq's free-tier file limit.
TRANSCRIPTION_MAX_BYTES = env.int("TRANSCRIPTION_MAX_BYTES", default=25 * 1024 * 1024)
IMAGE_FETCH_CONNECT_TIMEOUT_SECONDS = env.float("IMAGE_FETCH_CONNECT_TIMEOUT_SECONDS", default=3.0)
IMAGE_FETCH_FIRST_BYTE_TIMEOUT_SECONDS = env.float(
    "IMAGE_FETCH_FIRST_BYTE_TIMEOUT_SECONDS", default=5.0
)
IMAGE_FETCH_TOTAL_TIMEOUT_SECONDS = env.float("IMAGE_FETCH_TOTAL_TIMEOUT_SECONDS", default=15.0)
IMAGE_FETCH_MAX_REDIRECTS = env.int("IMAGE_FETCH_MAX_REDIRECTS", default=3)
# Operator-only exact "host:port" pairs that skip the address deny list (tests, local servers).
IMAGE_FETCH_ALLOWED_HOSTS = env.list("IMAGE_FETCH_ALLOWED_HOSTS", default=[])
GENERATED_IMAGE_TTL_SECONDS = env.int("GENERATED_IMAGE_TTL_SECONDS", default=24 * 3600)
# Stored /v1/responses answers (and their input) are deleted this many days after creation.
RESPONSES_RETENTION_DAYS = env.int("RESPONSES_RETENTION_DAYS", default=30)
IMAGE_PROMPT_MAX_CHARS = env.int("IMAGE_PROMPT_MAX_CHARS", default=4000)
SPEECH_MAX_INPUT_CHARS = env.int("SPEECH_MAX_INPUT_CHARS", default=4096)
SPEECH_MAX_OUTPUT_BYTES = env.int("SPEECH_MAX_OUTPUT_BYTES", default=25 * 1024 * 1024)

# Upstream providers.
PROVIDER_CONNECT_TIMEOUT_SECONDS = env.float("PROVIDER_CONNECT_TIMEOUT_SECONDS", default=5.0)
PROVIDER_READ_TIMEOUT_SECONDS = env.float("PROVIDER_READ_TIMEOUT_SECONDS", default=60.0)
# Private networks (CIDRs) that custom providers, i.e. base URLs saved with a credential, may
# reach; public addresses always can. Checked on the resolved address at every new connection.
# Link-local, metadata, unspecified and multicast addresses stay refused whatever is listed.
# Default: loopback and private ranges under DEBUG (`make run`, a local Ollama); none otherwise.
LOCAL_NETWORKS = [
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
]


def _cidr_list(name: str, default: list[str]) -> list[str]:
    """Comma-separated CIDRs; a malformed one stops start-up with the variable's name."""
    try:
        cidrs = env.list(name, default=default)
        return [str(ipaddress.ip_network(cidr.strip(), strict=False)) for cidr in cidrs]
    except ValueError as error:
        raise ImproperlyConfigured(f"{name}: {error}") from None


OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS = _cidr_list(
    "OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS", LOCAL_NETWORKS if DEBUG else []
)
# A whole upstream answer (a stream included) ends by this deadline, whatever it sends meanwhile
# (keep-alive comments reset the read timeout), and holds at most this many decoded bytes.
PROVIDER_STREAM_MAX_SECONDS = env.float("PROVIDER_STREAM_MAX_SECONDS", default=300.0)
PROVIDER_MAX_RESPONSE_BYTES = env.int("PROVIDER_MAX_RESPONSE_BYTES", default=32 * 1024 * 1024)
# Gemini's listing has no prices: the free-tier model families live in the Gemini registry row
# (providers/registry.py). These ids (fnmatch patterns) count as free as well, for a model
# Google adds to the free tier before the registry knows it. GEMINI_FREE_MODELS, the old name,
# is read as the same list (it adds to the families; it no longer replaces them).
GEMINI_EXTRA_FREE_MODELS = env.list(
    "GEMINI_EXTRA_FREE_MODELS", default=env.list("GEMINI_FREE_MODELS", default=[])
)

# OpenProvider API keys: default limits, editable per key in admin.
API_KEY_DEFAULT_RPM = env.int("API_KEY_DEFAULT_RPM", default=60)
API_KEY_DEFAULT_RPD = env.int("API_KEY_DEFAULT_RPD", default=5000)
API_KEY_CACHE_SECONDS = env.int("API_KEY_CACHE_SECONDS", default=30)
# A well-formed key that matches no active key is refused without a query for this long.
API_KEY_NEGATIVE_CACHE_SECONDS = env.int("API_KEY_NEGATIVE_CACHE_SECONDS", default=10)
# Failed /v1 authentications per client address and minute before 429 (0: no limit).
AUTH_FAILURES_PER_MINUTE = env.int("AUTH_FAILURES_PER_MINUTE", default=30)
# Reverse proxies in front that append to X-Forwarded-For (0: the peer address is the client).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Per-process copy of a key, off by default so a revocation on any node holds on the next
# request everywhere; a few seconds saves one shared-cache read per request but delays that.
API_KEY_LOCAL_CACHE_SECONDS = env.float("API_KEY_LOCAL_CACHE_SECONDS", default=0.0)
API_KEY_LAST_USED_RESOLUTION_SECONDS = env.int("API_KEY_LAST_USED_RESOLUTION_SECONDS", default=60)

# Chat gateway: fallback budget, route cooldowns and circuit breaker, stream keep-alives.
GATEWAY_MAX_ATTEMPTS = env.int("GATEWAY_MAX_ATTEMPTS", default=5)
GATEWAY_TOTAL_DEADLINE_SECONDS = env.float("GATEWAY_TOTAL_DEADLINE_SECONDS", default=120.0)
GATEWAY_COOLDOWN_SECONDS = env.int("GATEWAY_COOLDOWN_SECONDS", default=60)
GATEWAY_BREAKER_THRESHOLD = env.int("GATEWAY_BREAKER_THRESHOLD", default=3)
GATEWAY_BREAKER_WINDOW_SECONDS = env.int("GATEWAY_BREAKER_WINDOW_SECONDS", default=60)
GATEWAY_BREAKER_OPEN_SECONDS = env.int("GATEWAY_BREAKER_OPEN_SECONDS", default=120)
# Seconds before an open breaker lets one trial request through (half-open); a failed trial
# doubles the wait, up to GATEWAY_BREAKER_OPEN_SECONDS.
GATEWAY_BREAKER_TRIAL_SECONDS = env.float("GATEWAY_BREAKER_TRIAL_SECONDS", default=5.0)
# Bare 429s (no hint) in a row, each right after a cooldown, that park a route until UTC
# midnight; a parked route is probed at most every GATEWAY_PARKED_PROBE_SECONDS.
GATEWAY_BARE_429_PARK_AFTER = env.int("GATEWAY_BARE_429_PARK_AFTER", default=3)
GATEWAY_PARKED_PROBE_SECONDS = env.int("GATEWAY_PARKED_PROBE_SECONDS", default=300)
# When every route is cooling, a request waits up to this long (from its start) for the earliest
# to free up instead of an instant 429 (0: never waits); at most GATEWAY_MAX_QUEUED_REQUESTS
# wait at once per process (gateway/routing/hold.py).
GATEWAY_MAX_QUEUE_SECONDS = env.float("GATEWAY_MAX_QUEUE_SECONDS", default=5.0)
GATEWAY_MAX_QUEUED_REQUESTS = env.int("GATEWAY_MAX_QUEUED_REQUESTS", default=100)
GATEWAY_KEEPALIVE_SECONDS = env.float("GATEWAY_KEEPALIVE_SECONDS", default=15.0)
# Successes are written to a route's shared health at most this often per process
# (gateway/routing/cooldowns.py); 0 writes each one.
GATEWAY_HEALTH_FLUSH_SECONDS = env.float("GATEWAY_HEALTH_FLUSH_SECONDS", default=1.0)
# Per-process cache of route candidates and adapters (gateway/routing/candidates.py); the catalog
# version invalidates it at once, this TTL bounds the changes that bump no version (credential
# checks).
GATEWAY_ROUTE_CACHE_SECONDS = env.float("GATEWAY_ROUTE_CACHE_SECONDS", default=5.0)
# The live route quotas in a /v1/models listing are read (one batched cache read for all its
# routes) at most this often per process and listing (gateway/routing/quota_view.py); 0 reads
# them for every request.
GATEWAY_QUOTA_VIEW_SECONDS = env.float("GATEWAY_QUOTA_VIEW_SECONDS", default=1.0)
# Request log write-behind (gateway/requestlog/writer.py): queued rows are written in batches by one
# background thread per process; past MAX_PENDING queued rows a request writes the batch itself.
REQUEST_LOG_WRITE_BEHIND = env.bool("REQUEST_LOG_WRITE_BEHIND", default=True)
REQUEST_LOG_FLUSH_SECONDS = env.float("REQUEST_LOG_FLUSH_SECONDS", default=0.2)
REQUEST_LOG_MAX_PENDING = env.int("REQUEST_LOG_MAX_PENDING", default=5000)
# While the database fails, at most this many changes wait in memory; later ones are dropped
# (counted and logged). At exit, queued rows are retried for up to EXIT_SECONDS.
REQUEST_LOG_MAX_QUEUED = env.int("REQUEST_LOG_MAX_QUEUED", default=20000)
REQUEST_LOG_EXIT_SECONDS = env.float("REQUEST_LOG_EXIT_SECONDS", default=10.0)

# Prometheus /metrics: the bearer token a scraper sends; empty = only staff sessions (404 else).
OPENPROVIDER_METRICS_TOKEN = env("OPENPROVIDER_METRICS_TOKEN", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "config.infra.logfilters.RedactSecretsFilter"},
        "redact_message": {"()": "config.infra.logfilters.RedactMessageFilter"},
        "request_id": {"()": "config.infra.logfilters.RequestIdFilter"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id", "redact"],
        },
        # Django's error mails: the message is redacted here, the report body by
        # DEFAULT_EXCEPTION_REPORTER_FILTER (it needs exc_info, so that is kept).
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",  # not every 404 warning; and no DEBUG record from its own render
            "filters": ["require_debug_false", "request_id", "redact_message"],
        },
    },
    # Django's own console handlers (plain text, unredacted) are replaced: its records go
    # through the root handler like every other line.
    "loggers": {
        "django": {"handlers": ["mail_admins"], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# Provider registry overrides: OPENPROVIDER_BASE_URL_<SLUG> (proxies, self-hosting, tests).
for _name, _value in env.ENVIRON.items():
    if _name.startswith("OPENPROVIDER_BASE_URL_") and _value:
        globals()[_name] = _value
OPENPROVIDER_REENABLED_PROVIDERS = env.list("OPENPROVIDER_REENABLED_PROVIDERS", default=[])
