from django.urls import path

from fmis.treasury import views

urlpatterns = [
    path("applications/", views.applications, name="applications"),
    path("applications/new/", views.application_create, name="application_create"),
    path("applications/<int:pk>/", views.application, name="application"),
    path("applications/<int:pk>/edit/", views.application_edit, name="application_edit"),
    path("applications/<int:pk>/submit/", views.application_submit, name="application_submit"),
    path("vouchers/", views.vouchers, name="vouchers"),
    path("vouchers/<int:pk>/", views.voucher, name="voucher"),
    path("vouchers/<int:pk>/refund/", views.refund_create, name="refund_create"),
    path("vouchers/<int:pk>/correction/", views.correction_create, name="correction_create"),
    path("refunds/", views.refunds, name="refunds"),
    path("corrections/", views.corrections, name="corrections"),
    path("corrections/<int:pk>/", views.correction, name="correction"),
    path("clearings/", views.clearings, name="clearings"),
    path("clearings/run/", views.clearing_run, name="clearing_run"),
    path("clearings/<int:pk>/", views.clearing, name="clearing"),
    path("plans/", views.plans, name="plans"),
    path("plans/new/", views.plan_create, name="plan_create"),
    path("plans/procurement/new/", views.procurement_create, name="procurement_create"),
    path("plans/<int:pk>/approve/", views.plan_approve, name="plan_approve"),
    path("config/", views.config, name="config"),
]
