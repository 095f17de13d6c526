from fmis.platform.admin_site import register
from fmis.reports.models import CustomReport, StatementDef, StatementLine

register(StatementDef, list_display=("code", "form_no", "name", "basis", "is_standard"), search_fields=("code", "name"))
register(StatementLine, list_display=("statement", "code", "name", "order"), search_fields=("name",),
         list_filter=("statement",))
register(CustomReport, list_display=("code", "name", "account_set", "n_rows", "n_cols", "created_by"),
         search_fields=("code", "name"))
