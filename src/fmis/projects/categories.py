"""The project category tree (项目类别), after the standard's definitions (fiscal-standard-notes §1.2)."""

from __future__ import annotations

CATEGORIES = (
    ("1", "人员类", None, "部门和单位有关人员的工资福利支出、对个人和家庭的补助支出项目"),
    ("2", "运转类", None, "部门和单位为保障其机构自身正常运转、完成日常工作任务所发生的支出项目"),
    ("21", "公用经费", "2", ""),
    ("22", "其他运转类", "2", ""),
    ("221", "大型公用设施运行维护", "22", ""),
    ("222", "大型专用设备运行维护", "22", ""),
    ("223", "专业信息系统运行维护", "22", ""),
    ("224", "办公场所租赁", "22", ""),
    ("3", "特定目标类", None, ("部门和单位为完成其特定的工作任务和事业发展目标所发生的支出项目。"
                              "除人员类项目和运转类项目外，其他预算项目作为特定目标类项目管理。")),
    ("31", "部门预算项目", "3", ""),
    ("32", "专项资金项目", "3", ""),
    ("33", "其他特定目标类项目", "3", ""),
)


def ensure_categories(model=None) -> int:
    """Create or update the category rows (idempotent); returns how many there are."""
    if model is None:
        from fmis.projects.models import ProjectCategory as model
    parents = {p for _, _, p, _ in CATEGORIES if p}
    for code, name, parent, remark in CATEGORIES:
        model.objects.update_or_create(code=code, defaults={
            "name": name, "parent_id": parent, "remark": remark, "is_leaf": code not in parents})
    return len(CATEGORIES)
