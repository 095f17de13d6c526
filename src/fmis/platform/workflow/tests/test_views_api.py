import pytest
from django.urls import reverse

from fmis.platform.workflow import services
from fmis.platform.workflow.models import ReviewChain, ReviewInstance
from fmis.platform.workflow.tests.fixtures import DOC, REVIEW1, REVIEW2

pytestmark = pytest.mark.django_db


def act_url(doc, action):
    return reverse("workflow:act", args=[DOC, doc.pk, action])


def doc_url(doc):
    return reverse("workflow:document", args=[DOC, doc.pk])


def test_home_shows_pending_counts_returned_and_done(client, world):
    services.submit(document=world.docs["a1"], user=world.clerk_a)
    services.submit(document=world.docs["a2"], user=world.clerk_a2)
    client.force_login(world.treasury_a)
    html = client.get("/").content.decode()
    assert 'data-testid="pending-total">2<' in html
    assert "甲县教育局" in html and "甲县卫健局" in html and "县级审核" in html
    client.post(act_url(world.docs["a1"], "return"), {"reason": "请补充", "step": "1"})
    html = client.get("/").content.decode()
    assert 'data-testid="pending-total">1<' in html
    assert "退回" in html.split('data-testid="inbox-done"')[1]

    client.force_login(world.clerk_a)
    html = client.get("/").content.decode()
    assert 'data-testid="inbox-returned"' in html and "甲县教育局" in html.split('data-testid="inbox-returned"')[1]


def test_review_panel_shows_the_actions_the_user_may_take(client, world):
    doc = world.docs["a1"]
    client.force_login(world.clerk_a)
    html = client.get(doc_url(doc)).content.decode()
    assert 'data-action="submit"' in html and 'data-action="approve"' not in html
    client.post(act_url(doc, "submit"), {"comment": "请审核"})
    assert ReviewInstance.objects.get().status == "pending"
    html = client.get(doc_url(doc)).content.decode()
    assert 'data-action="withdraw"' in html and 'data-action="approve"' not in html

    client.force_login(world.treasury_a)
    html = client.get(doc_url(doc)).content.decode()
    for action in ("approve", "return", "reject"):
        assert f'data-action="{action}"' in html
    assert 'data-testid="review-history"' in html and "请审核" in html

    # county B cannot even see the document
    client.force_login(world.treasury_b)
    assert client.get(doc_url(doc)).status_code == 404
    resp = client.post(act_url(doc, "approve"), {"step": "1"}, follow=True)
    assert ReviewInstance.objects.get().step_no == 1
    assert "不在您的数据权限范围内" in resp.content.decode()


def test_return_without_reason_shows_the_error_and_changes_nothing(client, world):
    doc = world.docs["a1"]
    services.submit(document=doc, user=world.clerk_a)
    client.force_login(world.treasury_a)
    resp = client.post(act_url(doc, "return"), {"reason": " ", "step": "1", "next": doc_url(doc)}, follow=True)
    assert resp.status_code == 200
    assert "退回必须填写原因" in resp.content.decode()
    assert ReviewInstance.objects.get().status == "pending"
    resp = client.post(act_url(doc, "approve"), {"step": "1", "next": doc_url(doc)}, follow=True)
    assert ReviewInstance.objects.get().step_no == 2
    # the county reviewer still sees the document (view function), so stays on its page
    assert resp.redirect_chain[-1][0] == doc_url(doc)
    # a second click on the stale page is a conflict, not a second approval
    resp = client.post(act_url(doc, "approve"), {"step": "1"}, follow=True)
    assert "请刷新后重试" in resp.content.decode()
    assert ReviewInstance.objects.get().step_no == 2


def test_inbox_page_filters_exports_and_the_api_pages(client, world, make_agency):
    from io import BytesIO

    from openpyxl import load_workbook

    from fmis.iam.models import User

    root = User.objects.create_superuser("root", "Passw0rd!x")
    for n in range(55):
        services.submit(document=make_agency(f"370102{300 + n}", world.regions["ka"]), user=root)
    services.submit(document=world.docs["b1"], user=world.clerk_b)
    client.force_login(world.treasury_a)
    page1 = client.get("/api/v1/workflow/inbox", {"page_size": 50}).json()
    page2 = client.get("/api/v1/workflow/inbox", {"page_size": 50, "page": 2}).json()
    assert (page1["count"], len(page1["items"]), len(page2["items"])) == (55, 50, 5)
    ids = {i["instance_id"] for i in page1["items"]} | {i["instance_id"] for i in page2["items"]}
    assert len(ids) == 55
    resp = client.get(reverse("workflow:inbox"), {"export": "xlsx"})
    assert resp["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(BytesIO(resp.content)).worksheets[0]
    assert ws.max_row == 56  # header + 55
    resp = client.get(reverse("workflow:inbox"), {"page": 2})
    assert resp.status_code == 200
    assert resp.context["page_obj"].paginator.count == 55 and len(resp.context["object_list"]) == 5

    client.force_login(world.treasury_b)
    resp = client.get(reverse("workflow:inbox"))
    assert resp.status_code == 200
    assert [i.title for i in resp.context["object_list"]] == ["乙县教育局"]
    assert "乙县教育局" in resp.content.decode()
    resp = client.get(reverse("workflow:inbox"), {"type": "other.type"})
    assert resp.context["page_obj"].paginator.count == 0
    resp = client.get(reverse("workflow:inbox"), {"tab": "done"})
    assert resp.context["page_obj"].paginator.count == 0
    # no inbox function, no inbox page
    client.force_login(world.admin)
    assert client.get(reverse("workflow:inbox")).status_code == 403


def test_chain_screens(client, world):
    client.force_login(world.treasury_a)
    assert client.get(reverse("workflow:chains")).status_code == 403
    client.force_login(world.admin)
    html = client.get(reverse("workflow:chains")).content.decode()
    assert DOC in html and "县级审核" in html and "市级复核" in html
    url = reverse("workflow:chain_edit", args=[DOC])
    assert client.get(url).status_code == 200
    resp = client.post(url, {"order": ["1", "2", ""], "name": ["初审", "", ""], "function": [REVIEW1, REVIEW2, ""]})
    assert resp.status_code == 200
    assert "环节名称不能为空" in resp.content.decode()
    assert [s.name for s in ReviewChain.objects.get(doc_type=DOC).steps.all()] == ["县级审核", "市级复核"]
    resp = client.post(url, {"order": ["1", "", ""], "name": ["一审", "二审", ""],
                             "function": [REVIEW2, REVIEW1, ""], "forbid_self_review": "on"})
    assert resp.status_code == 302
    chain = ReviewChain.objects.get(doc_type=DOC)
    assert [(s.order, s.name, s.function) for s in chain.steps.all()] == [(1, "一审", REVIEW2), (2, "二审", REVIEW1)]
    assert chain.forbid_self_review


def test_api_inbox_history_and_actions(client, world):
    doc = world.docs["a1"]
    base = f"/api/v1/workflow/documents/{DOC}/{doc.pk}"
    client.force_login(world.clerk_a)
    body = client.post(f"{base}/submit", {"comment": "api"}, content_type="application/json").json()
    assert body["status"] == "pending" and body["step_name"] == "县级审核" and body["actions"] == ["withdraw"]

    client.force_login(world.treasury_a)
    inbox = client.get("/api/v1/workflow/inbox").json()
    assert inbox["count"] == 1 and inbox["items"][0]["title"] == "甲县教育局"
    resp = client.post(f"{base}/return", {"reason": ""}, content_type="application/json")
    assert resp.status_code == 422 and resp.json()["code"] == "workflow.reason_required"
    resp = client.post(f"{base}/approve", {"comment": "ok", "step": 1}, content_type="application/json")
    assert resp.status_code == 200 and resp.json()["step_no"] == 2
    resp = client.post(f"{base}/approve", {"step": 1}, content_type="application/json")
    assert resp.status_code == 409 and resp.json()["code"] == "workflow.step_changed"

    client.force_login(world.treasury_b)
    assert client.get(base).status_code == 404
    assert client.post(f"{base}/approve", {}, content_type="application/json").status_code == 404

    client.force_login(world.city)
    hist = client.get(base).json()
    assert [h["action"] for h in hist["history"]] == ["submit", "approve"]
    assert hist["actions"] == ["approve", "return", "reject"]
    resp = client.post(f"{base}/reject", {"reason": "不符合标准"}, content_type="application/json")
    assert resp.json()["status"] == "rejected"
    done = client.get("/api/v1/workflow/done").json()
    assert done["items"][0]["action"] == "reject"

    client.force_login(world.admin)
    assert client.get("/api/v1/workflow/inbox").status_code == 403


def test_plain_include_renders_the_panel(world):
    from django.template import Context, Template
    from django.test import RequestFactory

    doc = world.docs["a1"]
    services.submit(document=doc, user=world.clerk_a, comment="请审核")
    request = RequestFactory().get("/somewhere/")
    request.user = world.treasury_a
    html = Template('{% include "workflow/includes/review.html" with document=doc %}').render(
        Context({"doc": doc, "request": request}))
    assert 'data-status="pending"' in html and 'data-action="approve"' in html and "请审核" in html
    assert 'name="next" value="/somewhere/"' in html
    request.user = world.treasury_b
    html = Template('{% include "workflow/includes/review.html" with document=doc %}').render(
        Context({"doc": doc, "request": request}))
    assert 'data-action="approve"' not in html
