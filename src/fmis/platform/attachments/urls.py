from django.urls import path

from fmis.platform.attachments import views

urlpatterns = [
    path("", views.attachment_list, name="list"),
    path("documents/<str:doc_type>/<int:object_id>/upload/", views.upload, name="upload"),
    path("<int:pk>/download/", views.download, name="download"),
    path("<int:pk>/delete/", views.delete, name="delete"),
]
