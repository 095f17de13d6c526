"""Forms of the indicator screens. They parse; the services validate and decide."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fmis.iam.permissions import restrict
from fmis.indicators import services
from fmis.indicators.functions import ADJUST, CONTROL_MANAGE, MANAGE
from fmis.indicators.models import ControlRule, Indicator


def agencies_in(region):
    from fmis.orgs.models import Agency

    return Agency.objects.filter(region=region, status=Agency.Status.ACTIVE).order_by("code")


def _regions(user, function: str):
    from fmis.orgs.models import Region

    return restrict(Region.objects.filter(is_active=True), user, function).order_by("code")


def indicator_ids_by_code(user, codes) -> dict[str, int]:
    """Indicator codes the user may adjust → ids (the newest fiscal year first wins)."""
    rows = (Indicator.objects.restrict(user, ADJUST).filter(code__in=[c for c in codes if c])
            .order_by("code", "fiscal_year").values_list("code", "pk"))
    return dict(rows)


class IndicatorForm(forms.Form):
    fiscal_year = forms.IntegerField(label=_("预算年度"), min_value=2000, max_value=2100)
    region = forms.ModelChoiceField(label=_("财政区划"), queryset=None)
    agency_code = forms.CharField(label=_("预算单位编码"), required=False, max_length=30,
                                  help_text=_("直接下达给单位的指标必填；待分配指标可留空或填一级预算单位"))
    to_distribute = forms.BooleanField(label=_("待分配（审核后进入待分，再分配到单位）"), required=False)
    code = forms.CharField(label=_("指标编号"), max_length=40)
    doc_no = forms.CharField(label=_("指标文号"), max_length=100, required=False)
    doc_date = forms.DateField(label=_("发文日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    title = forms.CharField(label=_("指标说明"), max_length=200)
    project_code = forms.CharField(label=_("项目代码"), max_length=30, required=False)
    func_code = forms.CharField(label=_("支出功能分类"), max_length=13)
    gov_eco_code = forms.CharField(label=_("政府经济分类"), max_length=11)
    dept_eco_code = forms.CharField(label=_("部门经济分类"), max_length=20)
    fund_type = forms.CharField(label=_("资金性质"), max_length=10)
    indicator_type = forms.CharField(label=_("指标类型"), max_length=10)
    pay_mode = forms.ChoiceField(label=_("支付方式"), choices=Indicator.PayMode.choices)
    amount = forms.CharField(label=_("指标金额"), max_length=30)

    def __init__(self, *args, user, instance: Indicator | None = None, **kwargs):
        if instance is not None:
            kwargs["initial"] = {
                "fiscal_year": instance.fiscal_year, "region": instance.region_id,
                "agency_code": instance.agency.code if instance.agency_id else "",
                "to_distribute": instance.to_distribute, "code": instance.code, "doc_no": instance.doc_no,
                "doc_date": instance.doc_date, "title": instance.title, "project_code": instance.project_code,
                "func_code": instance.func_code, "gov_eco_code": instance.gov_eco_code,
                "dept_eco_code": instance.dept_eco_code, "fund_type": instance.fund_type,
                "indicator_type": instance.indicator_type, "pay_mode": instance.pay_mode, "amount": instance.amount}
        else:
            kwargs.setdefault("initial", {"fiscal_year": timezone.localdate().year, "region": user.region_id})
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = _regions(user, MANAGE)
        self.fields["region"].label_from_instance = lambda r: f"{r.code} {r.name}"

    def clean_agency_code(self):
        from fmis.orgs.models import Agency

        code = self.cleaned_data["agency_code"].strip()
        if code and not Agency.objects.filter(code=code).exists():
            raise forms.ValidationError(_("预算单位 %(c)s 不存在") % {"c": code})
        return code

    def to_input(self) -> services.IndicatorInput:
        from fmis.orgs.models import Agency

        d = self.cleaned_data
        agency = Agency.objects.filter(code=d["agency_code"]).first() if d["agency_code"] else None
        return services.IndicatorInput(
            fiscal_year=d["fiscal_year"], region_id=d["region"].pk, agency_id=agency.pk if agency else None,
            code=d["code"], title=d["title"], func_code=d["func_code"], gov_eco_code=d["gov_eco_code"],
            dept_eco_code=d["dept_eco_code"], fund_type=d["fund_type"], indicator_type=d["indicator_type"],
            pay_mode=d["pay_mode"], amount=d["amount"], doc_no=d["doc_no"], project_code=d["project_code"],
            to_distribute=d["to_distribute"], doc_date=d["doc_date"])


class ControlRuleForm(forms.Form):
    fiscal_year = forms.IntegerField(label=_("预算年度"), min_value=2000, max_value=2100)
    region = forms.ModelChoiceField(label=_("财政区划"), queryset=None)
    fund_type = forms.CharField(label=_("资金性质"), required=False, max_length=10, help_text=_("留空表示不限"))
    func_prefix = forms.CharField(label=_("支出功能分类（含下级）"), required=False, max_length=13)
    eco_prefix = forms.CharField(label=_("政府经济分类（含下级）"), required=False, max_length=11)
    indicator_type = forms.CharField(label=_("指标类型"), required=False, max_length=10)
    pay_mode = forms.ChoiceField(label=_("支付方式"), required=False,
                                 choices=[("", _("不限"))] + list(Indicator.PayMode.choices))
    level = forms.ChoiceField(label=_("控制方式"), choices=ControlRule.Level.choices,
                              help_text=_("刚性控制：违反即拒绝；预警提示：允许但在申请上记录预警；不控制：不检查科目与余额预警线"
                                          "（任何情况下都不能超过可用金额）"))
    match = forms.ChoiceField(label=_("科目匹配"), choices=ControlRule.Match.choices,
                              help_text=_("申请的功能分类和经济分类须与指标完全一致，或为指标科目的下级"))
    threshold_percent = forms.DecimalField(label=_("余额预警比例(%)"), min_value=0, max_value=100, decimal_places=2,
                                           initial=0, help_text=_("申请后可用余额不得低于指标金额的该比例"))
    require_plan = forms.BooleanField(label=_("须有用款计划"), required=False)
    note = forms.CharField(label=_("说明"), required=False, max_length=200)

    def __init__(self, *args, user, instance: ControlRule | None = None, **kwargs):
        if instance is not None:
            kwargs.setdefault("initial", {f: getattr(instance, f) for f in (
                "fiscal_year", "fund_type", "func_prefix", "eco_prefix", "indicator_type", "pay_mode", "level",
                "match", "threshold_percent", "require_plan", "note")} | {"region": instance.region_id})
        else:
            kwargs.setdefault("initial", {"fiscal_year": timezone.localdate().year, "region": user.region_id})
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = _regions(user, CONTROL_MANAGE)
        self.fields["region"].label_from_instance = lambda r: f"{r.code} {r.name}"

    def to_input(self) -> services.RuleInput:
        d = dict(self.cleaned_data)
        d["region_id"] = d.pop("region").pk
        return services.RuleInput(**d)
