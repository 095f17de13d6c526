"""Screens of the exception flows, included by ``bankside.urls`` under /bankside/cases/ (namespace ``bankside``)."""

from django.urls import path

from fmis.bankside import case_views as views

urlpatterns = [
    path("", views.case_list, name="cases"),
    path("new/<str:kind>/", views.case_new, name="case_new"),
    path("authorisations/", views.authorisation_list, name="authorisations"),
    path("authorisations/new/", views.authorisation_new, name="authorisation_new"),
    path("authorisations/<str:ledger_id>/revoke/", views.authorisation_revoke, name="authorisation_revoke"),
    path("applications/", views.application_list, name="applications"),
    path("applications/new/", views.application_new, name="application_new"),
    path("applications/<str:ledger_id>/review/", views.application_review, name="application_review"),
    path("<str:ledger_id>/", views.case_detail, name="case"),
]
