"""The live chat's audit actions as sentences, and how the trail names a chat (its number and visitor's name).
Registered on import (helpdesk.chat.init_app). Messages and notes are named by their event id, never quoted."""
import sqlalchemy as sa

from helpdesk.audit.sentences import Ref, pair, register, register_kind
from helpdesk.chat.models import AWAY, OFFLINE, ONLINE, Chat
from helpdesk.extensions import db
from helpdesk.i18n import lazy_gettext as _l


def _chats(ids):
    rows = db.session.execute(sa.select(Chat.id, Chat.name).where(Chat.id.in_(ids)))
    return {i: Ref("chat", i, f"#{i} {name}".strip(), key=i) for i, name in rows}


def _transferred(reading):
    _old, new = pair(reading.changes.get("agent"))
    if new is not None:
        return reading.sentence(_l("Passed the chat %(name)s to another agent."))
    return reading.sentence(_l("Passed the chat %(name)s to a department."))


_AVAILABILITIES = {ONLINE: _l("online"), AWAY: _l("away"), OFFLINE: _l("offline")}


def _availability(reading):
    _old, new = pair(reading.changes.get("availability"))
    return reading.sentence(_l("Set the chat availability of %(name)s to %(availability)s."),
                            availability=str(_AVAILABILITIES.get(new, new or "")))


register_kind("chat", name=_l("Chat"), describe=_chats)
register("chat", "accepted", _l("Took the chat %(name)s."))
register("chat", "message", _l("Wrote in the chat %(name)s."))
register("chat", "note", _l("Added a note to the chat %(name)s."))
register("chat", "transferred", _transferred)
register("chat", "ended", _l("Ended the chat %(name)s."))
register("chat", "converted", _l("Made the chat %(name)s into ticket #%(number)s."))
register("user", "chat-availability", _availability)
