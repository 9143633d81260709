"""Binding services, split by who acts: admins (partners), partner banks (requests), the saga's steps, users."""

from shared.binding.services.base import BindingDeps
from shared.binding.services.holders import CardHolderService
from shared.binding.services.partners import PartnerAuthenticator, PartnerService
from shared.binding.services.requests import BindingRequestService
from shared.binding.services.saga import BindingSteps
from shared.binding.services.users import FirstUseGate, UserBindingService

__all__ = ["BindingDeps", "BindingRequestService", "BindingSteps", "CardHolderService", "FirstUseGate",
           "PartnerAuthenticator", "PartnerService", "UserBindingService"]
