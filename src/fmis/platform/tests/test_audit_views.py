"""The audit log screens: who gets in, filters, paging, export, detail diff, chain verification."""

import io

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from fmis.platform import audit, listing
from fmis.platform.models import AuditRecord

LIST = "/platform/audit/"


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def log(db, make_user):
    alice = make_user("alice")
    with transaction.atomic():
        for i in range(5):
            audit.record(alice, "orgs.agency.update", object_type="orgs.agency", object_id=str(i),
                         object_repr=f"示例单位{i}", before={"name": f"旧{i}", "code": "001"},
                         after={"name": f"新{i}", "code": "001"})
        audit.record(None, "iam.user.create", object_type="iam.user", object_id="9", object_repr="新用户")
    return alice


def test_url_name():
    assert reverse("platform:audit") == LIST


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(log):
    resp = Client().get(LIST)
    assert resp.status_code == 302 and "/iam/login/" in resp["Location"]


@pytest.mark.django_db
def test_user_without_the_function_is_refused(log, clerk):
    c = client_for(clerk)
    resp = c.get(LIST)
    assert resp.status_code == 403
    assert "platform.audit.view" in resp.content.decode()
    assert "示例单位" not in resp.content.decode()
    rec = AuditRecord.objects.first()
    assert c.get(reverse("platform:audit-detail", args=[rec.pk])).status_code == 403
    assert c.get(LIST + "?export=xlsx").status_code == 403
    assert c.post(reverse("platform:audit-verify")).status_code == 403


@pytest.mark.django_db
def test_auditor_and_superuser_see_the_list(log, auditor, superuser):
    for user in (auditor, superuser):
        resp = client_for(user).get(LIST)
        assert resp.status_code == 200
        html = resp.content.decode()
        assert "示例单位4" in html and "新用户" in html and "system" in html


@pytest.mark.django_db
def test_menu_links_to_the_audit_log(auditor):
    html = client_for(auditor).get("/").content.decode()
    assert f'href="{LIST}"' in html


@pytest.mark.django_db
def test_filters(log, auditor):
    c = client_for(auditor)
    assert c.get(LIST, {"action": "iam."}).context["page_obj"].paginator.count == 1
    assert c.get(LIST, {"actor": "alice"}).context["page_obj"].paginator.count == 5
    assert c.get(LIST, {"q": "示例单位3"}).context["page_obj"].paginator.count == 1
    assert c.get(LIST, {"object_type": "orgs.agency", "object_id": "2"}).context["page_obj"].paginator.count == 1
    assert c.get(LIST, {"date_from": "2000-01-01", "date_to": "2000-01-02"}).context["page_obj"].paginator.count == 0


@pytest.mark.django_db
def test_bad_filters_are_explained_not_500(log, auditor):
    c = client_for(auditor)
    resp = c.get(LIST, {"date_from": "not-a-date"})
    assert resp.status_code == 200 and resp.context["error"]
    resp = c.get(LIST, {"date_from": "2024-05-02", "date_to": "2024-05-01"})
    assert resp.status_code == 200 and "开始日期不能晚于结束日期" in resp.content.decode()


@pytest.mark.django_db
def test_paging_keeps_the_filters(log, auditor):
    with transaction.atomic():
        for i in range(listing.DEFAULT_PAGE_SIZE):
            audit.record(None, "orgs.agency.create", object_type="orgs.agency", object_id=str(100 + i))
    c = client_for(auditor)
    first = c.get(LIST, {"action": "orgs."})
    assert first.context["page_obj"].paginator.num_pages == 2
    html = first.content.decode()
    assert "action=orgs.&amp;page=2" in html
    last = c.get(LIST, {"action": "orgs.", "page": 2})
    assert [r.object_id for r in last.context["object_list"]] == ["4", "3", "2", "1", "0"]  # newest first


@pytest.mark.django_db
def test_xlsx_export_has_the_filtered_rows(log, auditor):
    resp = client_for(auditor).get(LIST, {"action": "orgs.", "export": "xlsx"})
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(resp.content), read_only=True).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:5] == ("ID", "时间", "操作人ID", "操作人", "操作")
    assert len(rows) == 6
    assert {r[4] for r in rows[1:]} == {"orgs.agency.update"}
    assert '"name":"新4"' in "".join(str(r[9]) for r in rows[1:])


@pytest.mark.django_db
def test_detail_shows_the_before_after_diff(log, auditor):
    rec = AuditRecord.objects.filter(object_id="3").get()
    resp = client_for(auditor).get(reverse("platform:audit-detail", args=[rec.pk]))
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "旧3" in html and "新3" in html and rec.hash in html
    rows = {r["field"]: r["changed"] for r in resp.context["rows"]}
    assert rows == {"code": False, "name": True}
    assert 'data-changed="1"' in html and 'data-changed="0"' in html


@pytest.mark.django_db
def test_detail_of_a_missing_record_is_a_404_page(auditor):
    resp = client_for(auditor).get(reverse("platform:audit-detail", args=[999999]))
    assert resp.status_code == 404 and "审计记录不存在" in resp.content.decode()


@pytest.mark.django_db
def test_verify_button_reports_intact_and_broken_chains(log, auditor, tamper):
    c = client_for(auditor)
    assert c.get(reverse("platform:audit-verify")).status_code == 405
    resp = c.post(reverse("platform:audit-verify"))
    assert resp.status_code == 200
    assert resp.context["result"].ok and "哈希链完整" in resp.content.decode()

    victim = AuditRecord.objects.filter(object_id="2").get()
    with tamper() as cur:
        cur.execute("UPDATE platform_auditrecord SET object_repr = 'x' WHERE id = %s", [victim.pk])
    resp = c.post(reverse("platform:audit-verify"))
    html = resp.content.decode()
    assert not resp.context["result"].ok
    assert "哈希链已被破坏" in html and f"#{victim.pk}" in html
