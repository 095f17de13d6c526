import pytest

from fmis.dictionary import services
from fmis.dictionary.models import Value

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(make_role, make_user):
    return make_user("viewer", roles=[make_role("dict_viewer", ["dictionary.element.view"])])


@pytest.fixture
def editor(make_role, make_user):
    return make_user("editor", roles=[make_role("dict_editor", ["dictionary.element.view",
                                                                  "dictionary.value.manage"])])


def test_user_without_function_gets_403_problem(client, viewer, func_element):
    client.force_login(viewer)
    resp = client.post(f"/api/v1/dictionary/elements/{func_element.code}/values",
                       {"code": "2010103", "name": "机关服务"}, content_type="application/json")
    assert resp.status_code == 403
    assert resp["Content-Type"] == "application/problem+json"
    body = resp.json()
    assert body["code"] == "iam.function_denied" and body["status"] == 403
    assert not Value.objects.filter(code="2010103").exists()
    assert client.get("/api/v1/dictionary/elements").status_code == 200


def test_user_with_no_dictionary_function_sees_nothing(client, make_user, make_role, func_element):
    user = make_user("nobody", roles=[make_role("other", ["iam.user.view"])])
    client.force_login(user)
    assert client.get("/api/v1/dictionary/elements").status_code == 403
    assert client.get(f"/api/v1/dictionary/elements/{func_element.code}/values").status_code == 403


def test_anonymous_gets_401(client):
    assert client.get("/api/v1/dictionary/elements").status_code == 401


def test_editor_adds_and_changes_values(client, editor, func_element):
    client.force_login(editor)
    resp = client.post(f"/api/v1/dictionary/elements/{func_element.code}/values",
                       {"code": "2010103", "name": "机关服务"}, content_type="application/json")
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["parent_code"] == "20101" and body["level"] == 3
    resp = client.patch(f"/api/v1/dictionary/values/{body['id']}", {"name": "机关服务（改）"},
                        content_type="application/json")
    assert resp.status_code == 200 and resp.json()["name"] == "机关服务（改）"
    resp = client.get(f"/api/v1/dictionary/elements/{func_element.code}/values", {"q": "20101"})
    assert [v["code"] for v in resp.json()["items"]] == ["20101", "2010101", "2010102", "2010103"]


def test_bad_input_is_a_422_problem_naming_the_field(client, editor, func_element):
    client.force_login(editor)
    resp = client.post(f"/api/v1/dictionary/elements/{func_element.code}/values",
                       {"code": "2010", "name": "坏"}, content_type="application/json")
    assert resp.status_code == 422
    assert resp.json()["field"] == "code"
    resp = client.post(f"/api/v1/dictionary/elements/{func_element.code}/values",
                       {"code": "20101", "name": "重复"}, content_type="application/json")
    assert resp.status_code == 422 and resp.json()["code"] == "dictionary.value.duplicate_code"


def test_missing_objects_answer_404(client, editor):
    client.force_login(editor)
    assert client.get("/api/v1/dictionary/elements/NOPE").status_code == 404
    assert client.get("/api/v1/dictionary/values/999999").status_code == 404
    resp = client.post("/api/v1/dictionary/elements/NOPE/values", {"code": "1", "name": "x"},
                       content_type="application/json")
    assert resp.status_code == 404


def test_deleting_a_referenced_value_is_a_409_problem(client, admin, func_element):
    client.force_login(admin)
    pk = Value.objects.get(element=func_element, code="20101").pk
    resp = client.delete(f"/api/v1/dictionary/values/{pk}")
    assert resp.status_code == 409 and "停用" in resp.json()["detail"]


def test_import_endpoint_reports_line_errors(client, admin, func_element, make_xlsx):
    client.force_login(admin)
    f = make_xlsx([("2010", "坏", "", "", "", "", "")])
    resp = client.post(f"/api/v1/dictionary/elements/{func_element.code}/import", {"file": f})
    assert resp.status_code == 422
    assert resp.json()["errors"] == [{"line": 2, "field": "编码", "message": resp.json()["errors"][0]["message"]}]
    ok = make_xlsx([("2010103", "机关服务", "", "", "", "", "")])
    resp = client.post(f"/api/v1/dictionary/elements/{func_element.code}/import", {"file": ok})
    assert resp.json() == {"created": 1, "updated": 0, "unchanged": 0}


def test_views_and_preview_endpoints(client, admin, func_element):
    client.force_login(admin)
    flt = {"logic": "and", "items": [{"field": "code", "op": "starts_with", "value": "201"},
                                     {"logic": "not", "item": {"field": "level", "op": "=", "value": "1"}}]}
    resp = client.post("/api/v1/dictionary/views/preview", {"source": func_element.code, "filter": flt},
                       content_type="application/json")
    assert [v["code"] for v in resp.json()["items"]] == ["20101", "2010101", "2010102"]
    resp = client.post("/api/v1/dictionary/views", {"code": "V201", "name": "一般公共服务", "source": func_element.code,
                                                     "filter": flt}, content_type="application/json")
    assert resp.status_code == 201, resp.content
    assert resp.json()["filter_text"].startswith("(编码 匹配开始 201 AND NOT")
    resp = client.get("/api/v1/dictionary/views/V201/values")
    assert resp.json()["count"] == 3


def test_every_operation_declares_a_function():
    from fmis.dictionary.api import router

    for path_ops in router.path_operations.values():
        for op in path_ops.operations:
            assert getattr(op.view_func, "fmis_function", "").startswith("dictionary."), op.view_func


def test_merge_and_versions_endpoints(client, admin, func_element):
    client.force_login(admin)
    resp = client.post(f"/api/v1/dictionary/elements/{func_element.code}/merge",
                       {"sources": ["2010101", "2010102"], "target_code": "2010150", "target_name": "合并"},
                       content_type="application/json")
    assert resp.status_code == 201
    assert sorted(link["source"] for link in resp.json()["links"]) == ["2010101", "2010102"]
    pk = Value.objects.get(element=func_element, code="2010150").pk
    services.update_value(user=admin, value_id=pk, name="合并后")
    resp = client.get(f"/api/v1/dictionary/elements/{func_element.code}/versions")
    assert [(v["value_code"], v["changed_fields"]) for v in resp.json()] == [("2010150", ["name"])]
