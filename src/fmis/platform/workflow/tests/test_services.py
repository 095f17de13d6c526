import pytest

from fmis.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from fmis.platform.models import AuditRecord, EventRecord
from fmis.platform.workflow import registry, selectors, services
from fmis.platform.workflow.models import ReviewAction, ReviewChain, ReviewInstance
from fmis.platform.workflow.tests.fixtures import DOC, REVIEW1, REVIEW2

pytestmark = pytest.mark.django_db


def counts():
    return (ReviewAction.objects.count(), AuditRecord.objects.count(), EventRecord.objects.count())


def events_for(doc):
    return [(e.name, e.payload["object_id"], e.payload["step_no"])
            for e in EventRecord.objects.filter(name__startswith="workflow.").order_by("id")
            if e.payload["object_id"] == doc.pk]


def test_two_step_chain_end_to_end(world, recorder):
    doc = world.docs["a1"]
    inst = services.submit(document=doc, user=world.clerk_a, comment="请审核")
    assert (inst.status, inst.step_no, inst.step_name, inst.submitted_by_id) == ("pending", 1, "县级审核",
                                                                                 world.clerk_a.pk)
    assert [i.object_id for i in selectors.inbox_pending(user=world.treasury_a)] == [doc.pk]
    assert list(selectors.inbox_pending(user=world.city)) == []

    inst = services.approve(document=doc, user=world.treasury_a, comment="同意", step=1)
    assert (inst.status, inst.step_no, inst.step_name, inst.step_function) == ("pending", 2, "市级复核", REVIEW2)
    assert list(selectors.inbox_pending(user=world.treasury_a)) == []
    assert [i.object_id for i in selectors.inbox_pending(user=world.city)] == [doc.pk]

    inst = services.approve(document=doc, user=world.city)
    assert inst.status == "approved" and inst.finished_at is not None
    assert list(selectors.inbox_pending(user=world.city)) == []

    hist = selectors.history(doc)
    assert [(h.action, h.step_no, h.step_name, h.actor.username, h.comment) for h in hist] == [
        ("submit", 1, "县级审核", "clerk_a", "请审核"),
        ("approve", 1, "县级审核", "treasury_a", "同意"),
        ("approve", 2, "市级复核", "city", ""),
    ]
    st = selectors.state(doc)
    assert st.status == "approved" and st.is_final and st.steps == ("县级审核", "市级复核")
    assert events_for(doc) == [("workflow.submitted", doc.pk, 1), ("workflow.approved", doc.pk, 1),
                               ("workflow.completed", doc.pk, 2)]
    assert recorder.calls == [("workflow.submitted", doc.pk, "pending"), ("workflow.approved", doc.pk, "pending"),
                              ("workflow.completed", doc.pk, "approved")]
    actions = list(AuditRecord.objects.filter(object_type="workflow.reviewinstance", object_id=str(inst.pk))
                   .order_by("id").values_list("action", "actor_name"))
    assert actions == [("workflow.submit", "clerk_a"), ("workflow.approve", "treasury_a"),
                       ("workflow.approve", "city")]
    done = list(selectors.inbox_done(user=world.treasury_a))
    assert [(d.object_id, d.action_name, d.type_name, d.title) for d in done] == [
        (doc.pk, "审核通过", "测试单据", "甲县教育局")]
    # a completed review cannot be submitted or approved again
    with pytest.raises(Conflict) as exc:
        services.submit(document=doc, user=world.clerk_a)
    assert exc.value.code == "workflow.finished"
    with pytest.raises(Conflict) as exc:
        services.approve(document=doc, user=world.city)
    assert exc.value.code == "workflow.not_pending"


def test_return_needs_a_reason_and_goes_back_to_the_submitter(world):
    doc = world.docs["a1"]
    services.submit(document=doc, user=world.clerk_a)
    before = counts()
    for empty in ("", "   \n"):
        with pytest.raises(ValidationFailed) as exc:
            services.return_(document=doc, user=world.treasury_a, reason=empty)
        assert exc.value.code == "workflow.reason_required" and exc.value.field == "reason"
        assert "原因" in exc.value.message
    assert counts() == before
    assert ReviewInstance.objects.get().status == "pending"

    inst = services.return_(document=doc, user=world.treasury_a, reason="缺少预算明细", step=1)
    assert inst.status == "returned"
    assert [i.pk for i in selectors.inbox_returned(user=world.clerk_a)] == [inst.pk]
    assert list(selectors.inbox_pending(user=world.treasury_a)) == []
    assert selectors.history(doc)[-1].comment == "缺少预算明细"
    assert events_for(doc)[-1] == ("workflow.returned", doc.pk, 1)
    # approving a returned document is refused
    with pytest.raises(Conflict):
        services.approve(document=doc, user=world.treasury_a)

    # corrected and submitted again: a new round from step 1
    inst = services.submit(document=doc, user=world.clerk_a, comment="已补充")
    assert (inst.status, inst.step_no, inst.round) == ("pending", 1, 2)
    assert [h.action for h in selectors.history(doc)] == ["submit", "return", "submit"]
    assert [h.round for h in selectors.history(doc)] == [1, 1, 2]
    assert list(selectors.inbox_returned(user=world.clerk_a)) == []


def test_reject_needs_a_reason_and_is_final(world, recorder):
    doc = world.docs["a1"]
    services.submit(document=doc, user=world.clerk_a)
    services.approve(document=doc, user=world.treasury_a)
    with pytest.raises(ValidationFailed):
        services.reject(document=doc, user=world.city, reason="")
    inst = services.reject(document=doc, user=world.city, reason="不符合支出标准")
    assert inst.status == "rejected" and inst.finished_at is not None
    assert events_for(doc)[-1] == ("workflow.rejected", doc.pk, 2)
    assert recorder.calls[-1] == ("workflow.rejected", doc.pk, "rejected")
    with pytest.raises(Conflict) as exc:
        services.submit(document=doc, user=world.clerk_a)
    assert exc.value.code == "workflow.finished"


def test_user_outside_the_steps_scope_cannot_act(world):
    doc = world.docs["a1"]
    services.submit(document=doc, user=world.clerk_a)
    before = counts()
    # county B treasury holds the step's function, but county A is outside its data scope
    for act in (lambda u: services.approve(document=doc, user=u),
                lambda u: services.return_(document=doc, user=u, reason="x"),
                lambda u: services.reject(document=doc, user=u, reason="x")):
        with pytest.raises(PermissionDenied) as exc:
            act(world.treasury_b)
        assert exc.value.code == "workflow.out_of_scope"
    # the city division sees county A, but does not hold step 1's function
    with pytest.raises(PermissionDenied) as exc:
        services.approve(document=doc, user=world.city)
    assert exc.value.code == "workflow.step_function_denied"
    # a budget unit clerk holds neither
    with pytest.raises(PermissionDenied):
        services.approve(document=doc, user=world.clerk_b)
    assert counts() == before
    assert ReviewInstance.objects.get().step_no == 1
    assert selectors.available_actions(doc, world.treasury_b) == []
    assert selectors.available_actions(doc, world.treasury_a) == ["approve", "return", "reject"]


def test_submit_needs_the_submit_function_within_scope(world):
    with pytest.raises(PermissionDenied) as exc:
        services.submit(document=world.docs["a1"], user=world.clerk_b)
    assert exc.value.code == "workflow.out_of_scope"
    with pytest.raises(PermissionDenied) as exc:
        services.submit(document=world.docs["a1"], user=world.treasury_a)
    assert exc.value.code == "workflow.submit_denied"
    assert not ReviewInstance.objects.exists()
    services.submit(document=world.docs["a1"], user=world.clerk_a)
    with pytest.raises(Conflict) as exc:
        services.submit(document=world.docs["a1"], user=world.clerk_a)
    assert exc.value.code == "workflow.already_submitted"


def test_submitter_may_not_review_unless_the_chain_allows_it(world, make_role, make_user):
    both = make_role("both", ["test.doc.view", "test.doc.submit", REVIEW1], rules=[("region", "own_region_tree", [])])
    u = make_user("both_user", roles=[both], region=world.regions["ka"])
    doc = world.docs["a2"]
    services.submit(document=doc, user=u)
    with pytest.raises(PermissionDenied) as exc:
        services.approve(document=doc, user=u)
    assert exc.value.code == "workflow.self_review"
    assert list(selectors.inbox_pending(user=u)) == []
    assert selectors.available_actions(doc, u) == ["withdraw"]
    services.withdraw(document=doc, user=u)

    services.configure_chain(doc_type=DOC, steps=[services.StepSpec("县级审核", REVIEW1)], forbid_self_review=False,
                             user=world.admin)
    services.submit(document=doc, user=u)
    assert [i.object_id for i in selectors.inbox_pending(user=u)] == [doc.pk]
    assert services.approve(document=doc, user=u).status == "approved"


def test_withdraw_by_the_submitter_before_anyone_acted(world):
    doc = world.docs["a1"]
    services.submit(document=doc, user=world.clerk_a)
    with pytest.raises(PermissionDenied) as exc:
        services.withdraw(document=doc, user=world.treasury_a)
    assert exc.value.code == "workflow.not_submitter"
    inst = services.withdraw(document=doc, user=world.clerk_a, comment="需要修改")
    assert inst.status == "withdrawn"
    assert list(selectors.inbox_pending(user=world.treasury_a)) == []
    assert events_for(doc)[-1] == ("workflow.withdrawn", doc.pk, 1)
    with pytest.raises(Conflict):
        services.withdraw(document=doc, user=world.clerk_a)

    services.submit(document=doc, user=world.clerk_a)
    services.approve(document=doc, user=world.treasury_a)
    before = counts()
    with pytest.raises(Conflict) as exc:
        services.withdraw(document=doc, user=world.clerk_a)
    assert exc.value.code == "workflow.already_acted"
    assert counts() == before
    assert [h.action for h in selectors.history(doc)] == ["submit", "withdraw", "submit", "approve"]


def test_stale_step_is_a_conflict(world):
    doc = world.docs["a1"]
    services.submit(document=doc, user=world.clerk_a)
    services.approve(document=doc, user=world.treasury_a, step=1)
    before = counts()
    with pytest.raises(Conflict) as exc:
        services.approve(document=doc, user=world.city, step=1)
    assert exc.value.code == "workflow.step_changed"
    assert counts() == before


def test_callback_runs_in_the_same_transaction(world, recorder):
    doc = world.docs["a1"]
    services.submit(document=doc, user=world.clerk_a)
    services.approve(document=doc, user=world.treasury_a)
    recorder.fail_on = "workflow.completed"
    before = counts()
    with pytest.raises(Exception) as exc:
        services.approve(document=doc, user=world.city)
    assert getattr(exc.value, "code", "") == "test.callback_refused"
    inst = ReviewInstance.objects.get()
    assert (inst.status, inst.step_no) == ("pending", 2)
    assert counts() == before


def test_editing_a_chain_leaves_running_reviews_alone(world):
    a1, a2 = world.docs["a1"], world.docs["a2"]
    services.submit(document=a1, user=world.clerk_a)
    services.configure_chain(doc_type=DOC, steps=[services.StepSpec("市级审核", REVIEW2)], forbid_self_review=True,
                             user=world.admin)
    services.approve(document=a1, user=world.treasury_a)
    assert selectors.state(a1).step_name == "市级复核"
    inst = services.submit(document=a2, user=world.clerk_a2)
    assert (inst.step_name, inst.steps_total) == ("市级审核", 1)
    assert services.approve(document=a2, user=world.city).status == "approved"


def test_configure_chain_validates_and_audits(world):
    with pytest.raises(PermissionDenied):
        services.configure_chain(doc_type=DOC, steps=[services.StepSpec("x", REVIEW1)], forbid_self_review=True,
                                 user=world.treasury_a)
    with pytest.raises(ValidationFailed) as exc:
        services.configure_chain(doc_type=DOC, steps=[], forbid_self_review=True, user=world.admin)
    assert exc.value.code == "workflow.chain_empty"
    with pytest.raises(ValidationFailed) as exc:
        services.configure_chain(doc_type=DOC, steps=[services.StepSpec("初审", "no.such.function"),
                                                      services.StepSpec("", REVIEW2)],
                                 forbid_self_review=True, user=world.admin)
    assert exc.value.code == "workflow.chain_invalid"
    assert [(e["line"], e["field"]) for e in exc.value.errors] == [(1, "function"), (2, "name")]
    with pytest.raises(ValidationFailed):
        services.configure_chain(doc_type=DOC, steps=[services.StepSpec("a", REVIEW1, 1),
                                                      services.StepSpec("b", REVIEW2, 1)],
                                 forbid_self_review=True, user=world.admin)
    assert [s.name for s in ReviewChain.objects.get(doc_type=DOC).steps.all()] == ["县级审核", "市级复核"]
    # explicit order wins over the row position
    services.configure_chain(doc_type=DOC, steps=[services.StepSpec("后", REVIEW2, 2),
                                                  services.StepSpec("先", REVIEW1, 1)],
                             forbid_self_review=False, user=world.admin)
    chain = ReviewChain.objects.get(doc_type=DOC)
    assert [(s.order, s.name) for s in chain.steps.all()] == [(1, "先"), (2, "后")]
    rec = AuditRecord.objects.filter(action="workflow.chain.configure").order_by("-id").first()
    assert rec.before["steps"][0]["name"] == "县级审核" and rec.after["steps"][0]["name"] == "先"
    assert rec.after["forbid_self_review"] is False


def test_no_chain_refuses_submit_and_default_steps_seed_one(world):
    from fmis.orgs.models import Region

    registry.register_document_type("test.region_doc", "区划单据", Region, view_function="test.doc.view",
                                    submit_function="test.doc.submit")
    try:
        with pytest.raises(ValidationFailed) as exc:
            services.submit(document=world.regions["ka"], user=world.clerk_a)
        assert exc.value.code == "workflow.no_chain"
    finally:
        registry.unregister_document_type("test.region_doc")
    registry.register_document_type("test.region_doc", "区划单据", Region, view_function="test.doc.view",
                                    default_steps=[("审核", REVIEW1)])
    try:
        from fmis.iam.models import User

        sup = User.objects.create_superuser("root", "Passw0rd!x")
        inst = services.submit(document=world.regions["ka"], user=sup)
        assert inst.steps == [{"name": "审核", "function": REVIEW1}]
        assert ReviewChain.objects.get(doc_type="test.region_doc").steps.count() == 1
    finally:
        registry.unregister_document_type("test.region_doc")


def test_document_type_lookup(world):
    from fmis.orgs.models import Region

    with pytest.raises(NotFound) as exc:
        services.submit(document=world.regions["ka"], user=world.clerk_a)
    assert exc.value.code == "workflow.unknown_document_type"
    with pytest.raises(NotFound):
        services.submit(document=world.docs["a1"], user=world.clerk_a, doc_type="nope.type")
    with pytest.raises(ValidationFailed) as exc:
        services.submit(document=world.regions["ka"], user=world.clerk_a, doc_type=DOC)
    assert exc.value.code == "workflow.document_type_mismatch"
    with pytest.raises(ValueError):
        registry.register_document_type(DOC, "冲突", Region, view_function="x")
    assert not ReviewInstance.objects.exists()
