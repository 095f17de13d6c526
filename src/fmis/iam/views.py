"""IAM screens: login, users, groups, roles (functions, data rules, members), delegations, API
tokens, password change and the "why can I / why can't I" page.

Reads go through ``fmis.iam.selectors``, writes through ``fmis.iam.services``; a refused write shows
its message on the page. Users and roles that do not exist or that the reader does not manage
answer 404 alike.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from django.views.decorators.http import require_POST

from fmis.iam import explain as explain_mod
from fmis.iam import forms, selectors, services
from fmis.iam.dimensions import DIMENSIONS
from fmis.iam.models import DataRule, Status, User
from fmis.iam.permissions import can, role_contexts
from fmis.platform.errors import DomainError, NotFound
from fmis.platform.listing import page, wants_export
from fmis.platform.web import needs
from fmis.platform.xlsx import xlsx_response

LOGIN_ERRORS = {
    "locked": gettext_noop("登录失败次数过多，账户已临时锁定，请稍后再试。"),
    "inactive": gettext_noop("账户已暂停、无效或已过期，请联系管理员。"),
}
BAD_CREDENTIALS = gettext_noop("用户编码或密码不正确。")


def login_view(request):
    error = ""
    if request.method == "POST":
        user = authenticate(request, username=request.POST.get("username", "").strip(),
                            password=request.POST.get("password", ""))
        if user is not None:
            login(request, user)
            nxt = request.POST.get("next") or request.GET.get("next") or "/"
            if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
                nxt = "/"
            return redirect(nxt)
        error = _(LOGIN_ERRORS.get(getattr(request, "fmis_login_error", ""), BAD_CREDENTIALS))
    return render(request, "iam/login.html", {"error": error, "next": request.GET.get("next", "")})


@require_POST
def logout_view(request):
    logout(request)
    return redirect("iam:login")


# --- helpers ----------------------------------------------------------------------------------


def _form_error(form, exc: DomainError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


def _post_action(request, fn, success: str, back: str):
    """Run a service from a POST button; show the outcome as a message and go back."""
    try:
        fn()
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return redirect(back)


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _rules_from_post(request) -> list[services.RuleInput]:
    dims = request.POST.getlist("dimension")
    kinds = request.POST.getlist("kind")
    values = request.POST.getlist("values")
    out = []
    for dim, kind, vals in zip(dims, kinds, values, strict=False):
        if not dim.strip():
            continue
        parts = vals.replace("，", ",").replace("、", ",").replace(",", " ").split()
        out.append(services.RuleInput(dim, kind, tuple(parts)))
    return out


def _rule_rows(rules, blank: int = 3) -> list[dict]:
    rows = [{"dimension": r.dimension, "kind": r.kind, "values": " ".join(r.values)} for r in rules]
    return rows + [{"dimension": "", "kind": "", "values": ""} for _ in range(blank)]


def _rule_editor_ctx() -> dict:
    return {"dimensions": [(d.code, d.display_name) for d in DIMENSIONS.values()], "kinds": DataRule.Kind.choices}


# --- users ------------------------------------------------------------------------------------

USER_EXPORT_HEADERS = [gettext_lazy("用户编码"), gettext_lazy("用户名称"), gettext_lazy("用户类型"),
                       gettext_lazy("机构类型"), gettext_lazy("财政区划"), gettext_lazy("预算单位"),
                       gettext_lazy("代理银行"), gettext_lazy("处室"), gettext_lazy("管理者"),
                       gettext_lazy("用户类别"), gettext_lazy("过期日期"), gettext_lazy("状态"),
                       gettext_lazy("备注"), gettext_lazy("创建日期"), gettext_lazy("修改日期")]


def _user_row(u: User) -> list:
    return [u.username, u.name, u.get_user_type_display(), u.get_org_type_display(),
            u.region.code if u.region_id else "", u.agency.code if u.agency_id else "",
            u.bank.code if u.bank_id else "", u.department, u.manager.username if u.manager_id else "",
            u.group.name if u.group_id else "", u.expires_on, u.get_status_display(), u.note,
            timezone.localtime(u.created_at).date(), timezone.localtime(u.updated_at).date()]


@needs("iam.user.view")
def users(request):
    f = {k: request.GET.get(k, "").strip() for k in ("q", "status", "user_type", "org_type", "group")}
    qs = selectors.users_for(user=request.user, q=f["q"], status=f["status"], user_type=f["user_type"],
                             org_type=f["org_type"], group_id=_int_or_none(f["group"]))
    if wants_export(request):
        return xlsx_response(_("用户.xlsx"), USER_EXPORT_HEADERS, (_user_row(u) for u in qs.iterator()))
    ctx = page(request, qs)
    ctx.update(f=f, statuses=Status.choices, user_types=User.UserType.choices, org_types=User.OrgType.choices,
               groups=selectors.groups(kind="user"), can_manage=can(request.user, "iam.user.manage"))
    return render(request, "iam/user_list.html", ctx)


def _user_input(form, org: dict) -> services.UserInput:
    d = form.cleaned_data
    return services.UserInput(name=d["name"], user_type=d["user_type"], org_type=d["org_type"], department=d["department"],
                              group_id=d["group"], expires_on=d["expires_on"], note=d["note"], **org)


@needs("iam.user.manage")
def user_create(request):
    form = forms.UserForm(request.POST or None, groups=selectors.groups(kind="user"))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            org = selectors.org_ids(region_code=d["region"], agency_code=d["agency"], bank_code=d["bank"])
            user = services.create_user(actor=request.user, username=d["username"], password=d["password"],
                                        password_confirm=d["password_confirm"], data=_user_input(form, org))
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("用户已新增"))
            return redirect("iam:user_detail", pk=user.pk)
    return render(request, "iam/form.html", {"form": form, "title": _("新增用户"), "cancel_url": reverse("iam:users")})


@needs("iam.user.view")
def user_detail(request, pk: int):
    target = selectors.user_detail(user=request.user, user_id=pk)
    return render(request, "iam/user_detail.html", {
        "target": target,
        "roles": selectors.user_roles(target=target),
        "contexts": role_contexts(target),
        "transfer_candidates": selectors.transfer_candidates(user=request.user, target=target),
        "manages_others": target.managed_users.exists() or target.managed_roles.exists(),
        "can_manage": can(request.user, "iam.user.manage") and not target.is_builtin,
        "can_assign": can(request.user, "iam.role.assign"),
        "can_explain": can(request.user, "iam.explain"),
        "statuses": Status,
    })


@needs("iam.user.manage")
def user_edit(request, pk: int):
    target = selectors.user_detail(user=request.user, user_id=pk, function="iam.user.manage")
    initial = {"name": target.name, "user_type": target.user_type, "org_type": target.org_type,
               "region": target.region.code if target.region_id else "",
               "agency": target.agency.code if target.agency_id else "",
               "bank": target.bank.code if target.bank_id else "", "department": target.department,
               "group": target.group_id, "expires_on": target.expires_on, "note": target.note}
    form = forms.UserForm(request.POST or None, initial=initial, groups=selectors.groups(kind="user"), editing=True)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            org = selectors.org_ids(region_code=d["region"], agency_code=d["agency"], bank_code=d["bank"])
            services.update_user(actor=request.user, user_id=target.pk, data=_user_input(form, org))
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("用户已保存"))
            return redirect("iam:user_detail", pk=target.pk)
    return render(request, "iam/form.html", {"form": form, "title": _("修改用户") + f" {target.username}",
                                             "cancel_url": reverse("iam:user_detail", args=[target.pk])})


@needs("iam.user.manage")
@require_POST
def user_status(request, pk: int):
    status = request.POST.get("status", "")
    labels = {Status.ACTIVE: _("用户已启用"), Status.SUSPENDED: _("用户已暂停"), Status.INVALID: _("用户已停用")}
    return _post_action(
        request,
        lambda: services.change_user_status(actor=request.user, user_id=pk, status=status,
                                            transfer_to_id=_int_or_none(request.POST.get("transfer_to"))),
        labels.get(status, ""), reverse("iam:user_detail", args=[pk]))


@needs("iam.user.manage")
@require_POST
def user_delete(request, pk: int):
    try:
        services.delete_user(actor=request.user, user_id=pk,
                             transfer_to_id=_int_or_none(request.POST.get("transfer_to")))
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("iam:user_detail", pk=pk)
    messages.success(request, _("用户已删除"))
    return redirect("iam:users")


@needs("iam.user.manage")
def user_password(request, pk: int):
    target = selectors.user_detail(user=request.user, user_id=pk, function="iam.user.manage")
    form = forms.PasswordResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.reset_password(actor=request.user, user_id=target.pk, password=form.cleaned_data["password"],
                                    password_confirm=form.cleaned_data["password_confirm"])
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("密码已重置"))
            return redirect("iam:user_detail", pk=target.pk)
    return render(request, "iam/form.html", {"form": form, "title": _("重置密码") + f" {target.username}",
                                             "cancel_url": reverse("iam:user_detail", args=[target.pk])})


@needs("iam.role.assign")
def user_roles(request, pk: int):
    target = selectors.user_detail(user=request.user, user_id=pk, function="iam.role.assign")
    if request.method == "POST":
        ids = [i for i in (_int_or_none(x) for x in request.POST.getlist("roles")) if i is not None]
        return _post_action(request, lambda: services.set_user_roles(actor=request.user, user_id=target.pk,
                                                                     role_ids=ids),
                            _("角色分配已保存"), reverse("iam:user_detail", args=[target.pk]))
    current = set(selectors.user_roles(target=target).values_list("pk", flat=True))
    return render(request, "iam/user_roles.html", {
        "target": target, "roles": selectors.assignable_roles(user=request.user, target=target), "current": current})


# --- groups -----------------------------------------------------------------------------------


@needs("iam.group.manage")
def groups(request):
    kind = request.GET.get("kind", "user") if request.method == "GET" else request.POST.get("kind", "user")
    if kind not in ("user", "role"):
        raise Http404
    tree = selectors.groups(kind=kind)
    form = forms.GroupForm(request.POST or None, groups=tree)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.create_group(actor=request.user, kind=kind, name=d["name"], parent_id=d["parent"], note=d["note"])
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("类别已新增"))
            return redirect(reverse("iam:groups") + f"?kind={kind}")
    return render(request, "iam/group_list.html", {"kind": kind, "tree": tree, "form": form})


@needs("iam.group.manage")
def group_edit(request, kind: str, pk: int):
    if kind not in ("user", "role"):
        raise Http404
    tree = selectors.groups(kind=kind)
    group = next((g for g in tree if g.pk == pk), None)
    if group is None:
        raise Http404
    form = forms.GroupForm(request.POST or None, groups=[g for g in tree if g.pk != pk],
                           initial={"name": group.name, "parent": group.parent_id, "note": group.note})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.update_group(actor=request.user, kind=kind, group_id=pk, name=d["name"], parent_id=d["parent"],
                                  note=d["note"])
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("类别已保存"))
            return redirect(reverse("iam:groups") + f"?kind={kind}")
    return render(request, "iam/form.html", {"form": form, "title": _("修改类别") + f" {group.name}",
                                             "cancel_url": reverse("iam:groups") + f"?kind={kind}"})


@needs("iam.group.manage")
@require_POST
def group_delete(request, kind: str, pk: int):
    return _post_action(request, lambda: services.delete_group(actor=request.user, kind=kind, group_id=pk),
                        _("类别已删除"), reverse("iam:groups") + f"?kind={kind}")


# --- roles ------------------------------------------------------------------------------------

ROLE_EXPORT_HEADERS = [gettext_lazy("角色编码"), gettext_lazy("角色名称"), gettext_lazy("角色类别"),
                       gettext_lazy("管理者"), gettext_lazy("过期日期"), gettext_lazy("状态"),
                       gettext_lazy("用户数"), gettext_lazy("备注"), gettext_lazy("创建日期"),
                       gettext_lazy("修改日期")]


@needs("iam.role.view")
def roles(request):
    f = {k: request.GET.get(k, "").strip() for k in ("q", "status", "group")}
    qs = selectors.roles_for(user=request.user, q=f["q"], status=f["status"], group_id=_int_or_none(f["group"]))
    if wants_export(request):
        rows = ([r.code, r.name, r.group.name if r.group_id else "", r.manager.username if r.manager_id else "",
                 r.expires_on, r.get_status_display(), r.user_count, r.note,
                 timezone.localtime(r.created_at).date(), timezone.localtime(r.updated_at).date()] for r in qs)
        return xlsx_response(_("角色.xlsx"), ROLE_EXPORT_HEADERS, rows)
    ctx = page(request, qs)
    ctx.update(f=f, statuses=Status.choices, groups=selectors.groups(kind="role"),
               can_manage=can(request.user, "iam.role.manage"))
    return render(request, "iam/role_list.html", ctx)


def _role_input(form) -> services.RoleInput:
    d = form.cleaned_data
    return services.RoleInput(code=d["code"], name=d["name"], group_id=d["group"], expires_on=d["expires_on"],
                              note=d["note"])


@needs("iam.role.manage")
def role_create(request):
    form = forms.RoleForm(request.POST or None, groups=selectors.groups(kind="role"))
    if request.method == "POST" and form.is_valid():
        try:
            role = services.create_role(actor=request.user, data=_role_input(form))
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("角色已新增"))
            return redirect("iam:role_detail", pk=role.pk)
    return render(request, "iam/form.html", {"form": form, "title": _("新增角色"), "cancel_url": reverse("iam:roles")})


@needs("iam.role.view")
def role_detail(request, pk: int):
    role = selectors.role_detail(user=request.user, role_id=pk)
    others = selectors.roles_for(user=request.user).exclude(pk=role.pk)
    return render(request, "iam/role_detail.html", {
        "role": role,
        "tree": selectors.function_tree(user=request.user, role=role),
        "rules": selectors.role_rules(role=role),
        "members": selectors.role_users(role=role),
        "other_roles": others,
        "can_manage": can(request.user, "iam.role.manage"),
        "can_grant": can(request.user, "iam.role.grant"),
        "can_scope": can(request.user, "iam.scope.manage"),
    })


@needs("iam.role.manage")
def role_edit(request, pk: int):
    role = selectors.role_detail(user=request.user, role_id=pk, function="iam.role.manage")
    form = forms.RoleForm(request.POST or None, groups=selectors.groups(kind="role"),
                          initial={"code": role.code, "name": role.name, "group": role.group_id,
                                   "expires_on": role.expires_on, "note": role.note})
    if request.method == "POST" and form.is_valid():
        try:
            services.update_role(actor=request.user, role_id=role.pk, data=_role_input(form))
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("角色已保存"))
            return redirect("iam:role_detail", pk=role.pk)
    return render(request, "iam/form.html", {"form": form, "title": _("修改角色") + f" {role.code}",
                                             "cancel_url": reverse("iam:role_detail", args=[role.pk])})


@needs("iam.role.manage")
@require_POST
def role_status(request, pk: int):
    status = request.POST.get("status", "")
    labels = {Status.ACTIVE: _("角色已启用"), Status.SUSPENDED: _("角色已暂停"), Status.INVALID: _("角色已停用")}
    return _post_action(request, lambda: services.change_role_status(actor=request.user, role_id=pk, status=status),
                        labels.get(status, ""), reverse("iam:role_detail", args=[pk]))


@needs("iam.role.manage")
@require_POST
def role_delete(request, pk: int):
    try:
        services.delete_role(actor=request.user, role_id=pk)
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("iam:role_detail", pk=pk)
    messages.success(request, _("角色已删除"))
    return redirect("iam:roles")


@needs("iam.role.grant")
@require_POST
def role_functions(request, pk: int):
    codes = request.POST.getlist("functions")
    return _post_action(request, lambda: services.set_role_functions(actor=request.user, role_id=pk, codes=codes),
                        _("功能权限已保存"), reverse("iam:role_detail", args=[pk]) + "#functions")


@needs("iam.role.grant")
@require_POST
def role_copy_functions(request, pk: int):
    source = _int_or_none(request.POST.get("source"))
    return _post_action(request, lambda: services.copy_role_functions(actor=request.user, source_role_id=source,
                                                                      target_role_id=pk),
                        _("已复制功能权限"), reverse("iam:role_detail", args=[pk]) + "#functions")


@needs("iam.role.view")
def role_rules(request, pk: int):
    role = selectors.role_detail(user=request.user, role_id=pk)
    if request.method == "POST":
        if not can(request.user, "iam.scope.manage"):
            raise HttpForbidden("iam.scope.manage")
        try:
            services.set_role_rules(actor=request.user, role_id=role.pk, rules=_rules_from_post(request))
        except NotFound:
            raise
        except DomainError as exc:
            messages.error(request, exc.message)
            rows = _rule_rows(_rules_from_post(request))
        else:
            messages.success(request, _("角色数据权限已保存"))
            return redirect("iam:role_detail", pk=role.pk)
    else:
        rows = _rule_rows(selectors.role_rules(role=role))
    return render(request, "iam/rules_editor.html", {
        "role": role, "target": None, "rows": rows, "can_edit": can(request.user, "iam.scope.manage"),
        "title": _("角色数据权限：%(code)s %(name)s") % {"code": role.code, "name": role.name},
        "other_roles": selectors.roles_for(user=request.user).exclude(pk=role.pk), **_rule_editor_ctx()})


@needs("iam.scope.manage")
@require_POST
def role_copy_rules(request, pk: int):
    source = _int_or_none(request.POST.get("source"))
    return _post_action(request, lambda: services.copy_role_rules(actor=request.user, source_role_id=source,
                                                                  target_role_id=pk),
                        _("已复制数据权限（覆盖原有规则）"), reverse("iam:role_rules", args=[pk]))


@needs("iam.role.view")
def role_user_rules(request, pk: int, user_pk: int):
    role = selectors.role_detail(user=request.user, role_id=pk)
    member = next((u for u in selectors.role_users(role=role) if u.pk == user_pk), None)
    if member is None:
        raise Http404
    if request.method == "POST":
        if not can(request.user, "iam.scope.manage"):
            raise HttpForbidden("iam.scope.manage")
        try:
            services.set_user_role_rules(actor=request.user, role_id=role.pk, user_id=member.pk,
                                         rules=_rules_from_post(request))
        except NotFound:
            raise
        except DomainError as exc:
            messages.error(request, exc.message)
            rows = _rule_rows(_rules_from_post(request))
        else:
            messages.success(request, _("角色下用户的数据权限已保存"))
            return redirect("iam:role_detail", pk=role.pk)
    else:
        rows = _rule_rows(selectors.user_role_rules(role=role, user_id=member.pk))
    return render(request, "iam/rules_editor.html", {
        "role": role, "target": member, "rows": rows, "can_edit": can(request.user, "iam.scope.manage"),
        "title": _("角色下用户的数据权限：%(code)s / %(user)s %(name)s") % {
            "code": role.code, "user": member.username, "name": member.name},
        "role_rules": selectors.role_rules(role=role),
        "other_members": [u for u in selectors.role_users(role=role) if u.pk != member.pk], **_rule_editor_ctx()})


@needs("iam.scope.manage")
@require_POST
def role_copy_user_rules(request, pk: int, user_pk: int):
    target = _int_or_none(request.POST.get("target"))
    return _post_action(request, lambda: services.copy_user_role_rules(actor=request.user, role_id=pk,
                                                                       source_user_id=user_pk, target_user_id=target),
                        _("已复制到目标用户（覆盖原有规则）"), reverse("iam:role_user_rules", args=[pk, user_pk]))


# --- delegations ------------------------------------------------------------------------------


@needs("iam.delegation.manage")
def delegations(request):
    direction = request.GET.get("direction", "")
    qs = selectors.delegations_for(user=request.user, direction=direction)
    ctx = page(request, qs)
    ctx.update(direction=direction, today=timezone.localdate(), can_delegate=not request.user.is_superuser)
    return render(request, "iam/delegation_list.html", ctx)


@needs("iam.delegation.manage")
def delegation_create(request):
    held = selectors.held_roles(user=request.user)
    today = timezone.localdate()
    form = forms.DelegationForm(request.POST or None, roles=held,
                                initial={"starts_on": today, "ends_on": today + dt.timedelta(days=7)})
    rows = _rule_rows(_rules_from_post(request) if request.method == "POST" else [], blank=2)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        names = form.delegate_usernames()
        found = selectors.users_by_username(user=request.user, usernames=names)
        missing = [n for n in names if n not in found]
        if missing:
            form.add_error("delegates", _("以下用户不存在或不能被授权：") + "、".join(missing))
        else:
            try:
                services.create_delegation(actor=request.user, delegate_ids=[u.pk for u in found.values()],
                                           role_ids=d["roles"], starts_on=d["starts_on"], ends_on=d["ends_on"],
                                           note=d["note"], rules=_rules_from_post(request))
            except DomainError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, _("授权已创建"))
                return redirect("iam:delegations")
    return render(request, "iam/delegation_form.html", {
        "form": form, "held": held, "rows": rows, "is_superuser": request.user.is_superuser, **_rule_editor_ctx()})


@needs("iam.delegation.manage")
@require_POST
def delegation_revoke(request, pk: int):
    return _post_action(request, lambda: services.revoke_delegation(actor=request.user, delegation_id=pk),
                        _("授权已收回"), reverse("iam:delegations"))


# --- API tokens -------------------------------------------------------------------------------


@needs("iam.token.manage")
def tokens(request):
    form = forms.TokenForm(request.POST or None)
    raw = ""
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        expires_at = None
        if d["expires_on"]:
            expires_at = timezone.make_aware(dt.datetime.combine(d["expires_on"], dt.time.max))
        try:
            _, raw = services.create_token(user=request.user, name=d["name"], expires_at=expires_at)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            form = forms.TokenForm()
    resp = render(request, "iam/token_list.html", {"form": form, "raw": raw,
                                                   "tokens": selectors.tokens_for(user=request.user)})
    if raw:
        resp["Cache-Control"] = "no-store"
    return resp


@needs("iam.token.manage")
@require_POST
def token_revoke(request, pk: int):
    return _post_action(request, lambda: services.revoke_token(user=request.user, token_id=pk),
                        _("令牌已撤销"), reverse("iam:tokens"))


# --- password ---------------------------------------------------------------------------------


@needs("iam.password.change")
def password(request):
    form = forms.PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.change_password(user=request.user, old_password=d["old_password"],
                                     new_password=d["new_password"], new_password_confirm=d["new_password_confirm"])
        except DomainError as exc:
            _form_error(form, exc)
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, _("密码已修改"))
            return redirect("home")
    return render(request, "iam/form.html", {"form": form, "title": _("修改密码"), "cancel_url": reverse("home")})


# --- why can I / why can't I ------------------------------------------------------------------


@needs("iam.explain")
def explain(request):
    target = selectors.explain_target(user=request.user, user_id=_int_or_none(request.GET.get("user")))
    code = request.GET.get("function", "").strip()
    answer = explain_mod.can_i(target, code) if code else None
    contexts = role_contexts(target)
    return render(request, "iam/explain.html", {
        "target": target,
        "is_self": target.pk == request.user.pk,
        "inactive_reason": explain_mod.user_state(target),
        "rows": explain_mod.effective_functions(target),
        "contexts": [(s, explain_mod.grant_label(s), s.describe()) for s in contexts],
        "answer": answer,
        "code": code,
        "all_functions": selectors.function_tree(user=request.user),
    })
