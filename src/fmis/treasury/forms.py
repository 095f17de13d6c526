from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from fmis.treasury.models import PayMode, TreasuryConfig


class ApplicationForm(forms.Form):
    indicator = forms.ModelChoiceField(label=_("指标"), queryset=None)
    payee_name = forms.CharField(label=_("收款人名称"), max_length=200)
    payee_account = forms.CharField(label=_("收款人账号"), max_length=40)
    payee_bank = forms.CharField(label=_("收款人开户行"), max_length=200)
    amount = forms.DecimalField(label=_("金额"), max_digits=20, decimal_places=2)
    settle_mode = forms.ChoiceField(label=_("结算方式"), choices=[("1", _("电子转账支付")), ("2", _("现金支付")),
                                                                  ("3", _("支票支付")), ("4", _("公务卡支付")),
                                                                  ("9", _("其他"))])
    purpose = forms.CharField(label=_("用途"), max_length=300)
    plan_month = forms.IntegerField(label=_("用款月份"), min_value=1, max_value=12)
    gov_eco_code = forms.CharField(label=_("政府支出经济分类（留空取指标的）"), required=False, max_length=11)
    dept_eco_code = forms.CharField(label=_("部门支出经济分类（留空取指标的）"), required=False, max_length=20)

    def __init__(self, *args, indicators=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["indicator"].queryset = indicators
        self.fields["indicator"].label_from_instance = lambda i: gettext("%(code)s %(title)s（可用 %(available)s）") % {
            "code": i.code, "title": i.title, "available": i.available}


class ApplicationEditForm(ApplicationForm):
    """The same fields without the indicator, which an application keeps."""

    def __init__(self, *args, **kwargs):
        forms.Form.__init__(self, *args, **kwargs)
        del self.fields["indicator"]


class RefundForm(forms.Form):
    amount = forms.DecimalField(label=_("退款金额"), max_digits=20, decimal_places=2)
    serial_no = forms.CharField(label=_("银行流水号"), max_length=64)
    value_date = forms.DateField(label=_("退款日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("退款原因"), max_length=300)


class CorrectionForm(forms.Form):
    to_indicator = forms.ModelChoiceField(label=_("更正后指标"), queryset=None)
    amount = forms.DecimalField(label=_("更正金额"), max_digits=20, decimal_places=2)
    reason = forms.CharField(label=_("更正原因"), max_length=300)

    def __init__(self, *args, indicators=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_indicator"].queryset = indicators
        self.fields["to_indicator"].label_from_instance = (
            lambda i: f"{i.code} {i.title} {i.func_code}/{i.gov_eco_code}/{i.dept_eco_code}")


class ClearingForm(forms.Form):
    region = forms.ModelChoiceField(label=_("财政区划"), queryset=None)
    bank = forms.ModelChoiceField(label=_("代理银行"), queryset=None)
    date = forms.DateField(label=_("清算日期"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, regions=None, banks=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions
        self.fields["bank"].queryset = banks


class PlanForm(forms.Form):
    indicator = forms.ModelChoiceField(label=_("指标"), queryset=None)
    month = forms.IntegerField(label=_("月份"), min_value=1, max_value=12)
    amount = forms.DecimalField(label=_("申报金额"), max_digits=20, decimal_places=2)

    def __init__(self, *args, indicators=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["indicator"].queryset = indicators


class ProcurementForm(PlanForm):
    month = None
    number = forms.CharField(label=_("采购计划编号"), max_length=40)
    item = forms.CharField(label=_("采购品目"), max_length=200)


class PlanApproveForm(forms.Form):
    approved = forms.DecimalField(label=_("批复金额"), max_digits=20, decimal_places=2)


class ConfigForm(forms.Form):
    region = forms.ModelChoiceField(label=_("财政区划"), queryset=None)
    fiscal_year = forms.IntegerField(label=_("预算年度"), min_value=2000, max_value=2100)
    payment_plan_enabled = forms.BooleanField(label=_("启用用款计划控制"), required=False)
    procurement_plan_enabled = forms.BooleanField(label=_("启用政府采购计划控制"), required=False)
    signing_suite = forms.ChoiceField(label=_("签名算法"), choices=TreasuryConfig.Suite.choices)

    def __init__(self, *args, regions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions


class PayerAccountForm(forms.Form):
    region = forms.ModelChoiceField(label=_("财政区划"), queryset=None)
    agency = forms.ModelChoiceField(label=_("预算单位（财政零余额账户留空）"), queryset=None, required=False)
    pay_mode = forms.ChoiceField(label=_("支付方式"), choices=PayMode.choices)
    bank = forms.ModelChoiceField(label=_("代理银行"), queryset=None)
    account_no = forms.CharField(label=_("账号"), max_length=32)
    account_name = forms.CharField(label=_("户名"), max_length=200)

    def __init__(self, *args, regions=None, agencies=None, banks=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions
        self.fields["agency"].queryset = agencies
        self.fields["bank"].queryset = banks


class EndpointForm(forms.Form):
    bank = forms.ModelChoiceField(label=_("代理银行"), queryset=None)
    url = forms.URLField(label=_("报文接收地址"), max_length=300)

    def __init__(self, *args, banks=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bank"].queryset = banks
