"""Verification services: decisions (triggers, audit), challenges (OTP, attempts), tokens, payment password,
phone change, the transfers' payment guard, feedback labels."""

from shared.verification.services.base import VerificationDeps
from shared.verification.services.challenges import ChallengeService
from shared.verification.services.decisions import DecisionService
from shared.verification.services.feedback import FeedbackService
from shared.verification.services.passwords import PasswordService
from shared.verification.services.payments import PaymentGuardService
from shared.verification.services.phone import PhoneChangeService
from shared.verification.services.tokens import TokenService

__all__ = ["ChallengeService", "DecisionService", "FeedbackService", "PasswordService", "PaymentGuardService",
           "PhoneChangeService", "TokenService", "VerificationDeps"]
