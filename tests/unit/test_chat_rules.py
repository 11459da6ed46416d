"""The live chat's rules that need no database: chat hours in a business calendar (nights, holidays, around the
clock), what a visitor is as an actor, the visitor key kept only as a hash, files checked like a ticket's, and the
events as both sides read them."""
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale

from helpdesk import create_app
from helpdesk.chat import service
from helpdesk.chat.models import CUSTOMER_SIDE, MESSAGE, SYSTEM, SYSTEM_SIDE, Chat, ChatEvent
from helpdesk.chat.routing import open_at
from helpdesk.errors import ValidationFailed
from helpdesk.tickets.sla import Calendar

BERLIN = ZoneInfo("Europe/Berlin")
H = 60
OFFICE = Calendar(BERLIN, [(d, 9 * H, 17 * H) for d in range(5)], frozenset({date(2026, 12, 25)}))
NIGHTS = Calendar(BERLIN, [(0, 22 * H, 6 * H)])  # Monday 22:00 to Tuesday 06:00
CLOSED = Calendar(BERLIN, ())
ALWAYS = Calendar(BERLIN, (), around_the_clock=True)


def berlin(*args):
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)


@pytest.fixture
def i18n_app(tmp_path):
    app = create_app("testing", {"INSTANCE_PATH": str(tmp_path)})
    with app.app_context():
        yield app


@pytest.mark.parametrize("calendar, moment, is_open", [
    (None, berlin(2026, 12, 6, 3, 0), True),  # no calendar named: around the clock
    (ALWAYS, berlin(2026, 12, 25, 3, 0), True),
    (OFFICE, berlin(2026, 12, 7, 10, 0), True),  # a Monday morning
    (OFFICE, berlin(2026, 12, 7, 8, 59), False),
    (OFFICE, berlin(2026, 12, 7, 17, 0), False),  # closes at 17:00 sharp
    (OFFICE, berlin(2026, 12, 6, 12, 0), False),  # a Sunday
    (OFFICE, berlin(2026, 12, 25, 12, 0), False),  # a holiday on a Friday
    (NIGHTS, berlin(2026, 12, 7, 23, 0), True),
    (NIGHTS, berlin(2026, 12, 8, 5, 59), True),  # Tuesday early: Monday's night window
    (NIGHTS, berlin(2026, 12, 8, 6, 0), False),
    (CLOSED, berlin(2026, 12, 7, 10, 0), False),  # a calendar without windows is never open
])
def test_chat_hours_follow_the_calendar(calendar, moment, is_open):
    assert open_at(calendar, moment) is is_open


def test_a_visitor_is_no_user_and_no_one_else():
    chat = Chat(id=7, name="Gina Guest", email="gina@example.test")
    visitor = service.Visitor(chat)
    assert (visitor.id, visitor.is_agent, visitor.is_customer, visitor.is_system, visitor.user) == \
           (None, False, False, False, None)
    assert visitor.chat is chat and visitor.label == "chat-visitor:7"
    assert service.is_visitor_of(visitor, chat)
    assert not service.is_visitor_of(visitor, Chat(id=8))


def test_the_visitor_key_is_kept_only_as_its_hash():
    digest = service.hash_key("a-visitor-key")
    assert len(digest) == 64 and "a-visitor-key" not in digest
    assert digest == service.hash_key("a-visitor-key") != service.hash_key("another-key")


def test_bad_keys_find_no_chat_without_asking_the_database():
    from helpdesk.errors import NotFound

    for key in (None, "", "short", 42, "x" * 500):
        with pytest.raises(NotFound):
            service.visitor_for_key(key)


def test_files_are_checked_like_ticket_attachments(i18n_app):
    errors = {}
    files = service._check_files(errors, [("notes.txt", "text/plain", b"hello")])
    assert errors == {} and [f.filename for f in files] == ["notes.txt"]
    for bad, words in ((("setup.exe", "application/octet-stream", b"data"), "programs and scripts"),
                       (("renamed.pdf", "application/pdf", b"MZ\x90\x00"), "programs and scripts"),
                       (("empty.txt", "text/plain", b""), "is empty"),
                       (("huge.bin", "application/octet-stream",
                         b"x" * (i18n_app.config["MAX_ATTACHMENT_BYTES"] + 1)), "larger than the limit"),
                       ("not a file", "Invalid attachment")):
        errors = {}
        service._check_files(errors, [bad])
        assert words in str(errors["attachments"])


def test_a_message_needs_words_within_the_limit(i18n_app):
    errors = {}
    assert service._check_text(errors, "body", "  \x00 ") == "" and "body" in errors
    i18n_app.config["MAX_MESSAGE_CHARS"] = 10
    errors = {}
    service._check_text(errors, "body", "x" * 11)
    assert str(errors["body"]) == "The message is too long."


def test_system_events_read_as_sentences_in_the_readers_language(i18n_app):
    chat = Chat(id=3, name="Gina Guest")
    accepted = ChatEvent(id=10, chat=chat, kind=SYSTEM, side=SYSTEM_SIDE, author_name="Alex Agent",
                         data={"type": "accepted", "agent": "Alex Agent"}, created_at=datetime(2026, 12, 7, tzinfo=UTC))
    converted = ChatEvent(id=11, chat=chat, kind=SYSTEM, side=SYSTEM_SIDE, data={"type": "converted", "number": 1042},
                          created_at=datetime(2026, 12, 7, tzinfo=UTC))
    with force_locale("en"):
        assert service.event_json(accepted, for_agent=False)["body"] == "Alex Agent joined the chat."
        assert "ticket #1042" in service.event_json(converted, for_agent=False)["body"]


def test_event_json_is_the_same_shape_for_both_sides(i18n_app):
    chat = Chat(id=3, name="Gina Guest")
    message = ChatEvent(id=12, chat=chat, kind=MESSAGE, side=CUSTOMER_SIDE, author_name="Gina Guest",
                        body="My printer is on fire", created_at=datetime(2026, 12, 7, 9, 30, tzinfo=UTC))
    for for_agent in (True, False):
        shown = service.event_json(message, for_agent)
        assert shown == {"id": 12, "kind": "message", "side": "customer", "author": "Gina Guest",
                         "body": "My printer is on fire", "created_at": "2026-12-07T09:30:00Z", "data": {},
                         "attachments": []}


def test_a_rating_must_be_good_or_bad(i18n_app):
    chat = Chat(id=4, status="ended")
    with pytest.raises(ValidationFailed) as refused:
        service.rate(service.Visitor(chat), chat, "meh")
    assert "rating" in refused.value.errors
