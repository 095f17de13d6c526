from django.urls import path

from fmis.budgeting import views

app_name = "budgeting"

urlpatterns = [
    path("", views.round_list, name="rounds"),
    path("rounds/<int:pk>/", views.round_detail, name="round"),
    path("rounds/<int:pk>/stage/", views.round_stage, name="stage"),
    path("rounds/<int:pk>/compute/", views.round_compute, name="round_compute"),
    path("rounds/<int:pk>/controls/", views.control_set, name="control_set"),
    path("rounds/<int:pk>/approve/", views.round_approve, name="approve"),
    path("rounds/<int:pk>/lines/", views.line_list, name="lines"),
    path("rounds/<int:pk>/lines/<int:line_id>/review/", views.line_review_amount, name="line_review"),
    path("rounds/<int:pk>/agencies/<int:agency_id>/", views.agency_page, name="agency"),
    path("rounds/<int:pk>/agencies/<int:agency_id>/compute/", views.agency_compute, name="compute"),
    path("rounds/<int:pk>/agencies/<int:agency_id>/projects/", views.agency_projects, name="add_projects"),
    path("rounds/<int:pk>/agencies/<int:agency_id>/lines/", views.agency_add_line, name="add_line"),
    path("rounds/<int:pk>/agencies/<int:agency_id>/amounts/", views.agency_amounts, name="amounts"),
    path("rounds/<int:pk>/agencies/<int:agency_id>/lines/<int:line_id>/delete/", views.agency_line_delete,
         name="delete_line"),
    path("rounds/<int:pk>/agencies/<int:agency_id>/submit/", views.agency_submit, name="submit"),
    path("rounds/<int:pk>/summary/", views.summary, name="summary"),
    path("rounds/<int:pk>/disclosure.xlsx", views.disclosure_tables, name="disclosure"),
    path("lines/<int:line_id>/", views.line_detail, name="line"),
    path("submissions/<int:pk>/", views.submission_detail, name="submission"),
]
