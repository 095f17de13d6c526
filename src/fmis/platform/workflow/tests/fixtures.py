"""Fixtures shared by the workflow and attachments tests.

Documents are ``orgs.Agency`` rows registered as the document type ``test.agency_doc``. A city
(370100) has two counties, A (370102) and B (370103). The two-step chain is 县级审核 (function
``test.doc.review1``, county treasury, own region and below) then 市级复核 (``test.doc.review2``,
city budget division).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from fmis.orgs.models import Agency
from fmis.platform.workflow import registry, services

DOC = "test.agency_doc"
VIEW, SUBMIT, REVIEW1, REVIEW2 = "test.doc.view", "test.doc.submit", "test.doc.review1", "test.doc.review2"


@dataclass
class Recorder:
    calls: list[tuple[str, int, str]] = field(default_factory=list)
    fail_on: str | None = None

    def __call__(self, event, *, document, instance, user):
        if self.fail_on == event:
            from fmis.platform.errors import DomainError

            raise DomainError("test.callback_refused", "模块拒绝")
        self.calls.append((event, document.pk, instance.status))


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The fixtures create many users; Argon2 would dominate the run time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def doc_type(db, recorder):
    spec = registry.register_document_type(
        DOC, "测试单据", Agency, title=lambda a: a.name, url=lambda a: f"/orgs/agencies/{a.pk}/",
        view_function=VIEW, submit_function=SUBMIT, callback=recorder)
    yield spec
    registry.unregister_document_type(DOC)


@dataclass
class World:
    regions: dict
    docs: dict
    users: dict

    def __getattr__(self, name):
        try:
            return self.users[name]
        except KeyError:
            raise AttributeError(name) from None


@pytest.fixture
def world(doc_type, make_region, make_agency, make_role, make_user):
    prov = make_region("370000", "示例省")
    city = make_region("370100", "一市", parent=prov)
    ka = make_region("370102", "甲县", parent=city)
    kb = make_region("370103", "乙县", parent=city)
    docs = {
        "a1": make_agency("370102101", ka, "甲县教育局"),
        "a2": make_agency("370102102", ka, "甲县卫健局"),
        "b1": make_agency("370103101", kb, "乙县教育局"),
    }
    unit = make_role("unit", [VIEW, SUBMIT, "workflow.inbox", "attachments.view", "attachments.upload",
                              "attachments.delete"], rules=[("agency", "own_agency", [])])
    county = make_role("county_treasury", [VIEW, REVIEW1, "workflow.inbox", "attachments.view",
                                           "attachments.upload", "attachments.delete"],
                       rules=[("region", "own_region_tree", [])])
    city_role = make_role("city_budget", [VIEW, REVIEW2, "workflow.inbox", "attachments.view"],
                          rules=[("region", "own_region_tree", [])])
    admin_role = make_role("chain_admin", ["workflow.chain.view", "workflow.chain.manage"])
    users = {
        "clerk_a": make_user("clerk_a", roles=[unit], agency=docs["a1"]),
        "clerk_a2": make_user("clerk_a2", roles=[unit], agency=docs["a2"]),
        "clerk_b": make_user("clerk_b", roles=[unit], agency=docs["b1"]),
        "treasury_a": make_user("treasury_a", roles=[county], region=ka),
        "treasury_a2": make_user("treasury_a2", roles=[county], region=ka),
        "treasury_b": make_user("treasury_b", roles=[county], region=kb),
        "city": make_user("city", roles=[city_role], region=city),
        "admin": make_user("admin", roles=[admin_role], region=prov),
    }
    services.configure_chain(doc_type=DOC, steps=[services.StepSpec("县级审核", REVIEW1),
                                                  services.StepSpec("市级复核", REVIEW2)],
                             forbid_self_review=True, user=users["admin"])
    return World({"prov": prov, "city": city, "ka": ka, "kb": kb}, docs, users)
