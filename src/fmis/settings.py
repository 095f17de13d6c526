"""One settings module, driven by the environment.

DATABASE_URL      postgres://user:pass@host:port/name  (default: the embedded server, database "fmis")
FMIS_HOME         where the embedded database and uploaded files live (default: <project>/.fmis)
FMIS_SECRET_KEY   secret key (default: a development key; set it in production)
FMIS_DEBUG        "1" for debug pages
FMIS_ALLOWED_HOSTS comma-separated host names
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.utils.translation import gettext_lazy as _

from fmis.platform import embedded_db

BASE_DIR = Path(__file__).resolve().parent
FMIS_HOME = embedded_db.fmis_home()

SECRET_KEY = os.environ.get("FMIS_SECRET_KEY", "dev-only-openfmis-secret-key-change-me-in-production")
DEBUG = os.environ.get("FMIS_DEBUG", "0") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("FMIS_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "fmis.platform",
    "fmis.platform.workflow",
    "fmis.platform.attachments",
    "fmis.dictionary",
    "fmis.orgs",
    "fmis.iam",
    "fmis.indicators",
    "fmis.treasury",
    "fmis.banksim",
    "fmis.accounting",
    "fmis.transfers",
    "fmis.reports",
    "fmis.basicinfo",
    "fmis.projects",
    "fmis.budgeting",
    "fmis.bankaccounts",
    "fmis.bankside",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "fmis.platform.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "fmis.iam.middleware.ActiveUserMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "fmis.urls"
WSGI_APPLICATION = "fmis.wsgi.application"

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
                "fmis.iam.context_processors.menu",
            ],
            "builtins": ["fmis.platform.templatetags.fmis"],
        },
    },
]


TESTING = "pytest" in sys.modules or os.environ.get("FMIS_TESTING") == "1"


def _database() -> dict:
    url = os.environ.get("DATABASE_URL")
    base = {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 0,
            "TEST": {"NAME": "test_fmis" + os.environ.get("FMIS_TEST_DB_SUFFIX", "")}}
    if TESTING:
        # lets the test runner empty the append-only audit table between transactional tests
        base["OPTIONS"] = {"options": "-c fmis.allow_truncate=on"}
    if url:
        p = urlparse(url)
        return {**base, "NAME": p.path.lstrip("/"), "USER": unquote(p.username or ""),
                "PASSWORD": unquote(p.password or ""), "HOST": p.hostname or "", "PORT": str(p.port or "")}
    params = embedded_db.ensure_running()
    return {**base, "NAME": os.environ.get("FMIS_DB_NAME", "fmis"), "USER": params["USER"], "PASSWORD": "",
            "HOST": params["HOST"], "PORT": params["PORT"]}


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "iam.User"
AUTHENTICATION_BACKENDS = ["fmis.iam.backends.FmisBackend"]
LOGIN_URL = "iam:login"
LOGIN_REDIRECT_URL = "home"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "fmis.iam.passwords.CharacterClassValidator"},
]
# lockout after repeated failed logins
FMIS_LOGIN_MAX_FAILURES = int(os.environ.get("FMIS_LOGIN_MAX_FAILURES", "5"))
FMIS_LOGIN_LOCK_MINUTES = int(os.environ.get("FMIS_LOGIN_LOCK_MINUTES", "15"))

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = FMIS_HOME / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True  # serve app static files without a collectstatic step
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = FMIS_HOME / "media"
FMIS_ATTACHMENT_MAX_BYTES = int(os.environ.get("FMIS_ATTACHMENT_MAX_BYTES", str(20 * 1024 * 1024)))

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 3600
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("FMIS_LOG_LEVEL", "WARNING")},
}
