from django.urls import path

from fmis.bankside import views

app_name = "bankside"

urlpatterns = [
    path("merchants/", views.merchants, name="merchants"),
    path("rules/", views.rules, name="rules"),
    path("pre-applications/", views.pre_applications, name="pre_applications"),
    path("payments/", views.payments, name="payments"),
    path("statements/", views.statement, name="statement"),
]
