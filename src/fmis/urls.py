"""URLs. Every fmis app with ``urls.py`` is mounted at ``/<app label>/`` in namespace ``<label>``."""

from __future__ import annotations

import importlib

from django.apps import apps
from django.contrib import admin
from django.urls import include, path

from fmis import views
from fmis.api import api

urlpatterns = [
    path("", views.home, name="home"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]

for cfg in apps.get_app_configs():
    if not cfg.name.startswith("fmis."):
        continue
    try:
        importlib.import_module(f"{cfg.name}.urls")
    except ModuleNotFoundError as exc:
        if exc.name == f"{cfg.name}.urls":
            continue
        raise
    urlpatterns.append(path(f"{cfg.label}/", include((f"{cfg.name}.urls", cfg.label), namespace=cfg.label)))
