"""The inbound store's tables, kept under this name for the gateway's modules: they live in helpdesk.inbound."""
from helpdesk.inbound.models import (  # noqa: F401
    GRANT_ERROR,
    GRANT_OK,
    IGNORED,
    PROCESSED,
    QUARANTINED,
    RECEIVED,
    InboundMessage,
    MailboxGrant,
    MailboxState,
)
