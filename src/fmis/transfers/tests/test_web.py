"""API, screens, management commands and demo data of the transfer-payment module."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from fmis.transfers import local, services


def _alloc(user, **kw):
    args = {"from_region": "990000", "to_region": "990100", "amount": Decimal("1000000.00"), "fund_code": "ZD001",
                "direct": True, "func_code": "2080801", "purpose": "困难群众救助", "doc_no": "示财〔2026〕1号", "fiscal_year": 2026}
    args.update(kw)
    return services.allocate(user=user, **args)


def _flow(users):
    a1 = _alloc(users["prov"])
    local.flush()
    services.confirm_receipt(user=users["city"], allocation_id=a1)
    local.flush()
    a2 = _alloc(users["city"], from_region="990100", to_region="990101", amount=Decimal("400000.00"), parent_id=a1)
    local.flush()
    return a1, a2


@pytest.mark.django_db(transaction=True)
def test_api_allocate_list_trace_statistics_and_exchange(client, users, ledger):
    client.force_login(users["prov"])
    body = {"from_region": "990000", "to_region": "990100", "amount": "1234.56", "fund_code": "F1", "direct": True,
            "func_code": "201", "purpose": "测试", "doc_no": "D-1", "fiscal_year": 2026}
    r = client.post("/api/v1/transfers/allocations", data=json.dumps(body), content_type="application/json")
    assert r.status_code == 202, r.content
    tx_id = r.json()["tx_id"]
    local.flush()
    r = client.get(f"/api/v1/transfers/allocations/{tx_id}")
    assert r.status_code == 200 and r.json()["amount"] == 123456
    assert client.get("/api/v1/transfers/allocations").json()["count"] == 1
    assert client.get(f"/api/v1/transfers/allocations/{tx_id}/trace").json()["amount"] == 123456
    stats = client.get("/api/v1/transfers/statistics?by=fund").json()
    assert stats[0]["key"] == "F1" and stats[0]["amount"] == 123456
    assert client.get("/api/v1/transfers/statistics?by=nonsense").status_code == 422
    st = client.get(f"/api/v1/transfers/exchange/transactions/{tx_id}").json()
    assert (st["status"], st["valid"]) == ("committed", True)
    receipt = client.get(f"/api/v1/transfers/exchange/receipts/{tx_id}")
    assert receipt.status_code == 200 and receipt.json()["transaction"]["tx_id"] == tx_id
    assert client.get("/api/v1/transfers/members").json()["count"] == 4
    assert client.get("/api/v1/transfers/blocks").json()["count"] >= 2
    # an envelope that is not base64 / not signed by a member
    r = client.post("/api/v1/transfers/exchange/transactions", data=json.dumps({"envelope": "!!"}),
                    content_type="application/json")
    assert r.status_code == 422
    bad = base64.b64encode(b'{"type":"tx"}').decode()
    r = client.post("/api/v1/transfers/exchange/transactions", data=json.dumps({"envelope": bad}),
                    content_type="application/json")
    assert r.status_code == 422 and r.json()["code"] == "transfers.envelope_malformed"
    # out of scope answers 404; the reader cannot write
    client.force_login(users["county"])
    assert client.get(f"/api/v1/transfers/allocations/{tx_id}").status_code == 404
    client.force_login(users["reader"])
    r = client.post("/api/v1/transfers/allocations", data=json.dumps(body), content_type="application/json")
    assert r.status_code == 403


@pytest.mark.django_db(transaction=True)
def test_screens(client, users, ledger):
    a1, a2 = _flow(users)
    client.force_login(users["prov"])
    r = client.get(reverse("transfers:allocations"))
    assert r.status_code == 200 and "示财〔2026〕1号" in r.content.decode()
    r = client.get(reverse("transfers:allocations") + "?export=xlsx")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    r = client.get(reverse("transfers:allocation", args=[a1]))
    assert r.status_code == 200 and 'data-testid="trace"' in r.content.decode()
    assert client.get(reverse("transfers:statistics") + "?by=region").status_code == 200
    assert client.get(reverse("transfers:members")).status_code == 200
    assert client.get(reverse("transfers:blocks")).status_code == 200
    assert client.get(reverse("transfers:block", args=[1])).status_code == 200
    r = client.get(reverse("transfers:receipt", args=[a1]))
    assert r.status_code == 200 and json.loads(r.content)["transaction"]["tx_id"] == a1
    # actions through the screens: the county confirms and spends; an over-spend shows the ledger's reason
    client.force_login(users["county"])
    r = client.post(reverse("transfers:allocation_action", args=[a2, "receive"]), follow=True)
    assert "已上链" in r.content.decode()
    r = client.post(reverse("transfers:allocation_action", args=[a2, "expend"]),
                    {"amount": "400000.01", "payee": "某单位", "voucher_no": "V1"}, follow=True)
    assert "allocation.over_spent" in r.content.decode()
    r = client.post(reverse("transfers:allocation_action", args=[a2, "expend"]),
                    {"amount": "100.00", "payee": "某单位", "voucher_no": "V2"}, follow=True)
    assert "已上链" in r.content.decode()
    assert client.get(reverse("transfers:allocation", args=[a1])).status_code == 404  # the province's is out of scope
    # new allocation form
    client.force_login(users["prov"])
    r = client.post(reverse("transfers:allocation_create"), {
        "from_region": "990000", "to_region": "990200", "amount": "10.00", "fund_code": "F2", "func_code": "201",
        "purpose": "表单下达", "doc_no": "F-1", "fiscal_year": "2026"}, follow=True)
    assert r.status_code == 200 and "已上链" in r.content.decode()


@pytest.mark.django_db(transaction=True)
def test_verify_and_verify_receipt_commands(users, ledger, tmp_path, capsys):
    from django.db import connection

    _a1, a2 = _flow(users)
    call_command("chain_verify", "--quiet")
    assert capsys.readouterr().out.startswith("OK")
    from fmis.transfers import selectors

    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(selectors.receipt(user=users["prov"], tx_id=a2)))
    call_command("chain_verify_receipt", str(path))
    assert "OK" in capsys.readouterr().out
    data = json.loads(path.read_text())
    data["transaction"]["log_index"] += 1
    path.write_text(json.dumps(data))
    with pytest.raises(SystemExit):
        call_command("chain_verify_receipt", str(path))
    assert "FAIL" in capsys.readouterr().out
    with connection.cursor() as cur:
        cur.execute("UPDATE transfers_state SET value = jsonb_set(value, '{amount}', '1') WHERE key = %s",
                    [f"alloc/{a2}"])
    with pytest.raises(SystemExit):
        call_command("chain_verify", "--quiet")
    assert "MISMATCH state" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_demo_seed_builds_a_consortium_with_allocations(province, make_user):
    from fmis.orgs.models import FinanceDepartment, Region
    from fmis.transfers import demo
    from fmis.transfers.models import Allocation, ConsortiumConfig
    from fmis.transfers.tests.conftest import _empty_ledger_tables

    local.reset()
    _empty_ledger_tables()
    for r in Region.objects.all():
        FinanceDepartment.objects.create(region=r, code=r.code, name=f"{r.name}财政局")
    from fmis.iam.models import User

    make_user("admin", user_type=User.UserType.SUPER)
    out = demo.seed_demo(scale="small")
    assert out["created"] == 1
    assert ConsortiumConfig.objects.count() == 1
    assert Allocation.objects.filter(parent__isnull=True).count() == 4  # 2 funds x 2 cities
    assert Allocation.objects.filter(parent__isnull=False).count() == 4  # city one's two counties x 2 funds
    assert Allocation.objects.filter(spent__gt=0).count() == 4
    assert demo.seed_demo(scale="small") == {"created": 0}
    local.reset()
    _empty_ledger_tables()
