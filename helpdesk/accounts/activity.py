"""Who did what for a customer account (issue 18): the audit rows that name the account (what its members did
while acting for it, and the changes of its members), newest first, in keyset pages, told as sentences in the
reader's language. For members with the members permission and for staff."""
from dataclasses import dataclass

import sqlalchemy as sa

from helpdesk.accounts import members
from helpdesk.audit import sentences
from helpdesk.audit.models import AuditEvent
from helpdesk.db import parse_id
from helpdesk.extensions import db

PAGE_SIZE = 50


@dataclass(frozen=True)
class ActivityPage:
    entries: list  # helpdesk.audit.sentences.Told, newest first
    next_before: int | None  # the ``before`` of the next (older) page, None on the last


def account_activity(actor, account_id, *, before=None, page_size=PAGE_SIZE) -> ActivityPage:
    """One page of what was done for ``account_id``, older than row ``before`` when given."""
    members.require_manager(actor, account_id)
    query = sa.select(AuditEvent).where(AuditEvent.account_id == parse_id(account_id))
    before = parse_id(before) if before is not None else None
    if before is not None:
        query = query.where(AuditEvent.id < before)
    rows = db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(page_size + 1)).all()
    shown = rows[:page_size]
    return ActivityPage(entries=sentences.tell(shown),
                        next_before=shown[-1].id if len(rows) > page_size else None)
