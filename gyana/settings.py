"""Settings: one environment variable per concern, each with a default that needs no account.

The embedded default (nothing set) is SQLite under VAR_DIR, the in-memory channel layer with an
in-process worker, the built-in Fivetran emulator and the local BigQuery stand-in. Production sets
DATABASE_URL, REDIS_URL, the FIVETRAN_* and BIGQUERY_* variables, SECRET_KEY and DEBUG=0.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
VAR_DIR = Path(os.environ.get("VAR_DIR") or BASE_DIR / "var").resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)
PORT = int(os.environ.get("PORT") or 8000)

DEVELOPMENT_SECRET_KEY = "development-only-secret-key-never-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY") or DEVELOPMENT_SECRET_KEY
if not DEBUG and SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is missing (or is the development default) while DEBUG is off: "
        "set SECRET_KEY to a long random value, or DEBUG=1 for local development."
    )

# Never "*": the websocket Origin check trusts this list.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Before "channels", so our runworker (which starts the set-up Runner) is the one used.
    "integrations",
    "channels",
    "teams",
    "connectors",
    "consumers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "gyana.urls"
ASGI_APPLICATION = "gyana.asgi.application"

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

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN so two
    # writers queue on the busy timeout instead of failing with "database is locked" on upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL") or None
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8 defaults to a 5 s socket timeout, shorter than the layer's 5 s BZPOPMIN.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 10}],
                # The default 100 is shared by every consumer of a process: bursts were lost.
                "capacity": 10_000,
                "expiry": 60,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 10_000}}
    }

# With no REDIS_URL the set-up worker runs inside the web process (one process for `make run`).
SETUP_WORKER_IN_PROCESS = env_bool("SETUP_WORKER_IN_PROCESS", REDIS_URL is None)
SETUP_WORKER_CHANNEL = "integration-setup"

# Fivetran: unset FIVETRAN_API_URL means the built-in emulator, mounted in this server.
EMULATOR_MOUNT = "/_emulator/fivetran"
FIVETRAN_EMULATED = not os.environ.get("FIVETRAN_API_URL")
PUBLIC_URL = (os.environ.get("PUBLIC_URL") or f"http://127.0.0.1:{PORT}").rstrip("/")
FIVETRAN_API_URL = (os.environ.get("FIVETRAN_API_URL") or f"{PUBLIC_URL}{EMULATOR_MOUNT}/v1").rstrip("/")
if FIVETRAN_EMULATED and not DEBUG and not env_bool("ALLOW_EMULATOR", False):
    # The emulator answers with well-known credentials: never serve it by accident in production.
    raise ImproperlyConfigured(
        "FIVETRAN_API_URL is not set while DEBUG is off: set FIVETRAN_API_URL (and FIVETRAN_API_KEY, "
        "FIVETRAN_API_SECRET, FIVETRAN_GROUP_ID, FIVETRAN_WEBHOOK_SECRET), or ALLOW_EMULATOR=1 for a demo."
    )
FIVETRAN_API_KEY = os.environ.get("FIVETRAN_API_KEY") or "emulator-key"
FIVETRAN_API_SECRET = os.environ.get("FIVETRAN_API_SECRET") or "emulator-secret"
FIVETRAN_GROUP_ID = os.environ.get("FIVETRAN_GROUP_ID") or "embedded_group"
FIVETRAN_WEBHOOK_SECRET = os.environ.get("FIVETRAN_WEBHOOK_SECRET") or (
    "emulator-webhook-secret" if FIVETRAN_EMULATED else None
)
FIVETRAN_TIMEOUT_SECONDS = float(os.environ.get("FIVETRAN_TIMEOUT_SECONDS") or 30)
EMULATOR_SYNC_SECONDS = float(os.environ.get("EMULATOR_SYNC_SECONDS") or 20)

# BigQuery: unset BIGQUERY_API_ENDPOINT means the local stand-in (started by `make run`).
BIGQUERY_PROJECT = os.environ.get("BIGQUERY_PROJECT") or "local-project"
BIGQUERY_API_ENDPOINT = os.environ.get("BIGQUERY_API_ENDPOINT") or None
BIGQUERY_LOCATION = os.environ.get("BIGQUERY_LOCATION") or "US"
BIGQUERY_TIMEOUT_SECONDS = float(os.environ.get("BIGQUERY_TIMEOUT_SECONDS") or 30)
BIGQUERY_STANDIN_PORT = int(os.environ.get("BIGQUERY_STANDIN_PORT") or PORT + 50)

SHOW_INTERNAL_SERVICES = env_bool("SHOW_INTERNAL_SERVICES", DEBUG)

# The set-up flow's clocks.
SETUP_LEASE_SECONDS = float(os.environ.get("SETUP_LEASE_SECONDS") or 30)
SETUP_SWEEP_SECONDS = float(os.environ.get("SETUP_SWEEP_SECONDS") or 5)
SETUP_SYNC_FAILURE_LIMIT = int(os.environ.get("SETUP_SYNC_FAILURE_LIMIT") or 3)
SETUP_SYNC_TIMEOUT_SECONDS = float(os.environ.get("SETUP_SYNC_TIMEOUT_SECONDS") or 24 * 3600)
# Fallback polling of a running sync: (first interval, longest interval) in seconds. With webhooks
# 60 s doubling to 10 min keeps a waiting flow under 12 status calls an hour.
SETUP_POLL_WITH_WEBHOOKS = (
    float(os.environ.get("SETUP_POLL_FIRST_SECONDS") or 60),
    float(os.environ.get("SETUP_POLL_MAX_SECONDS") or 600),
)
SETUP_POLL_WITHOUT_WEBHOOKS = (
    float(os.environ.get("SETUP_POLL_FIRST_SECONDS") or 15),
    float(os.environ.get("SETUP_POLL_MAX_SECONDS") or 300),
)
SETUP_HEARTBEAT_SECONDS = float(os.environ.get("SETUP_HEARTBEAT_SECONDS") or 30)
SETUP_TABLES_GRACE_SECONDS = float(os.environ.get("SETUP_TABLES_GRACE_SECONDS") or 1800)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/integrations/new/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"httpx": {"level": "WARNING"}, "daphne": {"level": "WARNING"}},
}

# ---------------------------------------------------------------------------------------------
# Temporal (gyana/temporal/). Self-contained: only os.environ, env_bool and ImproperlyConfigured.
# ---------------------------------------------------------------------------------------------
# Unset TEMPORAL_ADDRESS means the embedded default: the Temporal dev server from the `temporal-dev`
# extra, started beside daphne on 127.0.0.1:TEMPORAL_DEV_PORT with its state in VAR_DIR. The dev
# server is not meant for production; with DEBUG=0 it is still allowed (a single-box demo), so
# production sets TEMPORAL_ADDRESS to its cluster (or Temporal Cloud) instead.
TEMPORAL_EMBEDDED = not os.environ.get("TEMPORAL_ADDRESS")
# +33/+34: clear of PORT (daphne) and PORT + 50 (the BigQuery stand-in), so a second instance on
# another PORT gets its own dev server too.
TEMPORAL_DEV_PORT = int(os.environ.get("TEMPORAL_DEV_PORT") or PORT + 33)
TEMPORAL_DEV_UI_PORT = int(os.environ.get("TEMPORAL_DEV_UI_PORT") or PORT + 34)
TEMPORAL_ADDRESS = os.environ.get("TEMPORAL_ADDRESS") or f"127.0.0.1:{TEMPORAL_DEV_PORT}"
TEMPORAL_NAMESPACE = os.environ.get("TEMPORAL_NAMESPACE") or "default"
TEMPORAL_TASK_QUEUE = os.environ.get("TEMPORAL_TASK_QUEUE") or "integration-setup"
# The names are the `temporal` CLI's own, so one environment serves the product and an operator's
# `temporal workflow list` alike. Temporal Cloud: TEMPORAL_API_KEY. Self-hosted mTLS: the client
# certificate and key, plus the CA when the server's certificate is not from a public one.
TEMPORAL_API_KEY = os.environ.get("TEMPORAL_API_KEY") or None
TEMPORAL_TLS_CLIENT_CERT_PATH = os.environ.get("TEMPORAL_TLS_CLIENT_CERT_PATH") or None
TEMPORAL_TLS_CLIENT_KEY_PATH = os.environ.get("TEMPORAL_TLS_CLIENT_KEY_PATH") or None
TEMPORAL_TLS_SERVER_CA_CERT_PATH = os.environ.get("TEMPORAL_TLS_SERVER_CA_CERT_PATH") or None
TEMPORAL_TLS_SERVER_NAME = os.environ.get("TEMPORAL_TLS_SERVER_NAME") or None
# Like the CLI: TLS turns itself on when an API key or any TLS file is given; TEMPORAL_TLS=1 alone
# means TLS with the system's CAs, TEMPORAL_TLS=0 forces plain text (e.g. behind a TLS proxy).
TEMPORAL_TLS = env_bool(
    "TEMPORAL_TLS",
    any((TEMPORAL_API_KEY, TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME)),
)
if bool(TEMPORAL_TLS_CLIENT_CERT_PATH) != bool(TEMPORAL_TLS_CLIENT_KEY_PATH):
    raise ImproperlyConfigured(
        "TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together (mTLS): set both or neither."
    )
# How long a stopping worker (SIGTERM, Ctrl-C) lets running activities finish before cancelling them.
TEMPORAL_WORKER_DRAIN_SECONDS = float(os.environ.get("TEMPORAL_WORKER_DRAIN_SECONDS") or 30)
# ------------------------------------------------------------------------------- end Temporal --
