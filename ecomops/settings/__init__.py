"""Settings, all read from the environment (django-environ).

``DATABASE_URL`` (default: SQLite file in ``var/``), ``REDIS_URL`` (absent: Celery runs eagerly),
``DEBUG``, ``SECRET_KEY`` (required when DEBUG is off), ``ALLOWED_HOSTS``.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env(
    # Development default; production runs with DEBUG=False, which makes SECRET_KEY mandatory.
    DEBUG=(bool, True),
    ALLOWED_HOSTS=(list, ["localhost", "127.0.0.1", "[::1]", "testserver"]),
    REDIS_URL=(str, ""),
    ECOMOPS_TORCH_DEVICE=(str, "auto"),
    SECURE_SSL_REDIRECT=(bool, True),
)
env_file = BASE_DIR / ".env"
if env_file.exists():
    environ.Env.read_env(env_file)

DEBUG = env("DEBUG")
if DEBUG:
    SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-change-me-0123456789abcdefghijklmnop")
else:
    SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

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
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "import_export",
    "axes",
    "csp",
    "ecomops",
    "catalog",
    "orders",
    "inventory",
    "pricing",
    "logistics",
    "feedback",
    "ingest",
    "access",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "access.audit.AuditActorMiddleware",  # who made a permission change (access.audit)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a lockout signalled during authentication into a 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ecomops.urls"
WSGI_APPLICATION = "ecomops.wsgi.application"

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

VAR_DIR = Path(env("ECOMOPS_VAR_DIR", default=str(BASE_DIR / "var")))
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'ecomops.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets readers work while a job writes; a busy timeout instead of instant "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if env("DATABASE_TEST_NAME", default=""):
        DATABASES["default"]["TEST"] = {"NAME": env("DATABASE_TEST_NAME")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "ecomops" / "static"] if (BASE_DIR / "ecomops" / "static").exists() else []
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

LOGIN_URL = "admin:login"

# --- Brute-force lockout (django-axes) ---------------------------------------------------------------------
# Every authenticate() call (admin login, POST /api/v1/auth/token/) goes through axes first; after
# AXES_FAILURE_LIMIT failed attempts for one username from one address, that pair is refused (429) for the
# cool-off, even with the right password. Locking username+address (not the username alone) keeps an attacker
# from locking a real user out everywhere. Wrong API keys and tokens are counted per address by
# access.authentication (see SECURITY.md). `manage.py axes_reset_username NAME` lifts a lockout early.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_PASSWORD_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_FAILURE_LIMIT = "access.authentication.failure_limit"  # the above, or API_KEY_FAILURE_LIMIT for keys
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# No start-up banner on every manage.py command (exports and scripts read their output).
AXES_VERBOSE = False
# Wrong API keys / tokens from one address before that address's key and token requests get 429.
API_KEY_FAILURE_LIMIT = env.int("API_KEY_FAILURE_LIMIT", default=20)

# --- REST framework -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "access.authentication.APIKeyAuthentication",
        "access.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "ecomops.api.permissions.ModelPermissions",
        "access.authentication.APIKeyScope",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        # First: customer-service agents only reach their queue's customers (object-level access).
        "access.scoping.CustomerScopeFilter",
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "ecomops.api.pagination.OrderedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("THROTTLE_ANON", default="60/minute"),
        "user": env("THROTTLE_USER", default="100000/hour"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "ecomops API",
    "DESCRIPTION": "Products, orders, stock, prices, shipments, reviews and the models that run them.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status" or "state"; name each choice set after its model in the schema.
    "ENUM_NAME_OVERRIDES": {
        "JobStateEnum": "ecomops.models.JobRun.State",
        "QueueItemStateEnum": "feedback.models.QueueItem.State",
        "ModelVersionStatusEnum": "ecomops.models.ModelVersion.Status",
        "ProductStatusEnum": "catalog.models.Product.Status",
        "OrderStatusEnum": "orders.models.Order.Status",
        "PurchaseOrderStatusEnum": "inventory.models.PurchaseOrder.Status",
        "AllocationStatusEnum": "inventory.models.Allocation.Status",
        "ReplenishmentSuggestionStatusEnum": "inventory.models.ReplenishmentSuggestion.Status",
        "PriceRecommendationStatusEnum": "pricing.models.PriceRecommendation.Status",
        "CompetitorPriceAlertStatusEnum": "pricing.models.CompetitorPriceAlert.Status",
        "ShipmentStatusEnum": "logistics.models.Shipment.Status",
        "OrderRiskStatusEnum": "logistics.models.OrderRisk.Status",
        "SentimentEnum": "feedback.models.Review.Label",
    },
}

# --- Celery ----------------------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = False
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Results only for fan-out chords (ecomops.fanout); every other task keeps its result in our tables.
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_RESULT_EXPIRES = 24 * 3600
from kombu import Queue  # noqa: E402

CELERY_TASK_QUEUES = [Queue("default"), Queue("ml"), Queue("gpu")]
# Jobs (ecomops.tasks.run_job_task) are routed per kind when queued (job_handler(queue=...)).
CELERY_TASK_ROUTES = {
    "ecomops.tasks.fail_stuck_jobs_task": {"queue": "default"},
    "ecomops.tasks.train_all_task": {"queue": "default"},
    "ecomops.tasks.score_all_task": {"queue": "default"},
}
# Where gpu jobs go: "gpu" (workers on GPU nodes run `celery -A ecomops worker -Q gpu`), or "ml" where none.
ECOMOPS_GPU_QUEUE = env("ECOMOPS_GPU_QUEUE", default="gpu")
# Embedded default (no broker): run jobs started from the admin/API in a background thread of the web
# process, so the request returns at once and the page follows the progress bar (tests run them inline).
ECOMOPS_EAGER_JOBS_IN_BACKGROUND = env.bool("ECOMOPS_EAGER_JOBS_IN_BACKGROUND", default=True)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=3600)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=3900)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 4 * 3600}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

ECOMOPS_TORCH_DEVICE = env("ECOMOPS_TORCH_DEVICE")
# Holiday calendar of demand forecasts for locations whose attributes name no "country" (US or BR).
ECOMOPS_HOLIDAY_COUNTRY = env("ECOMOPS_HOLIDAY_COUNTRY", default="BR")

# --- Security (production: DEBUG off) ---------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp 4) on every response, DEBUG or not: nothing from another host. Scripts
# only from our own files or an inline <script nonce="{{ request.csp_nonce }}">; inline styles are allowed
# because the reports embed matplotlib's SVG (style attributes and <style>) and Swagger UI / ReDoc set styles
# at run time. ReDoc's search runs in a blob: worker; Swagger UI's icons are data: images.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env("SECURE_SSL_REDIRECT")
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
