"""Users, groups, roles, functions, data scope rules, delegations and API tokens."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from fmis.iam.querysets import RestrictedQuerySet


def today() -> dt.date:
    return timezone.localdate()


class Status(models.TextChoices):
    ACTIVE = "active", _("使用")
    SUSPENDED = "suspended", pgettext_lazy("status", "暂停")
    INVALID = "invalid", _("无效")


class UserGroup(models.Model):
    name = models.CharField("名称", max_length=100)
    parent = models.ForeignKey("self", verbose_name="上级", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children")
    note = models.CharField("备注", max_length=300, blank=True)

    class Meta:
        verbose_name = "用户组"
        ordering = ("name",)
        constraints = (
            # a tree with one root; sibling names are unique
            models.UniqueConstraint(fields=["parent"], condition=Q(parent__isnull=True), nulls_distinct=False,
                                    name="iam_usergroup_one_root"),
            models.UniqueConstraint(fields=["parent", "name"], nulls_distinct=False,
                                    name="iam_usergroup_sibling_name_uniq"),
        )

    def __str__(self):
        return self.name


class RoleGroup(models.Model):
    name = models.CharField("名称", max_length=100)
    parent = models.ForeignKey("self", verbose_name="上级", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children")
    note = models.CharField("备注", max_length=300, blank=True)

    class Meta:
        verbose_name = "角色组"
        ordering = ("name",)
        constraints = (
            # a tree with one root; sibling names are unique
            models.UniqueConstraint(fields=["parent"], condition=Q(parent__isnull=True), nulls_distinct=False,
                                    name="iam_rolegroup_one_root"),
            models.UniqueConstraint(fields=["parent", "name"], nulls_distinct=False,
                                    name="iam_rolegroup_sibling_name_uniq"),
        )

    def __str__(self):
        return self.name


class UserManager(BaseUserManager.from_queryset(RestrictedQuerySet)):
    use_in_migrations = True

    def create_user(self, username, password=None, **extra):
        user = self.model(username=username, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, username, password=None, **extra):
        extra.setdefault("user_type", User.UserType.SUPER)
        extra.setdefault("name", username)
        return self.create_user(username, password, **extra)


class User(AbstractBaseUser):
    class UserType(models.TextChoices):
        SUPER = "super", _("超级用户")
        ADMIN = "admin", _("管理用户")
        NORMAL = "normal", _("普通用户")

    class OrgType(models.TextChoices):
        FINANCE = "finance", _("财政部门")
        AGENCY = "agency", _("预算单位")
        BANK = "bank", _("代理银行")

    username = models.CharField("用户编码", max_length=50, unique=True)
    name = models.CharField("用户名称", max_length=100)
    org_type = models.CharField("机构类型", max_length=10, choices=OrgType.choices, default=OrgType.FINANCE)
    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="users")
    agency = models.ForeignKey("orgs.Agency", verbose_name="预算单位", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="users")
    bank = models.ForeignKey("orgs.Bank", verbose_name="代理银行", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="users")
    department = models.CharField("处室", max_length=100, blank=True)
    user_type = models.CharField("用户类型", max_length=10, choices=UserType.choices, default=UserType.NORMAL)
    manager = models.ForeignKey("self", verbose_name="管理者", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="managed_users")
    group = models.ForeignKey(UserGroup, verbose_name="用户类别", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="users")
    expires_on = models.DateField("过期日期", null=True, blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.ACTIVE)
    note = models.CharField("备注", max_length=300, blank=True)
    created_at = models.DateTimeField("创建日期", auto_now_add=True)
    updated_at = models.DateTimeField("修改日期", auto_now=True)
    failed_logins = models.PositiveIntegerField("连续登录失败次数", default=0)
    locked_until = models.DateTimeField("锁定至", null=True, blank=True)
    language = models.CharField("界面语言", max_length=10, default="zh-hans")
    is_builtin = models.BooleanField("系统预设", default=False)

    objects = UserManager()
    scope_fields: ClassVar[dict[str, str]] = {"region": "region__code", "agency": "agency__code",
                                              "bank": "bank__code"}

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["name"]

    class Meta:
        verbose_name = "用户"
        ordering = ("username",)
        constraints = (
            models.CheckConstraint(
                condition=~Q(org_type="agency") | Q(agency__isnull=False), name="iam_user_agency_org_has_agency"),
            models.CheckConstraint(
                condition=~Q(org_type="bank") | Q(bank__isnull=False), name="iam_user_bank_org_has_bank"),
        )

    def __str__(self):
        return f"{self.username} {self.name}"

    # Django's auth machinery reads these.
    @property
    def is_superuser(self) -> bool:
        return self.user_type == self.UserType.SUPER

    @property
    def is_staff(self) -> bool:
        return self.is_superuser

    @property
    def is_active(self) -> bool:
        """Only 使用 users whose expiry date has not come may log in."""
        return self.status == Status.ACTIVE and (self.expires_on is None or self.expires_on > today())

    def has_perm(self, perm, obj=None) -> bool:
        return self.is_active and self.is_superuser

    def has_module_perms(self, app_label) -> bool:
        return self.is_active and self.is_superuser

    def get_full_name(self):
        return self.name

    def get_short_name(self):
        return self.name


class Function(models.Model):
    """A menu or an action. Defined in code (each app's ``functions.py``) and synced to this table."""

    class Kind(models.TextChoices):
        MENU = "menu", _("菜单")
        ACTION = "action", _("操作")

    code = models.CharField("功能编码", max_length=100, unique=True)
    name = models.CharField("功能名称", max_length=100)
    name_en = models.CharField("英文名称", max_length=100, blank=True)
    kind = models.CharField("类型", max_length=10, choices=Kind.choices)
    parent = models.ForeignKey("self", verbose_name="上级功能", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="children")
    url_name = models.CharField("页面", max_length=100, blank=True)
    order = models.PositiveIntegerField("顺序", default=0)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "功能"
        ordering = ("order", "code")

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def display_name(self) -> str:
        """The name in the interface language: ``name_en`` when English is active and it is set."""
        return self.name_en if self.name_en and (get_language() or "").startswith("en") else self.name


class Role(models.Model):
    code = models.CharField("角色编码", max_length=50, unique=True)
    name = models.CharField("角色名称", max_length=100)
    group = models.ForeignKey(RoleGroup, verbose_name="角色类别", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="roles")
    manager = models.ForeignKey(User, verbose_name="管理者", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="managed_roles")
    expires_on = models.DateField("过期日期", null=True, blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.ACTIVE)
    note = models.CharField("备注", max_length=300, blank=True)
    created_at = models.DateTimeField("创建日期", auto_now_add=True)
    updated_at = models.DateTimeField("修改日期", auto_now=True)
    functions = models.ManyToManyField(Function, verbose_name="功能权限", through="RoleFunction", related_name="roles")

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        verbose_name = "角色"
        ordering = ("code",)

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def is_effective(self) -> bool:
        return self.status == Status.ACTIVE and (self.expires_on is None or self.expires_on > today())


class RoleFunction(models.Model):
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="role_functions")
    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="role_functions")

    class Meta:
        verbose_name = "角色功能权限"
        constraints = (models.UniqueConstraint(fields=["role", "function"], name="iam_role_function_uniq"),)


class UserRole(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="user_roles")
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="user_roles")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "用户角色"
        constraints = (models.UniqueConstraint(fields=["user", "role"], name="iam_user_role_uniq"),)


class Delegation(models.Model):
    """授权: a user hands roles they hold (not roles they manage) to other users for a date range."""

    delegator = models.ForeignKey(User, verbose_name="授权用户", on_delete=models.CASCADE,
                                  related_name="delegations_given")
    delegates = models.ManyToManyField(User, verbose_name="被授权用户", related_name="delegations_received")
    roles = models.ManyToManyField(Role, verbose_name="授权角色", related_name="delegations")
    starts_on = models.DateField("开始日期")
    ends_on = models.DateField("结束日期")
    note = models.CharField("备注", max_length=300, blank=True)
    revoked_at = models.DateTimeField("收回时间", null=True, blank=True)
    revoked_by = models.ForeignKey(User, verbose_name="收回人", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "授权"
        constraints = (models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")),
                                              name="iam_delegation_dates_ordered"),)

    def __str__(self):
        return f"授权#{self.pk} {self.starts_on}~{self.ends_on}"

    def is_in_force(self, on: dt.date | None = None) -> bool:
        on = on or today()
        return self.revoked_at is None and self.starts_on <= on <= self.ends_on

    def state(self, on: dt.date | None = None) -> str:
        """pending (未开始), in_force (生效中), ended (已结束) or revoked (已收回)."""
        on = on or today()
        if self.revoked_at is not None:
            return "revoked"
        if on < self.starts_on:
            return "pending"
        if on > self.ends_on:
            return "ended"
        return "in_force"

    STATE_LABELS: ClassVar[dict[str, str]] = {
        "pending": pgettext_lazy("delegation", "未开始"), "in_force": pgettext_lazy("delegation", "生效中"),
        "ended": pgettext_lazy("delegation", "已结束"), "revoked": pgettext_lazy("delegation", "已收回")}

    @property
    def state_label(self) -> str:
        return self.STATE_LABELS[self.state()]


class DataRule(models.Model):
    """One range rule (范围规则) of a data scope.

    Owner: a role (``user`` and ``delegation`` empty), a user within a role (``user`` set), or a
    delegation's restriction (``delegation`` set). Within one owner, rules on the same dimension
    are OR-ed and different dimensions are AND-ed; a dimension with no rule is unrestricted.
    """

    class Kind(models.TextChoices):
        VALUES = "values", _("指定值")
        SUBTREE = "subtree", _("指定值及下级")
        OWN_AGENCY = "own_agency", _("本单位")
        OWN_AGENCY_TREE = "own_agency_tree", _("本单位及下级")
        OWN_REGION = "own_region", _("本区划")
        OWN_REGION_TREE = "own_region_tree", _("本区划及下级")
        OWN_BANK = "own_bank", _("本银行")

    role = models.ForeignKey(Role, verbose_name="角色", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="data_rules")
    user = models.ForeignKey(User, verbose_name="用户", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="data_rules")
    delegation = models.ForeignKey(Delegation, verbose_name="授权", null=True, blank=True,
                                   on_delete=models.CASCADE, related_name="data_rules")
    dimension = models.CharField("数据项", max_length=50)
    kind = models.CharField("规则类型", max_length=20, choices=Kind.choices)
    values = ArrayField(models.CharField(max_length=60), verbose_name="值", default=list, blank=True)
    note = models.CharField("备注", max_length=300, blank=True)

    class Meta:
        verbose_name = "数据权限规则"
        constraints = (
            models.CheckConstraint(
                condition=(Q(delegation__isnull=True, role__isnull=False)
                           | Q(delegation__isnull=False, role__isnull=True, user__isnull=True)),
                name="iam_datarule_owner"),
            models.CheckConstraint(
                condition=(Q(kind__in=["values", "subtree"], values__len__gt=0)
                           | Q(kind__in=["own_agency", "own_agency_tree", "own_region", "own_region_tree",
                                         "own_bank"], values__len=0)),
                name="iam_datarule_kind_values"),
        )
        indexes = (models.Index(fields=["role", "user"]),)

    def __str__(self):
        return self.as_rule().describe()

    def as_rule(self):
        from fmis.iam.permissions import Rule

        return Rule(self.dimension, self.kind, tuple(self.values))


class ApiToken(models.Model):
    """A revocable API token; only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField("名称", max_length=100)
    prefix = models.CharField("前缀", max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    expires_at = models.DateTimeField("过期时间", null=True, blank=True)
    last_used_at = models.DateTimeField("最后使用", null=True, blank=True)
    revoked_at = models.DateTimeField("撤销时间", null=True, blank=True)

    class Meta:
        verbose_name = "API令牌"
        ordering = ("-created_at",)

    def __str__(self):
        return f"{self.prefix}… {self.name}"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())
