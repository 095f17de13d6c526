from django.urls import path

from fmis.reports import views

urlpatterns = [
    path("", views.statements, name="statements"),
    path("statements/<str:code>/", views.statement, name="statement"),
    path("statements/<str:code>/definition/", views.statement_definition, name="statement_definition"),
    path("statements/<str:code>/lines/<str:line>/", views.statement_line, name="statement_line"),
    path("unit-expenditure/", views.unit_expenditure, name="unit_expenditure"),
    path("custom/", views.custom_list, name="custom_list"),
    path("custom/new/", views.custom_edit, name="custom_create"),
    path("custom/<int:pk>/", views.custom_view, name="custom_view"),
    path("custom/<int:pk>/edit/", views.custom_edit, name="custom_edit"),
    path("custom/<int:pk>/delete/", views.custom_delete, name="custom_delete"),
]
