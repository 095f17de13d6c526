"""Subscriptions to the business events that become machine vouchers (机制凭证)."""

from __future__ import annotations

from fmis.accounting import rules
from fmis.platform import events


def on_business_event(name: str, payload: dict) -> None:
    """Post the event into the unit's books in the publisher's transaction; never raises for a
    business reason (the outcome is recorded in EventPosting)."""
    from fmis.accounting.services import post_event

    post_event(name, payload)


def subscribe_all() -> None:
    for name in rules.EVENTS:
        events.subscribe(name)(on_business_event)


def preload_rules_after_migrate(sender, **kwargs):
    from fmis.accounting.services import ensure_default_rules

    ensure_default_rules()
