"""Permission calculation (seed 003 §4.4.9, DESIGN.md §5).

For user U and function F:
1. the roles of U that hold F: U's own effective roles, plus roles delegated to U that are in
   force; no such role ⇒ U may not execute F;
2. for each such role R: scope(U as R) = scope(R) ∩ scope(U within R) (the latter only if set);
   for a delegated role: scope(delegator as R) ∩ the delegation's restriction, dynamic ranges
   ("own agency", "own region") evaluated for the delegator;
3. the effective scope is the union of step 2.
Superusers are unrestricted. Suspended, invalid or expired roles count for nothing. A delegated
role counts only while the delegation is in force, the delegator is active (and not a superuser,
whose roles are ignored) and still holds the role.

Query shape: within one owner's rules, every dimension becomes one condition: the values of all
its rules collapse into one ``IN`` list, subtree prefixes are merged (a prefix covered by a
shorter one, and a value covered by a prefix, are dropped) and dynamic ranges are resolved to
codes first. A dimension reached through foreign keys (``region__code`` on an agency) is turned
into ``region__in=[ids]`` (the ids looked up once per query) so the database filters on the
indexed key column without a join; when the related rows are many, an ``IN (subquery)`` is used.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q, QuerySet
from django.utils.translation import gettext, gettext_noop

from fmis.iam.dimensions import DIMENSIONS
from fmis.platform.db import transaction_cache
from fmis.platform.errors import PermissionDenied

NOTHING = Q(pk__in=[])
# up to this many related rows, a dimension through a foreign key filters on a literal id list
RESOLVE_IDS_LIMIT = 2000

DYNAMIC_KINDS = {
    "own_agency": "agency",
    "own_agency_tree": "agency",
    "own_region": "region",
    "own_region_tree": "region",
    "own_bank": "bank",
}


@dataclass(frozen=True)
class Rule:
    dimension: str
    kind: str
    values: tuple[str, ...]

    def describe(self) -> str:
        from fmis.iam.models import DataRule

        dim = DIMENSIONS.get(self.dimension)
        label = dim.display_name if dim else self.dimension
        kind = DataRule.Kind(self.kind).label
        vals = "、".join(self.values)
        if not vals:
            return f"{label}: {kind}"
        return gettext("%(dimension)s: %(kind)s（%(values)s）") % {"dimension": label, "kind": kind, "values": vals}

    def codes(self, subject) -> tuple[set[str], set[str]]:
        """(exact codes, subtree prefixes) this rule admits, dynamic ranges resolved for `subject`."""
        dim = DIMENSIONS.get(self.dimension)
        prefix = dim.subtree_prefix if dim else (lambda c: c)
        kind = self.kind
        if kind == "values":
            return set(self.values), set()
        if kind == "subtree":
            return set(), {prefix(v) for v in self.values}
        if kind in ("own_agency", "own_agency_tree"):
            agency = getattr(subject, "agency", None)
            if agency is None:
                return set(), set()
            return ({agency.code}, set()) if kind == "own_agency" else (set(), {agency.code})
        if kind in ("own_region", "own_region_tree"):
            region = _subject_region(subject)
            if region is None:
                return set(), set()
            if kind == "own_region":
                return {region.code}, set()
            return set(), {prefix(region.code)}
        if kind == "own_bank":
            bank = getattr(subject, "bank", None)
            return ({bank.code}, set()) if bank is not None else (set(), set())
        return set(), set()

    def resolved(self, subject) -> Rule:
        """The same rule with a dynamic range replaced by the codes it stands for (for display and APIs)."""
        if self.kind not in DYNAMIC_KINDS:
            return self
        if self.kind in ("own_agency", "own_agency_tree"):
            obj = getattr(subject, "agency", None)
        elif self.kind in ("own_region", "own_region_tree"):
            obj = _subject_region(subject)
        else:
            obj = getattr(subject, "bank", None)
        if obj is None:
            return Rule(self.dimension, "values", ())
        return Rule(self.dimension, "subtree" if self.kind.endswith("_tree") else "values", (obj.code,))


@dataclass(frozen=True)
class DimensionScope:
    """The codes one dimension admits: exact values and subtree prefixes, already merged."""

    exact: frozenset[str]
    prefixes: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.exact and not self.prefixes

    def admits(self, code: str) -> bool:
        return code in self.exact or any(code.startswith(p) for p in self.prefixes)


def merge_codes(exact: set[str], prefixes: set[str]) -> DimensionScope:
    kept: list[str] = []
    for p in sorted(prefixes):  # sorted: a covering (shorter) prefix comes right before what it covers
        if kept and p.startswith(kept[-1]):
            continue
        kept.append(p)
    kept_set = set(kept)
    lengths = sorted({len(p) for p in kept})
    exact_left = frozenset(v for v in exact if not any(v[:n] in kept_set for n in lengths if n <= len(v)))
    return DimensionScope(exact_left, tuple(kept))


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
    delegation_id: int | None = None
    delegated_by_name: str = ""
    starts_on: object = None
    ends_on: object = None
    functions: frozenset[str] = frozenset()
    part_labels: tuple[str, ...] = ()

    @property
    def unrestricted(self) -> bool:
        return all(not p for p in self.parts)

    @property
    def delegated(self) -> bool:
        return self.delegation_id is not None

    def dimension_scopes(self) -> list[dict[str, DimensionScope]]:
        """Per part: dimension → merged codes (rules on one dimension within a part are OR-ed)."""
        cached = self.__dict__.get("_dimension_scopes")
        if cached is not None:
            return cached
        out = []
        for rules in self.parts:
            by_dim: dict[str, tuple[set[str], set[str]]] = {}
            for r in rules:
                exact, prefixes = by_dim.setdefault(r.dimension, (set(), set()))
                e, p = r.codes(self.subject)
                exact |= e
                prefixes |= p
            out.append({d: merge_codes(e, p) for d, (e, p) in by_dim.items()})
        self.__dict__["_dimension_scopes"] = out  # parts and subject are fixed for the scope's life
        return out

    def q(self, scope_fields: dict[str, str], model=None, cache: dict | None = None) -> Q | None:
        """Q for a model with `scope_fields`; None means no restriction applies."""
        result: Q | None = None
        for dims in self.dimension_scopes():
            for dim, ds in dims.items():
                path = scope_fields.get(dim)
                if path is None:
                    continue
                q = dimension_q(ds, path, model, cache)
                result = q if result is None else result & q
        return result

    def describe(self) -> list[str]:
        """The scope in words, one line per part that restricts; ["不限"] when none does."""
        labels = self.part_labels or tuple(gettext_noop("角色规则") if i == 0 else gettext_noop("附加规则")
                                           for i in range(len(self.parts)))
        lines = []
        for label, rules in zip(labels, self.parts, strict=False):
            if rules:
                lines.append(gettext("%(part)s：%(rules)s") % {"part": gettext(label),
                                                               "rules": gettext("；").join(r.describe() for r in rules)})
        return lines or [gettext("不限（该角色的全部数据）")]


def _code_q(path: str, ds: DimensionScope) -> Q:
    if ds.empty:
        return NOTHING
    q = Q()
    if ds.exact:
        q = Q(**{f"{path}__in": sorted(ds.exact)}) if len(ds.exact) > 1 else Q(**{path: next(iter(ds.exact))})
    for p in ds.prefixes:
        q |= Q(**{f"{path}__startswith": p})
    return q


def _forward_fk_target(model, rel_path: str):
    """The model at the end of a chain of forward foreign keys from `model`, or None."""
    current = model
    for name in rel_path.split("__"):
        try:
            f = current._meta.get_field(name)
        except FieldDoesNotExist:
            return None
        if not (f.is_relation and (f.many_to_one or f.one_to_one) and f.concrete):
            return None
        current = f.related_model
    return current


def dimension_q(ds: DimensionScope, path: str, model=None, cache: dict | None = None) -> Q:
    """The condition that `path` (ending in a code field) is within `ds`."""
    if ds.empty:
        return NOTHING
    rel_path, _, code_field = path.rpartition("__")
    target = _forward_fk_target(model, rel_path) if (model is not None and rel_path) else None
    if target is None:
        return _code_q(path, ds)
    inner = target._default_manager.filter(_code_q(code_field, ds))
    key = (target._meta.label, code_field, ds)
    ids = cache.get(key) if cache is not None else None
    if ids is None:
        ids = list(inner.order_by().values_list("pk", flat=True)[: RESOLVE_IDS_LIMIT + 1])
        if cache is not None:
            cache[key] = ids
    if len(ids) <= RESOLVE_IDS_LIMIT:
        return Q(**{f"{rel_path}__in": ids}) if ids else NOTHING
    return Q(**{f"{rel_path}__in": inner.order_by().values("pk")})


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


@dataclass
class Computed:
    by_function: dict[str, list[RoleScope]]
    contexts: list[RoleScope]


def _compute(user) -> Computed:
    """Every role context of `user` (own and delegated) with the functions each grants."""
    from fmis.iam.models import DataRule, Delegation, Role, RoleFunction, Status, User, UserRole, today

    on = today()
    effective_roles = Q(status=Status.ACTIVE) & (Q(expires_on__isnull=True) | Q(expires_on__gt=on))
    own_roles = list(Role.objects.filter(effective_roles, user_roles__user=user).order_by("code"))
    contexts: list[tuple[Role, object, Delegation | None]] = [(r, user, None) for r in own_roles]

    delegations = [
        d for d in Delegation.objects.filter(delegates=user, revoked_at__isnull=True, starts_on__lte=on,
                                             ends_on__gte=on)
        .select_related("delegator", "delegator__agency", "delegator__agency__region", "delegator__region",
                        "delegator__bank")
        .prefetch_related("roles").order_by("pk")
        if d.delegator.is_active and not d.delegator.is_superuser
    ]
    if delegations:
        # one query for "does the delegator still hold the role" across all delegations
        held = set(UserRole.objects.filter(user_id__in={d.delegator_id for d in delegations},
                                           role_id__in={r.pk for d in delegations for r in d.roles.all()})
                   .values_list("user_id", "role_id"))
        for d in delegations:
            for r in sorted(d.roles.all(), key=lambda r: r.code):
                if r.is_effective and (d.delegator_id, r.pk) in held:
                    contexts.append((r, d.delegator, d))

    role_ids = {r.pk for r, _, _ in contexts}
    subject_ids = {s.pk for _, s, _ in contexts}
    rules = _rules_by_owner(
        DataRule.objects.filter(Q(role_id__in=role_ids, user__isnull=True)
                                | Q(role_id__in=role_ids, user_id__in=subject_ids)
                                | Q(delegation__in=[d.pk for d in delegations])).order_by("pk"))
    funcs_by_role: dict[int, set[str]] = defaultdict(set)
    for role_id, code in RoleFunction.objects.filter(role_id__in=role_ids, function__is_active=True).values_list(
            "role_id", "function__code"):
        funcs_by_role[role_id].add(code)

    by_function: dict[str, list[RoleScope]] = defaultdict(list)
    scopes: list[RoleScope] = []
    for role, subject, deleg in contexts:
        parts = [rules.get(("r", role.pk, None), [])]
        labels = [gettext_noop("角色规则")]
        user_part = rules.get(("r", role.pk, subject.pk))
        if user_part:
            parts.append(user_part)
            labels.append(gettext_noop("角色下用户规则") if deleg is None else gettext_noop("授权人在角色下的规则"))
        if deleg is not None:
            parts.append(rules.get(("d", deleg.pk), []))
            labels.append(gettext_noop("授权限制规则"))
        scope = RoleScope(role.pk, role.code, role.name, subject,
                          delegated_by=deleg.delegator.username if deleg else None, parts=parts,
                          delegation_id=deleg.pk if deleg else None,
                          delegated_by_name=deleg.delegator.name if deleg else "",
                          starts_on=deleg.starts_on if deleg else None, ends_on=deleg.ends_on if deleg else None,
                          functions=frozenset(funcs_by_role[role.pk]), part_labels=tuple(labels))
        scopes.append(scope)
        for code in funcs_by_role[role.pk]:
            by_function[code].append(scope)
    assert isinstance(user, User)
    return Computed(dict(by_function), scopes)


def _computed(user) -> Computed:
    cached = getattr(user, "_fmis_computed", None)
    if cached is None:
        cached = _compute(user)
        user._fmis_computed = cached
    return cached


def _cache(user) -> dict[str, list[RoleScope]]:
    return _computed(user).by_function


def clear_cache(user) -> None:
    if hasattr(user, "_fmis_computed"):
        del user._fmis_computed


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


def own_function_codes(user) -> set[str]:
    """The functions `user` holds through its own roles, delegations excluded (what an admin may grant)."""
    if not _usable(user):
        return set()
    if user.is_superuser:
        return function_codes(user)
    return {code for s in _computed(user).contexts if not s.delegated for code in s.functions}


def role_contexts(user) -> list[RoleScope]:
    """Every role in force for `user`, own first, then delegated (empty for superusers)."""
    if not _usable(user) or user.is_superuser:
        return []
    return list(_computed(user).contexts)


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


def _single_dimension(scope: RoleScope) -> tuple[str, DimensionScope] | None:
    """(dimension, codes) when the scope restricts exactly one dimension in one part."""
    restricting = [dims for dims in scope.dimension_scopes() if dims]
    if len(restricting) == 1 and len(restricting[0]) == 1:
        return next(iter(restricting[0].items()))
    return None


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
    # scopes that restrict the same single dimension merge into one condition (union of codes)
    merged: dict[str, tuple[set[str], set[str]]] = {}
    # related ids looked up for this query only, or once per service transaction (never across)
    tx = transaction_cache()
    ids_cache: dict = {} if tx is None else tx.setdefault("iam.scope_ids", {})
    others: list[RoleScope] = []
    for s in scopes:
        single = _single_dimension(s)
        if single is not None and single[0] in fields:
            exact, prefixes = merged.setdefault(single[0], (set(), set()))
            exact |= single[1].exact
            prefixes |= set(single[1].prefixes)
        else:
            others.append(s)
    combined = NOTHING
    for s in others:
        q = s.q(fields, model, ids_cache)
        if q is None:
            return None  # one role grants the whole table
        combined |= q
    for dim, (exact, prefixes) in merged.items():
        combined |= dimension_q(merge_codes(exact, prefixes), fields[dim], model, ids_cache)
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
