"""Form parsing for the organisation screens. Validation of business rules lives in services; these
forms only parse input and offer choices limited to the user's data scope."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from fmis.orgs.models import Agency, Region


def region_choices(regions) -> list[tuple[str, str]]:
    return [("", "---------")] + [(r.code, f"{r.code} {r.name}") for r in regions]


class RegionForm(forms.Form):
    code = forms.CharField(label=_("区划编码"), max_length=9, help_text=_("6 位或 9 位数字，如 370102"))
    name = forms.CharField(label=_("区划名称"), max_length=100)
    level = forms.TypedChoiceField(label=_("级次"), coerce=int, choices=Region.Level.choices)
    parent = forms.ChoiceField(label=_("上级区划"), required=False)
    finance_department = forms.CharField(label=_("财政部门名称"), max_length=100, required=False,
                                         help_text=_("留空则为“区划名称+财政厅/局”"))

    def __init__(self, *args, parents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].choices = region_choices(parents)


class RegionEditForm(forms.Form):
    name = forms.CharField(label=_("区划名称"), max_length=100)
    finance_department = forms.CharField(label=_("财政部门名称"), max_length=100)


class AgencyForm(forms.Form):
    code = forms.CharField(label=_("单位编码"), max_length=30,
                           help_text=_("一级单位：区划编码+3位部门编码；下级单位：主管部门编码+3位"))
    name = forms.CharField(label=_("单位名称"), max_length=200)
    region = forms.ChoiceField(label=_("财政区划"), required=False)
    parent = forms.CharField(label=_("主管部门编码"), max_length=30, required=False,
                             help_text=_("一级预算单位留空"))
    kind = forms.ChoiceField(label=_("单位类型"), choices=Agency.Kind.choices)

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = region_choices(regions)


class AgencyEditForm(forms.Form):
    name = forms.CharField(label=_("单位名称"), max_length=200)
    kind = forms.ChoiceField(label=_("单位类型"), choices=Agency.Kind.choices)


class BankForm(forms.Form):
    code = forms.CharField(label=_("银行编码"), max_length=30)
    name = forms.CharField(label=_("银行名称"), max_length=100)
    is_agent = forms.BooleanField(label=_("代理银行"), required=False, initial=True)


class BankEditForm(forms.Form):
    name = forms.CharField(label=_("银行名称"), max_length=100)
    is_agent = forms.BooleanField(label=_("代理银行"), required=False)


class BranchForm(forms.Form):
    code = forms.CharField(label=_("网点编码"), max_length=30)
    name = forms.CharField(label=_("网点名称"), max_length=100)
    region = forms.ChoiceField(label=_("财政区划"))

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = region_choices(regions)


class BranchEditForm(forms.Form):
    name = forms.CharField(label=_("网点名称"), max_length=100)
    region = forms.ChoiceField(label=_("财政区划"))

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = region_choices(regions)
