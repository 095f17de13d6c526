"""The published bank interface is the one enforced, and its checker names the offending field."""

import json
import re
from pathlib import Path

import pytest

from fmis.platform.errors import ValidationFailed
from fmis.treasury import messages

DOC = Path(__file__).resolve().parents[4] / "docs" / "bank-interface.md"


def test_document_publishes_the_enforced_schemas():
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)\n```", DOC.read_text(encoding="utf-8"), re.DOTALL)]
    by_id = {b["$id"]: b for b in blocks if isinstance(b, dict) and "$id" in b}
    for kind, schema in messages.SCHEMAS.items():
        assert by_id[schema["$id"]] == json.loads(json.dumps(schema)), kind


def test_document_example_is_a_valid_receipt():
    text = DOC.read_text(encoding="utf-8")
    example = next(json.loads(b) for b in re.findall(r"```json\n(.*?)\n```", text, re.DOTALL)
                   if '"message_type": "receipt"' in b)
    assert messages.problems("receipt", example) == []


@pytest.mark.parametrize("entries,field", [
    ([{"serial_no": "S1", "voucher_no": "V1", "kind": "pay", "amount": "0.00"}], "entries[0].amount"),
    ([{"serial_no": "S1", "voucher_no": "V1", "kind": "pay", "amount": "1.00"},
      {"serial_no": "S2", "voucher_no": "V1", "kind": "charge", "amount": "1.00"}], "entries[1].kind"),
    ("none", "entries"),
])
def test_nested_fields_are_named(entries, field):
    msg = {"message_type": "statement", "version": messages.VERSION, "bank_code": "B01", "date": "2026-03-15",
           "entries": entries}
    with pytest.raises(ValidationFailed) as err:
        messages.validate("statement", msg)
    assert err.value.field == field and field in err.value.message


def test_every_problem_is_listed():
    errors = messages.problems("receipt", {"message_type": "receipt", "amount": 5, "surplus": True})
    fields = {e["field"] for e in errors}
    assert {"version", "bank_code", "serial_no", "voucher_no", "result", "value_date", "amount", "surplus"} <= fields
    assert messages.problems("receipt", []) == [{"field": "(message)", "message": "字段 (message) 应为对象"}]
