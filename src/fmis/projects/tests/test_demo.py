"""The demo seed of both modules: realistic states, and idempotent."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_demo_seed_states_and_idempotent(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from fmis.basicinfo import demo as basic_demo
    from fmis.basicinfo.models import ExpenditureStandard, InfoSubmission, Personnel
    from fmis.orgs import demo as orgs_demo
    from fmis.projects import demo as project_demo
    from fmis.projects.models import LibraryEntry, Project

    orgs_demo.seed(scale="small")
    first = basic_demo.seed_demo(scale="small")
    assert first["personnel"] > 30 and first["standards"] == len(basic_demo.STANDARDS)
    statuses = set(InfoSubmission.objects.values_list("status", flat=True))
    assert {"approved", "submitted"} <= statuses
    assert project_demo.seed_demo(scale="small")["projects"] == 6
    assert set(Project.objects.values_list("status", flat=True)) == {
        "reserved", "submitted", "returned", "draft", "terminated"}
    assert LibraryEntry.objects.filter(status="reserved").count() == 1
    counts = (Personnel.objects.count(), ExpenditureStandard.objects.count(), Project.objects.count())
    assert basic_demo.seed_demo(scale="small")["personnel"] == 0
    assert project_demo.seed_demo(scale="small")["projects"] == 0
    assert counts == (Personnel.objects.count(), ExpenditureStandard.objects.count(), Project.objects.count())
