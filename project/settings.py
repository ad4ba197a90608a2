"""Settings, driven by the environment (django-environ); a ``.env`` file beside manage.py is read.

Every variable is listed with its default in docs/configuration.md. A secret may also come from a file
named by ``NAME_FILE`` (e.g. ``SECRET_KEY_FILE=/run/secrets/django``). The settings the apps read have
defaults of their own (membership/conf.py, graphfns/conf.py) and system checks for what cannot
default (membership/checks.py, graphfns/checks.py): this module sets only what differs here.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def private_folder(path: Path) -> Path:
    """``path`` as a folder only its owner can enter (0700); an existing one of ours is tightened."""
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
            path.chmod(0o700)
    return path


# The SQLite file, the file cache, locks and (without Redis) Celery's queue and results live here.
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.parent.mkdir(parents=True, exist_ok=True)
private_folder(VAR_DIR)

env = environ.Env()
if env.bool("READ_DOT_ENV", default=True) and (BASE_DIR / ".env").exists():
    env.read_env(BASE_DIR / ".env")

def secret(name: str, default: str | None = None) -> str | None:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE``."""
    path = env.str(f"{name}_FILE", default="")
    if path:
        return Path(path).read_text().strip()
    return env.str(name, default=default)


def from_environment(**casts: str) -> None:
    """Set each named setting from the environment only when the environment has it (``env.<cast>``):
    otherwise the app's own default applies (membership/conf.py, graphfns/conf.py)."""
    for name, cast in casts.items():
        if name in os.environ:
            globals()[name] = getattr(env, cast)(name)


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = secret("SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set (it is required when DEBUG is off). Set SECRET_KEY to a long random "
            "string, e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))'."
        )
    SECRET_KEY = "dev-only-insecure-key-" + "x" * 40
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The bearer token a Prometheus scraper sends to GET /metrics; unset: no /metrics at all (404).
METRICS_TOKEN = secret("METRICS_TOKEN") or ""

# One Fernet key, or several comma-separated (the first encrypts). A missing or malformed key is
# reported by membership's system check, with how to make one (make demo writes one into .env).
FIELD_ENCRYPTION_KEY = [k.strip() for k in (secret("FIELD_ENCRYPTION_KEY") or "").split(",") if k.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "membership",
    "graphfns",
]

MIDDLEWARE = [
    "project.request_log.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"
ASGI_APPLICATION = "project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "project" / "templates"],
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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
# Persistent connections: a new PostgreSQL connection per request costs more than the rest of an API
# call. Health checks drop a connection the server closed (restart, idle timeout) before it is reused.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env.bool("CONN_HEALTH_CHECKS", default=True))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file: wait for locks, write-ahead log.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}
    )
    # A test database in a file (not in memory), so worker processes started by the tests share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# Celery: Redis when REDIS_URL is set, otherwise kombu's filesystem transport (no server needed).
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
CELERY_RESULT_BACKEND = REDIS_URL or f"file://{VAR_DIR / 'celery' / 'results'}"
if not REDIS_URL:
    _celery = private_folder(VAR_DIR / "celery")
    _queue, _processed, _control, _results = (
        private_folder(_celery / name) for name in ("queue", "processed", "control", "results")
    )
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "processed_folder": str(_processed),
        "control_folder": str(_control),
        "store_processed": False,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Task arguments and results are JSON encrypted with FIELD_ENCRYPTION_KEY (membership/lib/task_messages.py), so
# nothing readable rests in Redis or in VAR_DIR; every message, beat's and control's too, uses it.
CELERY_TASK_SERIALIZER = "fernet-json"
CELERY_RESULT_SERIALIZER = "fernet-json"
CELERY_ACCEPT_CONTENT = ["fernet-json"]
CELERY_RESULT_EXPIRES = env.int("CELERY_RESULT_EXPIRES", default=86400)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

# Background renewal of members' refresh tokens (Entra expires unused ones after 90 days).
MICROSOFT_REFRESH_BATCH_SIZE = env.int("MICROSOFT_REFRESH_BATCH_SIZE", default=100)
# Absolute base URL of the site, for links in e-mails (reconnect).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# The apps' settings this site sets only from the environment (their defaults and meaning:
# docs/configuration.md). MICROSOFT_CA_BUNDLE and MICROSOFT_ALLOWED_HOSTS are for the local emulator.
from_environment(
    MICROSOFT_REFRESH_AFTER_DAYS="int", MICROSOFT_CA_BUNDLE="str", MICROSOFT_ALLOWED_HOSTS="list",
    GRAPH_API_KEY_CACHE_SECONDS="float", GRAPH_CALL_LOG_WRITE_BEHIND="bool", GRAPH_CALL_LOG_RETENTION_DAYS="int",
    GRAPH_CALL_LOG_PURGE_BATCH_SIZE="int", GRAPH_CALL_LOG_PURGE_PAUSE="float", GRAPH_CALL_STATS_RETENTION_DAYS="int",
)

# Every call to Microsoft (sign-in, token refresh, discovery, keys, Graph) waits at most this long to
# connect and, once connected, for each answer; a Graph function gives up (retries included) after
# MICROSOFT_GRAPH_DEADLINE seconds.
MICROSOFT_CONNECT_TIMEOUT = env.float("MICROSOFT_CONNECT_TIMEOUT", default=5.0)
MICROSOFT_READ_TIMEOUT = env.float("MICROSOFT_READ_TIMEOUT", default=30.0)
MICROSOFT_GRAPH_DEADLINE = env.float("MICROSOFT_GRAPH_DEADLINE", default=45.0)

# Celery time limits, longer than anything Microsoft can make a task wait. With acks_late a task
# killed at its hard limit is redelivered; the soft limit (SoftTimeLimitExceeded) comes first so it
# ends as a failure instead. A function call may wait for a member's token lock and refresh
# (2 requests plus the lock's own margin, twice) and make several Graph requests, each within
# MICROSOFT_GRAPH_DEADLINE; a refresh-sweep batch renews MICROSOFT_REFRESH_BATCH_SIZE accounts.
_longest_request = MICROSOFT_CONNECT_TIMEOUT + MICROSOFT_READ_TIMEOUT
_function_worst = 2 * (2 * _longest_request + 10) + 4 * MICROSOFT_GRAPH_DEADLINE
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=int(max(300, _function_worst)))
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=CELERY_TASK_SOFT_TIME_LIMIT + 60)
if MICROSOFT_GRAPH_DEADLINE + _longest_request > CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured(
        f"CELERY_TASK_SOFT_TIME_LIMIT ({CELERY_TASK_SOFT_TIME_LIMIT}s) is shorter than one Graph call can take "
        f"(MICROSOFT_GRAPH_DEADLINE + connect + read = {MICROSOFT_GRAPH_DEADLINE + _longest_request:g}s)."
    )
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_TIME_LIMIT must be longer than CELERY_TASK_SOFT_TIME_LIMIT.")
_batch_soft = int(MICROSOFT_REFRESH_BATCH_SIZE * _longest_request + 60)
CELERY_TASK_ANNOTATIONS = {
    "membership.refresh_batch": {"soft_time_limit": max(_batch_soft, CELERY_TASK_SOFT_TIME_LIMIT),
                                 "time_limit": max(_batch_soft, CELERY_TASK_SOFT_TIME_LIMIT) + 60},
}
_longest_task = max(CELERY_TASK_TIME_LIMIT, _batch_soft + 60)
if REDIS_URL:
    # Redis hands an unacknowledged task to another worker after the visibility timeout: it must
    # outlast the longest task, or a slow task runs twice while the first run is still going.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=max(3600, 2 * _longest_task)),
    }
    if CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= _longest_task:
        raise ImproperlyConfigured(
            f"CELERY_VISIBILITY_TIMEOUT must be longer than the longest task's hard time limit ({_longest_task}s)."
        )

# Sections other apps add to the member's /account/ page: dotted paths to (request) -> HTML.
ACCOUNT_PAGE_PANELS = ["graphfns.panels.next_events"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/signin/"
LOGIN_REDIRECT_URL = "/account/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="membership@localhost")

# Production hardening: on unless DEBUG; each can be relaxed by the environment (e.g. TLS
# terminated by a proxy that sets X-Forwarded-Proto: set SECURE_PROXY_SSL_HEADER=true).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
# Load balancers probe the backend over plain HTTP: answer them instead of redirecting.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# LOG_FORMAT=json: one JSON object per line (project/request_log.py), with the request id, and for
# Graph function calls the function, caller, duration and Graph's request-id / client-request-id.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
                   "json": {"()": "project.request_log.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT,
                             "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # (Celery's task lines name the task, its id and duration, never its values: membership installs
    # membership.lib.task_messages.TaskLogFilter on celery.app.trace itself.)
    "filters": {"request_id": {"()": "project.request_log.RequestIdFilter"}},
    # (membership quietens msal's and urllib3's DEBUG logging, which carries request bodies, itself.)
}
