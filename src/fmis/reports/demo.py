"""Demo data of the reports module (``fmis seed`` calls ``seed_demo``): the standard statements
(also loaded after every migrate) and two shared user-defined reports of the demo province's
accounting centre, which every unit of the province can compute on its own books. Idempotent: a
report whose code exists is left alone."""

from __future__ import annotations

from collections.abc import Callable

# (code, name, note, rows of cells A.. per row)
DEMO_REPORTS = [
    ("ZJSZ", "资金收支情况表", "本月与本年累计的财政拨款收支和资金结存", [
        ["项目", "本月", "本年累计", "期末余额"],
        ["财政拨款预算收入", "=FS(6001,'贷')", "=LJ(6001,'贷')", ""],
        ["行政支出", "=FS(7101,'借')", "=LJ(7101,'借')", ""],
        ["事业支出", "=FS(7201,'借')", "=LJ(7201,'借')", ""],
        ["支出合计", "=B3+B4", "=C3+C4", ""],
        ["收支差额", "=B2-B5", "=C2-C5", ""],
        ["资金结存", "", "", "=QM(8001)"],
        ["其中：零余额账户用款额度", "", "", "=QM(800101)"],
        ["财政应返还额度", "", "", "=QM(800103)"],
        ["支出进度（%）", "", "=ROUND(C5/MAX(C2,1)*100,2)", ""],
    ]),
    ("JBXM", "基本支出与项目支出", "财政拨款支出按有无项目辅助核算分列，人员经费与公用经费按部门经济分类", [
        ["项目", "本月", "本年累计"],
        ["基本支出", "=FS(720101,'借','project:-')+FS(710101,'借','project:-')",
         "=LJ(720101,'借','project:-')+LJ(710101,'借','project:-')"],
        ["其中：人员经费", "=FS(720101,'借','project:-;dept_eco:301')+FS(710101,'借','project:-;dept_eco:301')",
         "=LJ(720101,'借','project:-;dept_eco:301')+LJ(710101,'借','project:-;dept_eco:301')"],
        ["公用经费", "=FS(720101,'借','project:-;dept_eco:302')+FS(710101,'借','project:-;dept_eco:302')",
         "=LJ(720101,'借','project:-;dept_eco:302')+LJ(710101,'借','project:-;dept_eco:302')"],
        ["项目支出", "=FS(720101,'借','project:*')+FS(710101,'借','project:*')",
         "=LJ(720101,'借','project:*')+LJ(710101,'借','project:*')"],
        ["合计", "=B2+B5", "=C2+C5"],
    ]),
]


def seed_demo(*, scale: str, write: Callable[[str], object] | None = None) -> dict[str, int]:
    from fmis.iam.models import User
    from fmis.indicators.demo import province_plan
    from fmis.orgs import demo as orgs_demo
    from fmis.reports.models import CustomReport
    from fmis.reports.selectors import col_name
    from fmis.reports.services import ensure_standard_statements, save_custom_report

    changed = ensure_standard_statements()
    p = province_plan(scale)
    owner_name = next((u.username for u in p.users if u.role_code == "accounting"
                       and u.region_code == orgs_demo.DEMO_PROVINCE_CODE), None)
    owner = User.objects.filter(username=owner_name).first() if owner_name else None
    created = 0
    if owner is None:
        if write:
            write("reports: no demo accounting user of the province; shared reports skipped\n")
        return {"statements": changed, "custom_reports": 0}
    for code, name, note, rows in DEMO_REPORTS:
        if CustomReport.objects.filter(account_set__isnull=True, code=code).exists():
            continue
        cells = {f"{col_name(c)}{r + 1}": text for r, row in enumerate(rows) for c, text in enumerate(row) if text}
        save_custom_report(user=owner, code=code, name=name, note=note, n_rows=len(rows),
                           n_cols=max(len(r) for r in rows), cells=cells)
        created += 1
    if write:
        write(f"reports: {changed} statement definitions written, {created} shared reports created\n")
    return {"statements": changed, "custom_reports": created}
