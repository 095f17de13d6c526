"""Forms of the project screens: parse what people type; every rule is checked by the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from fmis.platform.errors import DomainError
from fmis.projects import selectors, services
from fmis.projects.functions import MANAGE


def _agency_choices(user):
    from fmis.orgs.models import Agency

    qs = Agency.objects.restrict(user, MANAGE).filter(status=Agency.Status.ACTIVE).order_by("code")[:500]
    return [(a.pk, f"{a.code} {a.name}") for a in qs]


def _region_choices(user):
    from fmis.orgs.models import Region

    qs = Region.objects.restrict(user, MANAGE).filter(level__gte=2).order_by("code")[:500]
    return [("", "—")] + [(r.pk, f"{r.code} {r.name}") for r in qs]


class ProjectForm(forms.Form):
    name = forms.CharField(label=_("项目名称"), max_length=200)
    agency = forms.TypedChoiceField(label=_("项目单位"), coerce=int)
    category = forms.ChoiceField(label=_("项目类别"))
    func_code = forms.CharField(label=_("支出功能分类"), max_length=13, help_text=_("如 2050101"))
    eco_code = forms.CharField(label=_("部门支出经济分类"), max_length=20, required=False)
    fund_type = forms.CharField(label=_("资金性质"), max_length=10, required=False)
    start_year = forms.IntegerField(label=_("起始年度"))
    end_year = forms.IntegerField(label=_("结束年度"))
    total_amount = forms.CharField(label=_("项目总额（元）"), max_length=30)
    plans = forms.CharField(label=_("分年支出计划"), widget=forms.Textarea(attrs={"rows": 3}),
                            help_text=_("每行一年，写成“年度:金额”，如 2026:100000，合计须等于项目总额"))
    targets = forms.CharField(label=_("绩效目标"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
                              help_text=_("每行一个：一级指标/二级指标/三级指标/比较方式/指标值/单位，"
                                          "如 产出指标/数量指标/培训教师人次/≥/500/人次"))
    tags = forms.CharField(label=_("项目标签"), max_length=300, required=False, help_text=_("多个用逗号隔开"))
    is_transfer = forms.BooleanField(label=_("转移支付项目"), required=False)
    target_region = forms.TypedChoiceField(label=_("下级财政区划（转移支付）"), coerce=int, required=False,
                                           empty_value=None)
    basis = forms.CharField(label=_("设立依据"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    summary = forms.CharField(label=_("项目概述"), widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, user, fixed_agency: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].choices = _agency_choices(user)
        self.fields["category"].choices = [(c.code, f"{c.code} {c.name}") for c in selectors.leaf_categories()]
        self.fields["target_region"].choices = _region_choices(user)
        if fixed_agency:
            self.fields["agency"].disabled = True
            self.fields["start_year"].disabled = True

    @staticmethod
    def initial_for(project) -> dict:
        return {
            "name": project.name, "agency": project.agency_id, "category": project.category_id,
            "func_code": project.func_code, "eco_code": project.eco_code, "fund_type": project.fund_type,
            "start_year": project.start_year, "end_year": project.end_year, "total_amount": project.total_amount,
            "plans": "\n".join(f"{p.year}:{p.amount}" for p in project.plans.order_by("year")),
            "targets": "\n".join(f"{t.get_level1_display()}/{t.level2}/{t.level3}/{t.comparator}/{t.target_value}/{t.unit}"
                                 for t in project.performance_targets.order_by("pk")),
            "tags": ",".join(project.tags), "is_transfer": project.is_transfer,
            "target_region": project.target_region_id, "basis": project.basis, "summary": project.summary,
        }

    def to_input(self) -> services.ProjectInput:
        d = self.cleaned_data
        try:
            plans = services.parse_plans(d["plans"].replace("\r\n", ";").replace("\n", ";"))
            targets = services.parse_targets(d.get("targets", "").replace("\r\n", ";").replace("\n", ";"))
        except DomainError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
            raise
        return services.ProjectInput(
            name=d["name"], agency_id=d["agency"], category=d["category"], func_code=d["func_code"],
            start_year=d["start_year"], end_year=d["end_year"], total_amount=d["total_amount"].replace(",", ""),
            plans=plans, targets=targets, eco_code=d.get("eco_code", ""), fund_type=d.get("fund_type", ""),
            is_transfer=d.get("is_transfer", False), target_region_id=d.get("target_region"),
            tags=[t for t in d.get("tags", "").replace("，", ",").split(",") if t.strip()],
            basis=d.get("basis", ""), summary=d.get("summary", ""))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("终止原因"), max_length=500)


class RollForm(forms.Form):
    region = forms.TypedChoiceField(label=_("财政区划"), coerce=int)
    from_year = forms.IntegerField(label=_("滚动年度（从）"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from fmis.orgs.models import Region
        from fmis.projects.functions import LIBRARY_MANAGE

        self.fields["region"].choices = [(r.pk, f"{r.code} {r.name}") for r in
                                         Region.objects.restrict(user, LIBRARY_MANAGE).order_by("code")[:500]]
