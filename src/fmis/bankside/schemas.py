"""API schemas shared by the bank-side routers (``api`` and ``case_api``)."""

from __future__ import annotations

from ninja import Schema


class Paging(Schema):
    """Search and page of a list."""

    q: str = ""
    limit: int = 50
    offset: int = 0


class OutcomeOut(Schema):
    """What the ledger made of a write: its transaction id, ``valid`` / ``invalid`` / ``pending``
    and the block that holds it."""

    tx_id: str
    status: str
    block: int | None = None


def outcome(o) -> dict:
    """An ``fmis.bankside.ledger.Outcome`` as ``OutcomeOut``."""
    return {"tx_id": o.tx_id, "status": o.status, "block": o.block}


class OfMerchant(Schema):
    """A row of a merchant and a business type, named by their codes."""

    merchant_no: str
    business_type: str

    @staticmethod
    def resolve_merchant_no(obj) -> str:
        return obj.merchant.merchant_no

    @staticmethod
    def resolve_business_type(obj) -> str:
        return obj.business_type.code
