"""Demo bank account supervision for the demo province (``fmis seed`` calls ``seed_demo``).

* every demo agency gets its accounts registered by the province treasury division with their
  initial balance composition: a basic deposit account, and for supervising departments also a
  zero-balance account and (every third one) a special account in US dollars;
* the agent banks deliver a week of daily flows and balances up to yesterday, played by the bank
  simulator (``fmis.banksim.flows``) in XML and CSV: 中国建设银行 sends nothing yesterday (the home
  page reminder and the absence table show it), and 中国农业银行's flows of three days ago first
  arrive with a negative amount (in the exception message log) and then corrected.

Everything goes through the services, so rules, history and audit apply. Idempotent: accounts that
exist are kept, and a bank's day already received is not played again.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from collections.abc import Callable
from decimal import Decimal

from django.utils import timezone

from fmis.orgs import demo as orgs_demo

DAYS = 7
SEED = 2026


def _accounts_for(agency, banks: list) -> list[dict]:
    digits = "".join(ch for ch in agency.code if ch.isdigit())[-12:].rjust(12, "0")
    bank = banks[int(digits) % len(banks)]
    out = [{"bank": bank, "number": f"{bank.code}{digits}01", "name": f"{agency.name}基本户", "nature": "basic",
            "currency": "CNY", "opening": {"fiscal": Decimal(20000 + int(digits[-4:]) * 7), "other": Decimal("3000.00")}}]
    if agency.parent_id is None:
        zb = banks[0]
        out.append({"bank": zb, "number": f"{zb.code}{digits}02", "name": f"{agency.name}零余额账户",
                    "nature": "zero_balance", "currency": "CNY", "opening": {}})
        if int(digits) % 3 == 0:
            sp = banks[-1]
            out.append({"bank": sp, "number": f"{sp.code}{digits}03", "name": f"{agency.name}外汇专户",
                        "nature": "special", "currency": "USD", "opening": {"deposit": Decimal("5000.00")}})
    return out


def seed_demo(*, scale: str, write: Callable[[str], object] | None = None) -> dict[str, int]:
    from fmis.bankaccounts import selectors, services
    from fmis.bankaccounts.models import BankAccount, ImportBatch
    from fmis.banksim import flows as sim
    from fmis.iam.models import User
    from fmis.orgs.models import Agency, Bank
    from fmis.platform.errors import DomainError

    clerk = User.objects.filter(username="prov_treasury").first()
    if clerk is None:
        return {"accounts": 0, "messages": 0, "refused": 0}
    codes = [a.code for a in orgs_demo.plan(scale).agencies]
    banks = list(Bank.objects.filter(code__in=[b[0] for b in orgs_demo.BANKS]).order_by("code"))
    today = timezone.localdate()
    start = today - dt.timedelta(days=DAYS)
    existing = set(BankAccount.objects.values_list("bank_id", "number"))
    created = 0
    agencies = Agency.objects.filter(code__in=codes).order_by("code")
    if scale != "small":
        agencies = agencies.filter(parent__isnull=True)[:300]  # keep larger demos quick to seed
    for agency in agencies:
        for spec in _accounts_for(agency, banks):
            if (spec["bank"].pk, spec["number"]) in existing:
                continue
            data = services.AccountData(agency_id=agency.pk, number=spec["number"], name=spec["name"],
                                        bank_id=spec["bank"].pk, nature=spec["nature"], currency=spec["currency"],
                                        opened_on=start - dt.timedelta(days=400), purpose="演示账户",
                                        approval_doc="示财库〔2025〕8号")
            opening = services.OpeningItems(start - dt.timedelta(days=1), spec["opening"]) if spec["opening"] else None
            services.register_account(user=clerk, data=data, opening=opening)
            created += 1
    # the banks' week: each bank's day is played once, from the balances derived so far
    feed_accounts = [sim.FeedAccount(a.bank.code, a.number, a.currency,
                                     selectors.balance_of(user=clerk, account_id=a.pk,
                                                         day=start - dt.timedelta(days=1)))
                     for a in BankAccount.objects.filter(status="active").select_related("bank").order_by("number")]
    sent = refused = 0
    bank_by_code = {b.code: b for b in banks}
    for i in range(DAYS):
        day = start + dt.timedelta(days=i)
        rng = random.Random(f"{SEED}-{day.isoformat()}")
        played = sim.play_day(feed_accounts, day, rng, flows_per_account=(0, 4))
        for code, bank_day in sorted(played.items()):
            if day == today - dt.timedelta(days=1) and code == banks[-1].code:
                continue  # the gap: this bank sends nothing yesterday
            if ImportBatch.objects.filter(bank=bank_by_code[code], kind="flows", business_date=day).exists():
                continue
            fmt = "xml" if (i + int(code)) % 2 else "csv"
            flows = (sim.flows_xml if fmt == "xml" else sim.flows_csv)(code, day, bank_day.flows)
            delivery = sim.Delivery(code, day, "flows", fmt, flows)
            messages = [delivery]
            if day == today - dt.timedelta(days=3) and code == banks[1 % len(banks)].code and bank_day.flows:
                messages.insert(0, sim.spoil(delivery, "negative_amount"))
            balances = (sim.balances_xml if fmt == "xml" else sim.balances_csv)(code, day, bank_day.balances)
            messages.append(sim.Delivery(code, day, "balances", fmt, balances))
            for m in messages:
                try:
                    services.import_message(user=clerk, stream=io.BytesIO(m.data), source="file",
                                            filename=m.filename)
                    sent += 1
                except DomainError:
                    refused += 1
    if write is not None:
        write(f"银行账户：新登记 {created} 个账户，导入 {sent} 个报文，拒收 {refused} 个\n")
    return {"accounts": created, "messages": sent, "refused": refused}
