"""Assets: the create/edit/delete screen, the lock after submission, the xlsx import and scope."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client

from fmis.basicinfo import services
from fmis.basicinfo.models import Asset, InfoSubmission
from fmis.basicinfo.services import AssetInput
from fmis.platform.errors import Conflict, NotFound, ValidationFailed
from fmis.platform.models import AuditRecord

from .conftest import xlsx

pytestmark = pytest.mark.django_db

HEADERS = ["单位编码", "资产编号", "资产名称", "资产分类", "数量", "计量单位", "原值", "净值", "取得日期", "状态"]


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def form_data(world, **kw) -> dict:
    data = {"agency": world.unit.pk, "fiscal_year": 2026, "code": "ZC-0001", "name": "教学楼", "category": "building",
            "quantity": "1", "unit": "栋", "original_value": "3,000,000.00", "net_value": "2500000",
            "acquired_on": "2015-09-01", "status": "in_use"}
    data.update(kw)
    return data


def asset_input(world, **kw) -> AssetInput:
    base = {"agency_id": world.unit.pk, "fiscal_year": 2026, "code": "ZC-0001", "name": "教学楼",
            "category": "building", "original_value": Decimal(3000000), "net_value": Decimal(2500000)}
    base.update(kw)
    return AssetInput(**base)


def test_create_and_edit_via_screen(world):
    web = client_for(world.unit_user)
    assert web.get("/basicinfo/assets/new/").status_code == 200
    resp = web.post("/basicinfo/assets/new/", form_data(world))
    assert resp.status_code == 302 and resp["Location"].endswith("/basicinfo/assets/")
    asset = Asset.objects.get()
    assert (asset.agency_id, asset.original_value, asset.net_value, asset.unit) == (
        world.unit.pk, Decimal("3000000.00"), Decimal("2500000.00"), "栋")
    listing = web.get("/basicinfo/assets/").content.decode()
    assert f"/basicinfo/assets/{asset.pk}/" in listing and "/basicinfo/import/assets/" in listing
    page = web.get(f"/basicinfo/assets/{asset.pk}/").content.decode()
    assert "ZC-0001" in page and f"/basicinfo/assets/{asset.pk}/delete/" in page

    # a refused value is shown on the page and nothing changes
    resp = web.post(f"/basicinfo/assets/{asset.pk}/", form_data(world, net_value="4000000"))
    assert resp.status_code == 200 and "净值不能大于原值" in resp.content.decode()
    assert Asset.objects.get(pk=asset.pk).net_value == Decimal("2500000.00")

    resp = web.post(f"/basicinfo/assets/{asset.pk}/", form_data(world, name="综合教学楼", status="idle"))
    assert resp.status_code == 302
    asset.refresh_from_db()
    assert (asset.name, asset.status) == ("综合教学楼", "idle")
    actions = list(AuditRecord.objects.filter(object_type="basicinfo.asset").values_list("action", flat=True))
    assert "basicinfo.asset.create" in actions and "basicinfo.asset.update" in actions

    assert web.post(f"/basicinfo/assets/{asset.pk}/delete/").status_code == 302
    assert not Asset.objects.exists()
    assert AuditRecord.objects.filter(action="basicinfo.asset.delete", object_id=str(asset.pk)).exists()


def test_duplicate_code_refused(world):
    services.create_asset(user=world.unit_user, data=asset_input(world))
    resp = client_for(world.unit_user).post("/basicinfo/assets/new/", form_data(world))
    assert resp.status_code == 200 and "已有资产编号 ZC-0001" in resp.content.decode()
    assert Asset.objects.count() == 1


def test_editing_refused_after_submission(world):
    services.create_person(user=world.unit_user, data=world.person())
    asset = services.create_asset(user=world.unit_user, data=asset_input(world))
    sub = services.submit_year(user=world.unit_user, agency_id=world.unit.pk, fiscal_year=2026)
    assert sub.status == InfoSubmission.Status.SUBMITTED
    with pytest.raises(Conflict) as exc:
        services.update_asset(user=world.unit_user, asset_id=asset.pk, data=asset_input(world, name="改名"))
    assert exc.value.code == "basicinfo.year_locked"
    with pytest.raises(Conflict):
        services.delete_asset(user=world.unit_user, asset_id=asset.pk)
    web = client_for(world.unit_user)
    resp = web.post(f"/basicinfo/assets/{asset.pk}/", form_data(world, name="改名"))
    assert resp.status_code == 200 and "不能修改" in resp.content.decode()
    resp = web.post("/basicinfo/assets/new/", form_data(world, code="ZC-0002"))
    assert resp.status_code == 200 and "不能修改" in resp.content.decode()
    rows = [["990100101001", "ZC-0003", "电脑", "通用设备", "10", "台", "50000", "20000", "", ""]]
    with pytest.raises(ValidationFailed) as exc:
        services.import_assets(user=world.unit_user, file=xlsx(HEADERS, rows), fiscal_year=2026)
    assert exc.value.errors[0]["field"] == "agency"
    assert Asset.objects.get().name == "教学楼" and Asset.objects.count() == 1

    # returned: editable again
    services.review_year(user=world.supervisor, submission_id=sub.pk, action="return", text="资产需补充")
    assert InfoSubmission.objects.get(pk=sub.pk).status == InfoSubmission.Status.RETURNED
    services.update_asset(user=world.unit_user, asset_id=asset.pk, data=asset_input(world, name="改名"))
    assert Asset.objects.get().name == "改名"


def test_import_all_or_nothing_with_line_errors(world):
    rows = [
        ["990100101001", "ZC-0001", "教学楼", "房屋", "1", "栋", "3000000", "2500000", "2015-09-01", "在用"],
        ["990100101001", "ZC-0002", "电脑", "通用设备", "10", "台", "50000", "60000", "", ""],
        ["990100102", "ZC-0003", "办公桌", "家具和用具", "5", "张", "5000", "3000", "", ""],
        ["990100101001", "ZC-0004", "汽车", "交通工具", "1", "辆", "200000", "0", "", ""],
        ["990100101001", "ZC-0001", "教学楼", "房屋", "1", "栋", "3000000", "2500000", "", ""],
        ["990100101001", "ZC-0005", "软件", "无形资产", "0", "套", "1000", "0", "", ""],
    ]
    with pytest.raises(ValidationFailed) as exc:
        services.import_assets(user=world.unit_user, file=xlsx(HEADERS, rows), fiscal_year=2026)
    lines = {(e["line"], e["field"]) for e in exc.value.errors}
    assert lines == {(3, "net_value"), (4, "agency"), (5, "category"), (6, "code"), (7, "quantity")}
    assert all(e["message"].startswith(f"第 {e['line']} 行") for e in exc.value.errors)
    assert not Asset.objects.exists() and not InfoSubmission.objects.exists()

    # the screen shows the line errors and writes nothing
    web = client_for(world.unit_user)
    resp = web.post("/basicinfo/import/assets/", {"fiscal_year": "2026", "file": xlsx(HEADERS, rows)})
    assert resp.status_code == 200 and "第 3 行" in resp.content.decode()
    assert not Asset.objects.exists()


def test_reimport_is_idempotent(world):
    rows = [["990100101001", "ZC-0001", "教学楼", "房屋", "1", "栋", "3000000", "2500000", "2015-09-01", "在用"],
            ["990100101001", "ZC-0002", "电脑", "通用设备", "10", "台", "50000", "20000", "", "闲置"]]
    r1 = services.import_assets(user=world.unit_user, file=xlsx(HEADERS, rows), fiscal_year=2026)
    assert (r1.created, r1.updated, r1.unchanged) == (2, 0, 0)
    n = AuditRecord.objects.count()
    r2 = services.import_assets(user=world.unit_user, file=xlsx(HEADERS, rows), fiscal_year=2026)
    assert (r2.created, r2.updated, r2.unchanged) == (0, 0, 2)
    assert AuditRecord.objects.count() == n and Asset.objects.count() == 2
    rows[1][7] = "15000"
    r3 = services.import_assets(user=world.unit_user, file=xlsx(HEADERS, rows), fiscal_year=2026)
    assert (r3.created, r3.updated, r3.unchanged) == (0, 1, 1)
    assert Asset.objects.get(code="ZC-0002").net_value == Decimal("15000.00")
    assert AuditRecord.objects.count() == n + 1

    # the screen runs the same import
    web = client_for(world.unit_user)
    resp = web.post("/basicinfo/import/assets/", {"fiscal_year": "2026", "file": xlsx(HEADERS, rows)})
    assert resp.status_code == 302 and Asset.objects.count() == 2


def test_scope_other_unit_gets_404(world):
    asset = services.create_asset(user=world.unit_user, data=asset_input(world))
    other = client_for(world.unit2_user)
    assert other.get(f"/basicinfo/assets/{asset.pk}/").status_code == 404
    assert other.post(f"/basicinfo/assets/{asset.pk}/", form_data(world, name="x")).status_code == 404
    assert other.post(f"/basicinfo/assets/{asset.pk}/delete/").status_code == 404
    assert "ZC-0001" not in other.get("/basicinfo/assets/").content.decode()
    body = {"agency_code": "990100101001", "fiscal_year": 2026, "code": "ZC-0001", "name": "x", "category": "building"}
    assert other.put(f"/api/v1/basicinfo/assets/{asset.pk}", json.dumps(body),
                     content_type="application/json").status_code == 404
    assert other.delete(f"/api/v1/basicinfo/assets/{asset.pk}").status_code == 404
    with pytest.raises(NotFound):
        services.update_asset(user=world.unit2_user, asset_id=asset.pk, data=asset_input(world, name="x"))
    with pytest.raises(ValidationFailed):
        services.create_asset(user=world.unit2_user, data=asset_input(world, code="ZC-0009"))
    assert Asset.objects.get().name == "教学楼" and Asset.objects.count() == 1


def test_api_create_update_delete(world):
    unit = client_for(world.unit_user)
    body = {"agency_code": "990100101001", "fiscal_year": 2026, "code": "ZC-0100", "name": "打印机",
            "category": "general", "quantity": "2", "unit": "台", "original_value": "8000", "net_value": "5000"}
    resp = unit.post("/api/v1/basicinfo/assets", json.dumps(body), content_type="application/json")
    assert resp.status_code == 201, resp.content
    pk = resp.json()["id"]
    body["net_value"] = "4000"
    resp = unit.put(f"/api/v1/basicinfo/assets/{pk}", json.dumps(body), content_type="application/json")
    assert resp.status_code == 200 and Decimal(resp.json()["net_value"]) == Decimal(4000)
    assert unit.delete(f"/api/v1/basicinfo/assets/{pk}").status_code == 204
    assert not Asset.objects.exists()
