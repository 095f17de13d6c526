from django.urls import path

from fmis.dictionary import views

urlpatterns = [
    path("elements/", views.elements, name="elements"),
    path("elements/new/", views.element_create, name="element_create"),
    path("elements/<str:code>/", views.element_detail, name="element"),
    path("elements/<str:code>/edit/", views.element_edit, name="element_edit"),
    path("elements/<str:code>/delete/", views.element_delete, name="element_delete"),
    path("elements/<str:code>/version-fields/", views.element_version_fields, name="element_version_fields"),
    path("elements/<str:code>/values/new/", views.value_create, name="value_create"),
    path("elements/<str:code>/values/<int:pk>/", views.value_edit, name="value_edit"),
    path("elements/<str:code>/values/<int:pk>/status/", views.value_status, name="value_status"),
    path("elements/<str:code>/values/<int:pk>/delete/", views.value_delete, name="value_delete"),
    path("elements/<str:code>/import/", views.value_import, name="value_import"),
    path("elements/<str:code>/export/", views.value_export, name="value_export"),
    path("elements/<str:code>/template/", views.value_template, name="value_template"),
    path("elements/<str:code>/versions/", views.versions, name="versions"),
    path("elements/<str:code>/versions/<int:pk>/delete/", views.version_delete, name="version_delete"),
    path("elements/<str:code>/merge/", views.merge, name="merge"),
    path("elements/<str:code>/split/", views.split, name="split"),
    path("preload/", views.preload, name="preload"),
    path("views/", views.views_list, name="views"),
    path("views/new/", views.view_create, name="view_create"),
    path("views/<str:code>/", views.view_detail, name="view"),
    path("views/<str:code>/delete/", views.view_delete, name="view_delete"),
]
