import pytest

from fmis.dictionary import services
from fmis.dictionary.models import DataElement, Value

pytestmark = pytest.mark.django_db


def test_menu_and_pages_render(client, admin, func_element):
    client.force_login(admin)
    resp = client.get("/dictionary/elements/")
    assert resp.status_code == 200
    text = resp.content.decode()
    assert 'data-function="dictionary.element.view"' in text and func_element.code in text
    assert client.get("/dictionary/elements/", {"export": "xlsx"})["Content-Type"].startswith(
        "application/vnd.openxmlformats")
    for url in (f"/dictionary/elements/{func_element.code}/", f"/dictionary/elements/{func_element.code}/values/new/",
                f"/dictionary/elements/{func_element.code}/import/", f"/dictionary/elements/{func_element.code}/versions/",
                f"/dictionary/elements/{func_element.code}/merge/", f"/dictionary/elements/{func_element.code}/split/",
                "/dictionary/views/", "/dictionary/views/new/", "/dictionary/elements/new/",
                f"/dictionary/elements/{func_element.code}/edit/"):
        assert client.get(url).status_code == 200, url
    assert client.get(f"/dictionary/elements/{func_element.code}/template/").status_code == 200


def test_page_shows_domain_errors_instead_of_failing(client, admin, func_element, make_xlsx):
    client.force_login(admin)
    resp = client.post(f"/dictionary/elements/{func_element.code}/values/new/", {"code": "2010", "name": "坏"})
    assert resp.status_code == 400 and "不符合编码格式" in resp.content.decode()
    pk = Value.objects.get(element=func_element, code="20101").pk
    resp = client.post(f"/dictionary/elements/{func_element.code}/values/{pk}/delete/", follow=True)
    assert "9-停用" in resp.content.decode()
    resp = client.post(f"/dictionary/elements/{func_element.code}/import/",
                       {"file": make_xlsx([("2070101", "文化", "", "", "", "", "")])})
    assert resp.status_code == 400
    page = resp.content.decode()
    assert 'data-testid="line-errors"' in page and "20701 不存在" in page


def test_user_without_function_is_refused(client, make_user, make_role, func_element):
    user = make_user("looker", roles=[make_role("looker", ["dictionary.element.view"])])
    client.force_login(user)
    assert client.get(f"/dictionary/elements/{func_element.code}/").status_code == 200
    resp = client.post(f"/dictionary/elements/{func_element.code}/values/new/", {"code": "2010103", "name": "x"})
    assert resp.status_code == 403
    assert not Value.objects.filter(code="2010103").exists()
    assert client.get("/dictionary/elements/NOPE/").status_code == 404


def test_view_editor_preview_and_save(client, admin, func_element):
    client.force_login(admin)
    form = {"code": "V_UI", "name": "界面视图", "source_code": func_element.code, "status": "0", "logic": "and",
            "field_0": "code", "op_0": "starts_with", "value_0": "201",
            "field_1": "level", "op_1": "eq", "value_1": "1", "not_1": "1", "action": "preview"}
    resp = client.post("/dictionary/views/new/", form)
    assert resp.status_code == 200 and 'data-testid="preview"' in resp.content.decode()
    assert not DataElement.objects.filter(code="V_UI").exists()
    form["action"] = "save"
    resp = client.post("/dictionary/views/new/", form)
    assert resp.status_code == 302
    view = DataElement.objects.get(code="V_UI")
    assert view.filter == {"logic": "and", "items": [
        {"field": "code", "op": "starts_with", "value": "201"},
        {"logic": "not", "item": {"field": "level", "op": "eq", "value": "1"}}]}
    resp = client.get("/dictionary/views/V_UI/")
    assert "2010101" in resp.content.decode()
    assert client.get("/dictionary/views/V_UI/", {"edit": "1"}).status_code == 200


def test_merge_form(client, admin, func_element):
    client.force_login(admin)
    resp = client.post(f"/dictionary/elements/{func_element.code}/merge/",
                       {"sources": "2010101, 2010102", "target_code": "2010150", "target_name": "合并"})
    assert resp.status_code == 302
    assert Value.objects.get(element=func_element, code="2010101").status == "9"
    resp = client.post(f"/dictionary/elements/{func_element.code}/split/",
                       {"source": "205", "targets": "20599 甲"})
    assert resp.status_code == 400 and "至少需要两个" in resp.content.decode()
    services.preload_standard()
    assert client.get("/dictionary/elements/EXP_FUNC/").status_code == 200
