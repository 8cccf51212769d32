"""Settings read from the environment: one class per environment.

Development defaults let `make run` work with nothing installed; production refuses to start
without its secrets (see ``ProductionConfig.validate``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def normalise_database_url(url: str) -> str:
    """Pin the driver we install.

    Hosting platforms hand out ``postgres://``; SQLAlchemy 2.1 maps a bare ``postgresql://`` to
    psycopg 3, which we do not ship.
    """
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://") :]
    return url


class Config:
    ENV_NAME = "development"
    DEBUG = False
    TESTING = False

    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-secret-key-not-for-production")
    JWT_SECRET_KEY = os.environ.get("JWT_SECRET_KEY", "dev-jwt-secret-not-for-production")
    JWT_ACCESS_TOKEN_EXPIRES = _int("JWT_ACCESS_TOKEN_SECONDS", 15 * 60)
    JWT_REFRESH_TOKEN_EXPIRES = _int("JWT_REFRESH_TOKEN_SECONDS", 30 * 24 * 3600)
    JWT_TOKEN_LOCATION = ["headers"]
    JWT_ERROR_MESSAGE_KEY = "message"

    SQLALCHEMY_DATABASE_URI = normalise_database_url(
        os.environ.get("DATABASE_URL") or f"sqlite:///{ROOT / 'instance' / 'nibog.db'}"
    )
    DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL") or None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    DB_POOL_SIZE = _int("DB_POOL_SIZE", 10)
    DB_MAX_OVERFLOW = _int("DB_MAX_OVERFLOW", 10)
    # A `SELECT 1` before every checkout catches connections a PostgreSQL restart killed; without
    # it the first request on each dead connection fails once (then the pool is refreshed).
    DB_POOL_PRE_PING = _bool("DB_POOL_PRE_PING", True)
    # A row lock waited for longer than this fails (503 busy) instead of piling up connections.
    DB_LOCK_TIMEOUT_MS = _int("DB_LOCK_TIMEOUT_MS", 5000)
    # The hot path's heaviest statements are PREPAREd once per connection (core/prepared.py);
    # off behind PgBouncer in transaction mode, where the server session changes under a client.
    DB_PREPARED_STATEMENTS = _bool("DB_PREPARED_STATEMENTS", True)

    REDIS_URL = os.environ.get("REDIS_URL") or None
    # POST /api/bookings for a slot Redis marks full is answered before Flask
    # (nibog/booking/fastpath/gate.py); off = every request takes the view's path.
    FULL_SLOT_GATE = _bool("FULL_SLOT_GATE", True)
    # Connections one process keeps to Redis. Past the limit a caller waits up to
    # REDIS_POOL_TIMEOUT seconds for a free one instead of failing ("Too many connections"),
    # which matters when one process serves hundreds of requests at once (gevent workers).
    REDIS_MAX_CONNECTIONS = _int("REDIS_MAX_CONNECTIONS", 50)
    REDIS_POOL_TIMEOUT = _int("REDIS_POOL_TIMEOUT", 10)
    # Tests and local debugging can run RQ jobs synchronously on a real Redis.
    JOBS_SYNC = _bool("JOBS_SYNC", False)
    # How a committed job reaches RQ: "commit" pushes it from the request right after the commit;
    # "relay" leaves its outbox row to the worker's relay, which pushes pending rows every
    # OUTBOX_RELAY_SECONDS in batches - jobs start up to that much later, and the request does
    # no Redis push and no bookkeeping UPDATE (a quarter of a seat hold's CPU in a sales burst).
    JOBS_HANDOFF = os.environ.get("JOBS_HANDOFF", "commit")
    # Jobs that only refresh state derived from committed rows: the relay pushes one per
    # (function, arguments) in each batch, however many commits queued it (nibog.core.jobs).
    # (The second name: rows queued before the job moved out of booking/tasks.py.)
    COALESCED_JOBS = ("nibog.booking.counts.seats_changed", "nibog.booking.tasks.seats_changed")
    OUTBOX_RELAY_SECONDS = float(os.environ.get("OUTBOX_RELAY_SECONDS", "0.5"))
    # Backoff (seconds) between retries of a failing job (network work: email, SMS, gateways).
    JOB_RETRY_INTERVALS = os.environ.get("JOB_RETRY_INTERVALS", "10,60,300")

    # Public catalog cache: listings carry seat counts, so they live seconds; details overlay
    # live seats on every read and may live longer. Admin writes invalidate both at once.
    CATALOG_CACHE_ENABLED = _bool("CATALOG_CACHE_ENABLED", True)
    CATALOG_LIST_CACHE_SECONDS = _int("CATALOG_LIST_CACHE_SECONDS", 3)
    CATALOG_DETAIL_CACHE_SECONDS = _int("CATALOG_DETAIL_CACHE_SECONDS", 60)
    # Per-process cache of finished anonymous catalog answers (see nibog/catalog/microcache.py).
    CATALOG_MICROCACHE_SECONDS = float(os.environ.get("CATALOG_MICROCACHE_SECONDS") or 1)

    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    RATELIMIT_HEADERS_ENABLED = True
    TRUSTED_PROXY_COUNT = _int("TRUSTED_PROXY_COUNT", 0)
    # Auth rate limits (Flask-Limiter syntax). Account failures count only wrong passwords.
    RATELIMIT_LOGIN_IP = os.environ.get("RATELIMIT_LOGIN_IP", "20 per minute")
    RATELIMIT_LOGIN_ACCOUNT = os.environ.get("RATELIMIT_LOGIN_ACCOUNT", "10 per 15 minutes")
    RATELIMIT_REGISTER = os.environ.get("RATELIMIT_REGISTER", "10 per hour")
    RATELIMIT_OTP_REQUEST = os.environ.get("RATELIMIT_OTP_REQUEST", "10 per hour")
    RATELIMIT_OTP_VERIFY = os.environ.get("RATELIMIT_OTP_VERIFY", "20 per 15 minutes")
    RATELIMIT_FORGOT_PASSWORD = os.environ.get("RATELIMIT_FORGOT_PASSWORD", "5 per 15 minutes")

    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 1024 * 1024)

    # Dashboard (/admin): a session idle this long is signed out (0 = never). Tablets at venues
    # are shared and left lying around.
    ADMIN_SESSION_IDLE_MINUTES = _int("ADMIN_SESSION_IDLE_MINUTES", 60)
    # Browser security (nibog/core/security_headers.py). CORS_ORIGINS: the exact origins whose
    # scripts may call /api (comma-separated, e.g. https://app.nibog.in); none by default.
    CORS_ORIGINS = os.environ.get("CORS_ORIGINS", "")
    SECURITY_HSTS = _bool("SECURITY_HSTS", False)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE

    # Business settings
    BOOKING_HOLD_SECONDS = _int("BOOKING_HOLD_SECONDS", 900)
    REFUND_FULL_BEFORE_HOURS = _int("REFUND_FULL_BEFORE_HOURS", 48)
    WAITLIST_OFFER_SECONDS = _int("WAITLIST_OFFER_SECONDS", 3600)
    # A booking taken by staff on the phone, paid through a link sent to the parent, holds its
    # seats this long (a parent needs longer than a checkout hold to find the message).
    PAYMENT_LINK_HOLD_SECONDS = _int("PAYMENT_LINK_HOLD_SECONDS", 3600)
    # The dashboard's all-time charts (revenue by city and event, games, ages) are sums over
    # every booking: the worker keeps a snapshot of them; a page view older than this computes
    # them itself (nibog.admin.all_time). 0 = computed on every view.
    ADMIN_STATS_CACHE_SECONDS = _int("ADMIN_STATS_CACHE_SECONDS", 60)
    STUCK_PAYMENT_MINUTES = _int("STUCK_PAYMENT_MINUTES", 20)
    DISPLAY_TIMEZONE = "Asia/Kolkata"
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    # The site's languages, the first the default (nibog.core.i18n): a new one is its code here
    # and its catalogue under translations/site; the switcher names it from Babel's CLDR data.
    LANGUAGES = [c.strip() for c in os.environ.get("LANGUAGES", "en,hi").split(",") if c.strip()]

    # Payments
    PAYMENT_PROVIDER = os.environ.get("PAYMENT_PROVIDER", "sandbox")
    # Production refuses to start with the sandbox gateway (it accepts payments signed with a
    # public secret) unless this says the server is a staging copy or the benchmark.
    PAYMENT_SANDBOX_ALLOWED = _bool("PAYMENT_SANDBOX_ALLOWED", False)
    RAZORPAY_KEY_ID = os.environ.get("RAZORPAY_KEY_ID", "rzp_test_sandbox")
    RAZORPAY_KEY_SECRET = os.environ.get("RAZORPAY_KEY_SECRET", "sandbox-key-secret")
    RAZORPAY_WEBHOOK_SECRET = os.environ.get("RAZORPAY_WEBHOOK_SECRET", "sandbox-webhook-secret")
    PHONEPE_MERCHANT_ID = os.environ.get("PHONEPE_MERCHANT_ID", "")
    PHONEPE_SALT_KEY = os.environ.get("PHONEPE_SALT_KEY", "")
    PHONEPE_SALT_INDEX = os.environ.get("PHONEPE_SALT_INDEX", "1")
    PHONEPE_ENV = os.environ.get("PHONEPE_ENV", "uat")
    # v2: Standard Checkout with OAuth (what PhonePe onboards on); v1: the salt-key flow above.
    PHONEPE_API = os.environ.get("PHONEPE_API", "v2")
    PHONEPE_CLIENT_ID = os.environ.get("PHONEPE_CLIENT_ID", "")
    PHONEPE_CLIENT_SECRET = os.environ.get("PHONEPE_CLIENT_SECRET", "")
    PHONEPE_CLIENT_VERSION = os.environ.get("PHONEPE_CLIENT_VERSION", "1")
    # The pair set on PhonePe's dashboard for webhooks: they send sha256("user:password").
    PHONEPE_WEBHOOK_USERNAME = os.environ.get("PHONEPE_WEBHOOK_USERNAME", "")
    PHONEPE_WEBHOOK_PASSWORD = os.environ.get("PHONEPE_WEBHOOK_PASSWORD", "")

    # Sign-in
    GOOGLE_CLIENT_ID = os.environ.get("GOOGLE_CLIENT_ID", "")

    # Messages: nothing leaves the machine unless configured to.
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "console")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "NIBOG <no-reply@nibog.in>")
    STAFF_NOTIFY_EMAIL = os.environ.get("STAFF_NOTIFY_EMAIL", "support@nibog.in")
    SMS_BACKEND = os.environ.get("SMS_BACKEND", "console")
    # Where console backends append whole messages (codes, links); never the log.
    CONSOLE_OUTBOX_FILE = os.environ.get("CONSOLE_OUTBOX_FILE", "")
    WHATSAPP_BACKEND = os.environ.get("WHATSAPP_BACKEND", "console")
    NOTIFY_WEBHOOK_SECRET = os.environ.get("NOTIFY_WEBHOOK_SECRET", "dev-notify-webhook-secret")
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_TIMEOUT = _int("MAIL_TIMEOUT", 15)
    TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
    TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
    TWILIO_SMS_FROM = os.environ.get("TWILIO_SMS_FROM", "")
    TWILIO_STATUS_CALLBACK = os.environ.get("TWILIO_STATUS_CALLBACK", "")
    # India (SMS_BACKEND=exotel): DLT principal entity id, and one DLT template id per message
    # type in SMS_DLT_TEMPLATE_<TYPE> (read from the environment by name, see below).
    SMS_DLT_ENTITY_ID = os.environ.get("SMS_DLT_ENTITY_ID", "")
    EXOTEL_ACCOUNT_SID = os.environ.get("EXOTEL_ACCOUNT_SID", "")
    EXOTEL_API_KEY = os.environ.get("EXOTEL_API_KEY", "")
    EXOTEL_API_TOKEN = os.environ.get("EXOTEL_API_TOKEN", "")
    EXOTEL_SUBDOMAIN = os.environ.get("EXOTEL_SUBDOMAIN", "api.in.exotel.com")
    EXOTEL_SMS_FROM = os.environ.get("EXOTEL_SMS_FROM", "")
    EXOTEL_STATUS_CALLBACK = os.environ.get("EXOTEL_STATUS_CALLBACK", "")
    # Exotel does not sign its callbacks: the callback URL carries this secret
    # (/webhooks/exotel/sms-status/<token>); empty refuses every callback.
    EXOTEL_CALLBACK_TOKEN = os.environ.get("EXOTEL_CALLBACK_TOKEN", "")
    # The class body's namespace: every SMS_DLT_TEMPLATE_* variable becomes a setting.
    locals().update(
        {name: value for name, value in os.environ.items() if name.startswith("SMS_DLT_TEMPLATE_")}
    )
    # SNS topics whose SES notifications /webhooks/ses accepts (comma-separated ARNs).
    SES_SNS_TOPIC_ARNS = os.environ.get("SES_SNS_TOPIC_ARNS", "")
    # An SNS message older than this is refused (a captured one cannot be replayed later).
    SNS_MAX_MESSAGE_AGE_SECONDS = _int("SNS_MAX_MESSAGE_AGE_SECONDS", 3600)
    WHATSAPP_TOKEN = os.environ.get("WHATSAPP_TOKEN", "")
    WHATSAPP_PHONE_NUMBER_ID = os.environ.get("WHATSAPP_PHONE_NUMBER_ID", "")
    WHATSAPP_GRAPH_VERSION = os.environ.get("WHATSAPP_GRAPH_VERSION", "v24.0")
    # The Meta app's secret (X-Hub-Signature-256 of status webhooks) and the token Meta echoes
    # when the webhook is registered.
    WHATSAPP_APP_SECRET = os.environ.get("WHATSAPP_APP_SECRET", "")
    WHATSAPP_VERIFY_TOKEN = os.environ.get("WHATSAPP_VERIFY_TOKEN", "")
    # Approved template names per message type (empty: that type goes as text).
    WHATSAPP_TEMPLATE_BOOKING_CONFIRMED = os.environ.get(
        "WHATSAPP_TEMPLATE_BOOKING_CONFIRMED", "booking_confirmed"
    )
    WHATSAPP_TEMPLATE_EVENT_REMINDER = os.environ.get(
        "WHATSAPP_TEMPLATE_EVENT_REMINDER", "event_reminder"
    )
    WHATSAPP_TEMPLATE_CERTIFICATE_READY = os.environ.get(
        "WHATSAPP_TEMPLATE_CERTIFICATE_READY", "certificate_ready"
    )
    WHATSAPP_TEMPLATE_LANGUAGE = os.environ.get("WHATSAPP_TEMPLATE_LANGUAGE", "en")
    # Send confirmations, reminders and certificate notices on WhatsApp too.
    WHATSAPP_NOTIFY = _bool("WHATSAPP_NOTIFY", False)

    # Files (tickets, certificates, reports)
    STORAGE_BACKEND = os.environ.get("STORAGE_BACKEND", "local")
    STORAGE_LOCAL_PATH = os.environ.get("STORAGE_LOCAL_PATH", str(ROOT / "instance" / "files"))
    STORAGE_S3_ENDPOINT = os.environ.get("STORAGE_S3_ENDPOINT", "")
    STORAGE_S3_BUCKET = os.environ.get("STORAGE_S3_BUCKET", "")
    STORAGE_S3_REGION = os.environ.get("STORAGE_S3_REGION", "us-east-1")
    STORAGE_S3_ACCESS_KEY_ID = os.environ.get("STORAGE_S3_ACCESS_KEY_ID", "")
    STORAGE_S3_SECRET_ACCESS_KEY = os.environ.get("STORAGE_S3_SECRET_ACCESS_KEY", "")
    # Static keys are optional: without them boto3's chain finds temporary role credentials.
    STORAGE_S3_SESSION_TOKEN = os.environ.get("STORAGE_S3_SESSION_TOKEN", "")
    STORAGE_S3_ADDRESSING_STYLE = os.environ.get("STORAGE_S3_ADDRESSING_STYLE", "")
    STORAGE_S3_MAX_ATTEMPTS = _int("STORAGE_S3_MAX_ATTEMPTS", 5)
    STORAGE_S3_MULTIPART_MB = _int("STORAGE_S3_MULTIPART_MB", 16)
    STORAGE_URL_EXPIRES_SECONDS = _int("STORAGE_URL_EXPIRES_SECONDS", 300)

    # OpenAPI (flask-smorest)
    API_TITLE = "NIBOG API"
    API_VERSION = "1.0"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    OPENAPI_SWAGGER_UI_URL = "https://cdn.jsdelivr.net/npm/swagger-ui-dist/"

    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    LOG_JSON = _bool("LOG_JSON", True)
    # One JSON line per request (nibog.core.observability): id, route, status, duration, user.
    ACCESS_LOG = _bool("ACCESS_LOG", True)

    # Observability (nibog.core.metrics, nibog.core.observability; docs/operations.md).
    METRICS_ENABLED = _bool("METRICS_ENABLED", True)
    # Who may read /metrics: these networks (as ProxyFix resolves the client), or anyone with
    # ``Authorization: Bearer $METRICS_TOKEN``.
    METRICS_ALLOWED_NETWORKS = os.environ.get("METRICS_ALLOWED_NETWORKS", "127.0.0.1/32,::1/128")
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
    # How long the database and queue figures of a scrape are shared by every scraper.
    METRICS_STATE_SECONDS = float(os.environ.get("METRICS_STATE_SECONDS") or 10)
    SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
    SENTRY_TRACES_SAMPLE_RATE = float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE") or 0)
    RELEASE = os.environ.get("RELEASE", "")

    # Backups (nibog.ops.backup): where `flask backup` writes, and how many it keeps.
    BACKUP_PREFIX = os.environ.get("BACKUP_PREFIX", "backups")
    BACKUP_KEEP = _int("BACKUP_KEEP", 14)
    # Retention (nibog.ops.retention): message logs, and guest placeholders nobody came back for.
    NOTIFICATION_LOG_DAYS = _int("NOTIFICATION_LOG_DAYS", 180)
    GUEST_PLACEHOLDER_DAYS = _int("GUEST_PLACEHOLDER_DAYS", 90)
    # How long a link in a guest's e-mail or SMS opens their booking (nibog.booking.access):
    # a confirmation mail is opened again on the event day, often months later.
    GUEST_LINK_MAX_AGE_DAYS = _int("GUEST_LINK_MAX_AGE_DAYS", 180)

    REQUIRED_SECRETS: tuple[str, ...] = ()

    @classmethod
    def validate(cls, settings: dict) -> None:
        """Refuse to start when a secret this environment needs is missing."""


class DevelopmentConfig(Config):
    DEBUG = False
    # `make run`: the sign-in codes and links the console backends "send" are read here.
    CONSOLE_OUTBOX_FILE = os.environ.get(
        "CONSOLE_OUTBOX_FILE", str(ROOT / "instance" / "console-outbox.txt")
    )


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SQLALCHEMY_DATABASE_URI = normalise_database_url(
        os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/nibog_test")
    )
    REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    JOBS_SYNC = True
    DB_POOL_SIZE = 5
    # Tests change rows behind the app's back; the tests of the micro-cache switch it on.
    CATALOG_MICROCACHE_SECONDS = 0.0
    # Tests change bookings between two looks at the overview; one test switches it on.
    ADMIN_STATS_CACHE_SECONDS = 0
    WTF_CSRF_ENABLED = False
    LOG_JSON = False
    LOG_LEVEL = "WARNING"
    ACCESS_LOG = False
    METRICS_STATE_SECONDS = 0.0


class ProductionConfig(Config):
    ENV_NAME = "production"
    # The development defaults of these secrets are public (this file): in production an
    # unset one stays empty, and whatever it should verify is refused (webhooks: 401).
    RAZORPAY_KEY_SECRET = os.environ.get("RAZORPAY_KEY_SECRET", "")
    RAZORPAY_WEBHOOK_SECRET = os.environ.get("RAZORPAY_WEBHOOK_SECRET", "")
    NOTIFY_WEBHOOK_SECRET = os.environ.get("NOTIFY_WEBHOOK_SECRET", "")
    JOBS_HANDOFF = os.environ.get("JOBS_HANDOFF", "relay")
    # Served over HTTPS only (behind the proxy that terminates TLS).
    SECURITY_HSTS = _bool("SECURITY_HSTS", True)
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REQUIRED_SECRETS = ("SECRET_KEY", "JWT_SECRET_KEY", "DATABASE_URL", "REDIS_URL")

    @classmethod
    def validate(cls, settings: dict) -> None:
        missing = [name for name in cls.REQUIRED_SECRETS if not os.environ.get(name)]
        if settings.get("PAYMENT_PROVIDER") == "razorpay":
            missing += [
                n
                for n in ("RAZORPAY_KEY_ID", "RAZORPAY_KEY_SECRET", "RAZORPAY_WEBHOOK_SECRET")
                if not os.environ.get(n)
            ]
        if settings.get("PAYMENT_PROVIDER") == "phonepe":
            needed = (
                ("PHONEPE_MERCHANT_ID", "PHONEPE_SALT_KEY")
                if settings.get("PHONEPE_API", "v2") == "v1"
                else ("PHONEPE_CLIENT_ID", "PHONEPE_CLIENT_SECRET", "PHONEPE_CLIENT_VERSION",
                      "PHONEPE_WEBHOOK_USERNAME", "PHONEPE_WEBHOOK_PASSWORD")
            )
            missing += [n for n in needed if not os.environ.get(n)]
        if missing:
            raise RuntimeError(
                "Refusing to start in production without: " + ", ".join(sorted(set(missing)))
            )
        if settings.get("PAYMENT_PROVIDER", "sandbox") == "sandbox" and not settings.get(
            "PAYMENT_SANDBOX_ALLOWED"
        ):
            raise RuntimeError(
                "Refusing to start in production with PAYMENT_PROVIDER=sandbox: it takes payments "
                "signed with a public secret. Set PAYMENT_PROVIDER=razorpay or phonepe, or, on a "
                "staging copy only, PAYMENT_SANDBOX_ALLOWED=true."
            )
        # Allowed (a staging copy, the benchmark), but worth a line in every start-up log.
        log = logging.getLogger("nibog.config")
        for name in ("MAIL_BACKEND", "SMS_BACKEND"):
            if settings.get(name, "console") == "console":
                log.warning("%s is console in production: messages (OTP codes too) reach "
                            "nobody", name)
        if not settings.get("TRUSTED_PROXY_COUNT"):
            log.warning("TRUSTED_PROXY_COUNT is 0: behind a proxy every per-IP rate limit is "
                        "shared by all clients")
        callback, token = settings.get("EXOTEL_STATUS_CALLBACK"), settings.get("EXOTEL_CALLBACK_TOKEN")
        if callback and not (token and callback.rstrip("/").endswith("/" + token)):
            log.warning("EXOTEL_STATUS_CALLBACK does not end with EXOTEL_CALLBACK_TOKEN: Exotel's "
                        "delivery reports will be refused")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    return CONFIGS[os.environ.get("NIBOG_ENV", "development")]
