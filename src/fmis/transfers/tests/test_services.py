"""The application layer: consortium set-up, join requests, business services through the outbox and
the local node, permissions, tracing, statistics, data exchange and receipts."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest

from fmis.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from fmis.transfers import local, selectors, services
from fmis.transfers.models import Allocation, JoinRequest, Member, MemberKey


def _alloc(user, **kw):
    args = {"from_region": "990000", "to_region": "990100", "amount": Decimal("1000000.00"), "fund_code": "ZD001",
                "direct": True, "func_code": "2080801", "purpose": "困难群众救助", "doc_no": "示财〔2026〕1号", "fiscal_year": 2026}
    args.update(kw)
    return services.allocate(user=user, **args)


def _status(user, tx_id):
    return selectors.tx_status(user=user, tx_id=tx_id)


@pytest.mark.django_db(transaction=True)
def test_allocation_flow_trace_statistics_and_receipt(users, ledger):
    prov, city, county = users["prov"], users["city"], users["county"]
    assert Member.objects.count() == 4
    a1 = _alloc(prov)
    assert _status(prov, a1)["status"] == "pending"
    local.flush()
    assert _status(prov, a1)["valid"] is True
    services.confirm_receipt(user=city, allocation_id=a1)
    local.flush()
    a2 = _alloc(city, from_region="990100", to_region="990101", amount=Decimal("600000.00"), parent_id=a1)
    a3 = _alloc(city, from_region="990100", to_region="990102", amount=Decimal("300000.00"), parent_id=a1)
    local.flush()
    services.confirm_receipt(user=county, allocation_id=a2)
    local.flush()
    services.record_expenditure(user=county, allocation_id=a2, amount=Decimal("150000.50"), payee="某县民政局",
                                voucher_no="ZF001")
    local.flush()
    alloc = Allocation.objects.get(pk=a2)
    assert (alloc.spent, alloc.available) == (15_000_050, 45_000_000 - 50)
    tree = selectors.trace(user=prov, allocation_id=a1)
    assert tree.subtree_spent == 15_000_050
    assert [c.allocation["id"] for c in tree.children] == [a2, a3]
    assert tree.children[0].payments[0]["voucher_no"] == "ZF001"
    assert tree.execution_rate == Decimal("15.00")
    stats = {g["key"]: g for g in selectors.statistics(user=prov, by="level")}
    assert stats["市级"]["amount"] == 100_000_000 and stats["市级"]["reached_spent"] == 15_000_050
    assert stats["县级"]["direct_execution_rate"] == Decimal("16.67")
    by_region = {g["key"]: g for g in selectors.statistics(user=prov, by="region")}
    assert set(by_region) == {"990100", "990101", "990102"}
    # the reader in the city sees the city's allocations and below, not more; can't write
    assert set(selectors.allocations(user=users["reader"]).values_list("id", flat=True)) == {a1, a2, a3}
    with pytest.raises(PermissionDenied):
        _alloc(users["reader"], from_region="990100", to_region="990101", parent_id=a1)
    # a receipt verifies offline
    from fmis.transfers.ledger.proofs import verify_receipt

    receipt = selectors.receipt(user=prov, tx_id=a2)
    assert verify_receipt(receipt).ok


@pytest.mark.django_db(transaction=True)
def test_a_county_user_cannot_act_for_the_province_and_the_ledger_refuses_over_allocation(users, ledger):
    with pytest.raises(PermissionDenied):
        _alloc(users["county"])  # the county user's scope does not include the province's member
    a1 = _alloc(users["prov"])
    local.flush()
    services.confirm_receipt(user=users["city"], allocation_id=a1)
    local.flush()
    over = _alloc(users["city"], from_region="990100", to_region="990101", amount=Decimal("1000000.01"),
                  parent_id=a1)
    local.flush()
    st = _status(users["prov"], over)
    assert (st["valid"], st["reason"]) == (False, "allocation.over_allocated")
    assert not Allocation.objects.filter(pk=over).exists()
    with pytest.raises(ValidationFailed):
        _alloc(users["prov"], amount=Decimal("1.001"))
    with pytest.raises(NotFound):  # out of scope looks like not found
        services.confirm_receipt(user=users["county"], allocation_id=a1)


@pytest.mark.django_db(transaction=True)
def test_join_request_approval_admits_the_member_and_revocation_removes_it(users, ledger):
    prov = users["prov"]
    jr = services.request_local_membership(user=prov, region="990200", organisation="二市财政局")
    assert jr.status == "pending" and MemberKey.objects.get(public_key=jr.public_key).cert_id == ""
    jr = services.approve_join_request(user=prov, request_id=jr.pk)
    with pytest.raises(Conflict):
        services.approve_join_request(user=prov, request_id=jr.pk)
    local.flush()
    member = Member.objects.get(cert_id=jr.cert_id)
    assert (member.region, member.role, member.revoked_block) == ("990200", "finance", None)
    a = _alloc(prov, to_region="990200")
    local.flush()
    services.revoke_member(user=prov, cert_id=jr.cert_id, reason="退出联盟")
    local.flush()
    assert Member.objects.get(cert_id=jr.cert_id).revoked_block is not None
    with pytest.raises(PermissionDenied):  # no longer an active member to act as
        services.confirm_receipt(user=prov, allocation_id=a)
    # rejection needs a comment; the city's user cannot see the province-level request
    jr2 = services.request_local_membership(user=prov, region="990102", organisation="x", role="supervision")
    with pytest.raises(ValidationFailed):
        services.reject_join_request(user=prov, request_id=jr2.pk, comment=" ")
    with pytest.raises(NotFound):
        services.reject_join_request(user=users["county"], request_id=jr2.pk, comment="no")
    services.reject_join_request(user=prov, request_id=jr2.pk, comment="不符合条件")
    assert JoinRequest.objects.get(pk=jr2.pk).status == "rejected"


@pytest.mark.django_db(transaction=True)
def test_data_exchange_accepts_externally_signed_transactions_only(users, ledger):
    from fmis.transfers import keys
    from fmis.transfers.ledger import envelope as env
    from fmis.transfers.models import ConsortiumConfig

    cfg = ConsortiumConfig.objects.get()
    key = MemberKey.objects.get(region="990000")
    signer = env.Signer(key.cert_id, key.suite, keys.unseal(key.private_key))
    args = {"from_region": "990000", "to_region": "990200", "amount": 500, "fund_code": "F1", "direct": False,
            "func_code": "201", "purpose": "外部系统下达", "doc_no": "EXT-1", "fiscal_year": 2026}
    tx = env.make_tx(signer=signer, consortium=cfg.consortium, hash_name=cfg.hash_name,
                     function="transfers.allocate", args=args)
    tx_id = services.submit_signed(user=users["prov"], wire=tx.wire)
    assert tx_id == tx.tx_id
    local.flush()
    assert _status(users["prov"], tx_id)["valid"] is True
    forged = tx.wire.replace(b'"amount":500', b'"amount":501')
    with pytest.raises(ValidationFailed):
        services.submit_signed(user=users["prov"], wire=forged)
    with pytest.raises(ValidationFailed):
        services.submit_signed(user=users["prov"], wire=b"{}")
    assert base64.b64decode(base64.b64encode(tx.wire)) == tx.wire
