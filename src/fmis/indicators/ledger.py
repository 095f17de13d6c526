"""The indicator ledger: every change of an indicator's figures, as one conditional UPDATE plus
one append-only Movement row, in the caller's transaction (one statement: the row is inserted
from the UPDATE's RETURNING, so a refused update writes nothing).

These functions are the only writers of ``total/frozen/reserved/consumed``. They do not check
function permissions: the business services that call them (indicator adjustments, payment
applications, bank receipts, ...) check the acting user's function and scope first. Each guard
is part of the UPDATE's WHERE clause, so two concurrent callers can never both pass it on a
stale read; the CHECK constraints are the last line of defence.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from fmis.indicators.models import Indicator, Movement
from fmis.platform.errors import Conflict, NotFound, ValidationFailed
from fmis.platform.money import ZERO, fmt, to_money

K = Movement.Kind


@dataclass(frozen=True)
class SourceRef:
    """The business document that caused a movement (来源单据)."""

    type: str
    id: int | None = None
    no: str = ""


def _positive(amount) -> Decimal:
    amount = to_money(amount)
    if amount <= 0:
        raise ValidationFailed("indicator.amount_not_positive", f"金额必须大于零：{amount}", field="amount")
    return amount


def _explain(indicator_id: int, kind: str, amount: Decimal) -> Exception:
    ind = Indicator.objects.filter(pk=indicator_id).first()
    if ind is None:
        return NotFound("indicator.not_found", "指标不存在", field="indicator")
    if kind in (K.RESERVE,) and ind.status != Indicator.Status.EXECUTABLE:
        return Conflict("indicator.not_executable", f"指标 {ind.code} 不是可执行状态（{ind.get_status_display()}）",
                        field="indicator", status=ind.status)
    if kind in (K.RESERVE, K.FREEZE, K.ADJUST_DOWN, K.TRANSFER_OUT, K.DISTRIBUTE_OUT, K.CORRECT_OUT,
                K.CARRY_OVER_OUT, K.RECOVER):
        return Conflict("indicator.insufficient",
                        f"指标 {ind.code} 可用金额 {fmt(ind.available)} 不足 {fmt(amount)}"
                        + (f"（其中冻结 {fmt(ind.frozen)}）" if ind.frozen else ""),
                        field="amount", available=ind.available, requested=amount)
    if kind == K.UNFREEZE:
        return Conflict("indicator.unfreeze_exceeds", f"解冻金额 {fmt(amount)} 超过已冻结金额 {fmt(ind.frozen)}",
                        field="amount")
    if kind in (K.RELEASE, K.CONSUME):
        return Conflict("indicator.reserved_insufficient",
                        f"指标 {ind.code} 已占用金额 {fmt(ind.reserved)} 少于 {fmt(amount)}", field="amount")
    if kind == K.REFUND:
        return Conflict("indicator.refund_exceeds", f"退款金额 {fmt(amount)} 超过指标已支付金额 {fmt(ind.consumed)}",
                        field="amount")
    return Conflict("indicator.refused", f"指标 {ind.code} 不允许此操作", field="indicator")


# kind -> (guard on the row, deltas as multiples of amount: total, frozen, reserved, consumed)
_RULES: dict[str, tuple[Q, tuple[int, int, int, int]]] = {
    K.ISSUE: (Q(), (1, 0, 0, 0)),
    K.DISTRIBUTE_IN: (Q(), (1, 0, 0, 0)),
    K.ADJUST_UP: (Q(), (1, 0, 0, 0)),
    K.TRANSFER_IN: (Q(), (1, 0, 0, 0)),
    K.CARRY_OVER_IN: (Q(), (1, 0, 0, 0)),
    K.ADVANCE: (Q(), (1, 0, 0, 0)),
    K.CORRECT_IN: (Q(), (0, 0, 0, 1)),
    K.DISTRIBUTE_OUT: ("available", (-1, 0, 0, 0)),
    K.ADJUST_DOWN: ("available", (-1, 0, 0, 0)),
    K.TRANSFER_OUT: ("available", (-1, 0, 0, 0)),
    K.CARRY_OVER_OUT: ("available", (-1, 0, 0, 0)),
    K.RECOVER: ("available", (-1, 0, 0, 0)),
    K.FREEZE: ("available", (0, 1, 0, 0)),
    K.UNFREEZE: ("frozen", (0, -1, 0, 0)),
    K.RESERVE: ("reserve", (0, 0, 1, 0)),
    K.RELEASE: ("reserved", (0, 0, -1, 0)),
    K.CONSUME: ("reserved", (0, 0, -1, 1)),
    K.REFUND: ("consumed", (0, 0, 0, -1)),
    K.CORRECT_OUT: ("consumed", (0, 0, 0, -1)),
}


def _guard(name, amount: Decimal) -> Q:
    if isinstance(name, Q):
        return name
    if name == "available":
        return Q(available__gte=amount)
    if name == "reserve":
        return Q(available__gte=amount, status=Indicator.Status.EXECUTABLE)
    if name == "frozen":
        return Q(frozen__gte=amount)
    if name == "reserved":
        return Q(reserved__gte=amount)
    if name == "consumed":
        return Q(consumed__gte=amount)
    raise ValueError(name)


def move(*, indicator_id: int, kind: str, amount, user, source: SourceRef | None = None,
         counterpart_id: int | None = None, note: str = "") -> Movement:
    """Apply one movement of `kind` for `amount` (> 0) to the indicator, or raise a DomainError."""
    amount = _positive(amount)
    guard_name, (dt, df, dr, dc) = _RULES[kind]
    source = source or SourceRef("")
    if isinstance(guard_name, Q):
        guard_sql = None if guard_name else "TRUE"  # an empty Q: no guard (increases)
    else:
        guard_sql = _GUARD_SQL.get(guard_name)
    if guard_sql is None:
        return _move_orm(indicator_id=indicator_id, kind=kind, amount=amount, guard=guard_name,
                         deltas=(dt, df, dr, dc), user=user, source=source, counterpart_id=counterpart_id, note=note)
    deltas = (dt * amount, df * amount, dr * amount, dc * amount)
    now = timezone.now()
    sql = ("WITH u AS (UPDATE indicators_indicator SET total = total + %s, frozen = frozen + %s, "
           "reserved = reserved + %s, consumed = consumed + %s WHERE id = %s AND " + guard_sql + " RETURNING id) "
           "INSERT INTO indicators_movement (indicator_id, kind, d_total, d_frozen, d_reserved, d_consumed, "
           "counterpart_id, source_type, source_id, source_no, note, created_by_id, created_at) "
           "SELECT u.id, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s FROM u RETURNING id")
    params = [*deltas, indicator_id, *_guard_params(guard_name, amount), kind, *deltas, counterpart_id,
              source.type, source.id, source.no, note[:300], getattr(user, "pk", None), now]

    def run():  # one statement: the guarded update and the movement row it justifies (none when refused)
        with connection.cursor() as cur:
            cur.execute(sql, params)
            row = cur.fetchone()
        return row[0] if row else None

    if kind in _GUARD_IMPLIES_CHECKS:
        movement_id = run()  # the guard implies every CHECK constraint: a refusal is "no row"
    else:
        try:
            with transaction.atomic():
                movement_id = run()
        except IntegrityError:
            movement_id = None
    if movement_id is None:
        raise _explain(indicator_id, kind, amount)
    m = Movement(id=movement_id, indicator_id=indicator_id, kind=kind, d_total=deltas[0], d_frozen=deltas[1],
                 d_reserved=deltas[2], d_consumed=deltas[3], counterpart_id=counterpart_id, source_type=source.type,
                 source_id=source.id, source_no=source.no, note=note[:300], created_by=user, created_at=now)
    m._state.adding = False
    m._state.db = connection.alias
    return m


# kinds whose guard implies all of the indicator's CHECK constraints (they only move money between
# reserved and available/consumed, never below zero): the constraint cannot fail on their update
_GUARD_IMPLIES_CHECKS = {K.RESERVE, K.RELEASE, K.CONSUME}

# the guards of ``_guard`` as SQL on the indicator row, for the one-statement movement
_GUARD_SQL = {
    "available": "available >= %s",
    "reserve": "available >= %s AND status = %s",
    "frozen": "frozen >= %s",
    "reserved": "reserved >= %s",
    "consumed": "consumed >= %s",
}


def _guard_params(name, amount: Decimal) -> list:
    if isinstance(name, Q):
        return []
    return [amount, str(Indicator.Status.EXECUTABLE)] if name == "reserve" else [amount]


def _move_orm(*, indicator_id, kind, amount, guard, deltas, user, source, counterpart_id, note) -> Movement:
    dt, df, dr, dc = deltas
    with transaction.atomic():
        try:
            with transaction.atomic():
                updated = Indicator.objects.filter(Q(pk=indicator_id) & _guard(guard, amount)).update(
                    total=F("total") + dt * amount, frozen=F("frozen") + df * amount,
                    reserved=F("reserved") + dr * amount, consumed=F("consumed") + dc * amount)
        except IntegrityError:
            updated = 0
        if updated == 0:
            raise _explain(indicator_id, kind, amount)
        return Movement.objects.create(
            indicator_id=indicator_id, kind=kind, d_total=dt * amount, d_frozen=df * amount,
            d_reserved=dr * amount, d_consumed=dc * amount, counterpart_id=counterpart_id,
            source_type=source.type, source_id=source.id, source_no=source.no, note=note[:300], created_by=user)


def move_between(*, from_id: int, to_id: int, out_kind: str, in_kind: str, amount, user,
                 source: SourceRef | None = None, note: str = "") -> tuple[Movement, Movement]:
    """Move `amount` from one indicator to another (transfer, distribution, correction, carry-over).

    Rows are updated in id order, so two opposite transfers cannot deadlock.
    """
    if from_id == to_id:
        raise ValidationFailed("indicator.same_indicator", "调出和调入不能是同一指标", field="target")
    pairs = [(from_id, out_kind, to_id), (to_id, in_kind, from_id)]
    pairs.sort(key=lambda p: p[0])
    with transaction.atomic():
        done = {}
        for ind_id, kind, other in pairs:
            done[kind] = move(indicator_id=ind_id, kind=kind, amount=amount, user=user, source=source,
                              counterpart_id=other, note=note)
        return done[out_kind], done[in_kind]


def ledger_totals(indicator_id: int) -> dict[str, Decimal]:
    """The sums of an indicator's movements: they must equal its figures."""
    agg = Movement.objects.filter(indicator_id=indicator_id).aggregate(
        total=Sum("d_total"), frozen=Sum("d_frozen"), reserved=Sum("d_reserved"), consumed=Sum("d_consumed"))
    return {k: (v if v is not None else ZERO) for k, v in agg.items()}


def check_ledger(indicator_id: int) -> list[str]:
    """Differences between an indicator's figures and its movements (empty when consistent)."""
    ind = Indicator.objects.get(pk=indicator_id)
    sums = ledger_totals(indicator_id)
    return [f"{k}: figure {getattr(ind, k)} != movements {v}" for k, v in sums.items() if getattr(ind, k) != v]
