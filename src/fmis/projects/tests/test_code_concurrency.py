"""The project code counter under concurrency: unique, consecutive serials per prefix."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import close_old_connections, connection, transaction

from fmis.projects import codes, services
from fmis.projects.models import CodeCounter, Project


class _Rollback(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_parallel_declarations_get_consecutive_unique_codes(world):
    n = 24

    def declare(i: int) -> str:
        try:
            p = services.create_project(user=world.unit_user, data=world.data(name=f"并发项目{i}"))
            return p.code
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(declare, range(n)))
    close_old_connections()
    assert len(set(got)) == n
    serials = sorted(int(c[-6:]) for c in got)
    assert serials == list(range(1, n + 1))
    assert set(Project.objects.values_list("code", flat=True)) == set(got)
    assert CodeCounter.objects.get(prefix="99010026101P001").last_value == n


@pytest.mark.django_db(transaction=True)
def test_rolled_back_numbers_are_reissued(world):
    """Half the transactions roll back after drawing a number: the committed serials have no gaps."""
    n = 20

    def draw(i: int) -> str | None:
        try:
            with transaction.atomic():
                code = codes.next_code(agency=world.unit, start_year=2026)
                if i % 2:
                    raise _Rollback
                Project.objects.create(code=code, name=f"项目{i}", agency=world.unit, region=world.region,
                                       category_id="21", func_code="2050101", start_year=2026, end_year=2026,
                                       total_amount=0)
            return code
        except _Rollback:
            return None
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        got = [c for c in pool.map(draw, range(n)) if c]
    close_old_connections()
    assert sorted(int(c[-6:]) for c in got) == list(range(1, n // 2 + 1))
