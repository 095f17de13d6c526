from django.urls import path

from fmis.projects import views

urlpatterns = [
    path("", views.project_list, name="list"),
    path("new/", views.project_create, name="create"),
    path("import/", views.project_import, name="import"),
    path("transfers/", views.transfer_list, name="transfers"),
    path("library/", views.library, name="library"),
    path("<int:pk>/", views.project_detail, name="detail"),
    path("<int:pk>/edit/", views.project_edit, name="edit"),
    path("<int:pk>/submit/", views.project_submit, name="submit"),
    path("<int:pk>/delete/", views.project_delete, name="delete"),
    path("<int:pk>/terminate/", views.project_terminate, name="terminate"),
    path("<int:pk>/history/", views.project_history, name="history"),
]
