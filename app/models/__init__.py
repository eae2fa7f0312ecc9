"""All tables, split by area. Import a model from its area module; this package lists them all
so migrations can be generated from one place."""

from __future__ import annotations

from app.models.accounts import (
    EmailCode,
    OAuthIdentity,
    PasswordResetToken,
    RecoveryCode,
    RefreshToken,
)
from app.models.api_keys import ApiKey
from app.models.audit import AuditLogEntry
from app.models.base import BaseModel
from app.models.conversations import Conversation, ConversationMessage
from app.models.jobs import Job, UsageDaily, UsageRecord
from app.models.ledger import CreditAccount, CreditHold, LedgerEntry
from app.models.payments import (
    CreditPackage,
    LowBalanceAlert,
    Payment,
    PaymentFlag,
    PaymentReversal,
    ReconciliationRun,
    StripeEvent,
)
from app.models.periodic import PeriodicJobRun
from app.models.pricing import ModelPrice
from app.models.promo import PromoCode, PromoRedemption
from app.models.users import User

__all__ = ["BaseModel", "User"]
__all__ += ["ModelPrice"]
__all__ += ["EmailCode", "RefreshToken", "PasswordResetToken", "RecoveryCode", "OAuthIdentity"]
__all__ += ["ApiKey"]
__all__ += ["CreditAccount", "LedgerEntry", "CreditHold", "PromoCode", "PromoRedemption"]
__all__ += ["AuditLogEntry"]
__all__ += ["Job", "UsageRecord", "UsageDaily"]
__all__ += ["CreditPackage", "Payment", "PaymentReversal", "PaymentFlag", "StripeEvent",
            "ReconciliationRun", "LowBalanceAlert"]
__all__ += ["PeriodicJobRun"]
__all__ += ["Conversation", "ConversationMessage"]
