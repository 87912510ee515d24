"""Django settings, read once from the environment (see README, "Configuration")."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext

from civicgrid.env import ConfigError, env_bool, env_float, env_int, env_json, env_list, env_path, env_str

# Lets admin classes be written ModelAdmin[Unit] at run time, as the type checker wants them.
django_stubs_ext.monkeypatch()

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = env_path("CIVICGRID_DATA_DIR", Path.cwd() / "var")

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ConfigError("SECRET_KEY is required when DEBUG is off (set DEBUG=true for local use)")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    "django_ratelimit",
    "ninja",  # serves the API docs' JavaScript from our own static files, not a CDN
    "civicgrid.org",
    "civicgrid.accounts",
    "civicgrid.catalogue",
    "civicgrid.cases",
    "civicgrid.intake",
    "civicgrid.notify",
    "civicgrid.analytics",
    "civicgrid.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Turns a blocked rate limit into settings.RATELIMIT_VIEW (a 429 page) instead of a 403.
    "django_ratelimit.middleware.RatelimitMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "civicgrid.urls"
WSGI_APPLICATION = "civicgrid.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "civicgrid.notify.context_processors.unread_messages",
                "civicgrid.analytics.context_processors.dashboard_link",
            ],
        },
    },
]

_default_db = f"sqlite:///{DATA_DIR / 'civicgrid.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", _default_db), conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if DATABASES["default"]["NAME"] not in ("", ":memory:"):
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN so two
    # writers queue on the busy timeout instead of failing with "database is locked" mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = env_path("CIVICGRID_MEDIA_ROOT", DATA_DIR / "media")

STATICFILES_DIRS = [PACKAGE_DIR / "static"]

# Cookies only over HTTPS unless DEBUG; an intranet served over plain HTTP must say so explicitly.
SECURE_COOKIES = env_bool("CIVICGRID_SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
# Staff sessions end after this many idle seconds: every request pushes the expiry forward.
SESSION_COOKIE_AGE = env_int("CIVICGRID_SESSION_IDLE_MINUTES", 30) * 60
SESSION_SAVE_EVERY_REQUEST = True
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/home/"
LOGOUT_REDIRECT_URL = "/login/"

# Content-Security-Policy: our pages load scripts, styles and images from ourselves only and run
# no inline script. Map tiles (a configurable URL) are added by the pages that need them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
    # The Django admin still carries a few inline scripts of its own.
    "EXCLUDE_URL_PREFIXES": ["/admin/"],
}

# Login lockout (django-axes): after N failures, the user name and the address are each locked.
AXES_FAILURE_LIMIT = env_int("CIVICGRID_LOGIN_FAILURES", 5)
AXES_COOLOFF_TIME = env_int("CIVICGRID_LOGIN_LOCKOUT_MINUTES", 10) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = env_int("CIVICGRID_PROXY_COUNT", 0) or None

# Uploads: what a photo, a voice recording and a document may weigh (bytes).
UPLOAD_MAX_PHOTO = env_int("CIVICGRID_UPLOAD_MAX_PHOTO_MB", 10) * 1024 * 1024
UPLOAD_MAX_VOICE = env_int("CIVICGRID_UPLOAD_MAX_VOICE_MB", 5) * 1024 * 1024
UPLOAD_MAX_DOCUMENT = env_int("CIVICGRID_UPLOAD_MAX_DOCUMENT_MB", 10) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Cache: Redis when REDIS_URL is set (required with more than one process: rate limits and
# lockouts must be shared); otherwise memory, which is right for one process only.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # One process: its local cache is all there is to share (make demo, tests).
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]
# Public pages (QR report, tracking): submissions per client address.
PUBLIC_REPORT_RATE = env_str("CIVICGRID_PUBLIC_REPORT_RATE", "10/h")
RATELIMIT_VIEW = "civicgrid.intake.views.public.rate_limited"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "line"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Domain settings ---------------------------------------------------------------------------------
# How long an Idempotency-Key is remembered; a retry after this creates a new case.
IDEMPOTENCY_TTL_HOURS = env_int("CIVICGRID_IDEMPOTENCY_TTL_HOURS", 48)
# Default deadlines for a case with no catalogue item yet.
DEFAULT_RESPONSE_HOURS = env_int("CIVICGRID_DEFAULT_RESPONSE_HOURS", 24)
DEFAULT_RESOLVE_DAYS = env_int("CIVICGRID_DEFAULT_RESOLVE_DAYS", 7)
# Page size limits of list endpoints.
API_PAGE_SIZE = env_int("CIVICGRID_API_PAGE_SIZE", 50)
API_MAX_PAGE_SIZE = env_int("CIVICGRID_API_MAX_PAGE_SIZE", 200)
# The worker sleeps this many seconds when no job found work.
WORKER_IDLE_SECONDS = env_int("CIVICGRID_WORKER_IDLE_SECONDS", 5)

# The address residents reach the site at: links in SMS messages and on printed QR signs.
PUBLIC_URL = env_str("CIVICGRID_PUBLIC_URL", "http://localhost:8000").rstrip("/")

# The clock (issue "deadlines at work"): thresholds of the worker's deadline rules. Each may be
# overridden per catalogue level in CLOCK_BY_LEVEL (level 1 = the most serious items).
CLOCK = {
    # 预警 when this share of a response or resolution time has passed.
    "warn_share": env_float("CIVICGRID_WARN_SHARE", 0.75),
    # A unit silent this long past its response deadline shows as 未报到 in the dispatcher's queue.
    "not_reported_after_hours": env_float("CIVICGRID_NOT_REPORTED_AFTER_HOURS", 4),
    # An overdue case escalates to the parent area unit after this many more working days…
    "escalate_after_working_days": env_int("CIVICGRID_ESCALATE_AFTER_WORKING_DAYS", 1),
    # …or, when set (> 0), after this many clock hours instead.
    "escalate_after_hours": env_float("CIVICGRID_ESCALATE_AFTER_HOURS", 0),
    # An extension request waiting longer than this reminds its approver.
    "extension_remind_hours": env_float("CIVICGRID_EXTENSION_REMIND_HOURS", 24),
    # A resolution still unrated after this many days enters the callback queue (回访).
    "callback_after_days": env_float("CIVICGRID_CALLBACK_AFTER_DAYS", 3),
}
# Per catalogue level: {"1": {"escalate_after_hours": 4, "warn_share": 0.5}} — level-1 items
# (emergencies) escalate within hours instead of a working day.
CLOCK_BY_LEVEL: dict[str, dict[str, float]] = env_json(
    "CIVICGRID_CLOCK_BY_LEVEL", {"1": {"escalate_after_hours": 4, "warn_share": 0.5}}
)

# Statistics and assessment (DESIGN §4): w of the weighted satisfaction (满意 + w × 基本满意), the
# points deducted per percentage point below the baseline (考核), and the composite score's weights.
STATISTICS = {
    "basic_weight": env_float("CIVICGRID_BASIC_SATISFIED_WEIGHT", 0.9),
    "deduction_per_point": env_float("CIVICGRID_DEDUCTION_PER_POINT", 1.0),
}
# The composite score's weights, a JSON object {rate name: weight ≥ 0}, e.g.
# {"response_rate": 0.1, "solved_rate": 0.5, "satisfaction": 0.4} (docs/assessment.md). The names are
# analytics.assessment.RATES (tests/test_assessment.py keeps the two lists equal).
ASSESSMENT_RATES = (
    "response_rate",
    "closure_rate",
    "on_time_rate",
    "satisfaction",
    "satisfaction_weighted",
    "solved_rate",
    "participation",
    "return_rate",
    "reopen_rate",
)


def _assessment_weights(raw: str) -> dict[str, float]:
    """The weights named in `raw`, or ConfigError naming what is wrong (at start-up, never later)."""
    if not raw.strip():
        return {"response_rate": 0.1, "solved_rate": 0.5, "satisfaction": 0.4}
    try:
        value = json.loads(raw)
    except ValueError:
        raise ConfigError(f"CIVICGRID_ASSESSMENT_WEIGHTS must be JSON, not {raw!r}") from None
    if not isinstance(value, dict) or not value:
        raise ConfigError('CIVICGRID_ASSESSMENT_WEIGHTS must be an object such as {"satisfaction": 1}')
    unknown = sorted(set(value) - set(ASSESSMENT_RATES))
    if unknown:
        raise ConfigError(
            f"CIVICGRID_ASSESSMENT_WEIGHTS names no rate {', '.join(unknown)} "
            f"(rates: {', '.join(ASSESSMENT_RATES)})"
        )
    for name, weight in value.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight < math.inf:
            raise ConfigError(f"CIVICGRID_ASSESSMENT_WEIGHTS: the weight of {name} must be a number ≥ 0")
    return {name: float(weight) for name, weight in value.items()}


ASSESSMENT_WEIGHTS: dict[str, float] = _assessment_weights(env_str("CIVICGRID_ASSESSMENT_WEIGHTS"))
if STATISTICS["deduction_per_point"] < 0 or not 0 <= STATISTICS["basic_weight"] <= 1:
    raise ConfigError(
        "CIVICGRID_DEDUCTION_PER_POINT must be 0 or more, "
        "CIVICGRID_BASIC_SATISFIED_WEIGHT lie between 0 and 1"
    )

# Trend alerts (苗头性问题, docs/hotspots.md): a place × item alerts when its cases accepted in the
# last `window_days` are improbably many for a Poisson count with its own rate over the
# `baseline_days` before (P(X ≥ observed) < alpha), and at least `min_count`. A pair never seen in
# the baseline expects `baseline_floor` cases, so it needs several to alert (5 at the defaults).
TRENDS: dict[str, float] = {
    "alpha": env_float("CIVICGRID_TRENDS_ALPHA", 0.01),
    "min_count": env_int("CIVICGRID_TRENDS_MIN_COUNT", 5),
    "window_days": 7,
    "baseline_days": 56,
    "baseline_floor": 1.0,
}
if not 0 < TRENDS["alpha"] < 1 or TRENDS["min_count"] < 1:
    raise ConfigError(
        "CIVICGRID_TRENDS_ALPHA must lie between 0 and 1, CIVICGRID_TRENDS_MIN_COUNT be 1 or more"
    )

# Bulletins (通报, docs/bulletins.md): the worker writes yesterday's community digests, last week's
# street analyses (on Monday) and last month's district bulletins (on the 1st) from `hour` o'clock
# local time, in each of `formats`; case lists in a bulletin stop at `list_limit` rows (the full
# count is printed beside them). A claim left unfinished `claim_minutes` is taken over.
_bulletin_hour = env_int("CIVICGRID_BULLETIN_HOUR", 6)
_bulletin_formats = tuple(env_list("CIVICGRID_BULLETIN_FORMATS", ["xlsx", "html"]))
_bulletin_list_limit = env_int("CIVICGRID_BULLETIN_LIST_LIMIT", 500)
if not 0 <= _bulletin_hour <= 23 or _bulletin_list_limit < 1:
    raise ConfigError(
        "CIVICGRID_BULLETIN_HOUR must lie between 0 and 23, CIVICGRID_BULLETIN_LIST_LIMIT be 1 or more"
    )
if not set(_bulletin_formats) <= {"xlsx", "html"}:
    raise ConfigError("CIVICGRID_BULLETIN_FORMATS must list xlsx and/or html, comma-separated")
BULLETINS: dict[str, Any] = {
    "enabled": env_bool("CIVICGRID_BULLETINS_ENABLED", True),
    "hour": _bulletin_hour,
    "formats": _bulletin_formats,
    "list_limit": _bulletin_list_limit,
    "claim_minutes": 30,
}

# Dashboards (docs/dashboards.md): the map's tile URL template (Leaflet's, e.g.
# "https://{s}.tiles.example.cn/{z}/{x}/{y}.png"), empty for no tiles (points on a blank background,
# and no outside address for the browser to reach); the credit the tile provider asks for; how often
# the big screen (大屏) fetches fresh figures.
MAP_TILE_URL = env_str("CIVICGRID_MAP_TILE_URL")
MAP_TILE_ATTRIBUTION = env_str("CIVICGRID_MAP_TILE_ATTRIBUTION")
if MAP_TILE_URL and not (
    MAP_TILE_URL.startswith(("https://", "http://")) and all(p in MAP_TILE_URL for p in ("{z}", "{x}", "{y}"))
):
    raise ConfigError("CIVICGRID_MAP_TILE_URL must be an http(s) URL template with {z}, {x} and {y}")
DASHBOARD_SCREEN_REFRESH_SECONDS = env_int("CIVICGRID_SCREEN_REFRESH_SECONDS", 60)
if DASHBOARD_SCREEN_REFRESH_SECONDS < 5:
    raise ConfigError("CIVICGRID_SCREEN_REFRESH_SECONDS must be 5 or more")

# Notifications: delivery retries back off exponentially from this many seconds, up to the cap,
# and a message becomes dead (visible to admins) after the last attempt.
DELIVERY_MAX_ATTEMPTS = env_int("CIVICGRID_DELIVERY_MAX_ATTEMPTS", 8)
DELIVERY_BACKOFF_SECONDS = env_int("CIVICGRID_DELIVERY_BACKOFF_SECONDS", 30)
DELIVERY_BACKOFF_MAX_SECONDS = env_int("CIVICGRID_DELIVERY_BACKOFF_MAX_SECONDS", 6 * 3600)
DELIVERY_TIMEOUT_SECONDS = env_float("CIVICGRID_DELIVERY_TIMEOUT_SECONDS", 10)
# SMS through an HTTP gateway; without a URL no SMS is written to the outbox.
SMS_URL = env_str("CIVICGRID_SMS_URL")
SMS_KEY = env_str("CIVICGRID_SMS_KEY")
SMS_SECRET = env_str("CIVICGRID_SMS_SECRET")
SMS_SIGN = env_str("CIVICGRID_SMS_SIGN", "网格全响应")
# Staff notifications also go by e-mail to staff with an address (Django's e-mail backend).
NOTIFY_EMAIL = env_bool("CIVICGRID_NOTIFY_EMAIL", False)
EMAIL_BACKEND = env_str("CIVICGRID_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("CIVICGRID_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("CIVICGRID_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("CIVICGRID_EMAIL_USER")
EMAIL_HOST_PASSWORD = env_str("CIVICGRID_EMAIL_PASSWORD")
EMAIL_USE_TLS = env_bool("CIVICGRID_EMAIL_TLS", False)
DEFAULT_FROM_EMAIL = env_str("CIVICGRID_EMAIL_FROM", "civicgrid@localhost")
