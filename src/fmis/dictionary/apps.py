from django.apps import AppConfig


class DictionaryConfig(AppConfig):
    name = "fmis.dictionary"
    label = "dictionary"
    verbose_name = "数据字典"
