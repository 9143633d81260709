"""Risk-signal services: ``profiles.SignalsService`` (sign-ins, reader, own data, tags) and
``projector.LedgerProjector`` (the ledger stream's projection)."""

from shared.signals.services.profiles import SignalsService
from shared.signals.services.projector import LedgerProjector, PoisonRecord

__all__ = ["LedgerProjector", "PoisonRecord", "SignalsService"]
