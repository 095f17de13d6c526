"""Forms of the IAM screens (parsing only; the rules live in services)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from fmis.iam.models import User

DATE = forms.DateInput(attrs={"type": "date"})


class UserForm(forms.Form):
    username = forms.CharField(label=_("用户编码"), max_length=50)
    name = forms.CharField(label=_("用户名称"), max_length=100)
    password = forms.CharField(label=_("用户密码"), widget=forms.PasswordInput(render_value=False))
    password_confirm = forms.CharField(label=_("核对密码"), widget=forms.PasswordInput(render_value=False))
    user_type = forms.ChoiceField(label=_("用户类型"), choices=User.UserType.choices, initial=User.UserType.NORMAL)
    org_type = forms.ChoiceField(label=_("机构类型"), choices=User.OrgType.choices, initial=User.OrgType.FINANCE)
    region = forms.CharField(label=_("财政区划编码"), max_length=9, required=False)
    agency = forms.CharField(label=_("预算单位编码"), max_length=30, required=False)
    bank = forms.CharField(label=_("代理银行编码"), max_length=30, required=False)
    department = forms.CharField(label=_("处室"), max_length=100, required=False)
    group = forms.TypedChoiceField(label=_("用户类别"), coerce=int, empty_value=None, required=False)
    expires_on = forms.DateField(label=_("过期日期"), required=False, widget=DATE,
                                 help_text=_("留空表示永不过期"))
    note = forms.CharField(label=_("备注"), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, groups=(), editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].choices = [("", _("（根）"))] + [(g.pk, "　" * g.depth + g.name) for g in groups]
        if editing:
            for name in ("username", "password", "password_confirm"):
                del self.fields[name]


class RoleForm(forms.Form):
    code = forms.CharField(label=_("角色编码"), max_length=50)
    name = forms.CharField(label=_("角色名称"), max_length=100)
    group = forms.TypedChoiceField(label=_("角色类别"), coerce=int, empty_value=None, required=False)
    expires_on = forms.DateField(label=_("过期日期"), required=False, widget=DATE, help_text=_("留空表示永不过期"))
    note = forms.CharField(label=_("备注"), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].choices = [("", _("（根）"))] + [(g.pk, "　" * g.depth + g.name) for g in groups]


class GroupForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100)
    parent = forms.TypedChoiceField(label=_("上级"), coerce=int, empty_value=None, required=False)
    note = forms.CharField(label=_("备注"), max_length=300, required=False)

    def __init__(self, *args, groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].choices = [("", _("（无：根结点）"))] + [(g.pk, "　" * g.depth + g.name) for g in groups]


class PasswordResetForm(forms.Form):
    password = forms.CharField(label=_("新密码"), widget=forms.PasswordInput)
    password_confirm = forms.CharField(label=_("核对密码"), widget=forms.PasswordInput)


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(label=_("原密码"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    new_password = forms.CharField(label=_("新密码"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    new_password_confirm = forms.CharField(label=_("核对新密码"),
                                           widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))


class DelegationForm(forms.Form):
    delegates = forms.CharField(label=_("被授权用户编码"), max_length=1000,
                                help_text=_("一个或多个用户编码，用逗号或空格分隔"))
    roles = forms.TypedMultipleChoiceField(label=_("授权角色"), coerce=int, widget=forms.CheckboxSelectMultiple)
    starts_on = forms.DateField(label=_("开始日期"), widget=DATE)
    ends_on = forms.DateField(label=_("结束日期"), widget=DATE)
    note = forms.CharField(label=_("备注"), max_length=300, required=False)

    def __init__(self, *args, roles=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["roles"].choices = [(r.pk, f"{r.code} {r.name}") for r in roles]

    def delegate_usernames(self) -> list[str]:
        raw = self.cleaned_data.get("delegates", "")
        return [u for u in raw.replace("，", ",").replace(",", " ").split() if u]


class TokenForm(forms.Form):
    name = forms.CharField(label=_("令牌名称"), max_length=100)
    expires_on = forms.DateField(label=_("过期日期"), required=False, widget=DATE, help_text=_("留空表示不过期"))

