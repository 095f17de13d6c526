from fmis.iam.functions import Fn

FUNCTIONS = [
    Fn("workflow.inbox", "待办事项", "Inbox", "menu", None, "workflow:inbox", 10),
    Fn("workflow.chain.view", "审核链配置", "Review chains", "menu", "system", "workflow:chains", 930),
    Fn("workflow.chain.manage", "审核链维护", "Edit review chains", "action", "workflow.chain.view"),
]
