from django.urls import path

from fmis.transfers import views

app_name = "transfers"

urlpatterns = [
    path("allocations/", views.allocations, name="allocations"),
    path("allocations/new/", views.allocation_create, name="allocation_create"),
    path("allocations/<str:pk>/", views.allocation, name="allocation"),
    path("allocations/<str:pk>/<str:action>/", views.allocation_action, name="allocation_action"),
    path("statistics/", views.statistics, name="statistics"),
    path("members/", views.members, name="members"),
    path("members/join/", views.join, name="join"),
    path("members/requests/<int:pk>/<str:decision>/", views.join_decide, name="join_decide"),
    path("members/<str:cert_id>/revoke/", views.revoke, name="revoke"),
    path("blocks/", views.blocks, name="blocks"),
    path("blocks/<int:number>/", views.block, name="block"),
    path("receipts/<str:tx_id>/", views.receipt, name="receipt"),
]
