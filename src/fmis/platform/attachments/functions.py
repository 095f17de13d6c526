from fmis.iam.functions import Fn

FUNCTIONS = [
    Fn("attachments.view", "附件查询", "Attachments", "menu", "system", "attachments:list", 940),
    Fn("attachments.upload", "上传附件", "Upload attachments", "action", "attachments.view"),
    Fn("attachments.delete", "删除附件", "Delete attachments", "action", "attachments.view"),
]
