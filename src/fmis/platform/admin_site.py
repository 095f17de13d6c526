"""Django admin for superusers: a read-only browser of master data and logs.

Every write goes through the services (validated, permission-checked and audited), so the admin
never adds, changes or deletes anything.
"""

from __future__ import annotations

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    list_per_page = 50

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return bool(request.user.is_active and request.user.is_superuser)


def register(model, *, list_display=("__str__",), search_fields=(), list_filter=()):
    admin.site.register(model, type(f"{model.__name__}Admin", (ReadOnlyAdmin,), {
        "list_display": list_display, "search_fields": search_fields, "list_filter": list_filter}))
