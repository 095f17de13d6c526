"""The outbox senders for voucher messages: POST the signed voucher (or a batch of them, one
message per bank) to the agent bank's endpoint."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from fmis.platform import outbox

TIMEOUT_SECONDS = 10


class BankUnreachable(Exception):
    pass


def send_voucher(message) -> None:
    """Deliver one ``bank.voucher`` or ``bank.voucher_batch`` outbox message; raising leaves it for a
    later attempt. The bank tells the two apart by ``message_type``."""
    from fmis.treasury.models import BankEndpoint

    payload = message.payload
    ep = BankEndpoint.objects.select_related("bank").filter(bank__code=payload.get("bank_code"),
                                                            is_active=True).first()
    if ep is None:
        raise BankUnreachable(f"no active endpoint for bank {payload.get('bank_code')}")
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(ep.url, data=body, method="POST",
                                 headers={"Content-Type": "application/json; charset=utf-8",
                                          "Idempotency-Key": message.key})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_SECONDS) as resp:
            if not 200 <= resp.status < 300:
                raise BankUnreachable(f"bank answered {resp.status}")
    except urllib.error.HTTPError as exc:
        raise BankUnreachable(f"bank answered {exc.code}: {exc.read()[:300]!r}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise BankUnreachable(f"bank endpoint {ep.url} unreachable: {exc}") from None


def register_sender() -> None:
    outbox.register_sender("bank.voucher")(send_voucher)
    outbox.register_sender("bank.voucher_batch")(send_voucher)
