from django.urls import path

from fmis.platform import views

urlpatterns = [
    path("audit/", views.audit_list, name="audit"),
    path("audit/verify/", views.audit_verify, name="audit-verify"),
    path("audit/<int:pk>/", views.audit_detail, name="audit-detail"),
]
