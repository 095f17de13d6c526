from django.apps import AppConfig


class AttachmentsConfig(AppConfig):
    name = "fmis.platform.attachments"
    label = "attachments"
    verbose_name = "附件"
