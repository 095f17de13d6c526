from django.urls import path

from fmis.indicators import views

urlpatterns = [
    path("", views.indicator_list, name="list"),
    path("new/", views.indicator_create, name="create"),
    path("import/", views.indicator_import, name="import"),
    path("<int:pk>/", views.indicator_detail, name="detail"),
    path("<int:pk>/edit/", views.indicator_edit, name="edit"),
    path("<int:pk>/submit/", views.indicator_submit, name="submit"),
    path("<int:pk>/delete/", views.indicator_delete, name="delete"),
    path("<int:pk>/confirm/", views.indicator_confirm, name="confirm"),
    path("<int:pk>/distribute/", views.indicator_distribute, name="distribute"),
    path("adjustments/", views.adjustment_list, name="adjustments"),
    path("adjustments/new/", views.adjustment_create, name="adjustment_create"),
    path("adjustments/<int:pk>/", views.adjustment_detail, name="adjustment"),
    path("adjustments/<int:pk>/submit/", views.adjustment_submit, name="adjustment_submit"),
    path("execution/", views.execution, name="execution"),
    path("controls/", views.control_list, name="controls"),
    path("controls/new/", views.control_edit, name="control_create"),
    path("controls/<int:pk>/", views.control_edit, name="control_edit"),
]
