"""The return-plans room's watch on the registry: holds that end early disrupt the plans made
on them (`disruptions.stage_holds`), recorded in the transaction that ended the holds.

Registered by every process that opens the services (`api.services.build_services`), so this
module stays light: the disruption code is imported when a hold first ends early, not by every
CLI command at its start (issue 14: that import alone was a tenth of a second).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from core.crypto import FieldCipher
from logistics.beds import hooks

HOOK = "return_plans"


def watch_registry(cipher: FieldCipher) -> None:
    """Register the hook (idempotent: registering again replaces it)."""

    def ended(session: Session, hold_ids: list[int], now: datetime) -> None:
        from logistics.return_plans.disruptions import stage_holds

        stage_holds(session, cipher=cipher, now=now, hold_ids=hold_ids)

    hooks.on_holds_ended(HOOK, ended)
