from django import forms
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 18, "decimal_places": 2, "min_value": 0}


class AllocateForm(forms.Form):
    from_region = forms.ChoiceField(label=_("下达区划"))
    to_region = forms.CharField(label=_("接收区划"), max_length=9)
    amount = forms.DecimalField(label=_("金额(元)"), **MONEY)
    fund_code = forms.CharField(label=_("资金编码"), max_length=30)
    direct = forms.BooleanField(label=_("直达资金"), required=False)
    func_code = forms.CharField(label=_("支出功能分类"), max_length=20)
    purpose = forms.CharField(label=_("用途"), max_length=200)
    doc_no = forms.CharField(label=_("文号"), max_length=60)
    fiscal_year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    parent_id = forms.CharField(label=_("上级下达ID(分配时填写)"), max_length=64, required=False)

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from_region"].choices = [(r, r) for r in regions]


class ExpendForm(forms.Form):
    amount = forms.DecimalField(label=_("支出金额(元)"), **MONEY)
    payee = forms.CharField(label=_("收款人"), max_length=200)
    voucher_no = forms.CharField(label=_("支付凭证号"), max_length=60)


class RecoverForm(forms.Form):
    amount = forms.DecimalField(label=_("收回金额(元)"), **MONEY)
    reason = forms.CharField(label=_("收回原因"), max_length=200)


class CorrectForm(forms.Form):
    purpose = forms.CharField(label=_("用途"), max_length=200, required=False)
    func_code = forms.CharField(label=_("支出功能分类"), max_length=20, required=False)
    doc_no = forms.CharField(label=_("文号"), max_length=60, required=False)
    reason = forms.CharField(label=_("更正原因"), max_length=200)


class JoinForm(forms.Form):
    region = forms.CharField(label=_("区划"), max_length=9)
    organisation = forms.CharField(label=_("机构名称"), max_length=200)
    role = forms.ChoiceField(label=_("成员角色"), choices=[("finance", _("财政部门")), ("supervision", _("监督部门")),
                                                           ("bank", _("代理银行"))])
    suite = forms.ChoiceField(label=_("签名算法"), choices=[("ed25519", "Ed25519"), ("sm2", "SM2")])

