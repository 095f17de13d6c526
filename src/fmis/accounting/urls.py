from django.urls import path

from fmis.accounting import bulk_views, printing, views

urlpatterns = [
    path("", views.set_list, name="sets"),
    path("sets/new/", views.set_create, name="set_create"),
    path("sets/import/", views.set_import, name="set_import"),
    path("sets/<int:pk>/", views.set_detail, name="set"),
    path("sets/<int:pk>/choose/", views.set_choose, name="set_choose"),
    path("vouchers/", views.voucher_list, name="vouchers"),
    path("vouchers/new/", views.voucher_create, name="voucher_create"),
    path("vouchers/<int:pk>/", views.voucher_detail, name="voucher"),
    path("vouchers/<int:pk>/edit/", views.voucher_edit, name="voucher_edit"),
    path("vouchers/print/", printing.vouchers_print, name="vouchers_print"),
    path("vouchers/import/", bulk_views.voucher_import, name="voucher_import"),
    path("vouchers/<int:pk>/print/", printing.voucher_print, name="voucher_print"),
    path("vouchers/<int:pk>/<str:action>/", views.voucher_action, name="voucher_action"),
    path("trial-balance/", views.trial_balance, name="trial_balance"),
    path("ledger/", views.general_ledger, name="general_ledger"),
    path("ledger/detail/", views.detail_ledger, name="detail_ledger"),
    path("periods/", views.period_list, name="periods"),
    path("periods/<int:pk>/<str:action>/", views.period_action, name="period_action"),
    path("years/<int:year>/<str:action>/", views.year_action, name="year_action"),
    path("openings/", views.opening_list, name="openings"),
    path("templates/", views.template_list, name="templates"),
    path("templates/<int:pk>/delete/", views.template_delete, name="template_delete"),
    path("templates/from-voucher/<int:pk>/", views.template_from_voucher, name="template_from_voucher"),
    path("chart/", views.chart, name="chart"),
    path("rules/", views.rule_list, name="rules"),
]
