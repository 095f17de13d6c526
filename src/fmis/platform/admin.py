from fmis.platform.admin_site import register
from fmis.platform.models import AuditRecord, EventRecord, OutboxMessage

register(AuditRecord, list_display=("id", "at", "actor_name", "action", "object_type", "object_id", "object_repr"),
         search_fields=("action", "object_type", "object_id", "actor_name"), list_filter=("object_type",))
register(EventRecord, list_display=("id", "at", "name"), search_fields=("name",), list_filter=("name",))
register(OutboxMessage, list_display=("id", "topic", "key", "status", "attempts", "created_at", "sent_at"),
         search_fields=("key",), list_filter=("topic", "status"))
