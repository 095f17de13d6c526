from django import forms
from django.utils.translation import gettext_lazy as _

from fmis.bankaccounts.models import Currency, Inspection, Nature, OpeningBalanceItem

DATE = forms.DateInput(attrs={"type": "date"})


class OpenForm(forms.Form):
    agency = forms.ModelChoiceField(label=_("预算单位"), queryset=None)
    number = forms.CharField(label=_("账号"), max_length=32)
    name = forms.CharField(label=_("账户名称"), max_length=200)
    bank = forms.ModelChoiceField(label=_("开户银行"), queryset=None)
    branch = forms.ModelChoiceField(label=_("开户网点"), queryset=None, required=False)
    nature = forms.ChoiceField(label=_("账户性质"), choices=Nature.choices)
    currency = forms.ChoiceField(label=_("币种"), choices=Currency.choices, initial=Currency.CNY)
    purpose = forms.CharField(label=_("用途"), max_length=300, required=False)
    approval_doc = forms.CharField(label=_("批准文号"), max_length=100, required=False)
    opened_on = forms.DateField(label=_("开户日期"), widget=DATE)
    reason = forms.CharField(label=_("申请理由"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, agencies=None, banks=None, branches=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = agencies
        self.fields["bank"].queryset = banks
        self.fields["branch"].queryset = branches


class RegisterForm(OpenForm):
    opening_fiscal = forms.DecimalField(label=_("初始化余额：财政拨款资金"), max_digits=20, decimal_places=2,
                                        required=False)
    opening_other = forms.DecimalField(label=_("初始化余额：其他资金"), max_digits=20, decimal_places=2, required=False)
    initialized_on = forms.DateField(label=_("初始化日期"), widget=DATE, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["reason"]


class ChangeForm(forms.Form):
    name = forms.CharField(label=_("账户名称"), max_length=200)
    branch = forms.ModelChoiceField(label=_("开户网点"), queryset=None, required=False)
    nature = forms.ChoiceField(label=_("账户性质"), choices=Nature.choices)
    purpose = forms.CharField(label=_("用途"), max_length=300, required=False)
    approval_doc = forms.CharField(label=_("批准文号"), max_length=100, required=False)
    reason = forms.CharField(label=_("变更理由"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, branches=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches


class CloseForm(forms.Form):
    closed_on = forms.DateField(label=_("销户日期"), widget=DATE)
    reason = forms.CharField(label=_("销户理由"), widget=forms.Textarea(attrs={"rows": 3}))


class InspectionForm(forms.Form):
    year = forms.IntegerField(label=_("年检年度"), min_value=2000, max_value=2100)
    conclusion = forms.ChoiceField(label=_("自查结论"), choices=Inspection.Conclusion.choices)
    still_needed = forms.BooleanField(label=_("仍需使用"), required=False, initial=True)
    usage = forms.CharField(label=_("账户使用情况说明"), widget=forms.Textarea(attrs={"rows": 3}))


class OpeningForm(forms.Form):
    initialized_on = forms.DateField(label=_("初始化日期"), widget=DATE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for value, label in OpeningBalanceItem.Source.choices:
            self.fields[f"src_{value}"] = forms.DecimalField(label=label, max_digits=20, decimal_places=2,
                                                             required=False)


class ImportForm(forms.Form):
    file = forms.FileField(label=_("银行报文文件（XML 或 CSV）"))
