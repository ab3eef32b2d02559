"""
Settings for Gatehouse.

Every value comes from the environment, read once here with an explicit default.
The defaults suit local development on SQLite; production sets `SECRET_KEY`,
`DATABASE_URL`, `REDIS_URL`, `ALLOWED_HOSTS` and `GATEHOUSE_ISSUER`.
"""

import base64
import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_number(name, default, kind=int):
    value = os.environ.get(name, "")
    if value == "":
        return default
    try:
        return kind(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}.") from None


def env_list(name, default=()):
    value = os.environ.get(name, "")
    return [item.strip() for item in value.split(",") if item.strip()] or list(default)


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is missing. Set it to a long random string, or set DEBUG=1 "
            "for local development."
        )
    # Local development only: `check --deploy` flags this key as insecure.
    SECRET_KEY = "django-insecure-gatehouse-development-key-never-use-in-production"

# Old keys that still verify signatures, client secret hashes and encrypted
# signing keys after SECRET_KEY is rotated; comma-separated.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apis",
    "scopes",
    "ping",
]

MIDDLEWARE = [
    "project.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
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
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=60,
        conn_health_checks=True,
    )
}

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Tests and development serve static files from the app folders.
WHITENOISE_USE_FINDERS = DEBUG or env_bool("WHITENOISE_USE_FINDERS", False)

# Debug pages hide secrets as error reports do; see project/reporting.py.
DEFAULT_EXCEPTION_REPORTER_FILTER = "project.reporting.ExceptionReporterFilter"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"

# HTTPS, outside development. Behind a proxy that terminates TLS, set
# SECURE_PROXY_SSL_HEADER=1 so Django trusts its X-Forwarded-Proto header.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 0 if DEBUG else 3600))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The health probes respond over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "project.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
        },
        "json": {"()": "project.logging.JSONFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        # Django's own handlers would print each request warning a second time.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "apis": {"level": os.environ.get("LOG_LEVEL", "INFO")},
        "scopes": {"level": os.environ.get("LOG_LEVEL", "INFO")},
    },
}

# Gatehouse, the authorization server.


def _read_issuer():
    issuer = os.environ.get("GATEHOUSE_ISSUER", "http://127.0.0.1:8000/")
    parts = urlsplit(issuer)
    # RFC 8414 section 2: the issuer is a URL with no query and no fragment.
    # The trailing slash keeps `iss` identical to what Auth0 clients expect.
    if (
        parts.scheme not in {"http", "https"}
        or not parts.netloc
        or parts.query
        or parts.fragment
        or not issuer.endswith("/")
    ):
        raise ImproperlyConfigured(
            f"GATEHOUSE_ISSUER must be an http(s) URL that ends in '/' and has no "
            f"query or fragment, such as https://auth.example.com/, not {issuer!r}."
        )
    return issuer


GATEHOUSE_ISSUER = _read_issuer()


def _read_key_encryption_keys():
    values = [os.environ.get("GATEHOUSE_KEY_ENCRYPTION_KEY", "")]
    values += env_list("GATEHOUSE_KEY_ENCRYPTION_KEY_FALLBACKS")
    for value in filter(None, values):
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise ImproperlyConfigured(
                "GATEHOUSE_KEY_ENCRYPTION_KEY and its fallbacks must be 32 bytes in "
                'URL-safe base64; make one with: python -c "import base64, os; '
                'print(base64.urlsafe_b64encode(os.urandom(32)).decode())"'
            )
    if not values[0] and not DEBUG:
        raise ImproperlyConfigured(
            "GATEHOUSE_KEY_ENCRYPTION_KEY is missing: it encrypts the signing keys "
            "at rest. Set it, or set DEBUG=1 for local development."
        )
    return values[0], values[1:]


# The key that encrypts private signing keys at rest; in development, a key
# derived from SECRET_KEY is used instead.
GATEHOUSE_KEY_ENCRYPTION_KEY, GATEHOUSE_KEY_ENCRYPTION_KEY_FALLBACKS = (
    _read_key_encryption_keys()
)
GATEHOUSE_DEFAULT_AUDIENCE = os.environ.get("GATEHOUSE_DEFAULT_AUDIENCE", "")
GATEHOUSE_JWKS_MAX_AGE_SECONDS = 300
# Failed client authentications allowed per window, per client id and per
# address, before the token endpoint responds with 429.
GATEHOUSE_AUTH_FAILURES_PER_CLIENT = int(
    os.environ.get("GATEHOUSE_AUTH_FAILURES_PER_CLIENT", 10)
)
GATEHOUSE_AUTH_FAILURES_PER_ADDRESS = int(
    os.environ.get("GATEHOUSE_AUTH_FAILURES_PER_ADDRESS", 50)
)
GATEHOUSE_AUTH_FAILURE_WINDOW_SECONDS = 60
# Whether every issued token is kept as a TokenRecord (never the token).
GATEHOUSE_RECORD_TOKENS = env_bool("GATEHOUSE_RECORD_TOKENS", True)
# Days that token records and refused token requests are kept; see
# `manage.py prune_activity`.
GATEHOUSE_ACTIVITY_RETENTION_DAYS = int(
    os.environ.get("GATEHOUSE_ACTIVITY_RETENTION_DAYS", 30)
)
PING_API_IDENTIFIER = os.environ.get(
    "PING_API_IDENTIFIER", "https://ping.example.com/api"
)

# The DRF classes in `scopes/` protect the ping API with Gatehouse's own tokens.
GATEHOUSE_SCOPES = {
    "ISSUER": GATEHOUSE_ISSUER,
    "AUDIENCE": PING_API_IDENTIFIER,
    "KEY_PROVIDER": "apis.keys.find_verification_key",
    "OPENAPI_TOKEN_URL": "/oauth/token",
    "OPENAPI_SCOPES": "apis.openapi.protected_api_scopes",
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "scopes.authentication.BearerTokenAuthentication"
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["project.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "scopes.handlers.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "scopes.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Gatehouse",
    "DESCRIPTION": (
        "The sample ping API, protected by scope, and the token endpoint that "
        "issues its access tokens. Press Authorize, then paste a token or log in "
        "with an application's client id and secret."
    ),
    "VERSION": "0.1.0",
    # The schema and the pages are public, and never read the session cookie.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {
        "persistAuthorization": True,
        "deepLinking": True,
        "displayRequestDuration": True,
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apis.openapi.add_authorization_server_paths",
    ],
}

# Single sign-on for the admin, with an OpenID provider. Off unless
# GATEHOUSE_SSO_CLIENT_ID is set; docs/sso.md explains every variable.


def _read_json_object(name):
    import json

    value = os.environ.get(name, "")
    if not value:
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or not all(
        isinstance(target, str)
        or (isinstance(target, list) and all(isinstance(t, str) for t in target))
        for target in parsed.values()
    ):
        raise ImproperlyConfigured(
            f"{name} must be a JSON object that maps each provider group to a Django "
            'group name or a list of them, such as {"platform": ["Key managers"]}.'
        )
    return {
        group: [target] if isinstance(target, str) else target
        for group, target in parsed.items()
    }


def _read_sso():
    def read(name, default=""):
        return os.environ.get(f"GATEHOUSE_SSO_{name}", default).strip()

    client_id = read("CLIENT_ID")
    if not client_id:
        return None
    endpoints = {
        name: read(name.upper())
        for name in (
            "authorization_endpoint",
            "token_endpoint",
            "userinfo_endpoint",
            "jwks_uri",
            "end_session_endpoint",
        )
    }
    config = {
        "CLIENT_ID": client_id,
        # The secret is taken as it is: spaces could be part of it.
        "CLIENT_SECRET": os.environ.get("GATEHOUSE_SSO_CLIENT_SECRET", ""),
        "ISSUER": read("ISSUER"),
        "DISCOVERY_URL": read("DISCOVERY_URL"),
        "ENDPOINTS": {name: url for name, url in endpoints.items() if url},
        "SIGNING_ALGORITHMS": env_list("GATEHOUSE_SSO_SIGNING_ALGORITHMS", ["RS256"]),
        "TOKEN_AUTH_METHOD": read("TOKEN_ENDPOINT_AUTH_METHOD", "client_secret_basic"),
        "SCOPES": read("SCOPES", "openid email profile"),
        "ALLOWED_DOMAINS": [
            domain.lower() for domain in env_list("GATEHOUSE_SSO_ALLOWED_DOMAINS")
        ],
        "REQUIRE_VERIFIED_EMAIL": env_bool(
            "GATEHOUSE_SSO_REQUIRE_VERIFIED_EMAIL", True
        ),
        "GROUPS_CLAIM": read("GROUPS_CLAIM", "groups"),
        "ALLOWED_GROUPS": env_list("GATEHOUSE_SSO_ALLOWED_GROUPS"),
        "GROUP_MAP": _read_json_object("GATEHOUSE_SSO_GROUP_MAP"),
        "SUPERUSER_GROUPS": env_list("GATEHOUSE_SSO_SUPERUSER_GROUPS"),
        "BUTTON_LABEL": read("BUTTON_LABEL", "Log in with SSO"),
        "SESSION_SECONDS": env_number("GATEHOUSE_SSO_SESSION_SECONDS", 28800),
        "TIMEOUT_SECONDS": env_number("GATEHOUSE_SSO_TIMEOUT_SECONDS", 5, float),
    }
    from apis.sso.conf import validate

    validate(config)
    return config


GATEHOUSE_SSO = _read_sso()
# Whether the admin accepts passwords; only single sign-on can replace them.
GATEHOUSE_PASSWORD_LOGIN = env_bool("GATEHOUSE_PASSWORD_LOGIN", True)
if not GATEHOUSE_PASSWORD_LOGIN and not GATEHOUSE_SSO:
    raise ImproperlyConfigured(
        "GATEHOUSE_PASSWORD_LOGIN=0 needs single sign-on (GATEHOUSE_SSO_CLIENT_ID), "
        "or nobody could log in to the admin."
    )
AUTHENTICATION_BACKENDS = []
if GATEHOUSE_PASSWORD_LOGIN:
    AUTHENTICATION_BACKENDS.append("django.contrib.auth.backends.ModelBackend")
if GATEHOUSE_SSO:
    AUTHENTICATION_BACKENDS.append("apis.sso.backend.SingleSignOnBackend")
