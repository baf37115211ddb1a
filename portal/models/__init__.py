"""All models, importable from one place (Alembic sees every table through this)."""
from .accounts import CONNECTED, NEEDS_RECONNECT, WhatsAppAccount
from .audit import AuditEvent
from .base import TenantScoped, utcnow
from .events import AccountEvent, ConnectAttempt, DataDeletionRequest, RejectedWebhook, UnroutedChange, WebhookDelivery
from .integrations import ApiKey, IdempotentRequest, OutgoingDelivery, OutgoingEndpoint, OutgoingEvent
from .inbox import (
    CONVERSATION_STATUSES, INBOUND, ORIGIN_BUSINESS_APP, ORIGIN_HISTORY, OUTBOUND, STATUS_RANK, TARGETING_TYPES,
    Contact, Conversation, Message, PendingStatus,
)
from .invitations import Invitation, PasswordReset
from .teamwork import CannedReply, ConversationNote
from .templates import MessageTemplate
from .users import MANAGER_ROLES, ROLES, Membership, Product, User

__all__ = [
    "AccountEvent", "ApiKey", "AuditEvent", "CONNECTED", "CONVERSATION_STATUSES", "CannedReply", "ConnectAttempt",
    "Contact", "Conversation", "ConversationNote", "DataDeletionRequest", "INBOUND", "IdempotentRequest",
    "Invitation", "MANAGER_ROLES", "Membership", "Message", "MessageTemplate", "NEEDS_RECONNECT",
    "ORIGIN_BUSINESS_APP", "ORIGIN_HISTORY", "OUTBOUND", "OutgoingDelivery", "OutgoingEndpoint", "OutgoingEvent",
    "PasswordReset", "PendingStatus", "Product", "ROLES", "RejectedWebhook", "STATUS_RANK", "TARGETING_TYPES",
    "TenantScoped",
    "UnroutedChange", "User", "WebhookDelivery", "WhatsAppAccount", "utcnow",
]
