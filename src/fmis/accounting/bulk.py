"""凭证批量导入: many balanced vouchers for one account set, loaded and posted with set-based SQL.

The rows go by ``COPY`` into a temporary staging table; every check runs there in SQL (the
account exists, is a leaf and active; the auxiliary values are enabled and exist; the period
exists, is open and holds the date; each voucher balances within its financial and within its
budgetary lines; one header per voucher); then the vouchers and their lines are inserted in
one statement each, numbered gap-free per series from the same counter rows the per-voucher
path uses, posted, and the balance table is moved by one aggregated upsert that touches, like
``services.apply_balances``, the posted period and every later period of the year.

All or nothing: one transaction; a bad batch writes nothing and names its first bad voucher and
line. Idempotent: a batch is identified by its key (stored as the vouchers' source), and
importing a key again changes nothing. Every database guard of the books stays on (the line and
voucher triggers, the deferred per-basis balance trigger), so a bulk-posted voucher is the same
as one entered, audited and posted by hand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction

from fmis.accounting import services
from fmis.accounting.models import CUSTOM_ELEMENTS, DICTIONARY_ELEMENTS, PAY_MODES, AuxElement, Voucher
from fmis.iam import permissions
from fmis.platform import audit
from fmis.platform.errors import Conflict, ValidationFailed
from fmis.platform.jsonutil import canonical
from fmis.platform.money import ZERO, fmt, to_money

SOURCE_TYPE = "accounting.bulk_import"
MAX_ERRORS = 50
MAX_KEY = 40
MAX_REF = 60


@dataclass(slots=True)
class BulkLine:
    """One voucher line of a batch. Lines with the same `voucher_ref` form one voucher; its
    header (date, period, category, attachments) is read from its lines and must agree."""

    voucher_ref: str
    date: dt.date
    account_code: str
    debit: Decimal | str | int = ZERO
    credit: Decimal | str | int = ZERO
    summary: str = ""
    aux: dict = field(default_factory=dict)
    category_code: str = ""
    attachments: int = 0
    period_number: int | None = None
    source_line: int | None = None


@dataclass
class BulkResult:
    batch_key: str
    created: bool
    vouchers: int
    lines: int
    posted: bool
    first_voucher_id: int | None = None
    last_voucher_id: int | None = None
    totals: dict[str, dict[str, Decimal]] = field(default_factory=dict)


def batch_key_of(content: bytes) -> str:
    """The default batch key of an imported file: its SHA-256, shortened to fit the source id."""
    return "sha256:" + hashlib.sha256(content).hexdigest()[: MAX_KEY - 7]


class _AuxHasher:
    """``services.aux_hash`` of a line's auxiliary values, memoised (a batch repeats few combinations)."""

    def __init__(self):
        self._cache: dict[tuple, tuple[str, str]] = {}

    def __call__(self, aux: dict) -> tuple[str, str]:
        key = tuple(sorted((str(k), str(v)) for k, v in aux.items()))
        hit = self._cache.get(key)
        if hit is None:
            clean = dict(key)
            hit = (canonical(clean), services.aux_hash(clean))
            self._cache[key] = hit
        return hit


def _clean_aux(aux) -> dict | None:
    if aux is None:
        return {}
    if not isinstance(aux, dict):
        return None
    out = {}
    for k, v in aux.items():
        v = str(v if v is not None else "").strip()
        if v:
            out[str(k)] = v
    return out


_STAGE = """
CREATE TEMP TABLE acc_bulk_raw (
    seq integer NOT NULL,
    src_line integer NOT NULL,
    ref text NOT NULL,
    vdate date NOT NULL,
    period_no smallint,
    category_code text NOT NULL,
    attachments integer NOT NULL,
    summary text NOT NULL,
    account_code text NOT NULL,
    debit numeric(20, 2) NOT NULL,
    credit numeric(20, 2) NOT NULL,
    aux jsonb NOT NULL,
    aux_hash text NOT NULL
) ON COMMIT DROP
"""

_COPY = ("COPY acc_bulk_raw (seq, src_line, ref, vdate, period_no, category_code, attachments, summary, "
         "account_code, debit, credit, aux, aux_hash) FROM STDIN")

_TEMP_TABLES = ("acc_bulk_raw", "acc_bulk_stage", "acc_bulk_voucher", "acc_bulk_ids")


def _stage(lines: Iterable[BulkLine]) -> int:
    """COPY the lines into the staging table; type errors (money, dates, references) are collected
    here, every business rule is checked in SQL afterwards. Returns the number of lines."""
    hasher = _AuxHasher()
    errors: list[dict] = []
    n = 0
    with connection.cursor() as cur:
        cur.execute("".join(f"DROP TABLE IF EXISTS {t};" for t in _TEMP_TABLES))
        cur.execute(_STAGE)
        with cur.copy(_COPY) as copy:
            for i, li in enumerate(lines, start=1):
                n += 1
                src = li.source_line or i
                ref = str(li.voucher_ref or "").strip()
                try:
                    if not ref or len(ref) > MAX_REF:
                        raise ValidationFailed("accounting.bulk_ref_invalid",
                                               f"凭证编号不能为空且不超过 {MAX_REF} 个字符", field="voucher_ref")
                    if not isinstance(li.date, dt.date):
                        raise ValidationFailed("accounting.bulk_date_invalid", "凭证日期不正确", field="date")
                    debit = to_money(li.debit if li.debit not in (None, "") else ZERO, field="debit")
                    credit = to_money(li.credit if li.credit not in (None, "") else ZERO, field="credit")
                    attachments = int(li.attachments or 0)
                    if not 0 <= attachments <= 9999:
                        raise ValidationFailed("accounting.attachments_invalid", "附单据数应为 0–9999 的整数",
                                               field="attachments")
                    period_no = int(li.period_number) if li.period_number not in (None, "") else None
                    if period_no is not None and not 1 <= period_no <= 13:
                        raise ValidationFailed("accounting.period_missing", "期间应为 1–13", field="period")
                    aux = _clean_aux(li.aux)
                    if aux is None:
                        raise ValidationFailed("accounting.aux_invalid", "辅助核算格式不正确", field="aux")
                except (ValidationFailed, TypeError, ValueError) as exc:
                    message = exc.message if isinstance(exc, ValidationFailed) else "数据格式不正确"
                    fld = exc.field if isinstance(exc, ValidationFailed) else "line"
                    if len(errors) < MAX_ERRORS:
                        errors.append({"line": src, "field": fld, "voucher": ref,
                                       "message": f"第 {src} 行（凭证 {ref or '（空）'}）：{message}"})
                    continue
                if errors:
                    continue  # keep reading to report every malformed line, but stage nothing more
                aux_text, ahash = hasher(aux)
                copy.write_row((i, src, ref, li.date, period_no, str(li.category_code or "").strip(), attachments,
                                str(li.summary or "").strip()[:200], str(li.account_code or "").strip(),
                                debit, credit, aux_text, ahash))
    if errors:
        _refuse(errors)
    if n == 0:
        raise ValidationFailed("accounting.bulk_empty", "没有要导入的凭证分录", field="file")
    return n


def _refuse(errors: list[dict]) -> None:
    errors = sorted(errors, key=lambda e: (e.get("line") or 0))
    first = errors[0]["message"]
    raise ValidationFailed("accounting.bulk_invalid",
                           f"导入失败，未导入任何凭证：{first}" + (f"（共 {len(errors)} 处错误）" if len(errors) > 1 else ""),
                           field="file", line=errors[0].get("line"), errors=errors)


# Each check returns (src_line, ref, message) for the offending lines, first ones first.
_RESOLVE = """
ANALYZE acc_bulk_raw;
CREATE TEMP TABLE acc_bulk_stage ON COMMIT DROP AS
SELECT r.seq, r.src_line, r.ref, r.vdate, r.period_no, r.category_code, r.attachments,
       CASE WHEN r.summary = '' THEN coalesce(f.summary, '') ELSE r.summary END AS summary,
       r.account_code, r.debit, r.credit, r.aux, r.aux_hash,
       a.id AS account_id, a.basis, p.id AS period_id,
       CASE WHEN r.category_code = '' THEN %(default_category)s ELSE c.id END AS category_id,
       row_number() OVER (PARTITION BY r.ref ORDER BY r.seq) AS line_no
FROM acc_bulk_raw r
LEFT JOIN accounting_account a ON a.account_set_id = %(set)s AND a.code = r.account_code
LEFT JOIN accounting_period p ON p.account_set_id = %(set)s AND p.year = extract(year FROM r.vdate)::int
      AND p.number = coalesce(r.period_no, extract(month FROM r.vdate)::int)
LEFT JOIN accounting_vouchercategory c ON c.account_set_id = %(set)s AND c.code = r.category_code
LEFT JOIN (SELECT DISTINCT ON (ref) ref, summary FROM acc_bulk_raw WHERE summary <> ''
           ORDER BY ref, seq) f ON f.ref = r.ref;
ANALYZE acc_bulk_stage;
"""

_CHECKS = [
    ("account", """SELECT s.src_line, s.ref, '科目 ' || s.account_code || ' 不存在' FROM acc_bulk_stage s
                   WHERE s.account_id IS NULL"""),
    ("account", """SELECT s.src_line, s.ref, '科目 ' || a.code || ' ' || a.name || ' 不是末级科目，请选择其下级科目'
                   FROM acc_bulk_stage s JOIN accounting_account a ON a.id = s.account_id WHERE NOT a.is_leaf"""),
    ("account", """SELECT s.src_line, s.ref, '科目 ' || a.code || ' 已停用'
                   FROM acc_bulk_stage s JOIN accounting_account a ON a.id = s.account_id WHERE NOT a.is_active"""),
    ("debit", """SELECT src_line, ref, '借方金额和贷方金额必须且只能填写一个' FROM acc_bulk_stage
                 WHERE (debit <> 0) = (credit <> 0)"""),
    ("debit", """SELECT src_line, ref, '金额必须大于零' FROM acc_bulk_stage WHERE debit < 0 OR credit < 0"""),
    ("summary", """SELECT src_line, ref, '摘要不能为空' FROM acc_bulk_stage WHERE summary = ''"""),
    ("category", """SELECT src_line, ref, '凭证类别 ' || category_code || ' 不存在' FROM acc_bulk_stage
                    WHERE category_id IS NULL"""),
    ("period", """SELECT src_line, ref, '账套没有 ' || extract(year FROM vdate)::int || ' 年第 '
                         || coalesce(period_no, extract(month FROM vdate)::int) || ' 期'
                  FROM acc_bulk_stage WHERE period_id IS NULL"""),
    ("period", """SELECT s.src_line, s.ref, '会计期间 ' || p.year || '-' || lpad(p.number::text, 2, '0')
                         || ' 已结账，不能录入或登账'
                  FROM acc_bulk_stage s JOIN accounting_period p ON p.id = s.period_id WHERE p.status <> 'open'"""),
    ("date", """SELECT s.src_line, s.ref, '凭证日期 ' || s.vdate || ' 不在会计期间 ' || p.year || '-'
                       || lpad(p.number::text, 2, '0') || ' 内'
                FROM acc_bulk_stage s JOIN accounting_period p ON p.id = s.period_id
                WHERE s.vdate NOT BETWEEN p.start_date AND p.end_date"""),
    ("aux", """SELECT s.src_line, s.ref, '科目 ' || a.code || ' 未启用辅助核算“' || k.key || '”'
               FROM acc_bulk_stage s JOIN accounting_account a ON a.id = s.account_id
               CROSS JOIN LATERAL jsonb_object_keys(s.aux) AS k(key)
               WHERE NOT (a.aux_elements ? k.key)"""),
    ("aux", """SELECT s.src_line, s.ref, '支付方式 ' || (s.aux ->> 'pay_mode') || ' 不正确' FROM acc_bulk_stage s
               WHERE s.aux ? 'pay_mode' AND NOT ((s.aux ->> 'pay_mode') = ANY(%(pay_modes)s))"""),
    ("aux", """SELECT s.src_line, s.ref, '指标编号过长' FROM acc_bulk_stage s
               WHERE length(s.aux ->> 'indicator') > 60"""),
    ("aux", """SELECT s.src_line, s.ref, e.label || ' ' || (s.aux ->> e.element) || ' 不存在'
               FROM acc_bulk_stage s
               JOIN (SELECT * FROM unnest(%(custom)s::text[], %(custom_labels)s::text[])) AS e(element, label)
                 ON s.aux ? e.element
               WHERE NOT EXISTS (SELECT 1 FROM accounting_auxitem i WHERE i.account_set_id = %(set)s
                                 AND i.element = e.element AND i.code = s.aux ->> e.element AND i.is_active)"""),
    ("voucher", """SELECT s.src_line, s.ref, '同一凭证的日期、期间、类别和附单据数必须一致'
                   FROM acc_bulk_stage s JOIN (
                       SELECT DISTINCT ON (ref) ref, vdate, period_no, category_code, attachments
                       FROM acc_bulk_stage ORDER BY ref, seq) h ON h.ref = s.ref
                   WHERE (s.vdate, s.period_no, s.category_code, s.attachments)
                         IS DISTINCT FROM (h.vdate, h.period_no, h.category_code, h.attachments)"""),
    ("lines", """SELECT min(src_line), ref, '凭证至少需要两行分录' FROM acc_bulk_stage GROUP BY ref
                 HAVING count(*) < 2"""),
    ("lines", """SELECT min(src_line), ref, '凭证分录不能超过 999 行' FROM acc_bulk_stage GROUP BY ref
                 HAVING count(*) > 999"""),
    ("lines", """SELECT min(s.src_line), s.ref,
                        CASE WHEN s.basis = 'financial' THEN '财务会计' ELSE '预算会计' END
                        || '分录借贷不平衡：借方 ' || sum(s.debit) || '，贷方 ' || sum(s.credit)
                        || '，差额 ' || (sum(s.debit) - sum(s.credit))
                 FROM acc_bulk_stage s WHERE s.basis IS NOT NULL GROUP BY s.ref, s.basis
                 HAVING sum(s.debit) <> sum(s.credit)"""),
]


def _dictionary_errors() -> list[dict]:
    """Auxiliary values of dictionary elements: each distinct value is checked once through the
    dictionary (which also locks it against deletion until commit)."""
    from fmis.dictionary.selectors import validate_value

    errors: list[dict] = []
    elements = [str(e) for e in DICTIONARY_ELEMENTS]
    with connection.cursor() as cur:
        cur.execute("""SELECT e.element, s.aux ->> e.element AS value, min(s.src_line), min(s.ref)
                       FROM acc_bulk_stage s JOIN unnest(%s::text[]) AS e(element) ON s.aux ? e.element
                       GROUP BY 1, 2 ORDER BY 3""", [elements])
        pairs = cur.fetchall()
    for element, value, _line, _ref in pairs:
        try:
            validate_value(element_code=DICTIONARY_ELEMENTS[AuxElement(element)], code=value, field="aux")
        except ValidationFailed as exc:
            with connection.cursor() as cur:
                cur.execute("SELECT src_line, ref FROM acc_bulk_stage WHERE aux ->> %s = %s ORDER BY src_line LIMIT %s",
                            [element, value, MAX_ERRORS])
                for line, ref in cur.fetchall():
                    errors.append({"line": line, "field": "aux", "voucher": ref,
                                   "message": f"第 {line} 行（凭证 {ref}）：{exc.message}"})
    return errors


def _validate(aset, default_category_id: int) -> None:
    custom = [str(e) for e in CUSTOM_ELEMENTS]
    params = {"set": aset.pk, "default_category": default_category_id, "pay_modes": list(PAY_MODES),
              "custom": custom, "custom_labels": [str(AuxElement(e).label) for e in custom]}
    errors: list[dict] = []
    with connection.cursor() as cur:
        cur.execute(_RESOLVE, params)
        for fld, sql in _CHECKS:
            cur.execute(f"SELECT * FROM ({sql}) AS bad(line, ref, message) ORDER BY 1 LIMIT %(limit)s",
                        {**params, "limit": MAX_ERRORS})
            errors += [{"line": line, "field": fld, "voucher": ref, "message": f"第 {line} 行（凭证 {ref}）：{msg}"}
                       for line, ref, msg in cur.fetchall()]
    errors += _dictionary_errors()
    if errors:
        _refuse(sorted(errors, key=lambda e: e["line"])[:MAX_ERRORS])


_INSERT = """
-- one row per voucher of the batch, in number order within each series
CREATE TEMP TABLE acc_bulk_voucher ON COMMIT DROP AS
SELECT s.ref, min(s.seq) AS first_line, min(s.period_id) AS period_id, min(s.vdate) AS vdate,
       min(s.category_id) AS category_id,
       CASE WHEN %(per_period)s THEN %(per_period_series)s ELSE min(c.code) END AS series,
       min(s.attachments) AS attachments, sum(s.debit) AS debit_total, sum(s.credit) AS credit_total,
       0 AS number
FROM acc_bulk_stage s JOIN accounting_vouchercategory c ON c.id = s.category_id
GROUP BY s.ref;
ANALYZE acc_bulk_voucher;

-- draw the numbers: the counters of all series in one upsert, in key order (row locks held to commit)
WITH wanted AS (
    SELECT period_id, series, count(*) AS n FROM acc_bulk_voucher GROUP BY period_id, series
), drawn AS (
    INSERT INTO accounting_vouchercounter (period_id, series, last)
    SELECT period_id, series, n FROM wanted ORDER BY period_id, series
    ON CONFLICT (period_id, series) DO UPDATE SET last = accounting_vouchercounter.last + EXCLUDED.last
    RETURNING period_id, series, last
), ranked AS (
    SELECT b.ref, d.last - w.n + row_number() OVER (PARTITION BY b.period_id, b.series
                                                    ORDER BY b.vdate, b.first_line) AS number
    FROM acc_bulk_voucher b
    JOIN wanted w ON w.period_id = b.period_id AND w.series = b.series
    JOIN drawn d ON d.period_id = b.period_id AND d.series = b.series
)
UPDATE acc_bulk_voucher b SET number = r.number FROM ranked r WHERE r.ref = b.ref;

CREATE TEMP TABLE acc_bulk_ids (ref text PRIMARY KEY, voucher_id bigint NOT NULL) ON COMMIT DROP;

WITH first_summary AS (
    SELECT DISTINCT ON (ref) ref, summary FROM acc_bulk_stage ORDER BY ref, seq
), ins AS (
    INSERT INTO accounting_voucher
        (account_set_id, period_id, fiscal_year, date, category_id, series, number, attachments, summary, status,
         debit_total, credit_total, entered_by_id, entered_at, is_machine, rule_code, event_name, source_type,
         source_id, source_no)
    SELECT %(set)s, b.period_id, p.year, b.vdate, b.category_id, b.series, b.number, b.attachments, f.summary,
           'entered', b.debit_total, b.credit_total, %(entrant)s, now(), false, '', '', %(source_type)s,
           %(batch_key)s, b.ref
    FROM acc_bulk_voucher b JOIN accounting_period p ON p.id = b.period_id JOIN first_summary f ON f.ref = b.ref
    ORDER BY b.period_id, b.series, b.number
    RETURNING id, source_no
)
INSERT INTO acc_bulk_ids (ref, voucher_id) SELECT source_no, id FROM ins;
ANALYZE acc_bulk_ids;

INSERT INTO accounting_voucherline (voucher_id, line_no, summary, account_id, basis, debit, credit, aux, aux_hash)
SELECT i.voucher_id, s.line_no, s.summary, s.account_id, s.basis, s.debit, s.credit, s.aux, s.aux_hash
FROM acc_bulk_stage s JOIN acc_bulk_ids i ON i.ref = s.ref
ORDER BY i.voucher_id, s.line_no;
"""

_POST = """
-- by primary key (an id array, so the plan never depends on how many vouchers are still 已录入)
UPDATE accounting_voucher v
   SET status = 'posted', audited_by_id = %(user)s, audited_at = now(), posted_by_id = %(user)s, posted_at = now()
 WHERE v.id = ANY (ARRAY(SELECT voucher_id FROM acc_bulk_ids)) AND v.status = 'entered';
--
-- the balance rows of each posted period and every later period of its year, one aggregated upsert
-- (as services.apply_balances does per voucher, keys in the same order)
WITH mv AS (
    SELECT p.year, p.number, s.account_id, s.aux_hash, s.aux, sum(s.debit) AS d, sum(s.credit) AS c
    FROM acc_bulk_stage s JOIN accounting_period p ON p.id = s.period_id
    GROUP BY p.year, p.number, s.account_id, s.aux_hash, s.aux
)
INSERT INTO accounting_balance
    (account_set_id, period_id, account_id, aux_hash, aux, opening, debit, credit, cum_debit, cum_credit, closing)
SELECT %(set)s, t.id, mv.account_id, mv.aux_hash, mv.aux,
       coalesce(sum(mv.d - mv.c) FILTER (WHERE mv.number < t.number), 0),
       coalesce(sum(mv.d) FILTER (WHERE mv.number = t.number), 0),
       coalesce(sum(mv.c) FILTER (WHERE mv.number = t.number), 0),
       sum(mv.d), sum(mv.c), sum(mv.d - mv.c)
FROM mv JOIN accounting_period t ON t.account_set_id = %(set)s AND t.year = mv.year AND t.number >= mv.number
GROUP BY t.id, t.number, mv.account_id, mv.aux_hash, mv.aux
ORDER BY mv.account_id, mv.aux_hash, t.number
ON CONFLICT (period_id, account_id, aux_hash) DO UPDATE SET
    opening = accounting_balance.opening + EXCLUDED.opening,
    debit = accounting_balance.debit + EXCLUDED.debit,
    credit = accounting_balance.credit + EXCLUDED.credit,
    cum_debit = accounting_balance.cum_debit + EXCLUDED.cum_debit,
    cum_credit = accounting_balance.cum_credit + EXCLUDED.cum_credit,
    closing = accounting_balance.closing + EXCLUDED.closing;
"""


def _run(cur, script: str, params: dict) -> None:
    """Execute a script statement by statement (each one's cost shows up on its own)."""
    for statement in script.split(";\n"):
        if statement.strip() and not all(line.strip().startswith("--") or not line.strip()
                                         for line in statement.splitlines()):
            cur.execute(statement, params)


def _existing(aset, batch_key: str) -> BulkResult | None:
    with connection.cursor() as cur:
        cur.execute("""SELECT count(*), count(*) FILTER (WHERE status = 'posted'), min(id), max(id),
                              (SELECT count(*) FROM accounting_voucherline l JOIN accounting_voucher w
                                 ON w.id = l.voucher_id
                                WHERE w.account_set_id = %(set)s AND w.source_type = %(type)s AND w.source_id = %(key)s)
                       FROM accounting_voucher v
                       WHERE v.account_set_id = %(set)s AND v.source_type = %(type)s AND v.source_id = %(key)s""",
                    {"set": aset.pk, "type": SOURCE_TYPE, "key": batch_key})
        nv, nposted, first, last, nl = cur.fetchone()
    if not nv:
        return None
    return BulkResult(batch_key=batch_key, created=False, vouchers=nv, lines=nl, posted=nposted == nv,
                      first_voucher_id=first, last_voucher_id=last)


def import_vouchers(*, account_set_id: int, lines: Iterable[BulkLine], batch_key: str, user,
                    post: bool = True) -> BulkResult:
    """Load a batch of vouchers into an account set, all or nothing, and (by default) post them.

    With ``post`` the vouchers come from outside the system: they have no entrant here, the
    importing user is their auditor and poster (so they need the entry, audit and posting
    functions); without it they are entered (已录入) by the user and follow the normal review.
    Raises ValidationFailed listing the bad lines (the first bad voucher and line in the message),
    and nothing is written. A batch key already imported returns its vouchers with
    ``created=False`` and writes nothing."""
    permissions.require(user, services.FN_VOUCHER_CREATE)
    if post:
        permissions.require(user, services.FN_VOUCHER_AUDIT)
        permissions.require(user, services.FN_VOUCHER_POST)
    batch_key = (batch_key or "").strip()
    if not batch_key or len(batch_key) > MAX_KEY:
        raise ValidationFailed("accounting.bulk_key_invalid", f"导入批次号不能为空且不超过 {MAX_KEY} 个字符",
                               field="batch_key")
    with transaction.atomic():
        aset = services._account_set(user, services.FN_VOUCHER_CREATE, account_set_id)
        if post:
            services._account_set(user, services.FN_VOUCHER_POST, account_set_id)
        if not aset.is_enabled:
            raise Conflict("accounting.set_disabled", f"账套 {aset.code} 未启用", field="account_set")
        with connection.cursor() as cur:
            # one import of a key at a time; a second one waits, then finds the first one's vouchers
            cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                        [f"accounting.bulk:{aset.pk}:{batch_key}"])
        done = _existing(aset, batch_key)
        if done is not None:
            return done
        category = services._category(aset, None)
        n_lines = _stage(lines)
        _validate(aset, category.pk)
        with connection.cursor() as cur:
            # share locks on the periods written (closing takes them exclusively), in id order
            cur.execute("""SELECT p.id, p.status, p.year, p.number FROM accounting_period p
                           WHERE p.id IN (SELECT DISTINCT period_id FROM acc_bulk_stage) ORDER BY p.id FOR SHARE""")
            for _pid, status, year, number in cur.fetchall():
                if status != "open":
                    raise Conflict("accounting.period_closed", f"会计期间 {year}-{number:02d} 已结账，不能录入或登账",
                                   field="period")
            _run(cur, _INSERT, {
                "set": aset.pk, "per_period": aset.numbering_mode == aset.NumberingMode.PER_PERIOD,
                "per_period_series": Voucher.PER_PERIOD_SERIES, "entrant": None if post else user.pk,
                "source_type": SOURCE_TYPE, "batch_key": batch_key})
            if post:
                _run(cur, _POST, {"set": aset.pk, "user": user.pk})
            cur.execute("""SELECT count(*), min(voucher_id), max(voucher_id) FROM acc_bulk_ids""")
            n_vouchers, first, last = cur.fetchone()
            cur.execute("""SELECT basis, sum(debit), sum(credit) FROM acc_bulk_stage GROUP BY basis ORDER BY basis""")
            totals = {b: {"debit": d, "credit": c} for b, d, c in cur.fetchall()}
            cur.execute("""SELECT p.year, p.number, b.series, min(b.number), max(b.number), count(*)
                           FROM acc_bulk_voucher b JOIN accounting_period p ON p.id = b.period_id
                           GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""")
            ranges = [{"period": f"{y}-{n:02d}", "series": s, "from": lo, "to": hi, "count": c}
                      for y, n, s, lo, hi, c in cur.fetchall()]
            cur.execute("".join(f"DROP TABLE {t};" for t in _TEMP_TABLES))
        result = BulkResult(batch_key=batch_key, created=True, vouchers=n_vouchers, lines=n_lines, posted=post,
                            first_voucher_id=first, last_voucher_id=last, totals=totals)
        audit.record(user, "accounting.voucher.bulk_import", aset, before=None, after={
            "account_set": aset.code, "batch_key": batch_key, "posted": post, "vouchers": n_vouchers,
            "lines": n_lines, "first_voucher_id": first, "last_voucher_id": last,
            "totals": {b: {k: fmt(v) for k, v in t.items()} for b, t in totals.items()}, "numbers": ranges})
    return result


# --- files: xlsx or CSV ------------------------------------------------------------------------------

FILE_COLUMNS = {
    "凭证编号": "voucher_ref", "voucher_ref": "voucher_ref",
    "日期": "date", "凭证日期": "date", "date": "date",
    "期间": "period", "period": "period",
    "凭证类别": "category", "category": "category",
    "附单据数": "attachments", "attachments": "attachments",
    "摘要": "summary", "summary": "summary",
    "科目编码": "account", "account": "account",
    "借方金额": "debit", "debit": "debit",
    "贷方金额": "credit", "credit": "credit",
    **{str(label): f"aux:{value}" for value, label in AuxElement.choices},
    **{value: f"aux:{value}" for value in AuxElement.values},
}
REQUIRED_COLUMNS = ("voucher_ref", "date", "account", "debit", "credit")
TEMPLATE_HEADERS = ["凭证编号", "日期", "期间", "凭证类别", "附单据数", "摘要", "科目编码", "借方金额", "贷方金额",
                    *[str(label) for _v, label in AuxElement.choices]]


def _csv_rows(content: bytes):
    import csv
    import io

    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationFailed("import.encoding", "CSV 文件编码无法识别（应为 UTF-8 或 GB18030）", field="file")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise ValidationFailed("import.empty", "文件为空：第 1 行应为表头", line=1)
    index = {FILE_COLUMNS[h.strip()]: i for i, h in enumerate(header) if h.strip() in FILE_COLUMNS}
    missing = [k for k in REQUIRED_COLUMNS if k not in index]
    if missing:
        names = "、".join(t for t, k in FILE_COLUMNS.items() if k in missing and not t.isascii())
        raise ValidationFailed("import.missing_columns", f"第 1 行缺少列：{names}", line=1)
    for line, row in enumerate(reader, start=2):
        if not any(c.strip() for c in row):
            continue
        yield line, {k: (row[i].strip() if i < len(row) else "") for k, i in index.items()}


def read_file(content: bytes, filename: str) -> list[BulkLine]:
    """The lines of an xlsx or CSV voucher file (one row per voucher line; rows with the same
    凭证编号 form a voucher). Malformed cells are all reported at once, naming the row."""
    import io

    from fmis.platform.xlsx import read_rows

    if filename.lower().endswith(".csv"):
        rows = _csv_rows(content)
    else:
        rows = read_rows(io.BytesIO(content), FILE_COLUMNS, required=REQUIRED_COLUMNS)
    out: list[BulkLine] = []
    errors: list[dict] = []
    for line, row in rows:
        ref = row.get("voucher_ref", "")
        try:
            try:
                on = dt.date.fromisoformat(row.get("date", "")[:10])
            except ValueError:
                raise ValidationFailed("accounting.bulk_date_invalid", f"日期 {row.get('date', '')} 不正确（应为 YYYY-MM-DD）",
                                       field="date") from None
            period = row.get("period", "")
            attachments = row.get("attachments", "")
            if (period and not period.isdigit()) or (attachments and not attachments.isdigit()):
                raise ValidationFailed("accounting.bulk_number_invalid", "期间和附单据数应为整数", field="period")
            out.append(BulkLine(
                voucher_ref=ref, date=on, account_code=row.get("account", ""),
                debit=to_money(row.get("debit") or "0", field="debit"),
                credit=to_money(row.get("credit") or "0", field="credit"), summary=row.get("summary", ""),
                aux={k[4:]: v for k, v in row.items() if k.startswith("aux:") and v},
                category_code=row.get("category", ""), attachments=int(attachments or 0),
                period_number=int(period) if period else None, source_line=line))
        except ValidationFailed as exc:
            errors.append({"line": line, "field": exc.field or "line", "voucher": ref,
                           "message": f"第 {line} 行（凭证 {ref or '（空）'}）：{exc.message}"})
    if errors:
        _refuse(errors[:MAX_ERRORS])
    return out


def import_file(*, account_set_id: int, content: bytes, filename: str, user, post: bool = True,
                batch_key: str | None = None) -> BulkResult:
    """凭证批量导入 from an xlsx or CSV file; the batch key defaults to the file's digest, so the
    same file imported again changes nothing."""
    permissions.require(user, services.FN_VOUCHER_CREATE)
    lines = read_file(content, filename)
    return import_vouchers(account_set_id=account_set_id, lines=lines, batch_key=batch_key or batch_key_of(content),
                           user=user, post=post)
