from django.urls import include, path

from fmis.bankside import views

app_name = "bankside"

urlpatterns = [
    path("cases/", include("fmis.bankside.case_urls")),
    path("merchants/", views.merchants, name="merchants"),
    path("merchants/new/", views.merchant_create, name="merchant_create"),
    path("accounts/new/", views.account_create, name="account_create"),
    path("funds/new/", views.fund, name="fund"),
    path("business-types/", views.business_types, name="business_types"),
    path("business-types/new/", views.business_type_create, name="business_type_create"),
    path("rules/", views.rules, name="rules"),
    path("rules/set/", views.rule_set, name="rule_set"),
    path("pre-applications/", views.pre_applications, name="pre_applications"),
    path("pre-applications/new/", views.pre_application_create, name="pre_application_create"),
    path("pre-applications/<str:ledger_id>/", views.pre_application, name="pre_application"),
    path("pre-applications/<str:ledger_id>/review/", views.review_decide, name="review_decide"),
    path("review/", views.review, name="review"),
    path("payments/", views.payments, name="payments"),
    path("payments/new/", views.pay, name="pay"),
    path("payments/<str:ledger_id>/", views.payment, name="payment"),
    path("payments/<str:ledger_id>/refund/", views.refund, name="refund"),
    path("suspense/", views.suspense, name="suspense"),
    path("execution/", views.execution, name="execution"),
    path("statements/", views.statement, name="statement"),
    path("core/", views.core, name="core"),
    path("core/new/", views.core_open, name="core_open"),
]
