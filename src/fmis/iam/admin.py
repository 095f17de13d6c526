from fmis.iam.models import Delegation, Function, Role, User
from fmis.platform.admin_site import register

register(User, list_display=("username", "name", "org_type", "user_type", "status", "expires_on"),
         search_fields=("username", "name"), list_filter=("user_type", "status", "org_type"))
register(Role, list_display=("code", "name", "status", "expires_on", "manager"), search_fields=("code", "name"))
register(Function, list_display=("code", "name", "kind", "parent", "is_active"), search_fields=("code", "name"),
         list_filter=("kind",))
register(Delegation, list_display=("delegator", "starts_on", "ends_on", "revoked_at"))
