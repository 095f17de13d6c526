"""Permission calculation (seed 003 §4.4.9, DESIGN.md §5).

For user U and function F:
1. the roles of U that hold F: U's own effective roles, plus roles delegated to U that are in
   force; no such role ⇒ U may not execute F;
2. for each such role R: scope(U as R) = scope(R) ∩ scope(U within R) (the latter only if set);
   for a delegated role: scope(delegator as R) ∩ the delegation's restriction, dynamic ranges
   ("own agency", "own region") evaluated for the delegator;
3. the effective scope is the union of step 2.
Superusers are unrestricted. Suspended, invalid or expired roles count for nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from fmis.iam.dimensions import DIMENSIONS
from fmis.platform.errors import PermissionDenied

NOTHING = Q(pk__in=[])


@dataclass(frozen=True)
class Rule:
    dimension: str
    kind: str
    values: tuple[str, ...]

    def describe(self) -> str:
        from fmis.iam.models import DataRule

        dim = DIMENSIONS.get(self.dimension)
        label = dim.name if dim else self.dimension
        kind = DataRule.Kind(self.kind).label
        vals = "、".join(self.values)
        return f"{label}: {kind}{'（' + vals + '）' if vals else ''}"


@dataclass
class RoleScope:
    """The data scope of one role in one context: a conjunction of rule sets.

    Each element of ``parts`` is a list of rules from one owner (role, user-in-role, delegation
    restriction); the scope is the intersection of the parts. ``subject`` is the user whose
    agency, region and bank dynamic ranges refer to.
    """

    role_id: int
    role_code: str
    role_name: str
    subject: object
    delegated_by: str | None = None
    parts: list[list[Rule]] = field(default_factory=list)

    @property
    def unrestricted(self) -> bool:
        return all(not p for p in self.parts)

    def q(self, scope_fields: dict[str, str]) -> Q | None:
        """Q for a model with `scope_fields`; None means no restriction applies."""
        result: Q | None = None
        for rules in self.parts:
            by_dim: dict[str, list[Rule]] = defaultdict(list)
            for r in rules:
                by_dim[r.dimension].append(r)
            for dim, dim_rules in by_dim.items():
                path = scope_fields.get(dim)
                if path is None:
                    continue
                q = Q(pk__in=[])
                for r in dim_rules:
                    q |= _rule_q(r, path, self.subject)
                result = q if result is None else result & q
        return result


def _rule_q(rule: Rule, path: str, subject) -> Q:
    dim = DIMENSIONS.get(rule.dimension)
    prefix = dim.subtree_prefix if dim else (lambda c: c)
    kind = rule.kind
    if kind == "values":
        return Q(**{f"{path}__in": list(rule.values)}) if rule.values else NOTHING
    if kind == "subtree":
        q = NOTHING
        for v in rule.values:
            q |= Q(**{f"{path}__startswith": prefix(v)})
        return q
    if kind in ("own_agency", "own_agency_tree"):
        agency = getattr(subject, "agency", None)
        if agency is None:
            return NOTHING
        if kind == "own_agency":
            return Q(**{path: agency.code})
        return Q(**{f"{path}__startswith": agency.code})
    if kind in ("own_region", "own_region_tree"):
        region = _subject_region(subject)
        if region is None:
            return NOTHING
        if kind == "own_region":
            return Q(**{path: region.code})
        return Q(**{f"{path}__startswith": prefix(region.code)})
    if kind == "own_bank":
        bank = getattr(subject, "bank", None)
        return Q(**{path: bank.code}) if bank is not None else NOTHING
    return NOTHING


def _subject_region(subject):
    region = getattr(subject, "region", None)
    if region is None and getattr(subject, "agency", None) is not None:
        region = subject.agency.region
    return region


def _rules_by_owner(rule_rows) -> dict[tuple, list[Rule]]:
    out: dict[tuple, list[Rule]] = defaultdict(list)
    for r in rule_rows:
        key = ("d", r.delegation_id) if r.delegation_id else ("r", r.role_id, r.user_id)
        out[key].append(Rule(r.dimension, r.kind, tuple(r.values)))
    return out


def _compute(user) -> tuple[dict[str, list[RoleScope]], set[str]]:
    """Every function code of `user` with the role scopes that grant it."""
    from fmis.iam.models import DataRule, Delegation, Role, RoleFunction, Status, User, today

    on = today()
    effective_roles = Q(status=Status.ACTIVE) & (Q(expires_on__isnull=True) | Q(expires_on__gt=on))
    own_roles = list(Role.objects.filter(effective_roles, user_roles__user=user))
    contexts: list[tuple[Role, object, Delegation | None]] = [(r, user, None) for r in own_roles]

    delegations = list(
        Delegation.objects.filter(delegates=user, revoked_at__isnull=True, starts_on__lte=on, ends_on__gte=on)
        .select_related("delegator", "delegator__agency", "delegator__region", "delegator__bank")
        .prefetch_related("roles"))
    for d in delegations:
        if not d.delegator.is_active:
            continue
        for r in d.roles.all():
            # the delegator must still hold the role, and the role must be effective
            if r.is_effective and r.user_roles.filter(user=d.delegator).exists():
                contexts.append((r, d.delegator, d))

    role_ids = {r.pk for r, _, _ in contexts}
    subject_ids = {getattr(s, "pk", None) for _, s, _ in contexts}
    rules = _rules_by_owner(
        DataRule.objects.filter(Q(role_id__in=role_ids, user__isnull=True)
                                | Q(role_id__in=role_ids, user_id__in=subject_ids)
                                | Q(delegation__in=[d for d in delegations])))
    funcs_by_role: dict[int, set[str]] = defaultdict(set)
    for role_id, code in RoleFunction.objects.filter(role_id__in=role_ids, function__is_active=True).values_list(
            "role_id", "function__code"):
        funcs_by_role[role_id].add(code)

    by_function: dict[str, list[RoleScope]] = defaultdict(list)
    for role, subject, deleg in contexts:
        parts = [rules.get(("r", role.pk, None), [])]
        user_part = rules.get(("r", role.pk, subject.pk))
        if user_part:
            parts.append(user_part)
        if deleg is not None:
            parts.append(rules.get(("d", deleg.pk), []))
        scope = RoleScope(role.pk, role.code, role.name, subject,
                          delegated_by=deleg.delegator.username if deleg else None, parts=parts)
        for code in funcs_by_role[role.pk]:
            by_function[code].append(scope)
    assert isinstance(user, User)
    return by_function, set(by_function)


def _cache(user) -> dict[str, list[RoleScope]]:
    cached = getattr(user, "_fmis_scopes", None)
    if cached is None:
        cached, _ = _compute(user)
        user._fmis_scopes = cached
    return cached


def clear_cache(user) -> None:
    if hasattr(user, "_fmis_scopes"):
        del user._fmis_scopes


def _usable(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def function_codes(user) -> set[str]:
    """Every function `user` may execute (superusers: all)."""
    if not _usable(user):
        return set()
    if user.is_superuser:
        from fmis.iam.models import Function

        return set(Function.objects.filter(is_active=True).values_list("code", flat=True))
    return set(_cache(user))


def can(user, function: str) -> bool:
    if not _usable(user):
        return False
    return user.is_superuser or bool(_cache(user).get(function))


def require(user, function: str) -> None:
    if not can(user, function):
        raise PermissionDenied("iam.function_denied", f"没有执行此功能的权限：{function}", function=function)


def scopes_for(user, function: str) -> list[RoleScope]:
    if not _usable(user) or user.is_superuser:
        return []
    return list(_cache(user).get(function, []))


def scope_q(user, function: str, model) -> Q | None:
    """The filter for `model` under `user`'s scope for `function`; None = unrestricted."""
    if not _usable(user):
        return NOTHING
    if user.is_superuser:
        return None
    scopes = _cache(user).get(function)
    if not scopes:
        return NOTHING
    fields = getattr(model, "scope_fields", {})
    combined = NOTHING
    for s in scopes:
        q = s.q(fields)
        if q is None:
            return None  # one role grants the whole table
        combined |= q
    return combined


def restrict(qs: QuerySet, user, function: str) -> QuerySet:
    q = scope_q(user, function, qs.model)
    if q is None:
        return qs
    return qs.filter(q)


def require_object(user, function: str, obj) -> None:
    """Raise unless `obj` is within `user`'s scope for `function` (services call this before writing)."""
    require(user, function)
    model = type(obj)
    if not restrict(model._default_manager.filter(pk=obj.pk), user, function).exists():
        raise PermissionDenied("iam.out_of_scope", "该数据不在您的数据权限范围内", function=function)
