from fmis.orgs.models import Agency, Bank, BankBranch, FinanceDepartment, Region
from fmis.platform.admin_site import register

register(Region, list_display=("code", "name", "level", "parent", "is_active"), search_fields=("code", "name"),
         list_filter=("level",))
register(FinanceDepartment, list_display=("code", "name", "region"), search_fields=("code", "name"))
register(Agency, list_display=("code", "name", "region", "parent", "kind", "status"), search_fields=("code", "name"),
         list_filter=("kind", "status"))
register(Bank, list_display=("code", "name", "is_agent"), search_fields=("code", "name"))
register(BankBranch, list_display=("code", "name", "bank", "region"), search_fields=("code", "name"))
