from fmis.dictionary.models import DataElement, Value, ValueVersion
from fmis.platform.admin_site import register

register(DataElement, list_display=("code", "name", "kind", "data_type", "status"), search_fields=("code", "name"))
register(Value, list_display=("element", "code", "name", "status"), search_fields=("code", "name"),
         list_filter=("element",))
register(ValueVersion, list_display=("value", "day"), search_fields=("value__code",))
