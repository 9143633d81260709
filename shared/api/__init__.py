"""HTTP edge shared by every API function: resolver factory, caller, idempotency, errors."""

from shared.api.auth import Caller, current_caller
from shared.api.idempotency import idempotent
from shared.api.resolver import build_resolver

__all__ = ["Caller", "build_resolver", "current_caller", "idempotent"]
