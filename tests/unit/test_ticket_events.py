"""System events of a ticket read as sentences in the reader's language."""
import pytest
from flask_babel import force_locale

from helpdesk import create_app
from helpdesk.tickets.events import describe_event


@pytest.fixture
def i18n_app(tmp_path):
    app = create_app("testing", {"INSTANCE_PATH": str(tmp_path)})
    with app.app_context():
        yield app


@pytest.mark.parametrize("event, sentence", [
    ({"type": "status", "from": "open", "to": "closed"}, "Status changed from Open to Closed."),
    ({"type": "priority", "from": "normal", "to": "urgent"}, "Priority changed from Normal to Urgent."),
    ({"type": "department", "from": "", "to": "Billing"}, "Department set to Billing."),
    ({"type": "department", "from": "Billing", "to": "Technical"}, "Department changed from Billing to Technical."),
    ({"type": "department", "from": "Billing", "to": ""}, "Department Billing removed."),
    ({"type": "assignee", "to": "Alex Agent"}, "Assigned to Alex Agent."),
    ({"type": "assignee", "to": ""}, "No longer assigned to anyone."),
    ({"type": "cc-added", "email": "dora@example.test"}, "dora@example.test was added in copy."),
    ({"type": "cc-removed", "email": "dora@example.test"}, "dora@example.test was removed from copy."),
    ({"type": "linked", "number": 1042}, "This ticket follows up ticket #1042."),
    ({"type": "bounce", "from": "MAILER-DAEMON@x", "detail": "Status: 5.1.1"},
     "An email about this ticket could not be delivered (Status: 5.1.1)."),
    ({"type": "bounce", "from": "MAILER-DAEMON@x", "detail": ""}, "An email about this ticket could not be delivered."),
    ({"type": "auto-reply", "from": "ooo@example.test", "subject": "Away"},
     "An automatic reply from ooo@example.test was received: Away"),
    ({"type": "attachment-dropped", "name": "big.iso", "size": 52_428_800},
     "The attachment big.iso (50 MB) was not kept: it is larger than the limit."),
    ({"type": "attachment-dropped", "name": "a.bin", "size": 3000},
     "The attachment a.bin (3 KB) was not kept: it is larger than the limit."),
    ({"type": "something-new"}, "The ticket was changed."),
    (None, "The ticket was changed."),
])
def test_events_read_as_english_sentences(i18n_app, event, sentence):
    with force_locale("en"):
        assert describe_event(event) == sentence


@pytest.mark.parametrize("lang", ["de", "tr", "hu", "fa"])
def test_events_are_translated_and_keep_their_values(i18n_app, lang):
    with force_locale(lang):
        status = describe_event({"type": "status", "from": "open", "to": "closed"})
        cc = describe_event({"type": "cc-added", "email": "dora@example.test"})
    assert "Status changed" not in status
    assert "dora@example.test" in cc and "was added" not in cc
