from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "fmis.platform.workflow"
    label = "workflow"
    verbose_name = "审核链"
