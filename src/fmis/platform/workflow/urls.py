from django.urls import path

from fmis.platform.workflow import views

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/approve/", views.approve_batch, name="approve_batch"),
    path("chains/", views.chain_list, name="chains"),
    path("chains/<str:doc_type>/", views.chain_edit, name="chain_edit"),
    path("documents/<str:doc_type>/<int:object_id>/", views.document, name="document"),
    path("documents/<str:doc_type>/<int:object_id>/<str:action>/", views.act, name="act"),
]
