"""Reads for review chains and the to-do inbox."""

from __future__ import annotations


def inbox_pending(*, user) -> list:
    return []


def inbox_done(*, user) -> list:
    return []
