"""Settings: one environment variable per setting, read and type-checked in one place.

The embedded default (nothing set) needs no account: SQLite under VAR_DIR, the in-memory channel
layer with an in-process set-up worker, the built-in Fivetran emulator and the local BigQuery
stand-in. Production sets DATABASE_URL, REDIS_URL, the FIVETRAN_* and BIGQUERY_* variables,
SECRET_KEY and DEBUG=0. The README's Configuration table lists every variable.

A variable that is set but empty counts as unset. A value that does not parse (PORT=x, DEBUG=maybe,
a malformed DATABASE_URL) stops start-up with one message naming every bad variable, and so do the
production mistakes checked below (DEBUG=0 with the development SECRET_KEY or with the emulator).
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from environs import Env, EnvValidationError, validate

BASE_DIR = Path(__file__).resolve().parent.parent


class _Env(Env):
    """environs' Env, except that an empty variable means its default (`PORT=` in a compose file)."""

    def _get_value(self, env_key, default):
        value = super()._get_value(env_key, default)
        return default if value == "" else value


# Not eager: a bad value reads as None here and env.seal() below reports all of them together, so
# an operator fixes the environment in one go. So nothing computes with a value before the seal
# (VAR_DIR aside: any string is a path); defaults that depend on another variable come after it.
env = _Env(eager=False)
# Local names count: the emulator, the stand-in and containers are reached as localhost or `emulator`.
http_url = validate.URL(schemes={"http", "https"}, require_tld=False)

# --- Site and security
DEBUG = env.bool("DEBUG", True)
DEVELOPMENT_SECRET_KEY = "development-only-secret-key-never-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
# Never "*": the websocket Origin check trusts this list. "a, b," means ["a", "b"].
ALLOWED_HOSTS = [h for h in env.list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"], subcast=str.strip) if h]
CSRF_TRUSTED_ORIGINS = [o for o in env.list("CSRF_TRUSTED_ORIGINS", [], subcast=str.strip) if o]
PORT = env.int("PORT", 8000)
# Where Fivetran sends the browser back and posts its webhooks; default: this server on PORT.
public_url = env.str("PUBLIC_URL", None, validate=http_url)

# --- State: everything local under VAR_DIR, so another VAR_DIR + PORT runs a second instance.
VAR_DIR = env.path("VAR_DIR", BASE_DIR / "var").resolve()
DATABASES = {"default": env.dj_db_url("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}", conn_max_age=0)}
REDIS_URL = env.str("REDIS_URL", None)
# With no REDIS_URL the set-up's Temporal worker runs inside the web process: the in-memory channel
# layer only reaches this process's sockets (one process for `make run`).
SETUP_WORKER_IN_PROCESS = env.bool("SETUP_WORKER_IN_PROCESS", REDIS_URL is None)

# --- Fivetran: unset FIVETRAN_API_URL means the built-in emulator, mounted in this server.
fivetran_api_url = env.str("FIVETRAN_API_URL", None, validate=http_url)
allow_emulator = env.bool("ALLOW_EMULATOR", False)
FIVETRAN_API_KEY = env.str("FIVETRAN_API_KEY", "emulator-key")
FIVETRAN_API_SECRET = env.str("FIVETRAN_API_SECRET", "emulator-secret")
FIVETRAN_GROUP_ID = env.str("FIVETRAN_GROUP_ID", "embedded_group")
FIVETRAN_WEBHOOK_SECRET = env.str("FIVETRAN_WEBHOOK_SECRET", None)
FIVETRAN_TIMEOUT_SECONDS = env.float("FIVETRAN_TIMEOUT_SECONDS", 30.0)
EMULATOR_SYNC_SECONDS = env.float("EMULATOR_SYNC_SECONDS", 20.0)

# --- BigQuery: unset BIGQUERY_API_ENDPOINT means the local stand-in (started by `make run`).
BIGQUERY_PROJECT = env.str("BIGQUERY_PROJECT", "local-project")
BIGQUERY_API_ENDPOINT = env.str("BIGQUERY_API_ENDPOINT", None, validate=http_url)
BIGQUERY_LOCATION = env.str("BIGQUERY_LOCATION", "US")
BIGQUERY_TIMEOUT_SECONDS = env.float("BIGQUERY_TIMEOUT_SECONDS", 30.0)
# The Fivetran Platform Connector's dataset in BIGQUERY_PROJECT (its logs and MAR; every tenant's rows,
# so every query filters by connection). A name, never SQL: queries name the dataset in their text
# (BigQuery cannot take it as a parameter).
FIVETRAN_PLATFORM_DATASET = env.str(
    "FIVETRAN_PLATFORM_DATASET",
    "fivetran_metadata",
    validate=validate.Regexp(r"^[A-Za-z0-9_]{1,1024}$", error="Not a BigQuery dataset name."),
)
bigquery_standin_port = env.int("BIGQUERY_STANDIN_PORT", None)  # default PORT + 50, below

SHOW_INTERNAL_SERVICES = env.bool("SHOW_INTERNAL_SERVICES", DEBUG)

# --- The set-up flow's clocks.
SETUP_SYNC_FAILURE_LIMIT = env.int("SETUP_SYNC_FAILURE_LIMIT", 3)
SETUP_SYNC_TIMEOUT_SECONDS = env.float("SETUP_SYNC_TIMEOUT_SECONDS", 24 * 3600.0)
# Fallback polling of a running sync: (first interval, longest interval) in seconds. With webhooks
# 60 s doubling to 10 min keeps a waiting flow under 12 status calls an hour.
SETUP_POLL_WITH_WEBHOOKS = (env.float("SETUP_POLL_FIRST_SECONDS", 60.0), env.float("SETUP_POLL_MAX_SECONDS", 600.0))
SETUP_POLL_WITHOUT_WEBHOOKS = (env.float("SETUP_POLL_FIRST_SECONDS", 15.0), env.float("SETUP_POLL_MAX_SECONDS", 300.0))
SETUP_HEARTBEAT_SECONDS = env.float("SETUP_HEARTBEAT_SECONDS", 30.0)
SETUP_TABLES_GRACE_SECONDS = env.float("SETUP_TABLES_GRACE_SECONDS", 1800.0)
# How often the tables landing in BigQuery are looked at during the historical sync (a metadata
# listing, no Fivetran call): while someone watches the set-up, and while nobody does.
SETUP_LANDING_SECONDS = env.float("SETUP_LANDING_SECONDS", 10.0)
SETUP_LANDING_IDLE_SECONDS = env.float("SETUP_LANDING_IDLE_SECONDS", 300.0)

# --- Notifications (notifications/): e-mail through Django's framework. Unset EMAIL_URL writes each
# message to a file under VAR_DIR/emails, for a local user to read; production sets an SMTP URL,
# e.g. smtp://user:password@smtp.example.com:587/?tls=True (dj-email-url's syntax).
email_url = env.dj_email_url("EMAIL_URL", "")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "Gyana Connect <notifications@localhost>")
# Failed syncs in a row before the connection's team is told (once per run of failures).
NOTIFY_FAILED_SYNCS = env.int("NOTIFY_FAILED_SYNCS", 3, validate=validate.Range(min=1))

# A name (INFO, debug) or a number; a typo would otherwise surface as a bare ValueError from logging.
log_level = env.log_level("LOG_LEVEL", "INFO")

# --- Temporal runs every set-up (integrations/engine/). Unset TEMPORAL_ADDRESS means the embedded
# default: the dev server from the `temporal-dev` extra, started by `make run` on 127.0.0.1 with its
# state in VAR_DIR. Production points TEMPORAL_ADDRESS at its cluster or Temporal Cloud. The names
# are the `temporal` CLI's own, so one environment serves the product and `temporal workflow list`.
temporal_address = env.str("TEMPORAL_ADDRESS", None)
temporal_dev_port = env.int("TEMPORAL_DEV_PORT", None)  # default PORT + 33, below
temporal_dev_ui_port = env.int("TEMPORAL_DEV_UI_PORT", None)  # default PORT + 34, below
# Where staff open a workflow (the admin links there); default: the embedded dev server's Web UI.
temporal_ui_url = env.str("TEMPORAL_UI_URL", None, validate=http_url)
TEMPORAL_NAMESPACE = env.str("TEMPORAL_NAMESPACE", "default")
TEMPORAL_TASK_QUEUE = env.str("TEMPORAL_TASK_QUEUE", "integration-setup")
# Temporal Cloud: an API key. Self-hosted mTLS: a client certificate and key, plus the CA and the
# server's name when its certificate is not from a public CA.
TEMPORAL_API_KEY = env.str("TEMPORAL_API_KEY", None)
TEMPORAL_TLS_CLIENT_CERT_PATH = env.str("TEMPORAL_TLS_CLIENT_CERT_PATH", None)
TEMPORAL_TLS_CLIENT_KEY_PATH = env.str("TEMPORAL_TLS_CLIENT_KEY_PATH", None)
TEMPORAL_TLS_SERVER_CA_CERT_PATH = env.str("TEMPORAL_TLS_SERVER_CA_CERT_PATH", None)
TEMPORAL_TLS_SERVER_NAME = env.str("TEMPORAL_TLS_SERVER_NAME", None)
# Like the CLI: on when any of the above is given; TEMPORAL_TLS=1 alone means the system's CAs,
# TEMPORAL_TLS=0 forces plain text (behind a TLS proxy).
temporal_tls = env.bool("TEMPORAL_TLS", None)
# How long a stopping worker (SIGTERM, Ctrl-C) lets running activities finish before cancelling them.
TEMPORAL_WORKER_DRAIN_SECONDS = env.float("TEMPORAL_WORKER_DRAIN_SECONDS", 30.0)
# Workflows a worker keeps in memory between their tasks (the SDK's sticky cache; its default is
# 1,000). Set-ups wait for minutes to hours between tasks, so most cached ones are idle: a woken
# workflow that was evicted is replayed from its short history instead, which costs milliseconds,
# while each cached one costs about a quarter of a megabyte.
TEMPORAL_MAX_CACHED_WORKFLOWS = env.int("TEMPORAL_MAX_CACHED_WORKFLOWS", 200)
# Workflow tasks a worker runs at once (the SDK's default is 100). They share one interpreter: a
# hundred replays at once each take a hundred times longer and run past their 10 s timeout, to be
# run again; a few at a time finish quickly while the rest wait in Temporal's queue, where waiting
# costs no timeout.
TEMPORAL_MAX_CONCURRENT_WORKFLOW_TASKS = env.int("TEMPORAL_MAX_CONCURRENT_WORKFLOW_TASKS", 10)
# A Ready connection is looked at this often even when no webhook rings (they normally do).
CONNECTION_LOOK_HOURS = env.float("CONNECTION_LOOK_HOURS", 6.0)
# The reconciliation pass (one paged listing of the group's connections) catches missed webhooks.
RECONCILE_MINUTES = env.float("RECONCILE_MINUTES", 10.0)
# A set-up left on the Connect Card this long deletes its own Fivetran connection (and itself).
SETUP_ABANDON_HOURS = env.float("SETUP_ABANDON_HOURS", 24.0)
# A set-up activity that stops heartbeating this long is taken to have lost its worker and runs again.
SETUP_ACTIVITY_HEARTBEAT_SECONDS = env.float("SETUP_ACTIVITY_HEARTBEAT_SECONDS", 30.0)

try:
    env.seal()
except EnvValidationError as error:
    # One line per variable, without the values themselves: a DATABASE_URL holds a password.
    problems = "\n".join(
        f"  {name}: {' '.join(dict.fromkeys(map(str, messages)))}" for name, messages in error.error_messages.items()
    )
    raise ImproperlyConfigured(
        f"Invalid environment variables (the README's Configuration table lists them):\n{problems}"
    ) from None

# --- Production mistakes, refused once every value is known to be well-formed.
if not DEBUG and SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is missing (or is the development default) while DEBUG is off: "
        "set SECRET_KEY to a long random value, or DEBUG=1 for local development."
    )
FIVETRAN_EMULATED = fivetran_api_url is None
if FIVETRAN_EMULATED and not DEBUG and not allow_emulator:
    # The emulator answers with well-known credentials: never serve it by accident in production.
    raise ImproperlyConfigured(
        "FIVETRAN_API_URL is not set while DEBUG is off: set FIVETRAN_API_URL (and FIVETRAN_API_KEY, "
        "FIVETRAN_API_SECRET, FIVETRAN_GROUP_ID, FIVETRAN_WEBHOOK_SECRET), or ALLOW_EMULATOR=1 for a demo."
    )

if bool(TEMPORAL_TLS_CLIENT_CERT_PATH) != bool(TEMPORAL_TLS_CLIENT_KEY_PATH):
    raise ImproperlyConfigured(
        "TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together (mTLS): set both or neither."
    )

# --- Defaults that depend on other variables.
VAR_DIR.mkdir(parents=True, exist_ok=True)
PUBLIC_URL = (public_url or f"http://127.0.0.1:{PORT}").rstrip("/")
EMULATOR_MOUNT = "/_emulator/fivetran"
FIVETRAN_API_URL = (fivetran_api_url or f"{PUBLIC_URL}{EMULATOR_MOUNT}/v1").rstrip("/")
if FIVETRAN_WEBHOOK_SECRET is None and FIVETRAN_EMULATED:
    FIVETRAN_WEBHOOK_SECRET = "emulator-webhook-secret"
BIGQUERY_STANDIN_PORT = PORT + 50 if bigquery_standin_port is None else bigquery_standin_port
# +33/+34: clear of PORT and of the BigQuery stand-in, so another PORT runs a second instance.
TEMPORAL_EMBEDDED = temporal_address is None
TEMPORAL_DEV_PORT = PORT + 33 if temporal_dev_port is None else temporal_dev_port
TEMPORAL_DEV_UI_PORT = PORT + 34 if temporal_dev_ui_port is None else temporal_dev_ui_port
TEMPORAL_ADDRESS = temporal_address or f"127.0.0.1:{TEMPORAL_DEV_PORT}"
# Unset with a cluster: no Web UI address is known, and the admin shows the workflow id alone.
TEMPORAL_UI_URL = (temporal_ui_url or (f"http://127.0.0.1:{TEMPORAL_DEV_UI_PORT}" if TEMPORAL_EMBEDDED else "")).rstrip("/")
TEMPORAL_TLS = temporal_tls if temporal_tls is not None else any(
    (TEMPORAL_API_KEY, TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME)
)

email = email_url or {}
if "EMAIL_BACKEND" not in email and any(email.values()):
    # dj-email-url leaves the backend out for a scheme it does not know: refuse it, never fall back.
    raise ImproperlyConfigured("EMAIL_URL: not an e-mail URL (smtp://, submission://, console:// or file://).")
EMAIL_BACKEND = email.get("EMAIL_BACKEND") or "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = email.get("EMAIL_FILE_PATH") or str(VAR_DIR / "emails")
EMAIL_HOST = email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(email.get("EMAIL_USE_SSL"))
# A slow SMTP server must not hold a worker's activity for long: Temporal retries a failed send.
EMAIL_TIMEOUT = email.get("EMAIL_TIMEOUT") or 30

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN so two
    # writers queue on the busy timeout instead of failing with "database is locked" on upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # channels_redis's layer, whose receive waits through a Redis outage (gyana/channel_layer.py).
            "BACKEND": "gyana.channel_layer.RedisChannelLayer",
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": log_level},
    "loggers": {"httpx": {"level": "WARNING"}, "daphne": {"level": "WARNING"}},
}

# --- Django: fixed, not configurable.
INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "integrations",
    "channels",
    "teams",
    "connectors",
    "consumers",
    "notifications",
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
                "notifications.web.context.unread_notifications",
            ],
        },
    },
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
