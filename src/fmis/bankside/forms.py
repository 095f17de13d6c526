"""Forms of the agent-bank screens: they parse; the services validate against the ledger's rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fmis.bankside.contracts import CASE_KINDS, DEFAULT_CASE_MODES, OPTIONAL_FIELDS

MONEY = {"max_digits": 18, "decimal_places": 2}
FIELD_CHOICES = [
    ("voucher_type", _("凭证类型")), ("voucher_no", _("凭证号")), ("fund_nature", _("资金性质")),
    ("payment_method", _("支付方式")), ("func_class", _("支出功能分类")), ("settlement_method", _("结算方式")),
    ("taxpayer_id", _("纳税人识别号")), ("purpose", _("用途")), ("rate", _("汇率")),
    ("agency_code", _("预算单位编码")), ("agency_name", _("预算单位名称")),
]
assert {c for c, _label in FIELD_CHOICES} == set(OPTIONAL_FIELDS)
FLOW_CHOICES = [("none", _("无需申请")), ("pre_application", _("预申请")), ("application", pgettext_lazy("bankside", "申请"))]


def _date():
    return forms.DateField(label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}))


class BusinessTypeForm(forms.Form):
    code = forms.CharField(label=_("业务类型编码"), max_length=60)
    name = forms.CharField(label=_("业务类型名称"), max_length=60)
    budget_types = forms.CharField(label=_("预算类型（逗号分隔，如 water,electricity）"), max_length=500)

    def clean_budget_types(self):
        return [b.strip() for b in self.cleaned_data["budget_types"].replace("，", ",").split(",") if b.strip()]


CASE_MODE_CHOICES = [("direct", _("直接办理")), ("approval", _("须经财政审核")), ("forbidden", _("不允许"))]


class RuleForm(forms.Form):
    merchant_no = forms.CharField(label=_("商户号"), max_length=60)
    business_type = forms.CharField(label=_("业务类型"), max_length=60)
    pre_application = forms.ChoiceField(label=_("申请要求"), choices=FLOW_CHOICES)
    limit = forms.DecimalField(label=_("单笔限额(元，空为不限)"), required=False, **MONEY)
    required_fields = forms.MultipleChoiceField(label=_("必填要素"), choices=FIELD_CHOICES, required=False,
                                                widget=forms.CheckboxSelectMultiple)
    reason = forms.CharField(label=_("调整原因(修改现行规则时必填)"), max_length=200, required=False)
    exc_return = forms.ChoiceField(label=_("资金退回"), choices=CASE_MODE_CHOICES, required=False,
                                   initial=DEFAULT_CASE_MODES["return"])
    exc_collection = forms.ChoiceField(label=_("委托收款"), choices=CASE_MODE_CHOICES, required=False,
                                       initial=DEFAULT_CASE_MODES["collection"])
    exc_correction = forms.ChoiceField(label=_("支付更正"), choices=CASE_MODE_CHOICES, required=False,
                                       initial=DEFAULT_CASE_MODES["correction"])
    exc_mistaken_refund = forms.ChoiceField(label=_("错缴资金退回"), choices=CASE_MODE_CHOICES, required=False,
                                            initial=DEFAULT_CASE_MODES["mistaken_refund"])

    def exceptions(self) -> dict[str, str]:
        """The exception flows' settings (异常业务流程) from the cleaned form; one left blank takes
        its default."""
        out = {k: self.cleaned_data.pop(f"exc_{k}", "") for k in CASE_KINDS}
        return {k: v for k, v in out.items() if v}


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(label=_("审核结论"), choices=[("approve", _("通过")), ("reject", _("退回"))])
    comment = forms.CharField(label=_("审核意见"), max_length=200, required=False)


class MerchantForm(forms.Form):
    merchant_no = forms.CharField(label=_("商户号"), max_length=60)
    name = forms.CharField(label=_("商户名称"), max_length=120)
    agency_code = forms.CharField(label=_("预算单位编码"), max_length=30)
    account_no = forms.CharField(label=_("金融账户"), max_length=60)
    currency = forms.CharField(label=_("币种"), max_length=3, initial="CNY")
    managed = forms.BooleanField(label=_("具备管理功能"), required=False, initial=True)


class AccountForm(forms.Form):
    kind = forms.ChoiceField(label=_("账户类别"), choices=[("customer", _("客户账户")),
                                                         ("suspense", _("内部过渡账户(BGL/CGL)"))])
    account_no = forms.CharField(label=_("账号"), max_length=60)
    name = forms.CharField(label=_("户名"), max_length=120)
    currency = forms.CharField(label=_("币种"), max_length=3, initial="CNY")
    merchant_no = forms.CharField(label=_("所属商户号(客户账户)"), max_length=60, required=False)
    managed = forms.BooleanField(label=_("客户具备管理功能"), required=False, initial=True)


class FundForm(forms.Form):
    account_no = forms.CharField(label=_("商户金融账户"), max_length=60)
    amount = forms.DecimalField(label=_("金额(元)"), **MONEY)
    currency = forms.CharField(label=_("币种"), max_length=3, initial="CNY")
    reference = forms.CharField(label=_("入账参考号"), max_length=60)
    date = _date()


class PreApplicationForm(forms.Form):
    merchant_no = forms.CharField(label=_("商户号"), max_length=60)
    business_type = forms.CharField(label=_("业务类型"), max_length=60)
    amount = forms.DecimalField(label=_("申请金额(元)"), **MONEY)
    currency = forms.CharField(label=_("币种"), max_length=3, initial="CNY")
    purpose = forms.CharField(label=_("用途"), max_length=200)


class PaymentForm(forms.Form):
    """Budget information (预算信息, seed 004 §57) as the bank enters it."""

    voucher_id = forms.CharField(label=_("支付凭证ID"), max_length=60)
    voucher_type = forms.CharField(label=_("凭证类型"), max_length=60, required=False)
    voucher_no = forms.CharField(label=_("凭证号"), max_length=60, required=False)
    merchant_no = forms.CharField(label=_("商户号"), max_length=60)
    agency_code = forms.CharField(label=_("预算单位编码"), max_length=30, required=False)
    agency_name = forms.CharField(label=_("预算单位名称"), max_length=120, required=False)
    business_type = forms.CharField(label=_("业务类型"), max_length=60)
    budget_type = forms.CharField(label=_("预算类型"), max_length=60)
    fund_nature = forms.CharField(label=_("资金性质"), max_length=60, required=False)
    payment_method = forms.CharField(label=_("支付方式"), max_length=60, required=False)
    func_class = forms.CharField(label=_("支出功能分类"), max_length=20, required=False)
    settlement_method = forms.CharField(label=_("结算方式"), max_length=60, required=False)
    payee_account = forms.CharField(label=_("收款账号"), max_length=60)
    payee_name = forms.CharField(label=_("收款户名"), max_length=120)
    taxpayer_id = forms.CharField(label=_("纳税人识别号"), max_length=60, required=False)
    purpose = forms.CharField(label=_("用途"), max_length=200, required=False)
    bank_serial = forms.CharField(label=_("银行流水号"), max_length=60)
    amount = forms.DecimalField(label=_("金额(元)"), **MONEY)
    currency = forms.CharField(label=_("币种"), max_length=3, initial="CNY")
    rate = forms.CharField(label=_("汇率"), max_length=20, required=False)
    date = _date()
    time = forms.TimeField(label=_("时间"), widget=forms.TimeInput(attrs={"type": "time", "step": "1"}))
    pre_application = forms.CharField(label=_("预申请编号(流程规则要求时填写)"), max_length=64, required=False)


class RefundForm(forms.Form):
    date = _date()


class CoreAccountForm(forms.Form):
    account_no = forms.CharField(label=_("账号"), max_length=60)
    name = forms.CharField(label=_("户名"), max_length=120)
    currency = forms.CharField(label=_("币种"), max_length=3, initial="CNY")
    opening_balance = forms.DecimalField(label=_("期初余额(元)"), initial=0, **MONEY)
