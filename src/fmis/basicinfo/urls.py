from django.urls import path

from fmis.basicinfo import views

urlpatterns = [
    path("", views.personnel_list, name="personnel"),
    path("personnel/new/", views.person_create, name="person_create"),
    path("personnel/<int:pk>/", views.person_edit, name="person_edit"),
    path("personnel/<int:pk>/delete/", views.person_delete, name="person_delete"),
    path("vehicles/", views.vehicle_list, name="vehicles"),
    path("vehicles/new/", views.vehicle_create, name="vehicle_create"),
    path("vehicles/<int:pk>/", views.vehicle_edit, name="vehicle_edit"),
    path("vehicles/<int:pk>/delete/", views.vehicle_delete, name="vehicle_delete"),
    path("assets/", views.asset_list, name="assets"),
    path("assets/new/", views.asset_create, name="asset_create"),
    path("assets/<int:pk>/", views.asset_edit, name="asset_edit"),
    path("assets/<int:pk>/delete/", views.asset_delete, name="asset_delete"),
    path("standards/", views.standard_list, name="standards"),
    path("standards/new/", views.standard_create, name="standard_create"),
    path("standards/<int:pk>/", views.standard_edit, name="standard_edit"),
    path("standards/<int:pk>/delete/", views.standard_delete, name="standard_delete"),
    path("import/<str:kind>/", views.import_view, name="import"),
    path("submissions/", views.submission_list, name="submissions"),
    path("submissions/submit/", views.submit_view, name="submit"),
    path("submissions/<int:pk>/", views.submission_detail, name="submission"),
    path("history/", views.history, name="history"),
]
